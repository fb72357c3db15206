"""Benchmark: a year's transparency report (R17) over SYNTHETIC requests.

Builds ``--requests`` (default 100,000) synthetic requests over one year, with searches,
outcomes, lead uses, emergencies, denials and violations, once directly as the report's facts
and once as the public ledger export a unit would publish (payloads redacted, signed by one
checkpoint). Then it times:

* counting from the facts (what the service does after reading its rows), internal and public
  (the public one includes small-cell and complementary suppression);
* counting from the export: reading it with verification against the public key (what
  ``--from-export FILE --public-key K`` does), and without;
* rendering the public report as HTML (with its three charts), CSV and JSON.

Both counts must agree; the script exits 1 if they do not. Run::

    .venv/bin/python -m benchmarks.bench_transparency [--requests N] [--agencies A]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.unit.reports.transparency.synthetic import YEAR, history, signed_export

from faceledger.reports.transparency import Period, TransparencyReport, build_report
from faceledger.reports.transparency.from_export import ExportFacts, read_export
from faceledger.reports.transparency.render import render_csv, render_html, render_json

T = TypeVar("T")
PERIOD = Period(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
NOW = dt.datetime(YEAR + 1, 1, 2, tzinfo=dt.UTC)


def timed(label: str, rows: list[tuple[str, float]], fn: Callable[[], T]) -> T:
    """Run ``fn`` once, note its duration under ``label``, return its result."""
    start = time.perf_counter()
    result = fn()
    rows.append((label, time.perf_counter() - start))
    return result


def report(requests: object, violations: object, public: bool, source: str) -> TransparencyReport:
    """The year's report of the given facts."""
    return build_report(
        requests,  # type: ignore[arg-type]
        violations,  # type: ignore[arg-type]
        PERIOD,
        public=public,
        small_cell_min=5,
        profile="massachusetts",
        source=source,
        generated_at=NOW,
    )


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--agencies", type=int, default=25)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    setup: list[tuple[str, float]] = []
    timings: list[tuple[str, float]] = []
    synthetic = timed(
        "draw the synthetic history",
        setup,
        lambda: history(args.requests, args.seed, args.agencies),
    )
    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "ledger.jsonl"

        def write() -> None:
            with export.open("w", encoding="utf-8") as out:
                out.writelines(signed_export(synthetic.entries, key))

        timed("write the signed public export", setup, write)
        size = export.stat().st_size

        internal = timed(
            "count from facts, internal",
            timings,
            lambda: report(synthetic.requests, synthetic.violations, False, "records"),
        )
        public = timed(
            "count from facts, public (with suppression)",
            timings,
            lambda: report(synthetic.requests, synthetic.violations, True, "records"),
        )

        def read(verify: bool) -> ExportFacts:
            with export.open(encoding="utf-8") as lines:
                return read_export(lines, key.public_key() if verify else None)

        facts = timed("read the export, verified with the key", timings, lambda: read(True))
        timed("read the export, not verified", timings, lambda: read(False))
        exported = timed(
            "count from export facts, public",
            timings,
            lambda: report(facts.requests, facts.violations, True, "records"),
        )
        html = timed("render HTML (3 charts)", timings, lambda: render_html(public))
        timed("render CSV", timings, lambda: render_csv(public))
        timed("render JSON", timings, lambda: render_json(public))

    agree = exported.to_dict() == public.to_dict()
    totals = internal.totals()
    hidden = public.suppression
    assert hidden is not None
    print(
        f"synthetic year {YEAR}: {len(synthetic.requests):,} requests, "
        f"{totals['searches']:,} searches, {totals['candidates']:,} candidates, "
        f"{totals['violations']:,} violations, {len(internal.agencies)} agencies; "
        f"export {len(synthetic.entries):,} entries, {size / 1e6:.1f} MB"
    )
    print(
        f"public version: {len(hidden.primary)} small cells, {len(hidden.complementary)} "
        f"complementary, {len(hidden.exposed)} exposed by the exact totals; HTML "
        f"{len(html) / 1e3:.0f} kB"
    )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, one process")
    width = max(len(label) for label, _ in setup + timings)
    for title, rows in (("setup (not measured)", setup), ("measured", timings)):
        print(f"{title:<{width + 2}}  seconds")
        for label, seconds in rows:
            print(f"  {label:<{width}}  {seconds:7.2f}")
    print(f"counts from the facts and from the export agree: {'yes' if agree else 'NO'}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
