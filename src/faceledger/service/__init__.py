"""The service layer: the FaceLedger holder and its use-case objects, one transaction each.

Every interface (CLI, REST API, web pages) calls this layer and nothing below it. Each state
change is written in one database transaction together with its ledger entry; vector index
files are updated only after that transaction commits (and are rebuilt from the database if a
crash leaves them behind). Who may do what is decided here, by :class:`Access` from the
registry of actions.
"""

from faceledger.governance.accounts import LocalOperator, Principal
from faceledger.service.access import Access
from faceledger.service.facade import FaceLedger
from faceledger.service.principal import local_operator
from faceledger.service.results import EnrolSummary, SearchResult, VerifyResult

__all__ = [
    "Access",
    "EnrolSummary",
    "FaceLedger",
    "LocalOperator",
    "Principal",
    "SearchResult",
    "VerifyResult",
    "local_operator",
]
