"""Concurrent appends from several processes on one database, on SQLite and PostgreSQL (--db).

Each worker is a separate process (``spawn``) with its own engine and connection pool, so the
appends really race for the ledger's state row: ``BEGIN IMMEDIATE`` on SQLite, a row lock
(``UPDATE … RETURNING`` inside the transaction) on PostgreSQL. Checkpoints fall due every few
entries, so signing races with appending too. The log must come out gap-free, every entry
exactly once, and verify.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from pathlib import Path

from faceledger.db import Database
from faceledger.ledger import Ledger, LedgerKeys, load_public_key, load_signing_key, verify_database
from tests.backends import worker_processes

WORKERS = 4
APPENDS = 12
CHECKPOINT_EVERY = 7
JOIN_TIMEOUT = 120.0


def _append_many(url: str, key_path: str, name: str, start: mp.synchronize.Barrier) -> None:
    """One worker: wait for the others, then append APPENDS entries, one transaction each."""
    database = Database(url)
    ledger = Ledger(load_signing_key(key_path), "test-log", CHECKPOINT_EVERY, 0)
    try:
        start.wait(timeout=JOIN_TIMEOUT)
        for i in range(APPENDS):
            with database.transaction() as session:
                ledger.append(
                    session,
                    actor=name,
                    action="test.concurrent",
                    object_type="counter",
                    object_id=str(i),
                    payload={"worker": name, "i": i},
                )
    finally:
        database.dispose()


def test_processes_appending_at_once_leave_one_gap_free_verifiable_log(
    db_url: str, db: Database, keys: LedgerKeys, tmp_path: Path
) -> None:
    context = worker_processes(__name__)
    start = context.Barrier(WORKERS)
    workers = [
        context.Process(
            target=_append_many, args=(db_url, str(keys.private_key_path), f"w{n}", start)
        )
        for n in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(JOIN_TIMEOUT)
    assert [w.exitcode for w in workers] == [0] * WORKERS

    ledger = Ledger(None, "test-log")
    with db.read() as session:
        entries = ledger.query(session, limit=WORKERS * APPENDS + 1)
        checkpoints = ledger.checkpoints(session)
    assert [e.seq for e in entries] == list(range(WORKERS * APPENDS))
    assert Counter((e.actor, e.object_id) for e in entries) == Counter(
        {(f"w{n}", str(i)): 1 for n in range(WORKERS) for i in range(APPENDS)}
    )
    # Each worker's own entries keep its order: one transaction after the other.
    for n in range(WORKERS):
        mine = [int(e.object_id) for e in entries if e.actor == f"w{n}"]
        assert mine == list(range(APPENDS))
    # Automatic checkpoints were signed while others appended, each over a larger tree.
    sizes = [c.tree_size for c in checkpoints]
    assert len(sizes) >= (WORKERS * APPENDS) // CHECKPOINT_EVERY
    assert sizes == sorted(set(sizes))
    report = verify_database(db_url, load_public_key(keys.public_key_path))
    assert report.tree_size == report.payloads_checked == WORKERS * APPENDS
    assert report.signed_size == sizes[-1]
    assert report.checkpoints == len(checkpoints)
