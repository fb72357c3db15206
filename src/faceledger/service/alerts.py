"""Alert use cases (R18): listing, acknowledging (with a note, in the ledger) and delivering
by email and signed webhook, with retries recorded. Alerts are raised by
:class:`faceledger.service.alert_inbox.AlertInbox`."""

from __future__ import annotations

from faceledger.service.access import Access
from faceledger.service.alert_inbox import AlertInbox
from faceledger.service.context import ServiceContext


class AlertUseCases:
    """Listing, acknowledging and delivering alerts. (to be built)"""

    def __init__(self, ctx: ServiceContext, access: Access, inbox: AlertInbox) -> None:
        self._ctx, self._access, self._inbox = ctx, access, inbox
