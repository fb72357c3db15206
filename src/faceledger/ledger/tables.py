"""The ledger tables as SQLAlchemy Core clauses, and reading subtree hashes through them.

The ORM classes in :mod:`faceledger.ledger.models` own the schema; these lightweight clauses name
the same columns so that the stand-alone verifier reads a database with SQLAlchemy Core alone
(no ORM, no application models). A test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
    column,
    or_,
    select,
    table,
)

from faceledger.errors import LedgerError
from faceledger.ledger.merkle import NodeId

__all__ = ["checkpoints", "cosignatures", "entries", "nodes", "read_nodes", "state"]

# Timestamps are left untyped: the raw value (a naive UTC datetime, or text on SQLite) is parsed
# by the reader, so one damaged row is reported by number instead of failing the whole read.
entries = table(
    "ledger_entries",
    column("seq", Integer),
    column("ts"),
    column("actor", String),
    column("action", String),
    column("object_type", String),
    column("object_id", String),
    column("payload", Text),
    column("payload_sha256", String),
    column("leaf_hash", String),
    column("public", Text),
    column("salt", String),
    column("actor_ref", String),
    column("object_ref", String),
    column("redacted_by", Integer),
)
nodes = table(
    "ledger_nodes",
    column("level", Integer),
    column("idx", Integer),
    column("hash", LargeBinary),
)
checkpoints = table(
    "ledger_checkpoints",
    column("number", Integer),
    column("log_id", String),
    column("tree_size", Integer),
    column("root_hash", String),
    column("ts"),
    column("signature", LargeBinary),
)
cosignatures = table(
    "ledger_cosignatures",
    column("checkpoint_number", Integer),
    column("witness_name", String),
    column("key_hash", String),
    column("timestamp", Integer),
    column("signature", LargeBinary),
)
state = table(
    "ledger_state",
    column("id", Integer),
    column("tree_size", Integer),
    column("frontier", LargeBinary),
    column("checkpoint_count", Integer),
    column("last_checkpoint_size", Integer),
    column("last_checkpoint_at"),
)

# Keep each IN list of leaves well under SQLite's bound-parameter limit.
_CHUNK = 200


def read_nodes(conn: Connection, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
    """Return the hashes of complete subtrees ``(level, index)``; level 0 is an entry's leaf hash.

    Raises:
        LedgerError: if any node is missing (the tree tables are incomplete or damaged).
    """
    found: dict[NodeId, bytes] = {}
    leaves = [index for level, index in ids if level == 0]
    inner = [(level, index) for level, index in ids if level > 0]
    for i in range(0, len(leaves), _CHUNK):
        seqs = leaves[i : i + _CHUNK]
        leaf_rows = conn.execute(
            select(entries.c.seq, entries.c.leaf_hash).where(entries.c.seq.in_(seqs))
        )
        for seq, hex_hash in leaf_rows:
            try:
                found[(0, seq)] = bytes.fromhex(hex_hash)
            except (TypeError, ValueError):
                raise LedgerError(f"Ledger entry {seq} has a malformed leaf hash.") from None
    by_level: dict[int, list[int]] = {}
    for level, index in inner:
        by_level.setdefault(level, []).append(index)
    if by_level:
        # One (level = ? AND idx IN (...)) per level: SQLite searches the primary key for each,
        # where a row-value IN over (level, idx) would scan the whole table.
        node_rows = conn.execute(
            select(nodes.c.level, nodes.c.idx, nodes.c.hash).where(
                or_(
                    *(
                        and_(nodes.c.level == level, nodes.c.idx.in_(indexes))
                        for level, indexes in sorted(by_level.items())
                    )
                )
            )
        )
        for level, index, value in node_rows:
            found[(level, index)] = bytes(value)
    missing = [node for node in ids if node not in found]
    if missing:
        raise LedgerError(
            f"The ledger tree is missing {len(missing)} stored node(s), e.g. "
            f"level {missing[0][0]} index {missing[0][1]}.",
            missing=[list(node) for node in missing[:10]],
        )
    return found
