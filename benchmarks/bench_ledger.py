"""Ledger throughput: appends into a SQLite file, proofs, and full verification.

Everything is measured in this one run, so machine noise cancels in the ratios:

  * baseline "hash only": building each entry in memory (canonical payload, SHA-256 of it,
    canonical envelope, leaf hash) with no database;
  * baseline "plain insert": the same rows INSERTed into an identical table (same columns and
    indexes, separate SQLite file, same pragmas) with the same SQLAlchemy Core statements, but
    no Merkle tree, no state row and no checkpoints;
  * the ledger's ``append`` (with the default automatic checkpoint every 1,000 entries), in
    batches of ``--batch`` appends per transaction and, for ``--single`` entries, one append per
    transaction against a plain insert per transaction;
  * inclusion and consistency proofs at full size (stored subtrees, O(log n) rows each);
  * the auditor's verification: ``verify_database`` on the file, and export + ``verify_export``.

    .venv/bin/python benchmarks/bench_ledger.py [--entries 1000000] [--batch 1000] [--single 5000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import MetaData, Table, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faceledger.db import Database, utcnow
from faceledger.ledger import Ledger, verify_database, verify_export
from faceledger.ledger.envelope import EntryDraft
from faceledger.ledger.models import EntryRow


def payload(i: int) -> dict[str, Any]:
    """A search-sized payload (about 400 bytes of canonical JSON), different for every entry."""
    digest = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
    return {
        "probe_sha256": digest,
        "galleries": ["booking-photos"],
        "threshold_micro": 420000,
        "top_k": 3,
        "faces": [
            {
                "index": 0,
                "candidates": [
                    {"subject": f"S{(i * 7 + r) % 100000:06d}", "distance_micro": 300000 + r}
                    for r in range(3)
                ],
            }
        ],
    }


def fields(i: int) -> dict[str, Any]:
    return {
        "actor": f"examiner:{i % 17}",
        "action": "search.run",
        "object_type": "probe",
        "object_id": f"case-{i // 10}",
        "payload": payload(i),
    }


def hash_only(n: int) -> float:
    """Seconds to build n entries (canonical JSON + SHA-256 of payload, envelope, leaf)."""
    now = utcnow()
    start = time.perf_counter()
    for i in range(n):
        EntryDraft.new(**fields(i)).at(i, now)
    return time.perf_counter() - start


def plain_insert(path: Path, n: int, batch: int) -> float:
    """Seconds to build and INSERT n rows, ``batch`` per transaction, no Merkle work."""
    db = Database(f"sqlite:///{path}")  # same engine setup and pragmas as the ledger's
    table = cast(Table, EntryRow.__table__).to_metadata(MetaData())  # same columns, indexes
    table.metadata.create_all(db.engine)
    statement = insert(table)  # built once, as the ledger does
    now = utcnow()
    start = time.perf_counter()
    for chunk in chunks(n, batch):
        with db.transaction() as session:
            for i in chunk:
                draft = EntryDraft.new(**fields(i))
                entry = draft.at(i, now)
                session.execute(
                    statement,
                    {
                        "seq": i,
                        "ts": entry.ts,
                        "actor": entry.actor,
                        "action": entry.action,
                        "object_type": entry.object_type,
                        "object_id": entry.object_id,
                        "payload": draft.payload_bytes.decode(),
                        "payload_sha256": entry.payload_sha256,
                        "leaf_hash": entry.leaf_hash,
                    },
                )
    elapsed = time.perf_counter() - start
    db.dispose()
    return elapsed


def ledger_append(db: Database, ledger: Ledger, n: int, batch: int, start_seq: int = 0) -> float:
    """Seconds to append n entries, ``batch`` per transaction."""
    start = time.perf_counter()
    for chunk in chunks(n, batch, start_seq):
        with db.transaction() as session:
            for i in chunk:
                ledger.append(session, **fields(i))
    return time.perf_counter() - start


def chunks(n: int, size: int, offset: int = 0) -> Iterator[range]:
    for lo in range(offset, offset + n, size):
        yield range(lo, min(lo + size, offset + n))


def row(name: str, seconds: float, count: int, baseline: float | None = None) -> str:
    rate = count / seconds if seconds else float("inf")
    text = f"  {name:<44} {count:>9,} in {seconds:8.2f} s = {rate:>10,.0f} /s"
    if baseline is not None:
        text += f"   x{seconds / baseline:5.2f} the baseline time"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--entries", type=int, default=1_000_000, help="entries appended in batches"
    )
    parser.add_argument("--batch", type=int, default=1000, help="appends per transaction")
    parser.add_argument("--single", type=int, default=5000, help="one-per-transaction appends")
    parser.add_argument("--proofs", type=int, default=1000, help="proofs of each kind to time")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        n, single = args.entries, args.single
        print(f"faceledger ledger benchmark: {n:,} entries, {args.batch} per transaction")

        t_hash = hash_only(n)
        t_plain = plain_insert(work / "plain.db", n, args.batch)
        t_plain_single = plain_insert(work / "plain-single.db", single, 1)

        db = Database(f"sqlite:///{work / 'ledger.db'}")
        db.upgrade()
        ledger = Ledger(Ed25519PrivateKey.generate(), "bench", 1000, 60)
        t_append = ledger_append(db, ledger, n, args.batch)
        t_single = ledger_append(db, ledger, single, 1, start_seq=n)
        total = n + single
        with db.transaction() as session:
            ledger.checkpoint(session)

        rng = random.Random(7)
        with db.read() as session:
            start = time.perf_counter()
            for _ in range(args.proofs):
                ledger.inclusion_proof(session, rng.randrange(total))
            t_incl = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(args.proofs):
                ledger.consistency_proof(session, rng.randrange(1, total))
            t_cons = time.perf_counter() - start

        t_hash_all = hash_only(total)
        start = time.perf_counter()
        public_key = ledger.public_key
        assert public_key is not None
        report = verify_database(db.url, public_key)
        t_verify_db = time.perf_counter() - start
        export_path = work / "export.jsonl"
        start = time.perf_counter()
        with db.read() as session, export_path.open("w", encoding="utf-8") as out:
            ledger.export(session, out)
        t_export = time.perf_counter() - start
        start = time.perf_counter()
        with export_path.open(encoding="utf-8") as lines:
            verify_export(lines, public_key)
        t_verify_export = time.perf_counter() - start
        db_bytes = (work / "ledger.db").stat().st_size
        plain_bytes = (work / "plain.db").stat().st_size
        db.dispose()

        print("append (batched)")
        print(row("baseline: build entries, hash only", t_hash, n))
        print(row("baseline: plain INSERT of the same rows", t_plain, n))
        print(row("ledger append", t_append, n, t_plain))
        print(f"    vs hash only: x{t_append / t_hash:.2f}")
        print("append (one per transaction)")
        print(row("baseline: plain INSERT, one per transaction", t_plain_single, single))
        print(row("ledger append, one per transaction", t_single, single, t_plain_single))
        print(f"proofs at tree size {total:,} (from stored subtrees)")
        print(row("inclusion proof", t_incl, args.proofs))
        print(row("consistency proof", t_cons, args.proofs))
        print(f"verification of {total:,} entries, {report.checkpoints:,} checkpoints")
        print(row("baseline: rebuild every leaf hash, no I/O", t_hash_all, total))
        print(row("verify_database", t_verify_db, total, t_hash_all))
        print(row("export (JSON Lines, with payloads)", t_export, total))
        print(row("verify_export", t_verify_export, total, t_hash_all))
        print("storage")
        export_bytes = export_path.stat().st_size
        print(f"  ledger database: {db_bytes / total:,.0f} bytes/entry")
        print(f"  plain table:     {plain_bytes / n:,.0f} bytes/entry")
        print(f"  export:          {export_bytes / total:,.0f} bytes/entry")


if __name__ == "__main__":
    main()
