"""The compliance monitor: checks, from the public (payload-less) ledger export alone, the
rules an outsider can check (``faceledger monitor``).

It imports only the ledger's pure modules, :mod:`faceledger.errors` and the standard library,
so an outsider runs it with the export and the ledger's public key, without the service. The
export is verified first (:mod:`faceledger.ledger.verify`); then its entries are replayed from
their public fields, times, actions and the pseudonyms of people and requests
(:mod:`.log`), the profiles in force are reconstructed from the ``policy.profile_set``
entries (:mod:`.profiles`), and each rule of :mod:`.rules` reports its findings, naming the
entries' seqs. What a rule needs but the log does not carry is reported as "cannot check",
never as a pass.
"""

from __future__ import annotations

from faceledger.monitor.report import (
    EXIT_BREACH,
    EXIT_OK,
    Finding,
    MonitorReport,
    RuleResult,
    Unchecked,
)
from faceledger.monitor.rules import RULES, Rule
from faceledger.monitor.run import DEFAULT_GRACE, monitor_export, monitor_records

__all__ = [
    "DEFAULT_GRACE",
    "EXIT_BREACH",
    "EXIT_OK",
    "RULES",
    "Finding",
    "MonitorReport",
    "Rule",
    "RuleResult",
    "Unchecked",
    "monitor_export",
    "monitor_records",
]
