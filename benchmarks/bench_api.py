"""Latency of the search endpoint under 20 concurrent clients, gallery of 10,000 faces.

Set-up (not timed): a data directory with the 54 shared photos plus random unit vectors up to
``--gallery`` templates (enrolled by the local operator), a requesting agency, a requester and
an examiner (created by the bootstrap admin, approved and certified by a second supervisor),
and ``--requests`` approved court-order requests. Then the real server process
(`faceledger serve`) is started on loopback and examiners' clients call
``POST /api/v1/requests/{id}/search``:

  * baseline: the same use case called in-process, one at a time (no HTTP);
  * one HTTP client, sequential;
  * ``--clients`` HTTP clients at once (each search is one request's single allowed run).

Ratios are against the in-process baseline measured in this run.

    .venv/bin/python benchmarks/bench_api.py [--gallery 10000] [--requests 140] [--clients 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.conftest import start_server, stop_server

from benchmarks.bench_search import add_random_templates
from benchmarks.common import describe, percentile, require_faces
from faceledger import FaceLedger, load_settings
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.forms import RequestForm

PASSWORD = "benchmark password 2026"
OPERATOR = LocalOperator("bench")


def make_form(n: int) -> RequestForm:
    today = dt.date.today()
    return RequestForm(
        case_number=f"BENCH-{n}",
        offence_code="armed_robbery",
        narrative="Benchmark request: armed robbery, still photo from a shop camera operator.",
        legal_basis_kind="court_order",
        legal_basis={
            "court": "Bench Court",
            "order_id": f"B-{n}",
            "judge": "Judge Bench",
            "issued_on": (today - dt.timedelta(days=1)).isoformat(),
            "expires_on": (today + dt.timedelta(days=30)).isoformat(),
        },
        probe_source="still_photo",
        attested=True,
        attestation_text="Not sought for any protected activity.",
        purpose="criminal_investigation",
        galleries=("people",),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=10_000, help="templates in the gallery")
    parser.add_argument("--requests", type=int, default=140, help="approved requests to search")
    parser.add_argument("--clients", type=int, default=20, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    faces = require_faces()
    probe = (faces / "people" / "obama" / "obama_small.jpg").read_bytes()
    baseline_n, sequential_n = 10, 10
    needed = baseline_n + sequential_n + args.requests

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        settings = load_settings({"data_dir": data}, environ={})
        service = FaceLedger.initialise(settings, OPERATOR.ledger_actor)
        service.galleries.enroll(OPERATOR, "people", from_folder_tree(faces / "people"))
        add_random_templates(service, "people", args.gallery - 54)
        # The examiner must belong to the operating unit (the massachusetts profile's
        # "ma-state-police"); whoever creates an account may not approve or certify it.
        admin, _ = service.accounts.bootstrap_admin(
            "admin", "Bench Admin", agency_slug="ma-state-police"
        )
        supervisor, _ = service.accounts.bootstrap_supervisor("sup", "Bench Supervisor")
        service.accounts.create_agency(admin, "bench-pd", "Bench PD", "requesting_agency")
        until = dt.date.today() + dt.timedelta(days=100)
        people = {}
        for name, agency, roles in (
            ("req", "bench-pd", ["requester"]),
            ("exam", "ma-state-police", ["examiner"]),
        ):
            service.accounts.create_user(admin, name, name, agency, roles, PASSWORD)
            service.accounts.approve_user(supervisor, name)
            people[name] = service.accounts.certify_training(supervisor, name, until)
        requester, examiner = people["req"], people["exam"]
        print(f"filing {needed} requests…", flush=True)
        ids = [
            service.requests.submit_request(requester, make_form(i), probe).id
            for i in range(needed)
        ]
        size = service.galleries.list_galleries(OPERATOR)[0].templates

        baseline_ids, sequential_ids, load_ids = (
            ids[:baseline_n],
            ids[baseline_n : baseline_n + sequential_n],
            ids[baseline_n + sequential_n :],
        )
        service.requests.run_request_search(examiner, baseline_ids[0])  # warm the index and models
        baseline = []
        for rid in baseline_ids[1:]:
            start = time.perf_counter()
            service.requests.run_request_search(examiner, rid)
            baseline.append(time.perf_counter() - start)
        service.close()

        server = start_server(data, extra=("--workers", str(args.workers)))
        try:
            with httpx.Client(base_url=f"{server.url}/api/v1", timeout=600) as client:
                token = client.post(
                    "/auth/login", json={"username": "exam", "password": PASSWORD}
                ).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}

            def search(rid: int) -> float:
                with httpx.Client(
                    base_url=f"{server.url}/api/v1", timeout=600, headers=headers
                ) as c:
                    start = time.perf_counter()
                    response = c.post(f"/requests/{rid}/search")
                    elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    failures.append(f"request {rid}: {response.status_code} {response.text}")
                return elapsed

            failures: list[str] = []

            sequential = [search(rid) for rid in sequential_ids]
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                loaded = list(pool.map(search, load_ids))
            wall = time.perf_counter() - start
        finally:
            stop_server(server)
        if failures:  # every search must succeed: show what the server logged, then stop
            print("\n".join([f"{len(failures)} searches failed:", *failures]))
            print("\n".join(["server output:", *server.output[-200:]]))
            sys.exit(1)

    base = percentile(baseline, 50)
    print(
        f"gallery: {size:,} templates; probe: obama_small.jpg (1 face); {args.clients} "
        f"clients, {len(load_ids)} searches; {args.workers} server process(es)"
    )
    print(f"baseline, in-process, sequential:   {describe(baseline)}")
    print(f"HTTP, 1 client, sequential:         {describe(sequential)}")
    print(f"HTTP, {args.clients} concurrent clients:      {describe(loaded)}")
    print(f"throughput under load: {len(load_ids) / wall:.2f} searches/s")
    print(f"ratio HTTP sequential / baseline (p50): {percentile(sequential, 50) / base:.2f}")
    print(
        f"ratio {args.clients} clients / baseline (p50): {percentile(loaded, 50) / base:.2f}, "
        f"(p99): {percentile(loaded, 99) / base:.2f}"
    )


if __name__ == "__main__":
    main()
