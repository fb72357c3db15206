"""Pull mode: the witness fetches a unit's latest checkpoint itself and posts its cosignature back.

For a witness that cannot accept connections (behind a firewall, run from cron). Through the
unit's public API under ``/api/v1``:

1. ``GET /ledger/checkpoints/latest/note``: the latest checkpoint as a signed note;
2. ``GET /ledger/consistency?old=<last size cosigned>&new=<its size>``: the consistency proof;
3. the same checks as ``add-checkpoint`` (:func:`faceledger.witness.add.add_checkpoint`), run
   locally on the witness's own state;
4. ``POST /ledger/cosignatures``: the checkpoint note with the new cosignature line, which the
   unit stores if the witness's key is one it trusts.

A checkpoint smaller than the last one cosigned is a rollback: refused and kept as evidence,
like a split view.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from faceledger.errors import Conflict, LedgerError
from faceledger.ledger.note import checkpoint_note
from faceledger.witness.add import Cosigned, add_checkpoint, check_log_signature
from faceledger.witness.client import TIMEOUT
from faceledger.witness.protocol import format_add_checkpoint
from faceledger.witness.state import WitnessDir

__all__ = ["PullResult", "api_base", "cosign_from_unit"]

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class PullResult:
    """What one pull did: the checkpoint cosigned and what the unit stored."""

    origin: str
    old_size: int
    tree_size: int
    again: bool
    unit_checkpoint: int | None
    stored: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One sentence for a person."""
        seen = "again (same size and root)" if self.again else f"(extends size {self.old_size})"
        kept = (
            f"the unit stored it as checkpoint {self.unit_checkpoint}"
            if self.stored
            else "the unit already had it"
        )
        return f"cosigned {self.origin} at size {self.tree_size} {seen}; {kept}."


def api_base(url: str) -> str:
    """Return the API base of a unit: ``url`` itself if it ends in ``/api/v1``, else with it."""
    base = url.rstrip("/")
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


def cosign_from_unit(
    witness: WitnessDir,
    log_url: str,
    *,
    client: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> PullResult:
    """Fetch, check and cosign the unit's latest checkpoint; post the cosignature back.

    Raises:
        LedgerError: the unit cannot be reached or refused a request (its answer named).
        NotFound, PermissionDenied, InvalidInput: as :func:`add_checkpoint` (unknown log, not
            signed by its key, malformed).
        Conflict: ``reason='split_view'`` or ``'rollback'`` (evidence kept).
        VerificationFailed: ``reason='inconsistent'``: the proof does not verify (evidence).
    """
    api = api_base(log_url)
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        # (1) The checkpoint, its log signature checked before anything is asked for it.
        text = _get(http, f"{api}/ledger/checkpoints/latest/note").text
        witnessed, note, key = check_log_signature(witness, text.encode("utf-8"))
        last = witness.latest(witnessed)
        old = 0 if last is None else last.tree_size
        if note.tree_size < old:
            assert last is not None
            evidence = witness.write_evidence(
                "rollback",
                witnessed,
                f"The log's latest checkpoint has size {note.tree_size}, smaller than the "
                f"checkpoint of size {old} it signed before and this witness cosigned.",
                {"cosigned_earlier": last.note, "served_now": text},
            )
            raise Conflict(
                f"Rollback: {note.log_id!r} now serves size {note.tree_size}, but this witness "
                f"cosigned size {old}; refused and kept as evidence.",
                reason="rollback",
                expected=f">= {old}",
                actual=note.tree_size,
                evidence=str(evidence),
            )
        # (2) The proof from what this witness last cosigned.
        proof: list[bytes] = []
        if 0 < old < note.tree_size:
            answer = _get(
                http, f"{api}/ledger/consistency", params={"old": old, "new": note.tree_size}
            ).json()
            try:
                proof = [bytes.fromhex(h) for h in answer["hashes"]]
            except (KeyError, TypeError, ValueError):
                raise LedgerError("The unit's consistency proof is malformed.") from None
        # (3) The witness's own checks, on its own state, under its lock.
        done: Cosigned = add_checkpoint(
            witness, format_add_checkpoint(old, proof, text), clock=clock
        )
        # (4) Back to the unit: the log's signature line and the new cosignature.
        cosigned = checkpoint_note(note.checkpoint(0), key, done.lines)
        posted = _request(
            http,
            "POST",
            f"{api}/ledger/cosignatures",
            content=cosigned.encode("utf-8"),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        ).json()
    finally:
        if own:
            http.close()
    return PullResult(
        origin=done.origin,
        old_size=done.old_size,
        tree_size=done.tree_size,
        again=done.again,
        unit_checkpoint=posted.get("checkpoint") if isinstance(posted, dict) else None,
        stored=list(posted.get("stored", [])) if isinstance(posted, dict) else [],
    )


def _get(http: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:
    return _request(http, "GET", url, **kwargs)


def _request(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = http.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        raise LedgerError(f"Cannot reach the unit at {url}: {exc}.", url=url) from None
    if response.status_code >= 400:
        raise LedgerError(
            f"The unit refused {method} {url}: HTTP {response.status_code}: "
            f"{_error_message(response)}",
            url=url,
            status=response.status_code,
        )
    return response


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body["error"]["message"]
        return str(message)[:500]
    except (ValueError, KeyError, TypeError):
        return response.text[:500]
