"""The action names and public field names the monitor reads: the public log's contract.

The monitor runs without the service, so it cannot import the service's catalogue of actions
(``faceledger.service.ledger_actions``); these names are that catalogue's, and a test checks
that they still are. The public fields each action carries are documented in
``faceledger.service.public_record``.
"""

from __future__ import annotations

from typing import Final

REQUEST: Final = "request"
"""The ``object_type`` of a request's entries: the steps of one request share its object."""

SUBMIT: Final = "request.submit"
APPROVE_EMERGENCY: Final = "request.approve_emergency"
SEARCH: Final = "request.search"
REVIEW_FIRST: Final = "request.review.first"
REVIEW_PEER: Final = "request.review.peer"
RELEASE: Final = "request.release"
EMERGENCY_FILED: Final = "request.emergency_filed"
SEALED: Final = "request.sealed"
PROFILE_SET: Final = "policy.profile_set"
PROPOSED: Final = "policy.proposed"
RETENTION_PURGE: Final = "retention.purge"
LEDGER_REDACT: Final = "ledger.redact"
DISCLOSURE: Final = "report.disclosure"
ACCESS_DENIED: Final = "access.denied"
VIOLATION_RECORDED: Final = "violation.recorded"

REVIEWS: Final = frozenset({REVIEW_FIRST, REVIEW_PEER})

ALLOWED_AFTER_SEAL: Final = frozenset(
    {LEDGER_REDACT, RETENTION_PURGE, DISCLOSURE, ACCESS_DENIED, VIOLATION_RECORDED}
)
"""What may still be filed under a request once it is sealed: the redaction of its payloads,
its retention purge, a disclosure packet (which withholds a sealed request's results), and the
records of attempts refused or violations found on it. Anything else is activity on a sealed
request."""

COURT_ORDER: Final = "court_order"
EMERGENCY: Final = "emergency"
DECEASED: Final = "deceased_or_incapacitated"
"""Legal-basis kinds the rules treat specially: a deceased or incapacitated person's
identification needs no offence (R5)."""

RULE_LEGAL_BASIS: Final = "legal_basis"
RULE_OFFENCE: Final = "offence_allowed"
"""Profile rule ids: a profile that does not run one of them does not limit what it checks."""
