"""Redacting stored payloads: the one change a ledger entry may ever undergo.

A redaction sets ``payload`` to NULL and ``redacted_by`` to the seq of the ``ledger.redact``
entry that records it; nothing else of the row changes. The leaf hash commits to the envelope,
and the envelope commits to ``payload_sha256`` (directly in versions 1 and 2, through
``private_sha256`` in version 3), both of which stay, so the log verifies exactly as before and
the entry counts as "payload redacted". Entries themselves are never deleted: the tree only
grows.

The caller appends the ``ledger.redact`` entry first and redacts in the same transaction, so the
redaction and its record commit together or not at all. Plain SQLAlchemy Core on the caller's
connection (no ORM): an ORM session holding :class:`~faceledger.ledger.models.EntryRow` objects
of these seqs would not see the change.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from faceledger.errors import InvalidInput, LedgerError, NotFound
from faceledger.ledger.tables import entries

__all__ = ["REDACT_ACTION", "redact_payloads"]

REDACT_ACTION = "ledger.redact"
"""The action of the entry that records a redaction (``redacted_by`` must name one)."""

# Keep each IN list well under SQLite's bound-parameter limit.
_CHUNK = 500


def redact_payloads(conn: Connection, seqs: Iterable[int], redacted_by: int) -> int:
    """Redact the payloads of entries ``seqs``, recorded by entry ``redacted_by``, in the
    connection's transaction (executed, not committed). Entries already redacted are left as
    they are. Return how many payloads were removed now.

    Raises:
        InvalidInput: if a seq is not an entry before ``redacted_by`` (an entry cannot redact
            itself or a later one).
        NotFound: naming the seqs that are not in the ledger, or if ``redacted_by`` is not.
        LedgerError: if entry ``redacted_by`` is not a ``ledger.redact`` entry.
        Nothing is changed when any of these is raised.
    """
    wanted = sorted(set(seqs))
    if not wanted:
        return 0
    recorder = conn.execute(
        select(entries.c.action).where(entries.c.seq == redacted_by)
    ).scalar_one_or_none()
    if recorder is None:
        raise NotFound(f"Ledger entry {redacted_by} does not exist.", seq=redacted_by)
    if recorder != REDACT_ACTION:
        raise LedgerError(
            f"Ledger entry {redacted_by} is a {recorder!r} entry; only a {REDACT_ACTION!r} "
            "entry records a redaction.",
            seq=redacted_by,
        )
    found: set[int] = set()
    for chunk in _chunks(wanted):
        found.update(conn.execute(select(entries.c.seq).where(entries.c.seq.in_(chunk))).scalars())
    missing = [s for s in wanted if s not in found]
    if missing:
        raise NotFound(
            f"Ledger entries {_listed(missing)} do not exist; nothing was redacted.",
            seqs=missing[:20],
        )
    late = [s for s in wanted if not 0 <= s < redacted_by]
    if late:
        raise InvalidInput(
            f"Entry {redacted_by} can only redact earlier entries, not {_listed(late)}.",
            seqs=late[:20],
            redacted_by=redacted_by,
        )
    changed = 0
    for chunk in _chunks(wanted):
        result = conn.execute(
            update(entries)
            .where(entries.c.seq.in_(chunk), entries.c.payload.is_not(None))
            .values(payload=None, redacted_by=redacted_by)
        )
        changed += result.rowcount
    return changed


def _chunks(seqs: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(seqs), _CHUNK):
        yield seqs[start : start + _CHUNK]


def _listed(seqs: list[int]) -> str:
    shown = ", ".join(str(s) for s in seqs[:10])
    return shown + (f" and {len(seqs) - 10} more" if len(seqs) > 10 else "")
