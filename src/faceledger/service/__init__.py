"""The service layer: the FaceLedger facade, one method per use case, one transaction each.

Every interface (CLI, REST API, web pages) calls this layer and nothing below it. Each state
change is written in one database transaction together with its ledger entry; vector index
files are updated only after that transaction commits (and are rebuilt from the database if a
crash leaves them behind).
"""

from faceledger.service.core import local_actor
from faceledger.service.facade import FaceLedger
from faceledger.service.results import EnrolSummary, SearchResult, VerifyResult

__all__ = ["EnrolSummary", "FaceLedger", "SearchResult", "VerifyResult", "local_actor"]
