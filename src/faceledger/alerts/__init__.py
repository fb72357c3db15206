"""Alerts (R18): every violation and misuse finding raises one, a supervisor or auditor
acknowledges it with a note, and it is delivered by email (SMTP) and a signed webhook."""
