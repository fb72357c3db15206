"""The transparency report (R17) from the records. (to be built)"""

from __future__ import annotations

from faceledger.service.access import Access
from faceledger.service.context import ServiceContext
from faceledger.service.policy import PolicyStore


class TransparencyUseCases:
    """The transparency report (R17) from the records. (to be built)"""

    def __init__(self, ctx: ServiceContext, access: Access, policy: PolicyStore) -> None:
        self._ctx, self._access, self._policy = ctx, access, policy
