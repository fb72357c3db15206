"""Case queries (R12, R13): filters over requests and searches, CSV export (to be built)."""

from __future__ import annotations

from faceledger.service.access import Access
from faceledger.service.context import ServiceContext


class CaseQueryUseCases:
    """Case queries (R12, R13): filters over requests and searches, CSV export (to be built)."""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._ctx, self._access = ctx, access
