"""Reading the ledger out of a database as export records, and writing JSON Lines exports.

Uses SQLAlchemy Core only (through :mod:`faceledger.ledger.tables`), because the stand-alone
verifier reads databases through the same code. The line format is in
:mod:`faceledger.ledger.records`.

A payload that was redacted in the database (NULL) is left out of every export, a full one
included; its hash stays, so the entry verifies all the same. The public export of a version 3
entry carries no private field: the database's actor, object id, payload hash and salt are read
only to compute ``private_sha256``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy import Connection, func, select

from faceledger.errors import LedgerError
from faceledger.ledger.canonical import parse_json
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.envelope import (
    PUBLIC_MAX_BYTES,
    SALT_HEX_DIGITS,
    canonical_public,
    format_ts,
    private_sha256,
)
from faceledger.ledger.proofs import build_consistency_proof
from faceledger.ledger.pseudonyms import REF_HEX_DIGITS
from faceledger.ledger.records import (
    CheckpointRecord,
    EntryRecord,
    ExportHeader,
    Record,
    is_lower_hex,
    record_to_line,
)
from faceledger.ledger.tables import checkpoints, entries, read_nodes, state

__all__ = [
    "StateSnapshot",
    "checkpoint_from_row",
    "iter_records",
    "latest_signed_checkpoint",
    "read_state",
    "write_export",
]

_BATCH = 5000


@dataclass(frozen=True)
class StateSnapshot:
    """The ``ledger_state`` row."""

    tree_size: int
    frontier: bytes
    checkpoint_count: int


def read_state(conn: Connection) -> StateSnapshot:
    """Return the ledger state row.

    Raises:
        LedgerError: if it is missing (the database was not migrated, or was damaged).
    """
    row = conn.execute(
        select(state.c.tree_size, state.c.frontier, state.c.checkpoint_count).where(state.c.id == 1)
    ).one_or_none()
    if row is None:
        raise LedgerError(
            "The ledger state row is missing; the database is not initialised or was damaged."
        )
    return StateSnapshot(int(row.tree_size), bytes(row.frontier), int(row.checkpoint_count))


def iter_records(
    conn: Connection, *, include_payloads: bool = True, whole_tables: bool = False
) -> Iterator[Record]:
    """Yield the header, then entries and checkpoints in export order, streaming the entries.

    By default only what ``ledger_state`` says exists is read (entries below its tree size,
    checkpoints below its count), so appends made meanwhile do not leak into the export. The
    verifier passes ``whole_tables=True`` to see every row, whatever the state row says.

    Raises:
        LedgerError: if the state row is missing or a row cannot be read at all.
    """
    snapshot = read_state(conn)
    cp_query = select(checkpoints).order_by(checkpoints.c.number)
    entry_limit = None
    if not whole_tables:
        cp_query = cp_query.where(checkpoints.c.number < snapshot.checkpoint_count)
        entry_limit = snapshot.tree_size
    cps = [checkpoint_from_row(row._mapping) for row in conn.execute(cp_query)]
    available = entry_limit
    if available is None:
        available = int(conn.execute(select(func.count()).select_from(entries)).scalar_one())
    yield ExportHeader(snapshot.tree_size, snapshot.checkpoint_count, include_payloads)

    pending = iter(_with_proofs(conn, cps, available))
    next_cp = next(pending, None)
    for emitted, record in enumerate(_entries(conn, include_payloads, entry_limit)):
        # A checkpoint goes right after the entry that brings the log to its size.
        while next_cp is not None and next_cp.checkpoint.tree_size <= emitted:
            yield next_cp
            next_cp = next(pending, None)
        yield record
    while next_cp is not None:
        yield next_cp
        next_cp = next(pending, None)


def write_export(conn: Connection, out: TextIO, *, include_payloads: bool = True) -> ExportHeader:
    """Write the ledger as JSON Lines to ``out`` and return the header written.

    Raises:
        LedgerError: if the ledger cannot be read (see :func:`iter_records`).
    """
    header: ExportHeader | None = None
    for record in iter_records(conn, include_payloads=include_payloads):
        if isinstance(record, ExportHeader):
            header = record
        out.write(record_to_line(record))
    assert header is not None  # iter_records always starts with it
    return header


def _entries(conn: Connection, include_payloads: bool, limit: int | None) -> Iterator[EntryRecord]:
    # Keyset pages keep memory flat without server-side cursors on any backend.
    columns = [entries.c[name] for name in _ENTRY_COLUMNS]
    if include_payloads:
        columns.append(entries.c.payload)
    next_seq: int | None = None
    while True:
        query = select(*columns).order_by(entries.c.seq).limit(_BATCH)
        if next_seq is not None:
            query = query.where(entries.c.seq >= next_seq)
        if limit is not None:
            query = query.where(entries.c.seq < limit)
        rows = conn.execute(query).all()
        for row in rows:
            yield _entry(row._mapping, include_payloads)
        if len(rows) < _BATCH:
            return
        next_seq = int(rows[-1].seq) + 1


_ENTRY_COLUMNS = (
    "seq",
    "ts",
    "actor",
    "action",
    "object_type",
    "object_id",
    "payload_sha256",
    "leaf_hash",
    "public",  # exported with or without payloads
    "salt",  # the version 3 columns, NULL for versions 1 and 2
    "actor_ref",
    "object_ref",
)


def _entry(row: Any, include_payloads: bool) -> EntryRecord:
    seq = int(row["seq"])
    payload = None
    if include_payloads:
        text = row["payload"]
        if text is not None:  # NULL: redacted in the database
            payload = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    public = row["public"]
    if public is not None:
        public = _public(public, seq)
    actor, object_id = str(row["actor"]), str(row["object_id"])
    payload_sha256 = str(row["payload_sha256"])
    ts = format_ts(_as_utc(row["ts"], f"ledger entry {seq}"))
    refs = _pseudonyms(row, seq)
    if refs is None:
        return EntryRecord(
            seq=seq,
            ts=ts,
            actor=actor,
            action=str(row["action"]),
            object_type=str(row["object_type"]),
            object_id=object_id,
            payload_sha256=payload_sha256,
            leaf_hash=str(row["leaf_hash"]),
            payload=payload,
            canonical_payload=False,
            public=public,
        )
    salt, actor_ref, object_ref = refs
    return EntryRecord(
        seq=seq,
        ts=ts,
        actor=actor if include_payloads else None,
        action=str(row["action"]),
        object_type=str(row["object_type"]),
        object_id=object_id if include_payloads else None,
        payload_sha256=payload_sha256 if include_payloads else None,
        leaf_hash=str(row["leaf_hash"]),
        payload=payload,
        canonical_payload=False,
        public=public,
        actor_ref=actor_ref,
        object_ref=object_ref,
        private_sha256=private_sha256(
            actor=actor, object_id=object_id, payload_sha256=payload_sha256, salt=salt
        ),
        salt=salt if include_payloads else None,
    )


def _pseudonyms(row: Any, seq: int) -> tuple[str, str, str] | None:
    """Return a version 3 row's (salt, actor_ref, object_ref), or None for versions 1 and 2."""
    values = (row["salt"], row["actor_ref"], row["object_ref"])
    if values == (None, None, None):
        return None
    digits = (SALT_HEX_DIGITS, REF_HEX_DIGITS, REF_HEX_DIGITS)
    if not all(
        isinstance(value, str) and is_lower_hex(value, n)
        for value, n in zip(values, digits, strict=True)
    ):
        raise LedgerError(
            f"Ledger entry {seq} has a damaged salt, actor_ref or object_ref (each must be 32 "
            "lower-case hex digits, all three or none); the row was changed outside the ledger.",
            seq=seq,
        )
    salt, actor_ref, object_ref = values
    return str(salt), str(actor_ref), str(object_ref)


def _public(text: Any, seq: int) -> Any:
    """Return a row's public fields, once their text is shown to be what the ledger writes."""
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    try:
        parsed = parse_json(raw)
        canonical = canonical_public(parsed) if isinstance(parsed, dict) else None
    except LedgerError:
        canonical = None
    # The ledger stores NULL for no public fields, else their canonical JSON.
    if canonical != raw:
        raise LedgerError(
            f"Ledger entry {seq} has stored public fields that are not a non-empty JSON object "
            f"in canonical form of at most {PUBLIC_MAX_BYTES} bytes; the row was changed outside "
            "the ledger.",
            seq=seq,
        )
    return parsed


def latest_signed_checkpoint(conn: Connection) -> Checkpoint | None:
    """Return the newest checkpoint the state row counts, or None if none was signed yet.

    Raises:
        LedgerError: if the state row is missing or the checkpoint row is missing or malformed.
    """
    count = read_state(conn).checkpoint_count
    if count == 0:
        return None
    row = conn.execute(select(checkpoints).where(checkpoints.c.number == count - 1)).one_or_none()
    if row is None:
        raise LedgerError(f"Checkpoint {count - 1} is missing from the ledger.")
    return checkpoint_from_row(row._mapping)


def checkpoint_from_row(row: Any) -> Checkpoint:
    """Return the checkpoint of a ``ledger_checkpoints`` row (a mapping of its columns).

    Raises:
        LedgerError: for a malformed root hash or timestamp (naming the checkpoint).
    """
    number = int(row["number"])
    try:
        root = bytes.fromhex(row["root_hash"])
    except (TypeError, ValueError):
        raise LedgerError(f"Checkpoint {number} has a malformed root hash.") from None
    return Checkpoint(
        number=number,
        log_id=str(row["log_id"]),
        tree_size=int(row["tree_size"]),
        root_hash=root,
        timestamp=_as_utc(row["ts"], f"checkpoint {number}"),
        signature=bytes(row["signature"]),
    )


def _with_proofs(conn: Connection, cps: list[Checkpoint], available: int) -> list[CheckpointRecord]:
    records: list[CheckpointRecord] = []
    previous: Checkpoint | None = None
    for cp in cps:
        proof: tuple[bytes, ...] | None = None
        error: str | None = None
        # Impossible sizes get no proof; the verifier reports the sizes themselves.
        if previous is not None and previous.tree_size <= cp.tree_size <= available:
            try:
                proof = build_consistency_proof(
                    previous.tree_size, cp.tree_size, lambda ids: read_nodes(conn, ids)
                ).hashes
            except LedgerError as exc:
                error = exc.message
        records.append(CheckpointRecord(cp, proof, error))
        previous = cp
    return records


def _as_utc(value: Any, what: str) -> dt.datetime:
    # Columns are read untyped so that a damaged value names its row instead of failing the read.
    try:
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if not isinstance(value, dt.datetime):
            raise ValueError(value)
    except ValueError:
        raise LedgerError(f"The timestamp of {what} is malformed: {value!r}.") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
