"""Exactly-once lifecycle steps under real concurrency: several processes, one data directory.

Reason for this module: every lifecycle step of a search request is a compare-and-set on the
request's state inside a ``BEGIN IMMEDIATE`` SQLite transaction, reviews are unique per
(request, stage), a lost race answers Conflict (409) and writes nothing, and sealing is final.
Threads of one process would share one engine and the GIL and prove little, so each worker
here is a separate process (``spawn``) that opens its own :class:`FastFaceLedger` on the
same data directory, waits on a shared barrier and then runs one use case. Each worker answers
``"ok"`` or ``"<ErrorClass>:<status>"`` (with the traceback of anything that is not a
:class:`~faceledger.errors.FaceLedgerError`, e.g. ``OperationalError: database is locked``).

The face pipeline is the FAKE one of :mod:`tests.fakes`; these tests are about the database.
"""

from __future__ import annotations

import queue
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from faceledger.errors import FaceLedgerError
from faceledger.governance.accounts import User, UserInfo
from faceledger.governance.context import ReviewStage
from faceledger.governance.models import CandidateRow, RequestRow, ReviewRow, SearchRun
from faceledger.ledger import load_public_key, verify_database
from faceledger.ledger.models import EntryRow
from faceledger.service import FaceLedger
from tests.backends import worker_processes
from tests.conftest import make_settings
from tests.factories import FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.governance.conftest import (
    Governed,
    emergency_form,
    marks,
)

JOIN_TIMEOUT = 120.0
"""Seconds a batch of workers may take, start-up included, before the test fails."""
OK = "ok"
CONFLICT = "Conflict:409"


# -- the worker (module level, so that ``spawn`` can import it) -----------------------------


@dataclass(frozen=True)
class Task:
    """One worker's job: who acts, which use case, on which request, after what delay."""

    username: str
    case: str
    request_id: int = 0
    args: tuple[Any, ...] = ()
    delay: float = 0.0
    """Seconds to sleep after the barrier (to bias, never to force, an ordering)."""


def _persona(service: FaceLedger, username: str) -> UserInfo:
    with service.context.db.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        return UserInfo.of(user)


def _run(service: FaceLedger, me: UserInfo, task: Task) -> None:
    rid = task.request_id
    if task.case == "first_review":
        # Each client says which review it means, as the pages, the API and the CLI do.
        service.reviews.submit_review(me, rid, task.args[0], ReviewStage.FIRST)
    elif task.case == "release":
        service.reviews.release_request(me, rid)
    elif task.case == "close":
        service.reviews.close_no_lead(me, rid, task.args[0])
    elif task.case == "court_refusal":
        service.emergencies.record_court_refusal(me, rid, task.args[0])
    elif task.case == "search":
        service.requests.run_request_search(me, rid)
    elif task.case == "append":
        worker, count = task.args
        for i in range(count):
            with service.context.db.transaction() as session:
                service.context.ledger.append(
                    session,
                    actor=me.username,
                    action="test.concurrent_append",
                    object_type="test",
                    object_id=f"{worker}:{i}",
                    payload={"worker": worker, "i": i},
                )
    else:  # pragma: no cover - a typo in a test
        raise ValueError(task.case)


def worker(index: int, data_dir: str, task: Task, barrier: Any, results: Any) -> None:
    """Open a service on ``data_dir``, wait for every worker, run ``task``, report the outcome."""
    try:
        service = FastFaceLedger(make_settings(Path(data_dir)), pipeline=fake_pipeline())
    except BaseException:  # reported to the parent, which fails the test
        barrier.abort()
        results.put((index, "StartupFailed:0", traceback.format_exc(), 0.0))
        return
    try:
        me = _persona(service, task.username)
        barrier.wait(JOIN_TIMEOUT)
        if task.delay:
            time.sleep(task.delay)
        started = time.monotonic()
        try:
            _run(service, me, task)
            outcome, trace = OK, ""
        except FaceLedgerError as error:
            outcome, trace = f"{type(error).__name__}:{error.status}", ""
        except Exception as error:  # a 500 is a finding: report it
            outcome, trace = f"{type(error).__name__}:500", traceback.format_exc()
        results.put((index, outcome, trace, time.monotonic() - started))
    except BaseException:  # barrier broken, persona missing...
        results.put((index, "WorkerFailed:0", traceback.format_exc(), 0.0))
    finally:
        service.close()


@dataclass(frozen=True)
class Outcome:
    """What one worker answered."""

    task: Task
    result: str
    trace: str
    seconds: float


def race(data_dir: Path, tasks: list[Task]) -> list[Outcome]:
    """Run ``tasks`` in one process each, released together; return their outcomes in order.

    Fails the test if a worker does not answer within :data:`JOIN_TIMEOUT`, dies, or fails
    outside its use case (start-up, barrier).
    """
    ctx = worker_processes(__name__)
    barrier = ctx.Barrier(len(tasks))
    results = ctx.Queue()
    processes = [
        ctx.Process(target=worker, args=(i, str(data_dir), task, barrier, results), daemon=True)
        for i, task in enumerate(tasks)
    ]
    for process in processes:
        process.start()
    answers: dict[int, tuple[str, str, float]] = {}
    deadline = time.monotonic() + JOIN_TIMEOUT
    try:
        while len(answers) < len(tasks):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                index, result, trace, seconds = results.get(timeout=min(left, 1.0))
            except queue.Empty:
                if not any(p.is_alive() for p in processes) and results.empty():
                    break
                continue
            answers[index] = (result, trace, seconds)
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()) + 5)
    finally:
        hung = [i for i, p in enumerate(processes) if p.is_alive()]
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(5)
        results.close()
        results.join_thread()
    missing = [i for i in range(len(tasks)) if i not in answers]
    assert not hung and not missing, (
        f"workers hung or died without answering: hung={hung} missing={missing} "
        f"exit codes={[p.exitcode for p in processes]} tasks={[tasks[i] for i in missing]}"
    )
    broken = {i: a for i, a in answers.items() if a[0].endswith(":0")}
    assert not broken, "workers failed outside their use case:\n" + "\n".join(
        f"{tasks[i]}: {r}\n{t}" for i, (r, t, _) in broken.items()
    )
    return [Outcome(tasks[i], *answers[i]) for i in range(len(tasks))]


# -- helpers over the parent's view of the data directory ------------------------------------


def _tally(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(o.result for o in outcomes)


def _explain(outcomes: list[Outcome]) -> str:
    return "\n".join(
        f"{o.task.case} by {o.task.username} on {o.task.request_id}: {o.result} "
        f"({o.seconds:.2f}s)\n{o.trace}"
        for o in outcomes
    )


@dataclass(frozen=True)
class Entry:
    """A ledger entry as read back (a plain copy: sessions here roll back)."""

    seq: int
    actor: str
    object_id: str


def _entries(governed: Governed, action: str, request_id: int) -> list[Entry]:
    with governed.service.context.db.read() as session:
        return list(
            Entry(*row)
            for row in session.execute(
                select(EntryRow.seq, EntryRow.actor, EntryRow.object_id)
                .where(
                    EntryRow.action == action,
                    EntryRow.object_type == "request",
                    EntryRow.object_id == str(request_id),
                )
                .order_by(EntryRow.seq)
            ).all()
        )


def _verify(governed: Governed) -> int:
    """Verify the whole ledger from the database; return its size (checked contiguous)."""
    service = governed.service
    report = verify_database(service.settings.db_url, load_public_key(service.public_key_path))
    with service.context.db.read() as session:
        seqs = list(session.scalars(select(EntryRow.seq).order_by(EntryRow.seq)).all())
    assert seqs == list(range(report.tree_size))
    return report.tree_size


def _request(governed: Governed, request_id: int) -> RequestRow:
    with governed.service.context.db.read() as session:
        row = session.get(RequestRow, request_id)
        assert row is not None
        session.expunge(row)
        return row


def _candidate_count(governed: Governed, request_id: int) -> int:
    with governed.service.context.db.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(CandidateRow)
                .join(SearchRun, SearchRun.id == CandidateRow.run_id)
                .where(SearchRun.request_id == request_id)
            )
            or 0
        )


def _root(governed: Governed) -> Path:
    return governed.service.settings.data_dir


def _assert_only(counts: dict[str, int], before: dict[str, int], changed: dict[str, int]) -> None:
    """Every table kept its row count except ``changed`` (table: rows added)."""
    expected = {table: n + changed.get(table, 0) for table, n in before.items()}
    assert counts == expected


# -- the races -------------------------------------------------------------------------------


def test_ten_identical_first_reviews_record_exactly_one(governed: Governed) -> None:
    rid, ex2 = governed.requests["searched"], governed.who("ex2")
    review = marks(governed.service.requests.get_request(ex2, rid))
    assert review
    before = governed.counts()

    outcomes = race(_root(governed), [Task(ex2.username, "first_review", rid, (review,))] * 10)

    assert _tally(outcomes) == {OK: 1, CONFLICT: 9}, _explain(outcomes)
    with governed.service.context.db.read() as session:
        reviews = session.scalars(select(ReviewRow).where(ReviewRow.request_id == rid)).all()
        assert [(r.stage, r.reviewer_id) for r in reviews] == [("first", ex2.id)]
        assert reviews[0].marks == review
    assert _request(governed, rid).state == "reviewed"
    assert len(_entries(governed, "request.review.first", rid)) == 1
    # The nine losers wrote nothing: no violation, no access.denied entry, no second review.
    _assert_only(governed.counts(), before, {"reviews": 1, "ledger": 1})
    assert _verify(governed) == before["ledger"] + 1


def test_ten_releases_release_once(governed: Governed) -> None:
    rid, ex1 = governed.requests["peer_reviewed"], governed.who("ex1")
    before = governed.counts()

    outcomes = race(_root(governed), [Task(ex1.username, "release", rid)] * 10)

    assert _tally(outcomes) == {OK: 1, CONFLICT: 9}, _explain(outcomes)
    row = _request(governed, rid)
    assert row.state == "released"
    assert row.released_by_id == ex1.id
    assert row.released_at is not None
    assert row.released_candidate_ids
    [entry] = _entries(governed, "request.release", rid)
    assert entry.actor == ex1.ledger_actor
    _assert_only(governed.counts(), before, {"ledger": 1})
    assert _verify(governed) == before["ledger"] + 1


def test_ten_searches_of_one_request_run_once(governed: Governed) -> None:
    rid, ex1 = governed.requests["approved"], governed.who("ex1")
    before = governed.counts()

    outcomes = race(_root(governed), [Task(ex1.username, "search", rid)] * 10)

    # Never a 500 (OperationalError: database is locked, IntegrityError on search_runs).
    assert _tally(outcomes) == {OK: 1, CONFLICT: 9}, _explain(outcomes)
    assert _request(governed, rid).state == "searched"
    with governed.service.context.db.read() as session:
        runs = session.scalars(select(SearchRun).where(SearchRun.request_id == rid)).all()
        assert len(runs) == 1
        assert runs[0].operator_id == ex1.id
        [entry] = _entries(governed, "request.search", rid)
        assert runs[0].ledger_seq == entry.seq
    found = _candidate_count(governed, rid)
    assert found > 0
    _assert_only(governed.counts(), before, {"search_runs": 1, "candidates": found, "ledger": 1})
    assert _verify(governed) == before["ledger"] + 1


def _peer_reviewed_emergency(governed: Governed, n: int) -> int:
    service, who = governed.service, governed.who
    probe = governed.probe.read_bytes()
    filed = emergency_form(case_number=f"GOV-EM-RACE-{n}")
    rid = service.requests.submit_request(who("req_a"), filed, probe, "probe.jpg").id
    service.requests.approve_emergency(who("sup"), rid)
    view = service.requests.run_request_search(who("ex1"), rid)
    service.reviews.submit_review(who("ex2"), rid, marks(view))
    service.reviews.submit_review(who("rev"), rid, marks(view))
    assert _request(governed, rid).state == "peer_reviewed"
    return rid


def test_release_close_and_court_refusal_race_to_a_consistent_seal(governed: Governed) -> None:
    """On a peer-reviewed emergency, release (ex1), close with no lead (ex2) and the court's
    refusal (sup, twice) race. Release and close exclude each other; sealing is legal after
    either, so the request always ends sealed, exactly once, and the ledger tells the order.

    Three requests race at once; the second and third bias the order (close first, release
    first) by delaying the others, and the assertions follow the order the ledger shows."""
    ex1, ex2, sup = (governed.who(k).username for k in ("ex1", "ex2", "sup"))
    rids = [_peer_reviewed_emergency(governed, n) for n in range(3)]
    candidates = {rid: _candidate_count(governed, rid) for rid in rids}
    assert all(candidates.values())
    lead = {rids[1]: "close", rids[2]: "release"}
    tasks = []
    for rid in rids:
        for user, case, args in (
            (ex1, "release", ()),
            (ex2, "close", ("No usable lead.",)),
            (sup, "court_refusal", ("Refused by the court.",)),
            (sup, "court_refusal", ("Refused by the court.",)),
        ):
            first = lead.get(rid)
            delay = 0.0 if first is None or first == case else 2.0
            tasks.append(Task(user, case, rid, args, delay))
    before = governed.counts()

    outcomes = race(_root(governed), tasks)
    explained = _explain(outcomes)

    added = 0
    for rid in rids:
        got = {
            case: [o.result for o in outcomes if o.task.request_id == rid and o.task.case == case]
            for case in ("release", "close", "court_refusal")
        }
        # Only 409s lose; never a 403/500 from a request that moved under a step.
        assert set(got["release"] + got["close"] + got["court_refusal"]) <= {OK, CONFLICT}, (
            explained
        )
        assert sorted(got["court_refusal"]) == [CONFLICT, OK], explained
        released, closed = got["release"] == [OK], got["close"] == [OK]
        assert not (released and closed), explained

        row = _request(governed, rid)
        [seal] = _entries(governed, "request.sealed", rid)
        releases = _entries(governed, "request.release", rid)
        closes = _entries(governed, "request.close_no_lead", rid)
        assert row.state == "sealed"
        assert row.court_refused is True
        assert row.sealed_at is not None
        assert row.sealed_reason.startswith("The court refused the emergency filing.")
        assert _candidate_count(governed, rid) == 0
        # Exactly one of release/close took effect before the seal, or the seal came first and
        # both lost; nothing moved the request after the seal.
        assert len(releases) == int(released)
        assert len(closes) == int(closed)
        assert all(e.seq < seal.seq for e in releases + closes), explained
        if released:
            assert row.released_at is not None
            assert row.released_at <= row.sealed_at
            assert row.released_candidate_ids
            assert row.closed_reason == ""
        else:
            assert row.released_at is None
            assert row.released_by_id is None
            assert row.released_candidate_ids == []
        if closed:
            assert row.closed_reason == "No usable lead."
        else:
            assert row.closed_reason == ""
        if rid in lead:  # the biased orderings did take place (a 2 s head start)
            assert got[lead[rid]] == [OK], explained
        added += 1 + len(releases) + len(closes)

    _assert_only(
        governed.counts(), before, {"ledger": added, "candidates": -sum(candidates.values())}
    )
    assert _verify(governed) == before["ledger"] + added


def test_concurrent_ledger_appends_and_lifecycle_steps_keep_the_ledger_whole(
    governed: Governed,
) -> None:
    """Ten processes append ten entries each (one transaction per entry) while three others
    search, first-review and release three requests: the ledger stays contiguous and verifies,
    and each appender's entries are in its own order."""
    who, requests = governed.who, governed.requests
    searched = requests["searched"]
    review = marks(governed.service.requests.get_request(who("ex2"), searched))
    tasks = [Task(who("aud").username, "append", 0, (w, 10)) for w in range(10)]
    tasks += [
        Task(who("ex1").username, "search", requests["approved"]),
        Task(who("ex2").username, "first_review", searched, (review,)),
        Task(who("ex1").username, "release", requests["peer_reviewed"]),
    ]
    before = governed.counts()

    outcomes = race(_root(governed), tasks)

    assert [o.result for o in outcomes] == [OK] * len(tasks), _explain(outcomes)
    size = _verify(governed)
    assert size == before["ledger"] + 100 + 3
    with governed.service.context.db.read() as session:
        appended = [
            Entry(*row)
            for row in session.execute(
                select(EntryRow.seq, EntryRow.actor, EntryRow.object_id)
                .where(EntryRow.action == "test.concurrent_append")
                .order_by(EntryRow.seq)
            ).all()
        ]
    assert len(appended) == 100
    assert all(e.seq >= before["ledger"] for e in appended)
    by_worker: dict[str, list[int]] = {}
    for entry in appended:
        w, i = entry.object_id.split(":")
        by_worker.setdefault(w, []).append(int(i))
    assert by_worker == {str(w): list(range(10)) for w in range(10)}
    for stage, action in (
        ("approved", "request.search"),
        ("searched", "request.review.first"),
        ("peer_reviewed", "request.release"),
    ):
        assert len(_entries(governed, action, requests[stage])) == 1, action


@pytest.mark.parametrize("late", ["first_review", "release", "search"])
def test_a_step_repeated_after_the_winner_committed_answers_conflict(
    governed: Governed, late: str
) -> None:
    """The slowest loser of a race starts after the winner committed: it too must answer 409
    and write nothing (here without processes: the same step, run again)."""
    service, who, requests = governed.service, governed.who, governed.requests
    if late == "first_review":
        rid, me = requests["searched"], who("ex2")
        review = marks(service.requests.get_request(me, rid))

        def step() -> object:
            return service.reviews.submit_review(me, rid, review, ReviewStage.FIRST)
    elif late == "release":
        rid, me = requests["peer_reviewed"], who("ex1")

        def step() -> object:
            return service.reviews.release_request(me, rid)
    else:
        rid, me = requests["approved"], who("ex1")

        def step() -> object:
            return service.requests.run_request_search(me, rid)

    step()
    before = governed.counts()
    with pytest.raises(FaceLedgerError) as raised:
        step()
    assert (type(raised.value).__name__, raised.value.status) == ("Conflict", 409), (
        raised.value.message
    )
    assert governed.counts() == before
