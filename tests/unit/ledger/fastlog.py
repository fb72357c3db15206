"""A log of every kind of entry, and the reference verifier the fast path is held to.

The mixed log has envelope versions 1, 2 and 3 (with and without public fields), strings that
need escaping (quotes, backslashes, newlines, control characters, accents, an emoji as a
value), commitments and their reveals, and a payload redacted in the database. The reference
functions run only :class:`~faceledger.ledger.checks.LogChecker` on records the reference
readers build (:func:`~faceledger.ledger.records.parse_line`,
:func:`~faceledger.ledger.export.iter_records`): the verifier before the fast path.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import create_engine, text

from faceledger.db import Database
from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger import Checkpoint, Ledger, commit, make_reveal
from faceledger.ledger.checks import LogChecker, VerifyReport, fail
from faceledger.ledger.export import iter_records, read_state
from faceledger.ledger.merkle import CompactRange, leaf_hash
from faceledger.ledger.records import EntryRecord, parse_line
from faceledger.ledger.verify import verify_records
from tests import rawsql

from .conftest import FakeClock

PSEUDONYM_KEY = bytes(range(32))
MARKS = {"points": 12, "ears": "different"}

# Strings the envelope and the line must escape exactly as canonical JSON does.
AWKWARD = [
    'quote " and backslash \\ and slash /',
    "line\nbreak\ttab\rreturn\x00nul\x1funit\x7fdel",
    "café, Łódź, 東京, \u2028 separator",
    "emoji \U0001f600 as a value",
]


TAIL = (25, 26)  # the seqs after the last checkpoint (versions 1: their leaves are plain)


def build_mixed_log(db: Database, signing_key: Ed25519PrivateKey, clock: FakeClock) -> Ledger:
    """Append 27 entries of every kind, checkpoints after 9, 22 and 25 of them and two
    unsigned; return the version 3 ledger (it exports the whole log like any other)."""
    plain = Ledger(signing_key, "mixed-log", 0, 0, clock=clock)
    pseudo = Ledger(signing_key, "mixed-log", 0, 0, clock=clock, pseudonym_key=PSEUDONYM_KEY)
    marks = commit(MARKS)
    with db.transaction() as session:
        for i in range(8):
            clock.advance(seconds=1)
            plain.append(
                session,
                actor=f"examiner:{i % 3}",
                action="search.run",
                object_type="request",
                object_id=f"REQ-{i}",
                payload={"n": i, "note": AWKWARD[i % 4], "tags": ["a", {"b": [None, True]}]},
                public={"agency": "metro", "kind": "warrant"} if i % 2 else None,
            )
        plain.append(
            session,
            actor="examiner:1",
            action="review.blind",
            object_type="request",
            object_id="REQ-1",
            payload={"commitments": {"marks": marks.digest}},
        )
        plain.checkpoint(session)
    with db.transaction() as session:
        for i in range(8, 20):
            clock.advance(seconds=1)
            pseudo.append(
                session,
                # A text column of PostgreSQL cannot hold NUL; payloads keep it (as \u0000).
                actor=AWKWARD[i % 4][:40].replace("\x00", ""),
                action="request.file" if i % 3 else "review.step",
                object_type="request",
                object_id=f"REQ-{i}/{AWKWARD[(i + 1) % 4][:10]}",
                payload={"i": i, "big": 10**15 - 1, "neg": -(10**15 - 1), "text": AWKWARD[i % 4]},
                public={"agency": "metro", "offence": "class-b"} if i % 2 else None,
            )
        pseudo.append(
            session,
            actor="examiner:2",
            action="review.reveal",
            object_type="request",
            object_id="REQ-1",
            payload={"reveals": [make_reveal(8, "marks", marks.salt, MARKS)]},
        )
        pseudo.checkpoint(session)
    with db.transaction() as session:
        for i in range(21, 24):
            clock.advance(seconds=1)
            pseudo.append(
                session,
                actor="admin",
                action="profile.change",
                object_type="profile",
                object_id="default",
                payload={"i": i},
            )
        pseudo.checkpoint(session)
    # An unsigned tail: entries a test may change and reseal without a checkpoint noticing.
    with db.transaction() as session:
        for i in range(2):
            clock.advance(seconds=1)
            plain.append(
                session,
                actor="examiner:0",
                action="search.run",
                object_type="request",
                object_id=f"REQ-T{i}",
                payload={"tail": i},
            )
    redact(db, 3, by=23)
    redact(db, 12, by=23)
    return pseudo


def redact(db: Database, seq: int, *, by: int) -> None:
    """Set entry ``seq``'s payload to NULL as a retention purge does."""
    with db.transaction() as session:
        session.execute(
            text("UPDATE ledger_entries SET payload = NULL, redacted_by = :by WHERE seq = :seq"),
            {"by": by, "seq": seq},
        )


def export_lines(db: Database, ledger: Ledger, include_payloads: bool = True) -> list[str]:
    """Return the ledger's export, one string per line (newlines kept)."""
    out = io.StringIO()
    with db.read() as session:
        ledger.export(session, out, include_payloads=include_payloads)
    # Lines end at "\n" only (str.splitlines would also split at the U+2028 in a string).
    return list(io.StringIO(out.getvalue()))


def reference_export(
    lines: Iterable[str], key: Ed25519PublicKey, trusted: Checkpoint | None = None
) -> VerifyReport:
    """Verify export lines by the reference path alone."""
    records = (parse_line(line, n) for n, line in enumerate(lines, start=1) if line.strip())
    return verify_records(records, key, trusted)


def reference_database(
    url: str, key: Ed25519PublicKey, trusted: Checkpoint | None = None
) -> VerifyReport:
    """Verify a database by the reference path alone (what verify_database did before)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            checker = LogChecker(key, trusted)

            def records() -> Iterable[Any]:
                try:
                    yield from iter_records(conn, include_payloads=True, whole_tables=True)
                except LedgerError as exc:
                    kind = "entry" if "seq" in exc.details else "log"
                    raise fail(kind, "unreadable", exc.message, None, None, **exc.details) from None

            header = None
            for record in records():
                if header is None:
                    header = record
                elif hasattr(record, "seq"):
                    checker.entry(record)
                else:
                    checker.checkpoint(record)
            report = checker.finish(header)
            snapshot = read_state(conn)
            try:
                root = CompactRange.from_bytes(snapshot.tree_size, snapshot.frontier).root().hex()
            except ValueError:
                root = "malformed"
            if root != report.root_hash:
                raise fail("log", "state_mismatch", "state", report.root_hash, root)
            return report
    finally:
        engine.dispose()


def outcome(run: Callable[[], VerifyReport]) -> tuple[str, Any]:
    """Return ("ok", report) or ("failed", (message, details)) of a verification."""
    try:
        return "ok", run()
    except VerificationFailed as exc:
        return "failed", (exc.message, exc.details)


def sql(db_url: str, statement: str, **params: Any) -> None:
    """Run one statement (named ``:parameters``) on the database behind the ledger's back."""
    rawsql.execute(db_url, statement, **params)


def reseal_entry(db_url: str, seq: int, **columns: Any) -> None:
    """Set columns of entry ``seq``, then its payload hash (if the payload is set), its leaf hash
    and the state row's frontier as the reference reader computes them: the careful attacker
    (or a foreign writer) whose row only the form checks can catch."""
    if "payload" in columns and columns["payload"] is not None and "payload_sha256" not in columns:
        columns["payload_sha256"] = hashlib.sha256(columns["payload"].encode()).hexdigest()
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    sql(db_url, f"UPDATE ledger_entries SET {assignments} WHERE seq = :seq", **columns, seq=seq)
    with rawsql.connection(db_url) as conn:
        try:
            for record in iter_records(conn, include_payloads=True, whole_tables=True):
                if isinstance(record, EntryRecord) and record.seq == seq:
                    leaf = leaf_hash(record.envelope(check_private=False)).hex()
                    conn.execute(
                        text("UPDATE ledger_entries SET leaf_hash = :leaf WHERE seq = :seq"),
                        {"leaf": leaf, "seq": seq},
                    )
        except LedgerError:
            pass  # a row the reader refuses: nothing to reseal, the verifiers must refuse it
        hashes = [
            bytes.fromhex(row[0])
            for row in conn.execute(text("SELECT leaf_hash FROM ledger_entries ORDER BY seq"))
        ]
        tree = CompactRange()
        tree.extend(hashes)
        conn.execute(
            text("UPDATE ledger_state SET frontier = :frontier WHERE id = 1"),
            {"frontier": tree.to_bytes()},
        )
