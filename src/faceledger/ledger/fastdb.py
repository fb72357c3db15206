"""The verifier's fast path over a database: raw rows in pages, no record object per entry.

Rows come from the DB-API cursor in keyset pages of :data:`PAGE` (plain tuples, no SQLAlchemy
row or :class:`~faceledger.ledger.records.EntryRecord`), in the order and with the checkpoints
placed exactly as :func:`faceledger.ledger.export.iter_records` gives them to the reference
verifier. Each row is checked as :mod:`faceledger.ledger.fastverify` describes: the stored
payload and public texts must be their own canonical re-encoding, the envelope is formatted
and hashed; any row it cannot decide on is read by the exporter's own row reader and goes to
the reference checks, so a damaged row fails with the reference's reason (``unreadable``,
``payload_not_canonical``, ...).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger import export
from faceledger.ledger.canonical import parse_canonical
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.checks import LogChecker, VerifyReport, fail
from faceledger.ledger.envelope import PUBLIC_MAX_BYTES, format_ts
from faceledger.ledger.fastverify import (
    RUN,
    FastStats,
    Feed,
    envelope_v3,
    envelope_v12,
    escape,
    from_iso,
    is_hex64,
    is_lower_hex,
    private_part,
    sha256,
)
from faceledger.ledger.merkle import EMPTY_ROOT, NodeId
from faceledger.ledger.proofs import NodeReader, build_consistency_proof
from faceledger.ledger.records import CheckpointRecord, EntryRecord, ExportHeader
from faceledger.ledger.rotation import KEY_ROTATE_ACTION
from faceledger.ledger.tables import checkpoints, entries, nodes

__all__ = ["PAGE", "verify_rows"]

PAGE = 10_000
_IN_CHUNK = 500  # well under every backend's limit of bound parameters
_KNOWN_MAX = 4096  # public texts remembered as checked
# The exporter's row reader takes these names (its columns and the payload).
_COLUMNS = (*export._ENTRY_COLUMNS, "payload")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM ledger_entries WHERE seq >= %d ORDER BY seq LIMIT %d"
# How SQLite keeps a naive UTC datetime; other forms take the exporter's reader. A year below
# 1000 too: format_ts would not pad it.
_SQLITE_TS = re.compile(r"[1-9]\d{3}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}", re.ASCII).fullmatch


def verify_rows(
    conn: Connection, checker: LogChecker, page: int = PAGE, run: int = RUN
) -> tuple[VerifyReport, FastStats]:
    """Verify the ledger tables on ``conn`` with ``checker``; return the report and counts.

    Every row is read (``whole_tables``), whatever the state row says, as the reference does;
    ``page`` rows a query, at most ``run`` leaves handed to the tree at once.

    Raises:
        VerificationFailed: at the first failure, as the reference verifier of the same
            database would (``unreadable`` for rows or checkpoints that cannot be read).
    """
    try:
        snapshot = export.read_state(conn)
        cps = [
            export.checkpoint_from_row(row._mapping)
            for row in conn.execute(select(checkpoints).order_by(checkpoints.c.number))
        ]
        available = int(conn.execute(select(func.count()).select_from(entries)).scalar_one())
        header = ExportHeader(snapshot.tree_size, snapshot.checkpoint_count, True)
        pending = iter(_with_proofs(conn, cps, available))
    except LedgerError as exc:
        raise _unreadable(exc) from None
    feed = Feed(checker, run)
    next_cp = next(pending, None)
    for emitted, row in enumerate(_rows(conn, page)):
        # A checkpoint comes right after the entry that brings the log to its size.
        while next_cp is not None and next_cp.checkpoint.tree_size <= emitted:
            feed.exact(next_cp)
            next_cp = next(pending, None)
        if not _row(feed, row):
            feed.exact(_record(row))
    while next_cp is not None:
        feed.exact(next_cp)
        next_cp = next(pending, None)
    feed.flush()
    return checker.finish(header), feed.stats


def _with_proofs(conn: Connection, cps: list[Checkpoint], available: int) -> list[CheckpointRecord]:
    """Return what the exporter's ``_with_proofs`` does, with all stored nodes read at once.

    The exporter reads the nodes of each proof in a query of its own (a few milliseconds, a
    thousand times for a million entries). The same loop here first asks which nodes every
    proof needs, reads them in a few queries, then builds each proof from them; a missing or
    damaged node gives the proof the exporter's own error text.
    """
    wanted: set[NodeId] = set()

    def note(ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        wanted.update(ids)
        return dict.fromkeys(ids, EMPTY_ROOT)

    _proofs(cps, available, note)
    stored = _read_nodes(conn, wanted)
    return _proofs(cps, available, lambda ids: _stored(stored, ids))


def _proofs(cps: list[Checkpoint], available: int, read: NodeReader) -> list[CheckpointRecord]:
    # The exporter's loop (export._with_proofs), with the node reader given.
    records: list[CheckpointRecord] = []
    previous: Checkpoint | None = None
    for cp in cps:
        proof: tuple[bytes, ...] | None = None
        error: str | None = None
        if previous is not None and previous.tree_size <= cp.tree_size <= available:
            try:
                proof = build_consistency_proof(previous.tree_size, cp.tree_size, read).hashes
            except LedgerError as exc:
                error = exc.message
        records.append(CheckpointRecord(cp, proof, error))
        previous = cp
    return records


def _read_nodes(conn: Connection, ids: set[NodeId]) -> dict[NodeId, bytes | None]:
    """Return the stored hashes of ``ids`` that exist (None for a malformed leaf hash)."""
    found: dict[NodeId, bytes | None] = {}
    by_level: dict[int, list[int]] = {}
    for level, index in sorted(ids):
        by_level.setdefault(level, []).append(index)
    for level, indexes in by_level.items():
        for i in range(0, len(indexes), _IN_CHUNK):
            chunk = indexes[i : i + _IN_CHUNK]
            if level == 0:
                query = select(entries.c.seq, entries.c.leaf_hash).where(entries.c.seq.in_(chunk))
                for seq, hex_hash in conn.execute(query):
                    try:
                        found[(0, seq)] = bytes.fromhex(hex_hash)
                    except (TypeError, ValueError):
                        found[(0, seq)] = None
            else:
                query = select(nodes.c.idx, nodes.c.hash).where(
                    nodes.c.level == level, nodes.c.idx.in_(chunk)
                )
                for index, value in conn.execute(query):
                    found[(level, index)] = bytes(value)
    return found


def _stored(stored: Mapping[NodeId, bytes | None], ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    # tables.read_nodes's answer and errors, from what was read before.
    found: dict[NodeId, bytes] = {}
    for node in ids:
        if node in stored:
            value = stored[node]
            if value is None:
                raise LedgerError(f"Ledger entry {node[1]} has a malformed leaf hash.")
            found[node] = value
    missing = [node for node in ids if node not in found]
    if missing:
        raise LedgerError(
            f"The ledger tree is missing {len(missing)} stored node(s), e.g. "
            f"level {missing[0][0]} index {missing[0][1]}.",
            missing=[list(node) for node in missing[:10]],
        )
    return found


def _rows(conn: Connection, page: int) -> Iterator[tuple[Any, ...]]:
    # Keyset pages keep memory flat on every backend; the DB-API cursor gives plain tuples.
    # The SQL holds only integers we format ourselves.
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    start = 0
    while True:
        cursor = dbapi.cursor()
        try:
            cursor.execute(_SELECT % (start, page))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        yield from rows
        if len(rows) < page:
            return
        start = int(rows[-1][0]) + 1


def _row(feed: Feed, row: tuple[Any, ...]) -> bool:
    """Check one row and hand it to ``feed``; False if the reference must decide."""
    seq, ts, actor, action, object_type, object_id, psha, leaf_hex, public, salt = row[:10]
    actor_ref, object_ref, payload = row[10:]
    if type(seq) is not int or seq != feed.next_seq or action == KEY_ROTATE_ACTION:
        return False
    try:
        if type(ts) is str:
            if not _SQLITE_TS(ts):
                return False
            from_iso(ts)
            ts = f"{ts[:10]}T{ts[11:]}Z"
        elif isinstance(ts, dt.datetime):
            # What the exporter's reader does with a driver's datetime.
            aware = ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)
            ts = format_ts(aware)
        else:
            return False
        a, ot, ac, oid = escape(action), escape(object_type), escape(actor), escape(object_id)
        parsed = payload_bytes = None
        if payload is None:
            if not is_hex64(psha):
                return False
        else:
            found = parse_canonical(payload) if type(payload) is str else None
            if found is None:
                return False
            parsed, payload_bytes = found
            if type(parsed) is not dict or sha256(payload_bytes).hexdigest() != psha:
                return False
        if public is not None and public not in feed.known:
            found = parse_canonical(public, 1) if type(public) is str else None
            if found is None or type(found[0]) is not dict or not found[0]:
                return False
            if len(found[1]) > PUBLIC_MAX_BYTES:
                return False
            if len(feed.known) < _KNOWN_MAX:
                feed.known.add(public)
        if salt is None and actor_ref is None and object_ref is None:
            envelope = envelope_v12(a, ac, oid, ot, psha, public, seq, ts)
        else:
            if not (len(salt) == len(actor_ref) == len(object_ref) == 32):
                return False
            if not is_lower_hex(salt + actor_ref + object_ref):
                return False
            private = sha256(private_part(ac, oid, psha, salt).encode()).hexdigest()
            envelope = envelope_v3(a, actor_ref, object_ref, ot, private, public, seq, ts)
        leaf = sha256(envelope.encode()).digest()
        if leaf.hex() != leaf_hex:
            return False
    except (ValueError, TypeError):
        # A value of the wrong type, a lone surrogate (UnicodeEncodeError): the reference reads it.
        return False
    feed.accept(seq, leaf, parsed, payload_bytes)
    return True


def _record(row: tuple[Any, ...]) -> EntryRecord:
    try:
        return export._entry(dict(zip(_COLUMNS, row, strict=True)), True)
    except LedgerError as exc:
        raise _unreadable(exc) from None


def _unreadable(exc: LedgerError) -> VerificationFailed:
    # As the reference: a row that cannot be read names its entry (damaged public fields, say).
    kind = "entry" if "seq" in exc.details else "log"
    return fail(kind, "unreadable", exc.message, None, None, **exc.details)
