"""What every alert channel shares: the one error a failed delivery raises, with a short reason
fit for the ledger (never a credential)."""

from __future__ import annotations

from faceledger.errors import FaceLedgerError

MAX_REASON_CHARS = 300


class DeliveryFailed(FaceLedgerError):
    """An alert could not be delivered on a channel (refused, timed out, login refused, a
    non-2xx answer...). ``reason`` is short, names no credential, and goes into the ledger."""

    status = 502
    code = "delivery_failed"

    def __init__(self, channel: str, reason: str) -> None:
        self.channel, self.reason = channel, short(reason)
        super().__init__(f"The {channel} delivery failed: {self.reason}", channel=channel)


def short(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """Return ``text`` on one line, at most ``limit`` characters."""
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def scrub(text: str, *secrets: str) -> str:
    """Return ``text`` with every non-empty secret in it replaced by ``***``: a server may echo
    what it was sent, and the reason of a failure is recorded."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
