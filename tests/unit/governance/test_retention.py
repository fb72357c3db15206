"""When retention's purges are due (R13), from dates alone, and the purge report's tally."""

from __future__ import annotations

import datetime as dt

import pytest

from faceledger.governance.profiles import RetentionPolicy
from faceledger.governance.retention import (
    Due,
    PurgeKind,
    PurgeTally,
    RequestDates,
    done,
    due_at,
    due_now,
    earliest_filing,
    fully_purged,
    log_cutoff,
)

POLICY = RetentionPolicy(probe_days=30, result_days=100, audit_log_min_days=200)
FILED = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
SEARCHED = FILED + dt.timedelta(days=2)
DAY = dt.timedelta(days=1)


def dates(
    purged: dt.datetime | None = None, searched: dt.datetime | None = SEARCHED
) -> RequestDates:
    return RequestDates(created_at=FILED, searched_at=searched, purged_at=purged)


def test_due_times_run_from_filing_and_from_the_search() -> None:
    assert due_at(POLICY, dates(), PurgeKind.PROBE) == FILED + 30 * DAY
    assert due_at(POLICY, dates(), PurgeKind.RESULTS) == SEARCHED + 100 * DAY
    # Never searched: the results period runs from the filing.
    assert due_at(POLICY, dates(searched=None), PurgeKind.RESULTS) == FILED + 100 * DAY


@pytest.mark.parametrize(
    ("now", "purged", "expected"),
    [
        (FILED + 30 * DAY - dt.timedelta(microseconds=1), None, ()),
        (FILED + 30 * DAY, None, (PurgeKind.PROBE,)),
        (FILED + 50 * DAY, FILED + 31 * DAY, ()),  # the probe purge ran
        (SEARCHED + 100 * DAY, FILED + 31 * DAY, (PurgeKind.RESULTS,)),
        (SEARCHED + 100 * DAY, None, (PurgeKind.PROBE, PurgeKind.RESULTS)),  # both, probe first
        (SEARCHED + 300 * DAY, SEARCHED + 100 * DAY, ()),  # both ran
    ],
)
def test_due_now(now: dt.datetime, purged: dt.datetime | None, expected: tuple[PurgeKind]) -> None:
    found = due_now(POLICY, dates(purged), now)
    assert tuple(d.kind for d in found) == expected
    for item in found:
        assert item == Due(item.kind, due_at(POLICY, dates(purged), item.kind))


def test_a_purge_is_done_when_purged_at_reaches_its_due_time() -> None:
    probe_due = FILED + 30 * DAY
    assert not done(POLICY, dates(probe_due - DAY), PurgeKind.PROBE)
    assert done(POLICY, dates(probe_due), PurgeKind.PROBE)
    assert not fully_purged(POLICY, dates(probe_due))
    assert fully_purged(POLICY, dates(SEARCHED + 100 * DAY))
    assert not fully_purged(POLICY, dates(None))


def test_a_search_after_a_results_purge_makes_its_results_due_again() -> None:
    # Never searched: its (empty) results purge ran 100 days after filing.
    unsearched = dates(purged=FILED + 100 * DAY, searched=None)
    assert done(POLICY, unsearched, PurgeKind.RESULTS)
    # Had a search run after that, its list would be due 100 days after the search.
    searched = dates(purged=FILED + 100 * DAY, searched=FILED + 120 * DAY)
    assert not done(POLICY, searched, PurgeKind.RESULTS)
    assert [d.kind for d in due_now(POLICY, searched, FILED + 220 * DAY)] == [PurgeKind.RESULTS]


def test_scan_and_log_cutoffs() -> None:
    now = FILED + 400 * DAY
    assert earliest_filing(POLICY, now) == now - 30 * DAY
    assert earliest_filing(RetentionPolicy(50, 10, 1), now) == now - 10 * DAY
    assert log_cutoff(POLICY, now) == now - 200 * DAY


def test_tally_counts_by_source_and_category() -> None:
    tally = PurgeTally()
    tally.add_purge("probe", {"probe_image": 1, "probe_embedding": 1, "detected_faces": 2})
    tally.add_purge("probe", {"probe_image": 0, "probe_embedding": 1, "detected_faces": 1})
    tally.add_purge("results", {"candidates": 3, "released_results": 1, "review_notes": 0})
    tally.add_redaction("retention", 7)
    tally.add_redaction("sealed", 4)
    tally.add_gallery({"subjects": 1, "photos": 4, "templates": 4, "face_chips": 4})
    # Damaged counts (a bool, a negative, text) count nothing.
    tally.add_gallery({"photos": True, "templates": -3, "face_chips": "9"})
    data = tally.to_dict()
    assert data["purges"]["probe"] == {
        "requests": 2,
        "items": {"probe_image": 1, "probe_embedding": 2, "detected_faces": 3},
    }
    assert data["purges"]["results"]["requests"] == 1
    assert data["redactions"] == {
        "retention": {"redactions": 1, "entries": 7},
        "sealed": {"redactions": 1, "entries": 4},
    }
    assert data["gallery"] == {
        "subjects": 1,
        "photos": 4,
        "templates": 4,
        "face_chips": 4,
        "index_entries": 0,
    }
    totals = data["totals"]
    assert totals["ledger_payloads"] == 11
    assert totals["candidates"] == 3 and totals["photos"] == 4 and totals["probe_image"] == 1


def test_an_empty_tally_lists_every_source_with_zeros() -> None:
    data = PurgeTally().to_dict()
    assert set(data["purges"]) == {"probe", "results"}
    assert set(data["redactions"]) == {"retention", "sealed"}
    assert data["totals"]["ledger_payloads"] == 0
