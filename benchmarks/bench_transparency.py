"""Benchmark: a year's transparency report (R17) over SYNTHETIC requests.

Builds ``--requests`` (default 100,000) synthetic requests over one year, with searches,
outcomes, lead uses, emergencies, denials and violations, once directly as the report's facts
and once as the public ledger export a unit would publish (payloads redacted, signed by one
checkpoint). Unless ``--no-database`` is given it also writes the same requests as the rows of a
fresh data directory (setup, not measured). Then it times, ``--repeat`` times each:

* counting from the facts (what the service does after reading its rows), internal and public
  (the public one includes small-cell and complementary suppression): the baseline;
* counting from the export: reading it with verification against the public key (what
  ``--from-export FILE --public-key K`` does), and without;
* rendering the public report as HTML (with its three charts), CSV and JSON;
* the service's report from the records (``service.transparency.report``, internal and
  public): its read of the rows, the count, and the ledger entry that records the report.

The counts from the facts, from the export and from the records must agree; the script exits 1
if they do not. Run::

    .venv/bin/python -m benchmarks.bench_transparency [--requests N] [--agencies A]
        [--repeat R] [--no-database]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, insert, select
from tests.unit.reports.transparency.synthetic import YEAR, Entry, history, signed_export

from faceledger.config import load_settings
from faceledger.governance.accounts import Agency, UserInfo
from faceledger.governance.models import (
    CandidateRow,
    LeadUseRow,
    ProbeImage,
    RequestRow,
    SearchRun,
    ViolationRow,
)
from faceledger.reports.transparency import (
    Period,
    RequestFacts,
    TransparencyReport,
    build_report,
)
from faceledger.reports.transparency.from_export import ExportFacts, read_export
from faceledger.reports.transparency.render import render_csv, render_html, render_json
from faceledger.service import FaceLedger

T = TypeVar("T")
PERIOD = Period(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
NOW = dt.datetime(YEAR + 1, 1, 2, tzinfo=dt.UTC)
BATCH = 5_000
"""Requests written per database transaction in the set-up."""
GALLERY = "synthetic-gallery"
Timings = list[tuple[str, list[float]]]


def timed(label: str, rows: Timings, fn: Callable[[], T], repeat: int = 1) -> T:
    """Run ``fn`` ``repeat`` times, note the durations under ``label``, return the last
    result."""
    durations: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        durations.append(time.perf_counter() - start)
    rows.append((label, durations))
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


# -- the same year as database rows (set-up, not measured) -----------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _state(r: RequestFacts) -> str:
    """A lifecycle state consistent with the SYNTHETIC request's outcome."""
    if r.denied:
        return "denied"
    if r.searched_at is None:
        return "submitted" if r.emergency else "approved"
    if r.outcome == "pending":
        return "searched"
    return "no_lead" if r.outcome == "no_lead" else "released"


def _request_rows(
    batch: Sequence[RequestFacts], agencies: dict[str, int], admin: int, first_candidate: int
) -> dict[str, list[dict[str, Any]]]:
    """The rows of one batch of SYNTHETIC requests: one probe image each, the search run with
    as many candidates as the facts say, and the lead uses. Candidate ids start at
    ``first_candidate``."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    candidate_id = first_candidate
    for r in batch:
        rid, filed = int(r.request_id), r.filed_at
        probe = _digest(f"synthetic probe {rid}")
        rows["probes"].append(
            {
                "sha256": probe,
                "data": None,
                "image_format": "jpeg",
                "width": 640,
                "height": 480,
                "created_at": filed,
                "deleted_at": None,
            }
        )
        deadline = filed_at = None
        if r.emergency and not r.denied:
            deadline = filed + dt.timedelta(hours=72)
            if r.filing == "on_time":
                filed_at = deadline - dt.timedelta(hours=1)
            elif r.filing == "late":
                filed_at = deadline + dt.timedelta(hours=1)
        released: list[int] = []
        if r.searched_at is not None:
            for rank in range(1, r.candidates + 1):
                subject = (rid * 7 + rank) % 50_000
                rows["candidates"].append(
                    {
                        "id": candidate_id,
                        "run_id": rid,
                        "face_index": 0,
                        "rank": rank,
                        "gallery": GALLERY,
                        "subject_id": subject,
                        "external_id": f"S{subject:06d}",
                        "display_name": f"SYNTHETIC subject {subject}",
                        "template_id": subject,
                        "photo_id": subject,
                        "photo_sha256": _digest(f"synthetic photo {subject}"),
                        "distance_micro": 900_000 + rank * 10_000,
                        "similarity_micro": 550_000 - rank * 5_000,
                        "within_threshold": rank <= 3,
                    }
                )
                if rank == 1 and r.outcome not in ("pending", "no_lead"):
                    released.append(candidate_id)
                candidate_id += 1
            rows["runs"].append(
                {
                    "id": rid,
                    "request_id": rid,
                    "operator_id": admin,
                    "started_at": r.searched_at - dt.timedelta(seconds=2),
                    "finished_at": r.searched_at,
                    "probe_sha256": probe,
                    "galleries": [GALLERY],
                    "models": {"detector": "synthetic", "embedder": "synthetic"},
                    "threshold_micro": 1_049_000,
                    "thresholds": [],
                    "max_candidates": 10,
                    "faces": [{"index": 0, "box": [100, 100, 200, 200]}],
                    "probe_embedding": None,
                    "ledger_seq": -1,
                }
            )
        for n, use in enumerate(r.uses):
            rows["uses"].append(
                {
                    "request_id": rid,
                    "candidate_id": released[0],
                    "use": use.use,
                    "corroboration_ref": f"SYNTHETIC-EVIDENCE-{rid}-{n}"
                    if use.corroborated
                    else "",
                    "recorded_by_id": admin,
                    "recorded_at": r.searched_at + dt.timedelta(days=1 + n)
                    if r.searched_at
                    else filed,
                }
            )
        failures = [{"rule_id": rule, "message": "SYNTHETIC"} for rule in r.denied_rules]
        rows["requests"].append(
            {
                "id": rid,
                "requester_id": admin,
                "agency_id": agencies[r.agency],
                "case_number": f"SYN-{YEAR}-{rid:06d}",
                "offence_code": None,
                "offence_name": r.offence_class.replace("_", " "),
                "offence_severity": r.offence_class,
                "narrative": "SYNTHETIC request for a benchmark.",
                "legal_basis_kind": r.legal_basis,
                "legal_basis": {"kind": r.legal_basis, "reference": f"SYN-{rid}"},
                "probe_sha256": probe,
                "probe_source": "still_photo",
                "attestation": {"synthetic": True},
                "galleries": [GALLERY],
                "max_candidates": 10,
                "face_index": 0,
                "state": _state(r),
                "decision": {"failures": failures} if r.denied else {},
                "profile_name": "massachusetts",
                "profile_sha256": _digest("massachusetts"),
                "created_at": filed,
                "updated_at": r.searched_at or filed,
                "approving_supervisor_id": admin if r.emergency and not r.denied else None,
                "filing_deadline": deadline,
                "filed_at": filed_at,
                "filing_reference": f"SYN-COURT-{rid}" if filed_at else "",
                "court_refused": False,
                "overdue_flagged": r.filing == "overdue",
                "released_by_id": admin if released else None,
                "released_at": r.searched_at + dt.timedelta(hours=12) if released else None,
                "released_candidate_ids": released,
                "caveat": "",
                "closed_reason": "",
                "sealed_at": None,
                "sealed_reason": "",
                "outcome": r.outcome,
                "disclosure_status": "not_disclosed",
                "described_sex": r.described_sex,
                "described_race": r.described_race,
            }
        )
    return rows


def _violation_rows(entries: Sequence[Entry]) -> Iterator[dict[str, Any]]:
    """A violation row for every SYNTHETIC ledger entry that records one."""
    for e in entries:
        if "violation" not in e.public:
            continue
        yield {
            "kind": str(e.public["violation"]),
            "requirements": ["R18"],
            "reason": "SYNTHETIC violation for a benchmark.",
            "actor": e.actor,
            "request_id": int(e.object_id) if e.object_type == "request" else None,
            "details": {},
            "created_at": e.ts,
            "ledger_seq": -1,
        }


def fill_database(
    service: FaceLedger, admin: UserInfo, requests: Sequence[RequestFacts], entries: list[Entry]
) -> dict[str, int]:
    """Write the SYNTHETIC year's rows straight through the ORM tables, ``BATCH`` requests per
    transaction; return how many rows each table holds."""
    db = service.context.db
    with db.read() as session:
        agencies = dict(session.execute(select(Agency.slug, Agency.id)).all())
    candidate_id = 1
    for i in range(0, len(requests), BATCH):
        rows = _request_rows(requests[i : i + BATCH], agencies, admin.id, candidate_id)
        candidate_id += len(rows["candidates"])
        with db.transaction() as session:
            for model, key in (
                (ProbeImage, "probes"),
                (RequestRow, "requests"),
                (SearchRun, "runs"),
                (CandidateRow, "candidates"),
                (LeadUseRow, "uses"),
            ):
                if rows[key]:
                    session.execute(insert(model), rows[key])
    violations = list(_violation_rows(entries))
    for i in range(0, len(violations), BATCH):
        with db.transaction() as session:
            session.execute(insert(ViolationRow), violations[i : i + BATCH])
    with db.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (RequestRow, SearchRun, CandidateRow, LeadUseRow, ViolationRow)
        }


def _same(a: TransparencyReport, b: TransparencyReport) -> bool:
    """Whether two reports hold the same counts (their generation times aside)."""
    left, right = a.to_dict(), b.to_dict()
    left.pop("generated_at")
    right.pop("generated_at")
    return left == right


# -- the run ---------------------------------------------------------------------------------


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--agencies", type=int, default=25)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measured step")
    parser.add_argument(
        "--no-database",
        dest="database",
        action="store_false",
        help="skip the service's report from the records (and writing the rows)",
    )
    args = parser.parse_args()
    repeat = max(1, args.repeat)

    setup: Timings = []
    timings: Timings = []
    synthetic = timed(
        "draw the synthetic history",
        setup,
        lambda: history(args.requests, args.seed, args.agencies),
    )
    key = Ed25519PrivateKey.generate()
    stored: dict[str, int] = {}
    db_size = 0
    agree_records: dict[str, bool] = {}
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
            repeat,
        )
        public = timed(
            "count from facts, public (with suppression)",
            timings,
            lambda: report(synthetic.requests, synthetic.violations, True, "records"),
            repeat,
        )

        def read(verify: bool) -> ExportFacts:
            with export.open(encoding="utf-8") as lines:
                return read_export(lines, key.public_key() if verify else None)

        facts = timed("read the export, verified with the key", timings, lambda: read(True), repeat)
        timed("read the export, not verified", timings, lambda: read(False), repeat)
        exported = timed(
            "count from export facts, public",
            timings,
            lambda: report(facts.requests, facts.violations, True, "records"),
            repeat,
        )
        html = timed("render HTML (3 charts)", timings, lambda: render_html(public), repeat)
        timed("render CSV", timings, lambda: render_csv(public), repeat)
        timed("render JSON", timings, lambda: render_json(public), repeat)

        if args.database:
            settings = load_settings({"data_dir": Path(tmp) / "data"}, environ={})
            service = timed(
                "initialise a data directory",
                setup,
                lambda: FaceLedger.initialise(settings, "local:bench"),
            )
            try:
                admin, _ = service.accounts.bootstrap_admin("bench-admin", "Benchmark Admin")
                for i in range(1, args.agencies + 1):
                    service.accounts.create_agency(
                        admin, f"agency-{i:02d}", f"SYNTHETIC agency {i:02d}", "requesting_agency"
                    )
                stored = timed(
                    f"insert the rows ({BATCH:,} requests a transaction)",
                    setup,
                    lambda: fill_database(service, admin, synthetic.requests, synthetic.entries),
                )
                db_size = sum(p.stat().st_size for p in settings.data_dir.glob("*.db*"))
                year = (dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
                for public_version, baseline in ((False, internal), (True, public)):
                    name = "public" if public_version else "internal"

                    def counted_by_service(p: bool = public_version) -> TransparencyReport:
                        return service.transparency.report(admin, *year, p)

                    counted = timed(
                        f"service report from the records, {name}",
                        timings,
                        counted_by_service,
                        repeat,
                    )
                    agree_records[f"totals {name}"] = counted.totals() == baseline.totals()
                    agree_records[f"every cell {name}"] = _same(counted, baseline)
            finally:
                service.close()

    agree = _same(exported, public)
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
    if stored:
        print(
            "database (SQLite, WAL): "
            + ", ".join(f"{n:,} {table}" for table, n in stored.items())
            + f" (one probe image row per request, candidates as drawn: 0-10 a search); "
            f"{db_size / 1e6:.0f} MB"
        )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, one process")
    width = max(len(label) for label, _ in setup + timings)
    print(f"{'setup (not measured)':<{width + 2}}  seconds")
    for label, seconds in setup:
        print(f"  {label:<{width}}  {seconds[0]:7.2f}")
    print(f"{f'measured ({repeat} runs each)':<{width + 2}}      min   median")
    for label, seconds in timings:
        print(f"  {label:<{width}}  {min(seconds):7.2f}  {statistics.median(seconds):7.2f}")

    median = {label: statistics.median(seconds) for label, seconds in timings}
    ratios = [
        ("read export verified", "read the export, verified with the key", "public"),
        ("read export not verified", "read the export, not verified", "public"),
        ("render HTML", "render HTML (3 charts)", "public"),
    ]
    if stored:
        ratios[:0] = [
            ("service report, internal", "service report from the records, internal", "internal"),
            ("service report, public", "service report from the records, public", "public"),
        ]
    base = {
        "internal": median["count from facts, internal"],
        "public": median["count from facts, public (with suppression)"],
    }
    print("ratios of medians (against counting the same facts, same run)")
    named = [
        (f"{name} / count from facts, {against}", label, against) for name, label, against in ratios
    ]
    wide = max(len(ratio) for ratio, _, _ in named)
    for ratio, label, against in named:
        print(f"  {ratio:<{wide}}  {median[label] / base[against]:7.2f}")
    print(f"counts from the facts and from the export agree: {'yes' if agree else 'NO'}")
    if stored:
        same = all(agree_records.values())
        detail = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in agree_records.items())
        print(f"records and facts agree: {'yes' if same else 'no'} ({detail})")
        agree = agree and same
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
