"""Disclosure packets (R14): built, recorded and listed. (to be built)"""

from __future__ import annotations

from faceledger.service.access import Access
from faceledger.service.context import ServiceContext


class DisclosureUseCases:
    """Disclosure packets (R14): built, recorded and listed. (to be built)"""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._ctx, self._access = ctx, access
