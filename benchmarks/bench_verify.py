"""Full verification of a large ledger against SHA-256 of the same bytes, in one run.

The ledger is synthetic and written in bulk (no Ledger.append per entry, which would take an
hour at a million): search entries with payloads of 300-600 bytes of canonical JSON, a third of
them with public fields, the first half in envelope versions 1 and 2 and the second half in
version 3 (pseudonymous), a checkpoint every 1,000 entries, all as the ledger writes them (a
sample is checked against the reference envelope code while building). The database and its
export (written by the real exporter) are cached in ``--dir`` for the next run. Then it times:

  (a) the baseline: reading the export file and one SHA-256 over each of its lines;
  (b) ``verify_export`` of that file;
  (c) ``verify_database`` of the SQLite file;

and gives each as seconds (wall clock and this process's CPU time; other processes on the
machine slow the first) and as a ratio to the baseline's CPU time; ``--repeat`` rounds keep the
best of each. ``--reference`` also times the verifier as it was before its fast path (the
reference checks on record objects), ``--paths`` counts the entries each path checked,
``--kind plain`` takes the entries of ``bench_ledger.py`` instead (version 1, no public fields:
the ledger issue 3 measured its 52.6 s on).

    .venv/bin/python benchmarks/bench_verify.py [--entries 1000000] [--kind mixed|plain]
        [--dir DIR] [--repeat 1] [--paths/--no-paths] [--reference]
        [--profile export|database] [--json FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import io
import json
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faceledger.db import Database
from faceledger.ledger import verify_database, verify_export
from faceledger.ledger.canonical import canonical_json, encode_sorted, parse_json
from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.checks import LogChecker
from faceledger.ledger.envelope import envelope_bytes, format_ts, private_sha256
from faceledger.ledger.export import iter_records, write_export
from faceledger.ledger.fastdb import verify_rows
from faceledger.ledger.fastlines import verify_lines
from faceledger.ledger.fastverify import envelope_v3, envelope_v12, escape, private_part
from faceledger.ledger.merkle import CompactRange, leaf_hash
from faceledger.ledger.pseudonyms import actor_ref, object_ref
from faceledger.ledger.records import parse_line
from faceledger.ledger.verify import verify_records

BUILD_FORMAT = 1  # bump when the synthetic ledger changes, so old caches are rebuilt
CHECKPOINT_EVERY = 1000
LOG_ID = "bench/verify"
_BASE_TS = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_INSERT = (
    "INSERT INTO ledger_entries (seq, ts, actor, action, object_type, object_id, payload, "
    "payload_sha256, leaf_hash, public, salt, actor_ref, object_ref) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def payload(i: int) -> dict[str, Any]:
    """A search's payload, 300-600 bytes of canonical JSON, different for every entry."""
    candidates = 1 + i % 5
    return {
        "probe_sha256": hashlib.sha256(i.to_bytes(8, "big")).hexdigest(),
        "galleries": ["booking-photos", "wanted"][: 1 + i % 2],
        "threshold_micro": 420000,
        "top_k": candidates,
        "faces": [
            {
                "index": 0,
                "candidates": [
                    {"subject": f"S{(i * 7 + r) % 100000:06d}", "distance_micro": 300000 + r}
                    for r in range(candidates)
                ],
            }
        ],
        "note": f"search {i} for case file {i // 10}, reviewed by the duty examiner",
    }


def plain_payload(i: int) -> dict[str, Any]:
    """The payload of ``bench_ledger.py`` (issue 3's figure of 52.6 s): about 400 bytes."""
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


def entry_fields(i: int) -> dict[str, Any]:
    return {
        "actor": f"examiner:{i % 17}",
        "action": "search.run",
        "object_type": "request",
        "object_id": f"REQ-2026-{i // 10:07d}",
        "public": {"agency": f"agency-{i % 25}", "basis": "warrant"} if i % 3 == 0 else None,
    }


def build(directory: Path, n: int, kind: str) -> tuple[Path, Path, Ed25519PublicKey]:
    """Write (or reuse) the ledger database and its export; return their paths and the key."""
    db_path, export_path = directory / "ledger.db", directory / "export.jsonl"
    key_path, manifest = directory / "signing_key.pem", directory / "manifest.json"
    wanted = {"format": BUILD_FORMAT, "entries": n, "kind": kind}
    if manifest.is_file() and json.loads(manifest.read_text()) == wanted:
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        assert isinstance(key, Ed25519PrivateKey)
        return db_path, export_path, key.public_key()
    for path in directory.glob("ledger.db*"):
        path.unlink()
    manifest.unlink(missing_ok=True)
    key = Ed25519PrivateKey.generate()
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    database = Database(f"sqlite:///{db_path}")
    database.upgrade()
    database.dispose()
    started = time.perf_counter()
    _write_rows(db_path, n, key, kind)
    print(f"  wrote {n:,} rows in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.connect() as conn, export_path.open("w", encoding="utf-8") as out:
        write_export(conn, out)
    engine.dispose()
    print(f"  exported in {time.perf_counter() - started:.1f} s")
    manifest.write_text(json.dumps(wanted))
    return db_path, export_path, key.public_key()


def _write_rows(db_path: Path, n: int, key: Ed25519PrivateKey, kind: str) -> None:
    pseudonym_key = os.urandom(32)
    tree = CompactRange()
    rng = random.Random(11)
    sample = set(rng.sample(range(n), min(n, 200)))
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        rows: list[tuple[Any, ...]] = []
        nodes: list[tuple[int, int, bytes]] = []
        checkpoints: list[tuple[Any, ...]] = []
        for i in range(n):
            ts = _BASE_TS + dt.timedelta(milliseconds=37 * i)
            row, envelope = _row(i, ts, pseudonym_key, kind, v3=kind == "mixed" and i >= n // 2)
            if i in sample:
                _check_sample(row, envelope)
            leaf = hashlib.sha256(envelope).digest()
            nodes.extend(tree.append(leaf))
            rows.append((*row[:8], leaf.hex(), *row[8:]))
            if tree.size % CHECKPOINT_EVERY == 0 or i == n - 1:
                cp = sign_checkpoint(
                    key,
                    number=len(checkpoints),
                    log_id=LOG_ID,
                    tree_size=tree.size,
                    root_hash=tree.root(),
                    timestamp=ts,
                )
                checkpoints.append(
                    (cp.number, LOG_ID, cp.tree_size, cp.root_hash.hex(), row[1], cp.signature)
                )
            if len(rows) == 20_000:
                _flush(conn, rows, nodes)
        _flush(conn, rows, nodes)
        conn.executemany(
            "INSERT INTO ledger_checkpoints (number, log_id, tree_size, root_hash, ts, signature)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            checkpoints,
        )
        conn.execute(
            "UPDATE ledger_state SET tree_size = ?, frontier = ?, checkpoint_count = ?, "
            "last_checkpoint_size = ?, last_checkpoint_at = ? WHERE id = 1",
            (tree.size, tree.to_bytes(), len(checkpoints), tree.size, checkpoints[-1][4]),
        )


def _row(
    i: int, ts: dt.datetime, pseudonym_key: bytes, kind: str, v3: bool
) -> tuple[tuple[Any, ...], bytes]:
    """Return a row (without its leaf hash) and the NUL-prefixed envelope it hashes.

    ``kind`` "mixed" gives this module's entries; "plain" those of bench_ledger.py (version 1,
    no public fields).
    """
    fields = entry_fields(i)
    if kind == "plain":
        fields["object_type"], fields["object_id"] = "probe", f"case-{i // 10}"
        fields["public"] = None
    text = encode_sorted(plain_payload(i) if kind == "plain" else payload(i))  # canonical
    psha = hashlib.sha256(text.encode()).hexdigest()
    public = None if fields["public"] is None else encode_sorted(fields["public"])
    ts_text = format_ts(ts)
    a, ot = escape(fields["action"]), escape(fields["object_type"])
    ac, oid = escape(fields["actor"]), escape(fields["object_id"])
    refs: tuple[str | None, str | None, str | None] = (None, None, None)
    if v3:
        salt = os.urandom(16).hex()
        aref = actor_ref(pseudonym_key, fields["actor"])
        oref = object_ref(pseudonym_key, fields["object_type"], fields["object_id"])
        private = hashlib.sha256(private_part(ac, oid, psha, salt).encode()).hexdigest()
        envelope = envelope_v3(a, aref, oref, ot, private, public, i, ts_text)
        refs = (salt, aref, oref)
    else:
        envelope = envelope_v12(a, ac, oid, ot, psha, public, i, ts_text)
    row = (
        i,
        ts.strftime("%Y-%m-%d %H:%M:%S.%f"),  # how SQLAlchemy keeps a UTC datetime in SQLite
        fields["actor"],
        fields["action"],
        fields["object_type"],
        fields["object_id"],
        text,
        psha,
        public,
        *refs,
    )
    return row, envelope.encode()


def _check_sample(row: tuple[Any, ...], envelope: bytes) -> None:
    # The bulk writer must write what the ledger writes: hold a sample to the reference code.
    seq, ts, actor, action, object_type, object_id, text, psha, public, salt, aref, oref = row
    assert canonical_json(parse_json(text)) == text.encode(), f"payload {seq} not canonical"
    assert hashlib.sha256(text.encode()).hexdigest() == psha
    ts_text = format_ts(dt.datetime.fromisoformat(ts).replace(tzinfo=dt.UTC))
    v3 = {}
    if salt is not None:
        private = private_sha256(actor=actor, object_id=object_id, payload_sha256=psha, salt=salt)
        v3 = {"actor_ref": aref, "object_ref": oref, "private_sha256": private}
    reference = envelope_bytes(
        seq=seq,
        ts=ts_text,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload_sha256=psha,
        public=None if public is None else json.loads(public),
        **v3,
    )
    assert b"\x00" + reference == envelope, f"the bulk writer's entry {seq} is not the ledger's"
    assert leaf_hash(reference) == hashlib.sha256(envelope).digest()


def _flush(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], nodes: list[Any]) -> None:
    conn.executemany(_INSERT, rows)
    conn.executemany("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    rows.clear()
    nodes.clear()


# -- measuring ----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Return the wall and CPU seconds of one run of ``fn``, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def best(
    runs: dict[str, Callable[[], Any]], repeat: int
) -> tuple[dict[str, tuple[float, float]], dict[str, Any]]:
    """Run each of ``runs`` in turn, ``repeat`` rounds (so that all see the same machine), and
    return the best wall and CPU seconds of each, and its last result."""
    timings: dict[str, tuple[float, float]] = {}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in runs.items():
            wall, cpu, results[name] = timed(fn)
            old = timings.get(name, (float("inf"), float("inf")))
            timings[name] = (min(old[0], wall), min(old[1], cpu))
    return timings, results


def sha_baseline(export_path: Path) -> int:
    """Read the export and hash each line once; return the bytes hashed."""
    total = 0
    with export_path.open("rb") as lines:
        for line in lines:
            hashlib.sha256(line).digest()
            total += len(line)
    return total


def paths(db_path: Path, export_path: Path, key: Ed25519PublicKey) -> dict[str, Any]:
    """How many entries each verifier checked on its fast path and gave to the reference."""
    with export_path.open(encoding="utf-8") as lines:
        export_stats = verify_lines(lines, LogChecker(key, None))[1]
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.connect() as conn, conn.begin():
        db_stats = verify_rows(conn, LogChecker(key, None))[1]
    engine.dispose()
    return {
        "export": {"fast": export_stats.fast, "exact": export_stats.exact},
        "database": {"fast": db_stats.fast, "exact": db_stats.exact},
    }


def reference_export(export_path: Path, key: Ed25519PublicKey) -> Any:
    """The verifier before the fast path: a record object per line, checks in Python."""
    with export_path.open(encoding="utf-8") as lines:
        records = (parse_line(line, n) for n, line in enumerate(lines, 1) if line.strip())
        return verify_records(records, key)


def reference_database(db_path: Path, key: Ed25519PublicKey) -> Any:
    """The database verifier before the fast path (the state row's check F3 left out)."""
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn, conn.begin():
            records = iter_records(conn, include_payloads=True, whole_tables=True)
            return verify_records(records, key)
    finally:
        engine.dispose()


def profile(which: str, db_path: Path, export_path: Path, key: Ed25519PublicKey) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    if which == "export":
        with export_path.open(encoding="utf-8") as lines:
            verify_export(lines, key)
    else:
        verify_database(f"sqlite:///{db_path}", key)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--kind",
        choices=["mixed", "plain"],
        default="mixed",
        help="mixed: this benchmark's entries (versions 1-3, public fields); plain: those of "
        "bench_ledger.py (version 1), to compare with issue 3's figure",
    )
    parser.add_argument("--dir", type=Path, default=None, help="cache directory (default: temp)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of timings; best kept")
    parser.add_argument("--paths", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--reference", action="store_true", help="time the old verifier too")
    parser.add_argument("--profile", choices=["export", "database"], default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.dir or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        n = args.entries
        print(
            f"faceledger verification benchmark: {n:,} {args.kind} entries, a checkpoint every "
            "1,000"
        )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {_load()}")
        db_path, export_path, key = build(directory, n, args.kind)
        url = f"sqlite:///{db_path}"

        def export() -> Any:
            with export_path.open(encoding="utf-8") as lines:
                return verify_export(lines, key)

        timings, results = best(
            {
                "baseline": lambda: sha_baseline(export_path),
                "verify_export": export,
                "verify_database": lambda: verify_database(url, key),
            },
            args.repeat,
        )
        hashed, from_export, from_db = (results[k] for k in timings)
        base_cpu = timings["baseline"][1]
        if args.reference:
            for name, fn in (
                ("reference verify_export", lambda: reference_export(export_path, key)),
                ("reference verify_database", lambda: reference_database(db_path, key)),
            ):
                wall, cpu, _ = timed(fn)
                timings[name] = (wall, cpu)
        assert from_export.root_hash == from_db.root_hash and from_db.tree_size == n

        print(
            f"export: {export_path.stat().st_size / 1e6:,.0f} MB ({hashed / n:,.0f} bytes/entry); "
            f"{from_db.checkpoints:,} checkpoints; load now {_load()}"
        )
        print(f"  {'':44} {'wall s':>8} {'cpu s':>8} {'x baseline (cpu)':>17}")
        labels = {
            "baseline": "(a) baseline: read + SHA-256 of every line",
            "verify_export": "(b) verify_export",
            "verify_database": "(c) verify_database",
            "reference verify_export": "    verify_export before the fast path",
            "reference verify_database": "    verify_database before the fast path",
        }
        for name, (wall, cpu) in timings.items():
            print(f"  {labels[name]:44} {wall:8.2f} {cpu:8.2f} {cpu / base_cpu:17.1f}")
        path_counts = paths(db_path, export_path, key) if args.paths else None
        if path_counts:
            for name, counts in path_counts.items():
                print(
                    f"  {name}: {counts['fast']:,} entries on the fast path, "
                    f"{counts['exact']:,} given to the reference checks"
                )
        if args.profile:
            print(profile(args.profile, db_path, export_path, key))
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "entries": n,
                        "kind": args.kind,
                        "checkpoints": from_db.checkpoints,
                        "bytes_hashed": hashed,
                        "seconds": {k: {"wall": w, "cpu": c} for k, (w, c) in timings.items()},
                        "ratios": {k: c / base_cpu for k, (_, c) in timings.items()},
                        "paths": path_counts,
                    },
                    indent=2,
                )
            )


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
