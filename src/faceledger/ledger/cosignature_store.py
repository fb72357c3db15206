"""Witness cosignatures in the database (table ``ledger_cosignatures``), with SQLAlchemy Core.

One row per (checkpoint, witness name, key hash): the ``cosignature/v1`` timestamp and the
64-byte Ed25519 signature, as :mod:`faceledger.ledger.cosignature` defines them, stored only
after they verified. Rows are never changed; a second cosignature by the same witness on the
same checkpoint is not stored (the first one already says what the witness saw).

Like :mod:`.tables` and :mod:`.verify`, this module uses Core clauses only (no ORM, no
application models), so an auditor's verifier can read the cosignatures of a database
(:func:`check_database_quorum`) without the rest of the application.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    String,
    and_,
    column,
    create_engine,
    func,
    insert,
    make_url,
    select,
    table,
)
from sqlalchemy.exc import IntegrityError

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.cosignature import WitnessKey, check_quorum, cosignature_timestamp
from faceledger.ledger.export import checkpoint_from_row, latest_signed_checkpoint
from faceledger.ledger.note import (
    CheckpointNote,
    NoteSignature,
    checkpoint_note,
    parse_checkpoint_note,
)
from faceledger.ledger.tables import checkpoints, cosignatures

__all__ = [
    "check_database_quorum",
    "cosignatures_for",
    "latest_cosigned_size",
    "matching_checkpoint",
    "store_cosignature",
    "witnessed_note",
]

# The insert needs the bookkeeping column the read-only clause in .tables leaves out.
_WRITE = table(
    "ledger_cosignatures",
    column("checkpoint_number", Integer),
    column("witness_name", String),
    column("key_hash", String),
    column("timestamp", BigInteger),
    column("signature", LargeBinary),
    column("received_at", DateTime),
)


def cosignatures_for(conn: Connection, checkpoint_number: int) -> list[NoteSignature]:
    """Return the stored cosignature lines of checkpoint ``checkpoint_number``, by witness name.

    Raises:
        LedgerError: for a row that is not a well-formed cosignature (changed outside faceledger).
    """
    rows = conn.execute(
        select(
            cosignatures.c.witness_name,
            cosignatures.c.key_hash,
            cosignatures.c.timestamp,
            cosignatures.c.signature,
        )
        .where(cosignatures.c.checkpoint_number == checkpoint_number)
        .order_by(cosignatures.c.witness_name, cosignatures.c.key_hash)
    )
    found: list[NoteSignature] = []
    for name, hash_hex, stamp, signature in rows:
        try:
            key_hash = bytes.fromhex(hash_hex)
            raw = int(stamp).to_bytes(8, "big") + bytes(signature)
            if len(key_hash) != 4 or len(raw) != 72:
                raise ValueError("wrong length")
        except (TypeError, ValueError, OverflowError):
            raise LedgerError(
                f"The stored cosignature by {name!r} on checkpoint {checkpoint_number} is "
                "malformed.",
                checkpoint=checkpoint_number,
                witness=name,
            ) from None
        found.append(NoteSignature(str(name), key_hash, raw))
    return found


def store_cosignature(
    conn: Connection, checkpoint_number: int, signature: NoteSignature, received_at: dt.datetime
) -> bool:
    """Store a cosignature on checkpoint ``checkpoint_number`` (verified by the caller).

    Returns:
        True if stored, False if that witness's key had already cosigned that checkpoint.

    Raises:
        VerificationFailed: ``reason='malformed'`` for a line that is not 8 + 64 bytes.
    """
    stamp = cosignature_timestamp(signature)
    key = {
        "checkpoint_number": checkpoint_number,
        "witness_name": signature.name,
        "key_hash": signature.key_hash.hex(),
    }
    if _stored(conn, key):
        return False
    # A savepoint: another collector storing the same line at once must not undo our caller's
    # other writes when the unique constraint refuses the second insert.
    try:
        with conn.begin_nested():
            conn.execute(
                insert(_WRITE).values(
                    **key,
                    timestamp=stamp,
                    signature=signature.signature[8:],
                    received_at=received_at.astimezone(dt.UTC).replace(tzinfo=None),
                )
            )
    except IntegrityError:
        return False
    return True


def latest_cosigned_size(conn: Connection, witness: WitnessKey) -> int:
    """Return the tree size of the newest checkpoint ``witness`` has cosigned here (0 if none):
    the old size to offer it next (``c2sp.org/tlog-witness`` add-checkpoint)."""
    size = conn.execute(
        select(func.max(checkpoints.c.tree_size))
        .select_from(
            cosignatures.join(checkpoints, checkpoints.c.number == cosignatures.c.checkpoint_number)
        )
        .where(
            and_(
                cosignatures.c.witness_name == witness.name,
                cosignatures.c.key_hash == witness.key_hash.hex(),
            )
        )
    ).scalar()
    return int(size or 0)


def matching_checkpoint(conn: Connection, note: CheckpointNote) -> Checkpoint | None:
    """Return the stored checkpoint whose signed body is ``note``'s, or None.

    Raises:
        LedgerError: for a malformed checkpoint row.
    """
    rows = conn.execute(
        select(checkpoints)
        .where(checkpoints.c.tree_size == note.tree_size)
        .where(checkpoints.c.log_id == note.log_id)
        .order_by(checkpoints.c.number)
    ).mappings()
    for row in rows:
        cp = checkpoint_from_row(row)
        if cp.body() == note.body:
            return cp
    return None


def witnessed_note(
    conn: Connection, log_key: Ed25519PublicKey, checkpoint: Checkpoint | None = None
) -> str | None:
    """Return ``checkpoint`` (default: the newest) as a signed note: the log's signature line,
    then every stored cosignature. None if there is no checkpoint.

    Raises:
        LedgerError: for malformed stored rows.
    """
    cp = checkpoint if checkpoint is not None else latest_signed_checkpoint(conn)
    if cp is None:
        return None
    return checkpoint_note(cp, log_key, cosignatures_for(conn, cp.number))


def check_database_quorum(
    url: str,
    log_key: Ed25519PublicKey,
    witnesses: list[WitnessKey],
    quorum: int,
    *,
    now: float | None = None,
) -> list[str]:
    """Require ``quorum`` of ``witnesses`` to have cosigned the newest checkpoint of the
    database at ``url`` (what ``ledger verify --witness-key ... --quorum N`` checks there).

    Returns:
        The names of the witnesses whose cosignatures verified.

    Raises:
        LedgerError: if the database cannot be opened or its rows are malformed.
        VerificationFailed: ``reason='no_checkpoint'`` without a checkpoint; otherwise as
            :func:`~faceledger.ledger.note.parse_checkpoint_note` and
            :func:`~faceledger.ledger.cosignature.check_quorum`.
        InvalidInput: for a quorum outside 1..len(witnesses).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise LedgerError(f"No SQLite database file at {path!r}.", url=url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            text = witnessed_note(conn, log_key)
    finally:
        engine.dispose()
    if text is None:
        raise VerificationFailed(
            "The ledger has no signed checkpoint, so no witness can have cosigned one.",
            reason="no_checkpoint",
            kind="checkpoint",
        )
    return check_quorum(parse_checkpoint_note(text, log_key), witnesses, quorum, now=now)


def _stored(conn: Connection, key: dict[str, Any]) -> bool:
    found = conn.execute(
        select(cosignatures.c.checkpoint_number).where(
            and_(*(cosignatures.c[name] == value for name, value in key.items()))
        )
    ).first()
    return found is not None
