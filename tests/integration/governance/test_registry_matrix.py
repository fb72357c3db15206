"""The registry of actions, case by case, through the service: who may do what to which request.

Every expectation below is written by hand from the requirements (R1-R18) and the governed
unit's people, never derived from :mod:`faceledger.governance.actions`, so a wrong registry
entry (a role too many, a scope too wide, a distinct party forgotten) fails a case here.

Each case calls the real use case as one persona and checks the outcome: ``"ok"`` (and the
change it made), 403 (PermissionDenied or PolicyDenied) or 404 (NotFound, for an object
outside the persona's sight). A refusal must leave every table as it was but for exactly one
violation row and one ledger entry, ``access.denied``, naming the registry action refused.

The face pipeline is the labelled FAKE of :mod:`tests.fakes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from faceledger.errors import FaceLedgerError, NotFound, PermissionDenied, PolicyDenied
from faceledger.governance.accounts import LocalOperator, Principal
from faceledger.governance.actions import ACTIONS
from faceledger.governance.models import RequestRow
from tests.factories import PASSWORD
from tests.fakes import fake_evaluation_summary, other_fake_pipeline
from tests.integration.governance.conftest import Governed, form, marks

PERSONAS = ("req_a", "req_a2", "req_b", "ex1", "ex2", "rev", "aud", "ex_out", "admin", "sup")
"""Every persona of the governed unit (see its conftest)."""
LOCAL = "local"
"""The local operator of the data directory (a command run with no login)."""

Outcome = str | int
OK: Outcome = "ok"


def _table(**outcomes: Outcome) -> dict[str, Outcome]:
    """A hand-written row: an outcome for every persona, no more, no less."""
    assert set(outcomes) == set(PERSONAS), sorted(set(PERSONAS) ^ set(outcomes))
    return outcomes


# -- request-scoped actions: (action, stage of the request, outcome per persona) -------------
#
# Sight (R1): a requester sees their agency's requests (Boston: req_a, req_a2; never req_b of
# Cambridge); examiners and reviewers of the unit see requests once approved; the unit's
# supervisors (sup, and admin who is also one) and the auditor see every request; ex_out is
# an examiner of Boston PD, not of the operating unit, and sees none. A request outside one's
# sight answers 404; one in sight but outside one's part answers 403.

READ_APPROVED = _table(
    req_a=OK, req_a2=OK, req_b=404, ex1=OK, ex2=OK, rev=OK, aud=OK, ex_out=404, admin=OK, sup=OK
)
READ_PENDING = _table(
    req_a=OK,
    req_a2=OK,
    req_b=404,
    ex1=404,
    ex2=404,
    rev=404,
    aud=OK,
    ex_out=404,
    admin=OK,
    sup=OK,
)

REQUEST_CASES: list[tuple[str, str, dict[str, Outcome]]] = [
    (
        # R14: a disclosure packet is produced by the unit's supervisors and auditors.
        "report.disclosure",
        "released",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=403,
            ex2=403,
            rev=403,
            aud=OK,
            ex_out=404,
            admin=OK,
            sup=OK,
        ),
    ),
    ("request.read", "approved", READ_APPROVED),
    ("request.read", "denied", READ_PENDING),
    ("request.read", "emergency_submitted", READ_PENDING),
    ("request.probe", "approved", READ_APPROVED),
    ("request.probe", "denied", READ_PENDING),
    ("request.probe", "emergency_submitted", READ_PENDING),
    (
        # R9: the candidate list is for the unit's staff; a requester sees released ones only.
        "request.candidates",
        "searched",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=OK,
            ex2=OK,
            rev=OK,
            aud=OK,
            ex_out=404,
            admin=OK,
            sup=OK,
        ),
    ),
    (
        # R4: a supervisor of the unit approves an emergency. A submitted request is not yet
        # in the examiners' sight, so to them it does not exist.
        "request.approve_emergency",
        "emergency_submitted",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=404,
            ex2=404,
            rev=404,
            aud=403,
            ex_out=404,
            admin=OK,
            sup=OK,
        ),
    ),
    (
        # R1: an examiner of the unit runs the search.
        "request.search",
        "approved",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=OK,
            ex2=OK,
            rev=403,
            aud=403,
            ex_out=404,
            admin=403,
            sup=403,
        ),
    ),
    (
        # R10: an examiner other than the operator (ex1) reviews first.
        "request.review.first",
        "searched",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=403,
            ex2=OK,
            rev=403,
            aud=403,
            ex_out=404,
            admin=403,
            sup=403,
        ),
    ),
    (
        # R10: the peer is neither the operator (ex1) nor the first reviewer (ex2).
        "request.review.peer",
        "reviewed",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=403,
            ex2=403,
            rev=OK,
            aud=403,
            ex_out=404,
            admin=403,
            sup=403,
        ),
    ),
    (
        # R9: an examiner or a supervisor of the unit releases.
        "request.release",
        "peer_reviewed",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=OK,
            ex2=OK,
            rev=403,
            aud=403,
            ex_out=404,
            admin=OK,
            sup=OK,
        ),
    ),
    (
        "request.close",
        "searched",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=OK,
            ex2=OK,
            rev=403,
            aud=403,
            ex_out=404,
            admin=403,
            sup=403,
        ),
    ),
    (
        # R11: officers of the requesting agency record uses of its leads.
        "request.lead_use",
        "released",
        _table(
            req_a=OK,
            req_a2=OK,
            req_b=404,
            ex1=403,
            ex2=403,
            rev=403,
            aud=403,
            ex_out=404,
            admin=403,
            sup=403,
        ),
    ),
    (
        # R4: the requesting agency files the sworn statement; the unit is not that agency.
        "request.file_statement",
        "emergency_approved",
        _table(
            req_a=OK,
            req_a2=OK,
            req_b=404,
            ex1=403,
            ex2=403,
            rev=403,
            aud=403,
            ex_out=404,
            admin=403,
            sup=403,
        ),
    ),
    (
        # R4: a supervisor of the unit (or an admin) records the court's refusal.
        "request.court_refused",
        "emergency_approved",
        _table(
            req_a=403,
            req_a2=403,
            req_b=404,
            ex1=403,
            ex2=403,
            rev=403,
            aud=403,
            ex_out=404,
            admin=OK,
            sup=OK,
        ),
    ),
]

RECORDED_AS: dict[tuple[str, Outcome], str] = {
    # A chip of a request out of sight is refused by reading the request: it answers "no such
    # request", which is the refusal of request.read.
    ("request.candidates", 404): "request.read",
}
"""Where a refusal is recorded under another registry action than the case's (and why)."""


# -- the calls and what each "ok" changed --------------------------------------------------


def _view(g: Governed, key: str, stage: str) -> Any:
    return g.service.requests.get_request(g.who(key), g.requests[stage])


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


def _state(g: Governed, rid: int) -> str:
    return str(g.service.requests.get_request(g.who("admin"), rid).state)


@dataclass(frozen=True)
class RequestStep:
    """How to take one request action as a persona, and how to see that it happened."""

    call: Callable[[Governed, Principal, int], Any]
    changes: dict[str, int]
    """The row counts an allowed call changes (every other count stays)."""
    check: Callable[[Governed, int, Any], None] = lambda g, rid, result: None


def _check_read(g: Governed, rid: int, result: Any) -> None:
    assert result.id == rid


def _check_probe(g: Governed, rid: int, result: Any) -> None:
    assert result == g.probe.read_bytes()


def _check_chip(g: Governed, rid: int, result: Any) -> None:
    assert result[:2] == b"\xff\xd8", "a JPEG chip"


def _check_state(state: str) -> Callable[[Governed, int, Any], None]:
    def check(g: Governed, rid: int, result: Any) -> None:
        assert result.state == state
        assert _state(g, rid) == state

    return check


def _search(g: Governed, who: Principal, rid: int) -> Any:
    return g.service.requests.run_request_search(who, rid)


def _check_search(g: Governed, rid: int, result: Any) -> None:
    _check_state("searched")(g, rid, result)
    assert result.run is not None and result.candidates


def _first_candidate(g: Governed) -> int:
    return int(_view(g, "ex1", "searched").candidates[0]["id"])


def _chip(g: Governed, who: Principal, rid: int) -> Any:
    return g.service.images.candidate_chip(who, rid, _first_candidate(g))


def _review(stage: str) -> Callable[[Governed, Principal, int], Any]:
    def call(g: Governed, who: Principal, rid: int) -> Any:
        view = _view(g, "ex1", stage)
        return g.service.reviews.submit_review(who, rid, marks(view))

    return call


def _lead_use(g: Governed, who: Principal, rid: int) -> Any:
    released = _view(g, "req_a", "released")
    assert released.release is not None and released.release.candidate_ids
    candidate = released.release.candidate_ids[0]
    return g.service.reviews.record_lead_use(who, rid, candidate, "further_investigation")


def _check_lead_use(g: Governed, rid: int, result: Any) -> None:
    assert [u.use for u in result.lead_uses] == ["further_investigation"]


def _file_statement(g: Governed, who: Principal, rid: int) -> Any:
    return g.service.emergencies.file_emergency_statement(who, rid, "SUCR-EM-7")


def _check_filed(g: Governed, rid: int, result: Any) -> None:
    assert result.emergency is not None
    assert result.emergency.filed_at is not None
    assert result.emergency.filing_reference == "SUCR-EM-7"


def _check_sealed(g: Governed, rid: int, result: Any) -> None:
    _check_state("sealed")(g, rid, result)
    assert result.emergency is not None and result.emergency.court_refused


def _check_disclosed(g: Governed, rid: int, result: Any) -> None:
    assert result.fact_count > 0 and len(result.sha256) == 64
    with g.service.context.db.read() as session:
        row = session.get(RequestRow, rid)
        assert row is not None and row.disclosure_status == "disclosed"


REQUEST_STEPS: dict[str, RequestStep] = {
    "report.disclosure": RequestStep(
        lambda g, who, rid: g.service.disclosures.produce(who, rid, "Defence counsel"),
        {"disclosures": 1, "ledger": 1},
        _check_disclosed,
    ),
    "request.read": RequestStep(
        lambda g, who, rid: g.service.requests.get_request(who, rid), {}, _check_read
    ),
    "request.probe": RequestStep(
        lambda g, who, rid: g.service.images.probe_bytes(who, rid), {}, _check_probe
    ),
    "request.candidates": RequestStep(_chip, {}, _check_chip),
    "request.approve_emergency": RequestStep(
        lambda g, who, rid: g.service.requests.approve_emergency(who, rid),
        {"ledger": 1},
        _check_state("approved_emergency"),
    ),
    "request.search": RequestStep(
        # form() asks for 3 candidates, and the enrolled gallery has more faces than that.
        _search,
        {"search_runs": 1, "candidates": 3, "ledger": 1},
        _check_search,
    ),
    "request.review.first": RequestStep(
        _review("searched"), {"reviews": 1, "ledger": 1}, _check_state("reviewed")
    ),
    "request.review.peer": RequestStep(
        _review("reviewed"), {"reviews": 1, "ledger": 1}, _check_state("peer_reviewed")
    ),
    "request.release": RequestStep(
        lambda g, who, rid: g.service.reviews.release_request(who, rid),
        {"ledger": 1},
        _check_state("released"),
    ),
    "request.close": RequestStep(
        lambda g, who, rid: g.service.reviews.close_no_lead(who, rid, "no usable candidate"),
        {"ledger": 1},
        _check_state("no_lead"),
    ),
    "request.lead_use": RequestStep(_lead_use, {"lead_uses": 1, "ledger": 1}, _check_lead_use),
    "request.file_statement": RequestStep(_file_statement, {"ledger": 1}, _check_filed),
    "request.court_refused": RequestStep(
        lambda g, who, rid: g.service.emergencies.record_court_refusal(who, rid, "refused"),
        {"ledger": 1},
        _check_sealed,
    ),
}


def last_entry(g: Governed) -> tuple[str, dict[str, Any]]:
    """The newest ledger entry's action and payload."""
    [entry] = g.last_entries(1)
    return entry.action, dict(entry.payload)


def _assert_refused(
    g: Governed,
    before: dict[str, int],
    error: FaceLedgerError,
    expected: Outcome,
    action: str,
    request_id: int | None = None,
) -> None:
    """The refusal answered ``expected`` and left exactly its one record behind."""
    if expected == 404:
        assert isinstance(error, NotFound), repr(error)
    else:
        assert isinstance(error, PermissionDenied | PolicyDenied), repr(error)
    assert error.status == expected
    assert _delta(before, g.counts()) == {"violations": 1, "alerts": 1, "ledger": 1}
    action_of, payload = last_entry(g)
    assert action_of == "access.denied"
    assert payload["action"] == action, payload
    if request_id is not None:
        violations, _ = g.service.violations.list_violations(g.who("aud"), limit=1)
        assert violations[0].request_id == request_id


def _request_case_ids() -> list[Any]:
    return [
        pytest.param(action, stage, persona, outcome, id=f"{action}-{stage}-{persona}")
        for action, stage, table in REQUEST_CASES
        for persona, outcome in table.items()
    ]


@pytest.mark.parametrize(("action", "stage", "persona", "expected"), _request_case_ids())
def test_request_action(
    governed: Governed, action: str, stage: str, persona: str, expected: Outcome
) -> None:
    """One request action, as one persona, on the request at one stage."""
    step, rid = REQUEST_STEPS[action], governed.requests[stage]
    before = governed.counts()
    if expected == OK:
        result = step.call(governed, governed.who(persona), rid)
        assert _delta(before, governed.counts()) == step.changes
        step.check(governed, rid, result)
        return
    with pytest.raises(FaceLedgerError) as raised:
        step.call(governed, governed.who(persona), rid)
    recorded = RECORDED_AS.get((action, expected), action)
    _assert_refused(governed, before, raised.value, expected, recorded, rid)


# -- actions without a request ---------------------------------------------------------------

NEW_USER = "new-clerk"


def _new_account(g: Governed, *, approve: bool = False, disable: bool = False) -> str:
    """An account the admin created (so the admin may not approve it, R2)."""
    admin, sup = g.who("admin"), g.who("sup")
    g.service.accounts.create_user(
        admin, NEW_USER, "New Clerk", "boston-pd", ["requester"], PASSWORD
    )
    if approve:
        g.service.accounts.approve_user(sup, NEW_USER)
    if disable:
        g.service.accounts.disable_user(sup, NEW_USER)
    return NEW_USER


def _second_admin_proposal(g: Governed) -> int:
    """A proposal by a second admin, for the bootstrap admin to approve (two-person rule)."""
    admin, sup = g.who("admin"), g.who("sup")
    g.service.accounts.create_user(
        admin, "adm-two", "Admin Two", "ma-state-police", ["admin"], PASSWORD
    )
    g.service.accounts.approve_user(sup, "adm-two")
    g.service.accounts.certify_training(sup, "adm-two", dt.date.today() + dt.timedelta(days=90))
    second = g.service.accounts.get_user(admin, "adm-two")
    return g.service.policy.propose_profile(second, "washington").id


@dataclass(frozen=True)
class Plain:
    """An action with no request: how to take it, who may, and what an allowed call changes."""

    call: Callable[[Governed, Principal, Any], Any]
    allowed: frozenset[str]
    changes: dict[str, int] = field(default_factory=dict)
    setup: Callable[[Governed], Any] = lambda g: None
    local: bool | None = None
    """Whether the local operator may (None: not a case for it)."""


def _allowed(*keys: str) -> frozenset[str]:
    unknown = set(keys) - set(PERSONAS)
    assert not unknown, unknown
    return frozenset(keys)


EVERYONE = _allowed(*PERSONAS)
REQUESTERS = _allowed("req_a", "req_a2", "req_b")


def _submit(g: Governed, who: Principal, _: Any) -> Any:
    return g.service.requests.submit_request(
        who, form(case_number="GOV-new"), g.probe.read_bytes(), "probe.jpg"
    )


def _open_alert(g: Governed) -> int:
    """An open alert: a local operator's refused attempt to list alerts raised it."""
    with pytest.raises(FaceLedgerError):
        g.service.alerts.list_alerts(LocalOperator("intruder"))
    [alert], _ = g.service.alerts.list_alerts(g.who("aud"), open_only=True, limit=1)
    return alert.id


PLAIN: dict[str, Plain] = {
    "request.submit": Plain(_submit, REQUESTERS, {"search_requests": 1, "ledger": 1}, local=False),
    "request.faces": Plain(
        lambda g, who, _: g.service.requests.probe_faces(who, g.probe.read_bytes()),
        REQUESTERS,
        local=False,
    ),
    "gallery.read": Plain(
        lambda g, who, _: g.service.galleries.list_galleries(who),
        _allowed("ex1", "ex2", "rev", "ex_out", "aud", "admin", "sup"),
        local=True,
    ),
    "gallery.names": Plain(
        lambda g, who, _: g.service.galleries.gallery_names(who), EVERYONE, local=False
    ),
    "gallery.manage": Plain(
        lambda g, who, _: g.service.galleries.create_gallery(who, "extra", "more faces"),
        _allowed("admin", "sup"),
        {"galleries": 1, "ledger": 1},
        local=True,
    ),
    "gallery.reembed": Plain(
        lambda g, who, _: g.service.galleries.reembed(who, "people", other_fake_pipeline()),
        _allowed("admin", "sup"),
        {"ledger": 55},  # one entry per photo and one for the gallery; 54 templates replaced
        local=True,
    ),
    "model.read": Plain(
        lambda g, who, _: g.service.deployments.evaluations(who),
        _allowed("ex1", "ex2", "rev", "ex_out", "aud", "admin", "sup"),
        local=True,
    ),
    "model.evaluate": Plain(
        lambda g, who, _: g.service.deployments.record_evaluation(
            who, fake_evaluation_summary(g.service.context.pipeline)
        ),
        _allowed("admin", "sup"),
        {"evaluations": 1, "ledger": 1},
        local=True,
    ),
    "model.activate": Plain(
        lambda g, who, evaluation_id: g.service.deployments.activate(who, "people", evaluation_id),
        _allowed("admin", "sup"),
        {"activations": 1, "ledger": 1},
        setup=lambda g: (
            g.service.deployments.record_evaluation(
                LocalOperator("test"), fake_evaluation_summary(g.service.context.pipeline)
            ).id
        ),
        local=True,
    ),
    "ledger.read": Plain(
        lambda g, who, _: g.service.audit.ledger_entries(who, limit=5),
        _allowed("aud", "admin", "sup"),
        local=True,
    ),
    "ledger.checkpoint": Plain(
        lambda g, who, _: g.service.audit.sign_checkpoint(who),
        _allowed("aud", "admin"),
        local=True,
    ),
    "ledger.rotate_key": Plain(
        # The announcement is one entry; its checkpoint is in the ledger's own table.
        lambda g, who, _: g.service.ledger_keys.rotate(who),
        _allowed("admin"),
        {"ledger": 1},
        local=True,
    ),
    "keys.rotate_data_key": Plain(
        # A new data key row; every sealed value re-sealed in place (no row count changes).
        lambda g, who, _: g.service.data_keys.rotate(who),
        _allowed("admin"),
        {"ledger": 1, "data_keys": 1},
        local=True,
    ),
    "ledger.witness": Plain(
        # No witness is configured here: the push reaches nobody and stores nothing.
        lambda g, who, _: g.service.witnesses.collect(who),
        _allowed("admin"),
        local=True,
    ),
    "retention.purge": Plain(
        lambda g, who, _: g.service.retention.run(who),
        _allowed("admin"),
        local=True,
    ),
    "report.purge": Plain(
        lambda g, who, _: g.service.retention.report(who),
        _allowed("aud", "admin", "sup"),
        {"ledger": 1},
        local=False,
    ),
    "violations.read": Plain(
        lambda g, who, _: g.service.violations.list_violations(who),
        _allowed("aud", "admin", "sup"),
        local=False,
    ),
    "agency.create": Plain(
        lambda g, who, _: g.service.accounts.create_agency(
            who, "somerville-pd", "Somerville PD", "requesting_agency", "US-MA"
        ),
        _allowed("admin"),
        {"agencies": 1, "ledger": 1},
        local=False,
    ),
    "agency.list": Plain(
        lambda g, who, _: g.service.accounts.list_agencies(who), EVERYONE, local=False
    ),
    "user.create": Plain(
        lambda g, who, _: g.service.accounts.create_user(
            who, "det-c", "Det C", "boston-pd", ["requester"], PASSWORD
        ),
        _allowed("admin"),
        {"users": 1, "ledger": 1},
        local=False,
    ),
    "user.list": Plain(
        lambda g, who, _: g.service.accounts.list_users(who),
        _allowed("admin", "sup", "aud"),
        local=False,
    ),
    "user.show": Plain(
        # Another's account (req_a's): one's own is always shown.
        lambda g, who, _: g.service.accounts.get_user(who, "det-a"),
        _allowed("req_a", "admin", "sup", "aud"),
    ),
    "user.approve": Plain(
        # R2: a supervisor who neither holds nor created the account (admin created it).
        lambda g, who, name: g.service.accounts.approve_user(who, name),
        _allowed("sup"),
        {"ledger": 1},
        setup=_new_account,
    ),
    "user.certify_training": Plain(
        lambda g, who, name: g.service.accounts.certify_training(
            who, name, dt.date.today() + dt.timedelta(days=30)
        ),
        _allowed("sup"),
        {"ledger": 1},
        setup=_new_account,
    ),
    "user.disable": Plain(
        lambda g, who, name: g.service.accounts.disable_user(who, name),
        _allowed("admin", "sup"),
        {"ledger": 1},
        setup=lambda g: _new_account(g, approve=True),
    ),
    "user.enable": Plain(
        lambda g, who, name: g.service.accounts.enable_user(who, name),
        _allowed("admin", "sup"),
        {"ledger": 1},
        setup=lambda g: _new_account(g, approve=True, disable=True),
    ),
    "user.set_password": Plain(
        # Another's password: only an admin (one's own needs the current one, any role).
        lambda g, who, name: g.service.accounts.set_password(who, name, PASSWORD + " again"),
        _allowed("admin"),
        {"ledger": 1},
        setup=lambda g: _new_account(g, approve=True),
    ),
    "token.create": Plain(
        # One's own token: anyone with an account.
        lambda g, who, _: g.service.tokens.create_api_token(who, who.username, "t"),
        EVERYONE,
        {"api_tokens": 1, "ledger": 1},
        local=False,
    ),
    "token.manage": Plain(
        # Another's tokens (req_a's): an admin; req_a's own are req_a's to list.
        lambda g, who, _: g.service.tokens.list_api_tokens(who, "det-a"),
        _allowed("req_a", "admin"),
    ),
    "policy.read": Plain(
        lambda g, who, _: g.service.access.check(who, "policy.read"), EVERYONE, local=False
    ),
    "policy.propose": Plain(
        lambda g, who, _: g.service.policy.propose_profile(who, "washington"),
        _allowed("admin"),
        {"policy_proposals": 1, "ledger": 1},
        local=False,
    ),
    "policy.approve": Plain(
        # Another admin's proposal: the bootstrap admin approves, activating it.
        lambda g, who, proposal: g.service.policy.approve_proposal(who, proposal),
        _allowed("admin"),
        {"ledger": 1},
        setup=_second_admin_proposal,
        local=False,
    ),
    "report.transparency": Plain(
        lambda g, who, _: g.service.transparency.report(
            who, dt.date(2026, 1, 1), dt.date.today(), public=True
        ),
        _allowed("aud", "admin", "sup"),
        {"ledger": 1},
        local=True,
    ),
    "report.dashboard": Plain(
        lambda g, who, _: g.service.dashboard.dashboard(who),
        _allowed("aud", "admin", "sup"),
        local=False,
    ),
    "report.misuse": Plain(
        # Scanned once before, so the scan under test finds nothing new to store.
        lambda g, who, _: g.service.misuse.scan(who),
        _allowed("aud", "admin", "sup"),
        setup=lambda g: g.service.misuse.scan(LocalOperator("setup")),
        local=True,
    ),
    "alerts.read": Plain(
        lambda g, who, _: g.service.alerts.list_alerts(who),
        _allowed("aud", "admin", "sup"),
        local=False,
    ),
    "alerts.ack": Plain(
        lambda g, who, alert_id: g.service.alerts.acknowledge(
            who, alert_id, "Seen; spoke to them."
        ),
        _allowed("aud", "admin", "sup"),
        {"ledger": 1},
        setup=_open_alert,
        local=False,
    ),
    "jobs.run_due": Plain(
        lambda g, who, _: g.service.emergencies.run_due(who),
        _allowed("admin", "sup"),
        {"ledger": 1},
        local=True,
    ),
    "search.adhoc": Plain(
        # R3: no search outside a request under massachusetts, for anyone at all.
        lambda g, who, _: g.service.searches.search(who, g.probe.read_bytes()),
        frozenset(),
        local=False,
    ),
    "verify.adhoc": Plain(
        lambda g, who, _: g.service.searches.verify(
            who, g.probe.read_bytes(), g.probe.read_bytes()
        ),
        frozenset(),
        local=False,
    ),
}


def _plain_cases() -> list[Any]:
    cases = []
    for action, plain in PLAIN.items():
        keys = [*PERSONAS, *([LOCAL] if plain.local is not None else [])]
        for key in keys:
            allowed = plain.local if key == LOCAL else key in plain.allowed
            cases.append(pytest.param(action, key, allowed, id=f"{action}-{key}"))
    return cases


@pytest.mark.parametrize(("action", "persona", "allowed"), _plain_cases())
def test_plain_action(governed: Governed, action: str, persona: str, allowed: bool) -> None:
    """One action without a request, as one persona (or the local operator)."""
    plain = PLAIN[action]
    target = plain.setup(governed)
    who: Principal = LocalOperator("test") if persona == LOCAL else governed.who(persona)
    before = governed.counts()
    if allowed:
        plain.call(governed, who, target)
        assert _delta(before, governed.counts()) == plain.changes
        return
    with pytest.raises(FaceLedgerError) as raised:
        plain.call(governed, who, target)
    _assert_refused(governed, before, raised.value, 403, action)


def test_checkpoint_is_signed(governed: Governed) -> None:
    """An allowed ledger.checkpoint leaves a newer signed checkpoint (its table is the
    ledger's own, outside counts())."""
    old = governed.service.audit.latest_checkpoint()
    made = governed.service.audit.sign_checkpoint(governed.who("aud"))
    latest = governed.service.audit.latest_checkpoint()
    assert latest is not None and latest == made and latest != old


def test_every_registry_action_has_a_case() -> None:
    """A new registry action without a case here fails (and a case for none does too)."""
    covered = {action for action, _, _ in REQUEST_CASES} | set(PLAIN)
    assert covered == set(ACTIONS)
    assert set(REQUEST_STEPS) == {action for action, _, _ in REQUEST_CASES}


def test_local_operator_flag_has_a_case() -> None:
    """Every action the local operator may take is checked for it here."""
    marked = {name for name, spec in ACTIONS.items() if spec.local_operator}
    assert marked <= {name for name, p in PLAIN.items() if p.local is not None}
