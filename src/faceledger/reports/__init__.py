"""The reports domain (DESIGN.md): what the system says about itself to the people who check
it. ``evaluation`` measures a face model's accuracy in NIST terms (R15, R16); disclosure
packets, transparency reports and misuse analytics join it here."""
