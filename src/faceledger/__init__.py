"""faceledger: governed face search with a verifiable ledger.

The public surface: the :class:`FaceLedger` service, settings, and the errors it raises.
Everything else may change. Names load on first use, so importing a submodule (the ledger
verifier, say) does not pull in the face models or the database layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faceledger.config import Settings, load_settings
    from faceledger.errors import FaceLedgerError
    from faceledger.service import EnrolSummary, FaceLedger, SearchResult, VerifyResult

__version__ = "0.1.0"

_EXPORTS = {
    "EnrolSummary": "faceledger.service",
    "FaceLedger": "faceledger.service",
    "FaceLedgerError": "faceledger.errors",
    "SearchResult": "faceledger.service",
    "Settings": "faceledger.config",
    "VerifyResult": "faceledger.service",
    "load_settings": "faceledger.config",
}

__all__ = [
    "EnrolSummary",
    "FaceLedger",
    "FaceLedgerError",
    "SearchResult",
    "Settings",
    "VerifyResult",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'faceledger' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
