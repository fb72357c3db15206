"""The witness's one decision: cosign a checkpoint only if it extends the last one it cosigned.

:func:`add_checkpoint` follows the ``add-checkpoint`` checks of ``c2sp.org/tlog-witness`` in
order; each refusal is a :class:`~faceledger.errors.FaceLedgerError` whose ``status`` is the
HTTP status the spec names:

1. the request is well formed (400, :class:`InvalidInput`);
2. the checkpoint's origin is a log this witness witnesses (404, :class:`NotFound`);
3. a signature on it verifies under a key trusted for that origin (403,
   :class:`PermissionDenied`); signatures by unknown keys are ignored;
4. the old size is at most the checkpoint's size (400);
5. holding the log's lock: the old size is the size of the latest checkpoint cosigned (409,
   :class:`Conflict` with ``details['latest_size']``, answered as ``text/x.tlog.size``);
6. the same size must have the same root hash (409, ``reason='split_view'``): two different
   trees the log signed for one size are a *split view*, kept as evidence and logged;
7. a larger size needs a consistency proof from the old checkpoint that verifies (422,
   :class:`VerificationFailed`, ``reason='inconsistent'``), kept as evidence too: the log
   signed a checkpoint that does not extend the one it signed before (or the submitter sent a
   bad proof, which the evidence file lets a person tell apart);
8. otherwise the new state is stored, then the cosignature is returned. The same size and root
   again is cosigned again (idempotent).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    VerificationFailed,
)
from faceledger.ledger.cosignature import sign_cosignature
from faceledger.ledger.merkle import EMPTY_ROOT
from faceledger.ledger.note import CheckpointNote, NoteSignature, parse_checkpoint_note, parse_note
from faceledger.ledger.proofs import verify_consistency
from faceledger.witness.protocol import AddCheckpointRequest, format_add_checkpoint
from faceledger.witness.protocol import parse_add_checkpoint as _parse_request
from faceledger.witness.state import LogState, WitnessDir, WitnessedLog

__all__ = ["Cosigned", "add_checkpoint", "check_log_signature"]

log = logging.getLogger("faceledger.witness")


@dataclass(frozen=True)
class Cosigned:
    """A checkpoint the witness accepted, and its cosignature line(s)."""

    origin: str
    old_size: int
    tree_size: int
    lines: tuple[NoteSignature, ...]
    again: bool
    """The same checkpoint size and root as last time (cosigned again)."""


def add_checkpoint(
    witness: WitnessDir, body: bytes, *, clock: Callable[[], float] = time.time
) -> Cosigned:
    """Check an ``add-checkpoint`` request body and cosign its checkpoint (module doc).

    Raises:
        InvalidInput: (400) a malformed request, or an old size above the checkpoint's.
        NotFound: (404) a log this witness does not witness.
        PermissionDenied: (403) no signature by a key trusted for the log.
        Conflict: (409) the old size is not the latest cosigned (``latest_size``), or a split
            view (``reason='split_view'``, ``evidence``).
        VerificationFailed: (422) the consistency proof does not verify (``evidence``).
    """
    # (1) Well formed.
    request = _parse_request(body)
    # (2) Known origin, (3) a trusted signature.
    witnessed, note, _ = check_log_signature(witness, request.note)
    text = request.note.decode("utf-8")
    # (4) Never backwards.
    if request.old_size > note.tree_size:
        raise InvalidInput(
            f"The old size {request.old_size} is larger than the checkpoint's size "
            f"{note.tree_size}.",
            old_size=request.old_size,
            tree_size=note.tree_size,
        )
    with witness.locked(witnessed) as state:
        current = state.current
        latest = 0 if current is None else current.tree_size
        # (5) The client must build on what this witness last cosigned.
        if request.old_size != latest:
            raise Conflict(
                f"This witness last cosigned size {latest} of {note.log_id!r}, not "
                f"{request.old_size}.",
                reason="old_size_mismatch",
                latest_size=latest,
            )
        old_root = EMPTY_ROOT if current is None else current.root_hash
        again = request.old_size == note.tree_size and current is not None
        if request.old_size == note.tree_size:
            _same_size(witness, witnessed, request, note, text, old_root, current)
        else:
            _extends(witness, witnessed, request, note, text, old_root, current)
        # (8) Persist before answering: the answer is a promise about the state.
        stamp = int(clock())
        line = sign_cosignature(witness.key, witness.name, note.body, stamp)
        state.save(LogState(note.tree_size, note.root_hash, text, stamp))
    log.info(
        "cosigned %s at size %d (from %d)%s",
        note.log_id,
        note.tree_size,
        request.old_size,
        " again" if again else "",
    )
    return Cosigned(note.log_id, request.old_size, note.tree_size, (line,), again)


def check_log_signature(
    witness: WitnessDir, note_text: bytes
) -> tuple[WitnessedLog, CheckpointNote, Ed25519PublicKey]:
    """Return the witnessed log of a checkpoint note, the note (its log signature checked) and
    the trusted key that signed it.

    Raises:
        InvalidInput: (400) for text that is not a checkpoint note.
        NotFound: (404) for an origin this witness does not witness.
        PermissionDenied: (403) if no signature verifies under a key trusted for the origin.
    """
    try:
        body, _ = parse_note(note_text)
    except VerificationFailed as exc:
        raise InvalidInput(f"The checkpoint is not a signed note: {exc.message}") from None
    origin = body.decode("utf-8").split("\n", 1)[0]
    witnessed = witness.log(origin)
    if witnessed is None:
        raise NotFound(f"This witness does not witness the log {origin[:200]!r}.", origin=origin)
    refusal: VerificationFailed | None = None
    for key in witnessed.public_keys:
        try:
            return witnessed, parse_checkpoint_note(note_text, key), key
        except VerificationFailed as exc:
            if exc.details.get("reason") == "malformed":
                raise InvalidInput(f"Malformed checkpoint: {exc.message}") from None
            refusal = exc
    raise PermissionDenied(
        f"The checkpoint carries no valid signature by a key this witness trusts for {origin!r}.",
        origin=origin,
        reason="untrusted",
        seen=None if refusal is None else refusal.details.get("actual"),
    )


def _same_size(
    witness: WitnessDir,
    witnessed: WitnessedLog,
    request: AddCheckpointRequest,
    note: CheckpointNote,
    text: str,
    old_root: bytes,
    current: LogState | None,
) -> None:
    if request.proof:
        raise InvalidInput("Equal old and new sizes take an empty consistency proof.")
    if hmac.compare_digest(old_root, note.root_hash):
        return
    if current is None:
        # Size 0 never cosigned: its root can only be the empty tree's.
        raise VerificationFailed(
            "A checkpoint of size 0 must have the empty tree's root.",
            reason="inconsistent",
            expected=EMPTY_ROOT.hex(),
            actual=note.root_hash.hex(),
        )
    # (6) Two trees of one size, both signed by the log: the log shows two views.
    evidence = witness.write_evidence(
        "split-view",
        witnessed,
        f"The log signed two different checkpoints of size {note.tree_size}: the one this "
        "witness cosigned earlier and the one submitted now. Both carry the log's signature; "
        "anyone can check them with its public key.",
        {"cosigned_earlier": current.note, "submitted_now": text},
    )
    log.error(
        "SPLIT VIEW: log %s signed two different checkpoints of size %d (root %s cosigned "
        "earlier, root %s submitted now); refused, evidence in %s",
        note.log_id,
        note.tree_size,
        old_root.hex(),
        note.root_hash.hex(),
        evidence,
    )
    raise Conflict(
        f"Split view: this witness cosigned a different tree of size {note.tree_size} for "
        f"{note.log_id!r}; refused and kept as evidence.",
        reason="split_view",
        tree_size=note.tree_size,
        expected=old_root.hex(),
        actual=note.root_hash.hex(),
        evidence=str(evidence),
    )


def _extends(
    witness: WitnessDir,
    witnessed: WitnessedLog,
    request: AddCheckpointRequest,
    note: CheckpointNote,
    text: str,
    old_root: bytes,
    current: LogState | None,
) -> None:
    if request.old_size == 0:
        if request.proof:
            raise InvalidInput("The consistency proof must be empty when the old size is 0.")
        return  # every tree extends the empty tree
    assert current is not None  # old size == latest > 0
    # (7) RFC 9162 §2.1.4.2 from the old checkpoint to the new one.
    try:
        verify_consistency(
            request.old_size, note.tree_size, request.proof, old_root, note.root_hash
        )
    except VerificationFailed as exc:
        evidence = witness.write_evidence(
            "inconsistent",
            witnessed,
            f"A checkpoint of size {note.tree_size} signed by the log came with a consistency "
            f"proof from size {request.old_size} that does not verify ({exc.message}). If no "
            "valid proof exists, the log signed a tree that does not extend the one this "
            "witness cosigned.",
            {"cosigned_earlier": current.note, "submitted_now": text},
            {"request": format_add_checkpoint(request.old_size, request.proof, b"").decode()},
        )
        log.error(
            "INCONSISTENT: log %s checkpoint %d does not extend %d by the proof given (%s); "
            "refused, evidence in %s",
            note.log_id,
            note.tree_size,
            request.old_size,
            exc.message,
            evidence,
        )
        raise VerificationFailed(
            f"The consistency proof from size {request.old_size} to {note.tree_size} does not "
            f"verify: {exc.message}",
            reason="inconsistent",
            expected=exc.details.get("expected"),
            actual=exc.details.get("actual"),
            evidence=str(evidence),
        ) from None
