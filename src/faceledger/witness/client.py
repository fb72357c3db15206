"""Asking a witness for a cosignature over HTTP (the client side of ``c2sp.org/tlog-witness``).

The unit's collector (:mod:`faceledger.service.witnesses`) uses it to push checkpoints. Network
failures are left to the caller as :class:`httpx.TransportError` (the witness is offline); every
answer, refusal or not, comes back as a :class:`WitnessAnswer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from faceledger.errors import InvalidInput
from faceledger.witness.protocol import (
    ADD_CHECKPOINT_PATH,
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    format_add_checkpoint,
    parse_size,
)

__all__ = ["TIMEOUT", "WitnessAnswer", "add_checkpoint_url", "post_add_checkpoint"]

TIMEOUT = httpx.Timeout(5.0, connect=2.0)
"""Short: a witness that does not answer at once is reported offline, the others still run."""
_MAX_ANSWER_CHARS = 16 * 1024


@dataclass(frozen=True)
class WitnessAnswer:
    """A witness's answer to ``add-checkpoint``: status, body text and content type."""

    status: int
    text: str
    content_type: str

    @property
    def latest_size(self) -> int | None:
        """The witness's latest cosigned size, on a 409 ``text/x.tlog.size`` answer; else None."""
        if self.status != 409 or not self.content_type.startswith(SIZE_CONTENT_TYPE):
            return None
        try:
            return parse_size(self.text)
        except InvalidInput:
            return None

    @property
    def reason(self) -> str:
        """The answer as one line for a person (status and the start of the text)."""
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return f"HTTP {self.status}: {first[:300]}" if first else f"HTTP {self.status}"


def add_checkpoint_url(base_url: str) -> str:
    """Return the ``add-checkpoint`` URL under a witness's submission prefix."""
    return base_url.rstrip("/") + ADD_CHECKPOINT_PATH


def post_add_checkpoint(
    client: httpx.Client, base_url: str, old_size: int, proof: Sequence[bytes], note: str
) -> WitnessAnswer:
    """Submit checkpoint ``note`` with the consistency ``proof`` from ``old_size``.

    Raises:
        httpx.TransportError: the witness could not be reached or did not answer in time.
        InvalidInput: for a request that cannot be formed (over 63 proof hashes, too large).
    """
    body = format_add_checkpoint(old_size, proof, note)
    if len(body) > MAX_REQUEST_BYTES:
        raise InvalidInput(f"The checkpoint is too large to submit ({len(body)} bytes).")
    response = client.post(
        add_checkpoint_url(base_url),
        content=body,
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    return WitnessAnswer(
        response.status_code,
        response.text[:_MAX_ANSWER_CHARS],
        response.headers.get("content-type", ""),
    )
