"""Each monitor rule, broken in turn in a synthetic public log: the finding must name the rule
and the entries' seqs. A clean log gives none."""

from __future__ import annotations

import datetime as dt

import pytest

from faceledger.monitor import EXIT_BREACH, EXIT_OK, RULES, Finding, MonitorReport
from faceledger.service.ledger_actions import LedgerAction as A

from .builder import LogBuilder, clean_log, full_request
from .conftest import MakeBuilder


def found(report: MonitorReport, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


def only(report: MonitorReport, rule: str) -> Finding:
    """The one finding of the log, which must be of ``rule``."""
    assert [f.rule for f in report.findings] == [rule], [f.message for f in report.findings]
    return report.findings[0]


# -- a clean log ---------------------------------------------------------------------------


@pytest.mark.parametrize("pseudonymous", [True, False], ids=["v3", "v2"])
def test_a_clean_log_holds_every_rule(make_builder: MakeBuilder, pseudonymous: bool) -> None:
    b = make_builder(pseudonymous)
    clean_log(b)
    report = b.monitor()
    assert report.ok and report.exit_code() == EXIT_OK and report.exit_code(strict=True) == 0
    assert [r.status for r in report.results] == ["ok"] * len(RULES)
    assert all(r.checked > 0 for r in report.results), [(r.rule, r.checked) for r in report.results]
    assert report.verified.tree_size == report.entries
    assert (report.named_note() is None) is pseudonymous


def test_every_rule_has_an_id_a_requirement_and_a_description() -> None:
    ids = [r.id for r in RULES]
    assert len(set(ids)) == len(ids) == 7
    for rule in RULES:
        assert rule.requirement.startswith("R") and len(rule.description) > 20


# -- 1. every search follows an allowed approval --------------------------------------------


def test_a_search_of_a_denied_request_is_found(builder: LogBuilder) -> None:
    builder.install()
    filed = builder.file(1, state="denied")
    search = builder.search(1)
    report = builder.monitor()
    finding = only(report, "search_after_approval")
    assert finding.seqs == (filed, search) and "follows no approval" in finding.message
    assert not report.unchecked  # no order in force, so nothing else to check
    assert finding.request is not None and len(finding.request) == 32  # a pseudonym


def test_an_emergency_searched_before_a_supervisor_approved_it_is_found(
    builder: LogBuilder,
) -> None:
    builder.install()
    filed = builder.file(1, basis="emergency")
    search = builder.search(1)
    report = builder.monitor()
    assert only(report, "search_after_approval").seqs == (filed, search)
    assert not report.unchecked


def test_a_search_of_a_request_not_in_the_log_is_found(builder: LogBuilder) -> None:
    builder.install()
    search = builder.search(9)
    assert only(builder.monitor(), "search_after_approval").seqs == (search,)


@pytest.mark.parametrize(
    ("basis", "offence", "words"),
    [
        ("investigation", "felony", "investigation basis"),
        ("court_order", "misdemeanour", "is for a misdemeanour"),
        ("court_order", "", "names no offence"),
    ],
)
def test_a_search_on_a_basis_or_offence_the_profile_forbids_is_found(
    builder: LogBuilder, basis: str, offence: str, words: str
) -> None:
    profile = builder.install()
    filed = builder.file(1, basis=basis, offence=offence)
    search = builder.search(1)
    finding = only(builder.monitor(), "search_after_approval")
    assert words in finding.message
    assert finding.seqs == (profile, filed, search)


def test_a_deceased_persons_identification_needs_no_offence(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, basis="deceased_or_incapacitated", offence="")
    builder.search(1)
    assert builder.monitor().ok


def test_a_profile_that_does_not_run_the_offence_rule_does_not_limit_offences(
    builder: LogBuilder,
) -> None:
    builder.install(rules=["named_actor", "legal_basis"])
    builder.file(1, offence="")
    builder.search(1)
    assert builder.monitor().ok


def test_a_search_after_the_profile_stopped_allowing_the_basis_is_found(
    builder: LogBuilder,
) -> None:
    builder.install()
    builder.file(1)
    builder.propose("user:admin", 1, legal_bases=["emergency"])
    changed = builder.approve("user:admin-two", 1, legal_bases=["emergency"])
    search = builder.search(1)
    finding = only(builder.monitor(), "search_after_approval")
    assert "at its search" in finding.message and changed in finding.seqs
    assert search in finding.seqs


# -- 2. no search once authority lapsed -----------------------------------------------------


def test_a_search_after_the_order_expired_is_found(builder: LogBuilder) -> None:
    builder.install()
    filed = builder.file(1, expires=builder.clock.now + dt.timedelta(hours=1))
    builder.wait(hours=2)
    search = builder.search(1)
    finding = only(builder.monitor(), "search_while_authorised")
    assert finding.seqs == (filed, search) and "court order expired" in finding.message


def test_a_search_after_sealing_is_found_twice(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    builder.approve_emergency(1)
    sealed = builder.seal(1)
    search = builder.search(1)
    report = builder.monitor()
    [lapsed] = found(report, "search_while_authorised")
    [final] = found(report, "sealed_is_final")
    assert lapsed.seqs == final.seqs == (sealed, search)
    assert len(report.findings) == 2


@pytest.mark.parametrize("due", [None, dt.timedelta(hours=2)], ids=["profile-48h", "unit-2h"])
def test_an_emergency_searched_after_its_deadline_without_a_statement_is_found(
    builder: LogBuilder, due: dt.timedelta | None
) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    approved = builder.approve_emergency(1, due=due)
    builder.wait(hours=49 if due is None else 3)
    search = builder.search(1)
    builder.seal(1)  # sealed afterwards: the search still came too late
    report = builder.monitor()
    [finding] = found(report, "search_while_authorised")
    assert finding.seqs == (approved, search) and "without a filed statement" in finding.message


def test_an_emergency_searched_late_but_after_its_statement_is_fine(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    builder.approve_emergency(1)
    builder.statement(1)
    builder.wait(hours=49)
    builder.search(1)
    assert builder.monitor().ok


# -- 3. independent review before release ---------------------------------------------------


def _released_after(b: LogBuilder, *reviewers: str) -> dict[str, int]:
    b.install()
    seqs = {"file": b.file(1), "search": b.search(1)}
    for i, who in enumerate(reviewers):
        seqs[f"review{i}"] = b.review(1, who, first=i == 0)
    seqs["release"] = b.release(1)
    return seqs


@pytest.mark.parametrize(
    ("reviewers", "words", "shown"),
    [
        (("user:ex-two",), "after 1 review by distinct people; 2 are required", ["review0"]),
        (("user:ex-two", "user:ex-two"), "after 1 review by", ["review0", "review1"]),
        (("user:ex-two", "user:det-a"), "given by its requester", ["file", "review1"]),
        (("user:ex-one", "user:rev-one"), "given by its operator", ["search", "review0"]),
    ],
    ids=["one-review", "same-person-twice", "requester-reviews", "operator-reviews"],
)
def test_a_release_without_two_independent_reviews_is_found(
    builder: LogBuilder, reviewers: tuple[str, ...], words: str, shown: list[str]
) -> None:
    seqs = _released_after(builder, *reviewers)
    finding = only(builder.monitor(), "independent_review")
    assert words in finding.message
    assert finding.seqs == tuple(sorted(seqs[k] for k in [*shown, "release"]))


def test_a_release_needs_the_profiles_number_of_reviews(builder: LogBuilder) -> None:
    builder.install(required_reviews=3)
    builder.file(1)
    builder.search(1)
    builder.review(1, "user:ex-two")
    builder.review(1, "user:rev-one", first=False)
    builder.release(1)
    assert "3 are required" in only(builder.monitor(), "independent_review").message


# -- 4. emergency statements on time, sealed requests stay sealed ---------------------------


def test_a_late_statement_is_found(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    approved = builder.approve_emergency(1)
    builder.wait(hours=49)
    statement = builder.statement(1)
    finding = only(builder.monitor(), "emergency_statement_on_time")
    assert finding.seqs == (approved, statement) and "after its deadline" in finding.message


def test_a_statement_recorded_late_but_filed_in_time_is_on_time(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    builder.approve_emergency(1)
    filed = builder.clock.now + dt.timedelta(hours=1)
    builder.wait(hours=49)
    builder.statement(1, filed_at=filed)
    assert builder.monitor().ok


def test_an_overdue_emergency_neither_filed_nor_sealed_is_found(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    approved = builder.approve_emergency(1)
    builder.wait(hours=49)
    builder.file(2)  # the log goes on past the deadline
    finding = only(builder.monitor(), "emergency_statement_on_time")
    assert finding.seqs == (approved,) and "not sealed" in finding.message


def test_an_emergency_whose_deadline_has_not_passed_is_not_overdue(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    builder.approve_emergency(1)
    builder.wait(hours=47)
    builder.file(2)
    assert builder.monitor().ok


def test_a_profile_without_a_filing_deadline_sets_none(builder: LogBuilder) -> None:
    builder.install(emergency_filing_hours=None)
    builder.file(1, basis="emergency")
    builder.add(A.REQUEST_APPROVE_EMERGENCY, "user:sup-one", "request", "1", {"state": "x"})
    builder.wait(days=30)
    builder.file(2)
    report = builder.monitor()
    assert report.ok and not report.unchecked


@pytest.mark.parametrize("action", [A.REQUEST_RELEASE, A.REQUEST_LEAD_USE, A.REQUEST_SEALED])
def test_activity_after_sealing_is_found(builder: LogBuilder, action: str) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    builder.approve_emergency(1)
    sealed = builder.seal(1)
    after = builder.other(action, 1)
    # (a release without reviews also breaks independent_review)
    [finding] = found(builder.monitor(), "sealed_is_final")
    assert finding.seqs == (sealed, after) and action in finding.message


def test_redaction_purge_disclosure_and_refusals_may_follow_a_sealing(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, basis="emergency")
    builder.approve_emergency(1)
    builder.seal(1)
    builder.redact(1)
    builder.purge(1, "probe", builder.clock.now)
    for action in (A.REPORT_DISCLOSURE, A.ACCESS_DENIED, A.VIOLATION_RECORDED):
        builder.other(action, 1)
    assert builder.monitor().ok


# -- 5. profile changes by two admins -------------------------------------------------------


def test_a_profile_change_without_a_proposal_is_found(builder: LogBuilder) -> None:
    builder.install()
    changed = builder.approve("user:admin", None)
    finding = only(builder.monitor(), "profile_change_two_admins")
    assert finding.seqs == (changed,) and "names no proposal" in finding.message


def test_a_profile_change_approved_by_its_proposer_is_found(builder: LogBuilder) -> None:
    builder.install()
    proposed = builder.propose("user:admin", 4)
    changed = builder.approve("user:admin", 4)
    finding = only(builder.monitor(), "profile_change_two_admins")
    assert finding.seqs == (proposed, changed) and "who proposed it" in finding.message


def test_a_profile_change_approving_an_unknown_proposal_is_found(builder: LogBuilder) -> None:
    builder.install()
    builder.propose("user:admin", 1)
    changed = builder.approve("user:admin-two", 2)
    assert only(builder.monitor(), "profile_change_two_admins").seqs == (changed,)


def test_a_profile_change_to_another_profile_than_proposed_is_found(builder: LogBuilder) -> None:
    builder.install()
    proposed = builder.propose("user:admin", 1)
    changed = builder.approve("user:admin-two", 1, profile_sha256="ab" * 32)
    finding = only(builder.monitor(), "profile_change_two_admins")
    assert finding.seqs == (proposed, changed) and "other than proposal 1" in finding.message


# -- 6. retention purges on schedule --------------------------------------------------------


def _retained(b: LogBuilder) -> tuple[int, int]:
    """A request filed and searched under a profile keeping probes 1 day, results 2 days."""
    b.install(probe_days=1, result_days=2)
    return b.file(1), b.search(1)


def test_purges_on_schedule_hold(builder: LogBuilder) -> None:
    _retained(builder)
    builder.wait(days=1)
    builder.purge(1, "probe", builder.clock.now)
    builder.wait(days=1, hours=1)
    builder.purge(1, "results", builder.clock.now)
    builder.wait(days=30)
    builder.file(2)  # a later request, its own probe not yet due
    report = builder.monitor()
    assert report.ok, [f.message for f in report.findings]
    assert report.results[-1].checked >= 3


def test_a_late_purge_is_found(builder: LogBuilder) -> None:
    filed, _ = _retained(builder)
    builder.wait(days=3, hours=6)  # the probe 2 days 6 h late, the results 1 day 6 h
    purge = builder.purge(1, "probe", builder.clock.now)
    builder.purge(1, "results", builder.clock.now)
    finding = only(builder.monitor(), "retention_on_schedule")
    assert finding.seqs == (filed, purge) and "more than 48 h after it was due" in finding.message


def test_a_missing_purge_is_found(builder: LogBuilder) -> None:
    _, searched = _retained(builder)
    builder.wait(days=1, hours=1)
    builder.purge(1, "probe", builder.clock.now)
    builder.wait(days=4)
    builder.file(2)
    finding = only(builder.monitor(), "retention_on_schedule")
    assert finding.seqs == (searched,) and "no purge is recorded" in finding.message


def test_the_grace_period_decides_whether_a_purge_was_late(builder: LogBuilder) -> None:
    _retained(builder)
    builder.wait(days=1, hours=30)
    builder.purge(1, "probe", builder.clock.now)
    builder.purge(1, "results", builder.clock.now)
    path = builder.export()
    key = builder.key.public_key()
    from faceledger.monitor import monitor_export

    assert monitor_export(path, key).ok
    late = monitor_export(path, key, grace=dt.timedelta(hours=12))
    assert late.exit_code() == EXIT_BREACH
    assert "more than 12 h after" in found(late, "retention_on_schedule")[0].message


def test_a_sealed_request_needs_no_purge(builder: LogBuilder) -> None:
    builder.install(probe_days=1, result_days=1)
    builder.file(1, basis="emergency")
    builder.approve_emergency(1)
    builder.search(1)
    builder.statement(1)
    builder.seal(1)
    builder.wait(days=10)
    builder.file(2, state="denied")
    builder.purge(2, "probe", builder.clock.now)
    assert builder.monitor().ok


def test_full_request_helper_is_clean(builder: LogBuilder) -> None:
    builder.install()
    seqs = full_request(builder, 5)
    report = builder.monitor()
    assert report.ok and len(seqs) == 5
