"""Misuse analytics (R18): scans, stored findings and their alerts. (to be built)"""

from __future__ import annotations

from faceledger.service.access import Access
from faceledger.service.alert_inbox import AlertInbox
from faceledger.service.context import ServiceContext
from faceledger.service.policy import PolicyStore


class MisuseUseCases:
    """Misuse analytics (R18): scans, stored findings and their alerts. (to be built)"""

    def __init__(
        self, ctx: ServiceContext, access: Access, policy: PolicyStore, inbox: AlertInbox
    ) -> None:
        self._ctx, self._access, self._policy, self._inbox = ctx, access, policy, inbox
