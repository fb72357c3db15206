"""The annual transparency report (R17): counts by requesting agency for any period.

The facts (:mod:`.facts`) come from the service's records or from a ledger export's public
fields (:mod:`.from_export`); :mod:`.counts` counts them, :mod:`.suppression` hides small cells
of the public version, :mod:`.report` holds the result and :mod:`.render` writes it as HTML
(with :mod:`.charts`), CSV and JSON. Pure: nothing here reads the database or the service.
"""

from __future__ import annotations

from faceledger.reports.transparency.counts import TABLES, Counts, count
from faceledger.reports.transparency.facts import (
    NO_AGENCY,
    LeadUseFacts,
    Period,
    RequestFacts,
    ViolationFacts,
    filing_status,
)
from faceledger.reports.transparency.report import (
    REPORT_FORMAT,
    Hidden,
    TransparencyReport,
    build_report,
)

__all__ = [
    "NO_AGENCY",
    "REPORT_FORMAT",
    "TABLES",
    "Counts",
    "Hidden",
    "LeadUseFacts",
    "Period",
    "RequestFacts",
    "TransparencyReport",
    "ViolationFacts",
    "build_report",
    "count",
    "filing_status",
]
