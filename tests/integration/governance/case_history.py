"""A hand-built case history over the governed unit, shared by the case-query tests (service,
CLI, API, web).

Three released requests of Boston, each with its leads used: one for a warrant (then an
arrest) searched at the first instant of 2026 but filed the day before; one for a warrant
searched a second before 2026; one only for further investigation, searched in February. A
Cambridge request (case number shaped like a spreadsheet formula) that Boston may not see.
Times the service stamped "now" are set here through the ORM, so both sides of 2026-01-01
are covered whatever day the tests run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from faceledger.governance.models import RequestRow, SearchRun
from tests.backends import copy_data_dir
from tests.conftest import make_settings
from tests.factories import FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.governance.conftest import (
    Governed,
    _info,
    form,
    marks,
)

UTC = dt.UTC
BOUNDARY = dt.datetime(2026, 1, 1, tzinfo=UTC)
LATER_FILED = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
LATER_SEARCHED = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
FORMULA_CASE = '=HYPERLINK("http://evil.example","open me")'
WARRANT_REF = "Search warrant SW-2026-3, witness statement"
ARREST_REF = "Arrest report AR-2026-9, fingerprints"


@dataclass(frozen=True)
class History:
    """The request ids of the history, by what happened to them."""

    warrant_after: int
    """Filed 2025-12-31 12:00, searched 2026-01-01 00:00:00 UTC; lead used for a warrant,
    then an arrest (outcome arrest); disclosed."""
    warrant_before: int
    """Filed 2025-12-30 12:00, searched 2025-12-31 23:59:59 UTC; lead used for a warrant."""
    lead_only: int
    """Filed 2026-01-31 by det-a2 (larceny, a felony), searched 2026-02-01; lead used for
    further investigation only."""
    cambridge: int
    """Filed by det-b of Cambridge, approved, never searched; its case number is a formula."""
    requests: dict[str, int]
    """The governed template's requests by stage (peer_reviewed is now warrant_before)."""


def build_history(g: Governed) -> History:
    """Take the governed unit's requests on as the module describes; return their ids."""
    s, probe = g.service, g.probe.read_bytes()
    warrant_before = g.requests["peer_reviewed"]
    released = s.reviews.release_request(g.who("ex1"), warrant_before)
    assert released.release is not None
    lead = released.release.candidate_ids[0]
    s.reviews.record_lead_use(g.who("req_a"), warrant_before, lead, "warrant", WARRANT_REF)

    warrant_after = g.requests["released"]
    view = s.requests.get_request(g.who("req_a"), warrant_after)
    assert view.release is not None
    lead = view.release.candidate_ids[0]
    s.reviews.record_lead_use(g.who("req_a"), warrant_after, lead, "warrant", WARRANT_REF)
    s.reviews.record_lead_use(g.who("req_a"), warrant_after, lead, "arrest", ARREST_REF)

    filed = s.requests.submit_request(
        g.who("req_a2"),
        form(case_number="GOV-lead", offence_code="larceny_over_1200"),
        probe,
        "probe.jpg",
    )
    searched = s.requests.run_request_search(g.who("ex1"), filed.id)
    s.reviews.submit_review(g.who("ex2"), filed.id, marks(searched))
    s.reviews.submit_review(g.who("rev"), filed.id, marks(searched))
    released = s.reviews.release_request(g.who("ex1"), filed.id)
    assert released.release is not None
    lead = released.release.candidate_ids[0]
    s.reviews.record_lead_use(g.who("req_a2"), filed.id, lead, "further_investigation")

    cambridge = s.requests.submit_request(
        g.who("req_b"), form(case_number=FORMULA_CASE), probe, "probe.jpg"
    ).id

    filed_at = {
        warrant_after: dt.datetime(2025, 12, 31, 12, tzinfo=UTC),
        warrant_before: dt.datetime(2025, 12, 30, 12, tzinfo=UTC),
        filed.id: dt.datetime(2026, 1, 31, 12, tzinfo=UTC),
    }
    searched_at = {
        warrant_after: BOUNDARY,
        warrant_before: BOUNDARY - dt.timedelta(seconds=1),
        filed.id: dt.datetime(2026, 2, 1, 9, tzinfo=UTC),
    }
    with s.context.db.transaction() as session:
        for row in session.query(RequestRow):
            row.created_at = filed_at.get(row.id, LATER_FILED)
            if row.id == warrant_after:
                row.disclosure_status = "disclosed"
        for run in session.query(SearchRun):
            run.finished_at = searched_at.get(run.request_id, LATER_SEARCHED)
            run.started_at = run.finished_at - dt.timedelta(seconds=2)
    return History(warrant_after, warrant_before, filed.id, cambridge, dict(g.requests))


@contextmanager
def history_unit(
    template: tuple[Path, dict[str, str], dict[str, int]], faces_dir: Path, target: Path
) -> Iterator[tuple[Governed, History]]:
    """A copy of the governed template (the ``governed_template`` fixture) with the history
    built once, for a module of tests that only read it."""
    root, names, requests = template
    copy_data_dir(root, target / "data")
    service = FastFaceLedger(make_settings(target / "data"), pipeline=fake_pipeline())
    try:
        people = {key: _info(service, name) for key, name in names.items()}
        probe = faces_dir / "people" / "obama" / "obama1.jpg"
        unit = Governed(service, people, dict(requests), probe)
        yield unit, build_history(unit)
    finally:
        service.close()
