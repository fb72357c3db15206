"""Every route against every role: 401 without a token, 403 (or 404 where the object is hidden)
for each role that may not call it, 200 for each that may read.

The route list comes from the app itself: a route added without a line in ``ROUTES`` fails
``test_every_route_has_an_entry``, so no route goes untested.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from faceledger.api import build_api
from tests.conftest import ACTOR, GALLERY
from tests.fakes import fake_evaluation_summary, fake_pipeline
from tests.integration.api.conftest import (
    EMERGENCY_FIELDS,
    PERSONAS,
    ApiUnit,
    error_of,
    routes_of,
    running_unit,
)


@dataclass(frozen=True)
class States:
    """Objects in the state each route needs, made once per module."""

    approved: int
    emergency_submitted: int
    emergency_approved: int
    searched: int
    candidate: int
    candidate_marks: list[dict[str, Any]]
    peer_reviewed: int
    released: int
    released_candidate: int
    pending_user: str
    token_id: int
    proposal_id: int
    subject: str
    photo_id: int
    evaluation_id: int
    evaluation_summary: dict[str, Any]


Call = Callable[[States], dict[str, Any]]
"""What to send: ``path`` values to fill in, and ``json``/``data``/``files``/``params``."""

ME = "<the caller's own username>"
"""A placeholder in ``json`` for the calling persona's username (a token is one's own)."""


def nothing(_: States) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Spec:
    """Who may call a route (None: anyone, without a token) and how to call it."""

    allowed: frozenset[str] | None
    call: Call = nothing
    hidden_from: frozenset[str] = field(default_factory=frozenset)  # 404, not 403


ALL = frozenset(PERSONAS)
REQUEST_READERS = ALL - {"admin"}  # an admin runs the installation, not its searches
STAFF_READ = frozenset({"examiner", "reviewer", "supervisor", "auditor", "admin"})
LEDGER_READ = frozenset({"auditor", "supervisor", "admin"})
ACCOUNT_READ = frozenset({"supervisor", "auditor", "admin"})
IMAGE_VIEWERS = frozenset({"requester", "examiner", "reviewer", "supervisor", "auditor"})
NO_SIGHT = frozenset({"admin"})
"""Who cannot see a request at all, so a lifecycle step on it answers 404 (R1)."""
ONLY = frozenset
PUBLIC = Spec(None)


def _req(key: str, **extra: Any) -> Call:
    def call(s: States) -> dict[str, Any]:
        return {"path": {"request_id": getattr(s, key)}, **extra}

    return call


def _user(key: str = "pending_user", **extra: Any) -> Call:
    return lambda s: {"path": {"username": getattr(s, key) if key else "root"}, **extra}


ROUTES: dict[tuple[str, str], Spec] = {
    # -- public ------------------------------------------------------------------------------
    ("GET", "/health"): PUBLIC,
    ("POST", "/auth/login"): Spec(None, lambda s: {"json": {"username": "x", "password": "y"}}),
    ("GET", "/ledger/public-key"): PUBLIC,
    ("GET", "/ledger/checkpoints/latest/note"): PUBLIC,
    ("GET", "/ledger/consistency"): Spec(None, lambda s: {"params": {"old": 1, "new": 2}}),
    # Anyone may offer a cosignature; with no witness key configured it is refused (422).
    ("POST", "/ledger/cosignatures"): Spec(None, lambda s: {"content": "not a note\n"}),
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    # -- every role --------------------------------------------------------------------------
    ("POST", "/auth/logout"): Spec(ALL),
    ("GET", "/me"): Spec(ALL),
    ("GET", "/agencies"): Spec(ALL),
    ("GET", "/policy"): Spec(ALL),
    ("GET", "/policy/offences"): Spec(ALL),
    ("GET", "/requests"): Spec(REQUEST_READERS),
    ("GET", "/requests/{request_id}"): Spec(REQUEST_READERS, _req("released")),
    # -- accounts ----------------------------------------------------------------------------
    ("POST", "/agencies"): Spec(
        ONLY({"admin"}),
        lambda s: {"json": {"slug": "x-pd", "name": "X PD", "kind": "requesting_agency"}},
    ),
    ("GET", "/users"): Spec(ACCOUNT_READ),
    ("POST", "/users"): Spec(
        ONLY({"admin"}),
        lambda s: {
            "json": {
                "username": "someone",
                "display_name": "Someone",
                "agency": "boston-pd",
                "roles": ["requester"],
                "password": "a long enough passphrase",
            }
        },
    ),
    ("GET", "/users/{username}"): Spec(ACCOUNT_READ, _user("")),
    ("POST", "/users/{username}/approve"): Spec(ONLY({"supervisor"}), _user()),
    ("POST", "/users/{username}/certify-training"): Spec(
        ONLY({"supervisor"}),
        _user(json={"certified_until": str(dt.date.today() + dt.timedelta(days=100))}),
    ),
    ("POST", "/users/{username}/disable"): Spec(ONLY({"supervisor", "admin"}), _user()),
    ("POST", "/users/{username}/enable"): Spec(ONLY({"supervisor", "admin"}), _user()),
    ("PUT", "/users/{username}/password"): Spec(
        ONLY({"admin"}), _user("", json={"password": "another long passphrase"})
    ),
    # -- tokens and policy -------------------------------------------------------------------
    # Anyone issues and lists their own tokens; only an admin revokes another's (root's here).
    ("POST", "/tokens"): Spec(ALL, lambda s: {"json": {"username": ME, "name": "t"}}),
    ("GET", "/tokens"): Spec(ALL),
    ("POST", "/tokens/{token_id}/revoke"): Spec(
        ONLY({"admin"}), lambda s: {"path": {"token_id": s.token_id}}
    ),
    ("PUT", "/policy"): Spec(ONLY({"admin"}), lambda s: {"json": {"profile": "washington"}}),
    ("GET", "/policy/proposals"): Spec(ONLY({"admin"})),
    ("POST", "/policy/proposals/{proposal_id}/approve"): Spec(
        ONLY({"admin"}), lambda s: {"path": {"proposal_id": s.proposal_id}, "json": {}}
    ),
    # -- the lifecycle (the policy engine decides) -------------------------------------------
    ("POST", "/requests"): Spec(ONLY({"requester"}), lambda s: {"form": True}),
    ("POST", "/requests/probe-faces"): Spec(ONLY({"requester"}), lambda s: {"probe": True}),
    # A submitted emergency is not yet in the examiners' and reviewers' sight either.
    ("POST", "/requests/{request_id}/approve-emergency"): Spec(
        ONLY({"supervisor"}),
        _req("emergency_submitted"),
        hidden_from=NO_SIGHT | {"examiner", "reviewer"},
    ),
    ("POST", "/requests/{request_id}/search"): Spec(
        ONLY({"examiner"}), _req("approved"), hidden_from=NO_SIGHT
    ),
    ("POST", "/requests/{request_id}/reviews"): Spec(
        ONLY({"examiner"}),
        lambda s: {"path": {"request_id": s.searched}, "json": {"marks": s.candidate_marks}},
        hidden_from=NO_SIGHT,
    ),
    ("POST", "/requests/{request_id}/release"): Spec(
        ONLY({"examiner", "supervisor"}), _req("peer_reviewed"), hidden_from=NO_SIGHT
    ),
    ("POST", "/requests/{request_id}/close"): Spec(
        ONLY({"examiner"}), _req("searched", json={"reason": "no lead"}), hidden_from=NO_SIGHT
    ),
    ("POST", "/requests/{request_id}/lead-uses"): Spec(
        ONLY({"requester"}),
        lambda s: {
            "path": {"request_id": s.released},
            "json": {"candidate_id": s.released_candidate, "use": "further_investigation"},
        },
        hidden_from=NO_SIGHT,
    ),
    ("POST", "/requests/{request_id}/emergency-filing"): Spec(
        ONLY({"requester", "supervisor"}),
        _req("emergency_approved", json={"reference": "SUCR-EM-9"}),
        hidden_from=NO_SIGHT,
    ),
    ("POST", "/requests/{request_id}/court-refusal"): Spec(
        ONLY({"supervisor", "admin"}), _req("emergency_approved", json={"note": ""})
    ),
    ("POST", "/emergencies/overdue-check"): Spec(ONLY({"supervisor", "admin"})),
    # -- images ------------------------------------------------------------------------------
    ("GET", "/requests/{request_id}/probe"): Spec(IMAGE_VIEWERS, _req("searched")),
    ("GET", "/requests/{request_id}/faces/{face_index}/crop.jpg"): Spec(
        IMAGE_VIEWERS, lambda s: {"path": {"request_id": s.searched, "face_index": 0}}
    ),
    ("GET", "/requests/{request_id}/candidates/{candidate_id}/chip.jpg"): Spec(
        ONLY({"examiner", "reviewer", "supervisor", "auditor"}),
        lambda s: {"path": {"request_id": s.searched, "candidate_id": s.candidate}},
    ),
    # -- violations, galleries, ledger -------------------------------------------------------
    ("GET", "/violations"): Spec(ONLY({"supervisor", "auditor", "admin"})),
    ("GET", "/galleries"): Spec(STAFF_READ),
    ("GET", "/galleries/{name}"): Spec(STAFF_READ, lambda s: {"path": {"name": GALLERY}}),
    ("DELETE", "/galleries/{name}/subjects/{external_id}"): Spec(
        ONLY({"supervisor", "admin"}),
        lambda s: {"path": {"name": GALLERY, "external_id": s.subject}},
    ),
    ("DELETE", "/galleries/{name}/photos/{photo_id}"): Spec(
        ONLY({"supervisor", "admin"}), lambda s: {"path": {"name": GALLERY, "photo_id": s.photo_id}}
    ),
    # -- models and the deployment gate --------------------------------------------------------
    ("GET", "/evaluations"): Spec(STAFF_READ),
    ("GET", "/evaluations/{evaluation_id}"): Spec(
        STAFF_READ, lambda s: {"path": {"evaluation_id": s.evaluation_id}}
    ),
    ("POST", "/evaluations"): Spec(
        ONLY({"supervisor", "admin"}), lambda s: {"json": {"summary": s.evaluation_summary}}
    ),
    ("GET", "/galleries/{name}/activation"): Spec(
        STAFF_READ, lambda s: {"path": {"name": GALLERY}}
    ),
    ("POST", "/galleries/{name}/activation"): Spec(
        ONLY({"supervisor", "admin"}),
        lambda s: {"path": {"name": GALLERY}, "json": {"evaluation_id": s.evaluation_id}},
    ),
    ("GET", "/ledger/entries"): Spec(LEDGER_READ),
    ("GET", "/ledger/entries/{seq}/proof"): Spec(LEDGER_READ, lambda s: {"path": {"seq": 0}}),
    ("GET", "/ledger/checkpoints/latest"): Spec(LEDGER_READ),
    ("POST", "/ledger/checkpoints"): Spec(ONLY({"auditor", "admin"})),
    ("GET", "/ledger/export"): Spec(LEDGER_READ),
    ("POST", "/ledger/verify"): Spec(LEDGER_READ),
    ("POST", "/ledger/witnesses/collect"): Spec(ONLY({"admin"})),
    # Producing a report is recorded, so it is a POST (a GET never writes: issue 13 item 5).
    ("POST", "/reports/purge"): Spec(
        ONLY({"supervisor", "auditor", "admin"}), lambda s: {"json": {"since": "2025-01-01"}}
    ),
    ("POST", "/misuse/scan"): Spec(ONLY({"supervisor", "auditor"})),
    ("GET", "/misuse/findings"): Spec(ONLY({"supervisor", "auditor"})),
    ("POST", "/reports/transparency"): Spec(
        ONLY({"supervisor", "auditor", "admin"}),
        lambda s: {"json": {"from": "2025-01-01", "to": "2025-12-31", "public": True}},
    ),
    ("POST", "/requests/{request_id}/disclosures"): Spec(
        ONLY({"supervisor", "auditor"}),
        _req("released", json={"recipient": "Defence counsel for R. v. Doe"}),
        hidden_from=NO_SIGHT,
    ),
    ("GET", "/requests/{request_id}/disclosures"): Spec(
        ONLY({"supervisor", "auditor"}), _req("released"), hidden_from=NO_SIGHT
    ),
    ("GET", "/cases"): Spec(REQUEST_READERS),
    ("GET", "/cases.csv"): Spec(REQUEST_READERS),
    ("GET", "/alerts"): Spec(ONLY({"supervisor", "auditor"})),
    ("GET", "/alerts/count"): Spec(ALL),
    ("POST", "/alerts/{alert_id}/ack"): Spec(
        ONLY({"supervisor", "auditor"}),
        lambda s: {"path": {"alert_id": 1}, "json": {"note": "seen"}},
    ),
}


def _param(method: str, path: str, who: str) -> Any:
    return pytest.param(method, path, who, id=f"{method} {path} as {who}")


@pytest.fixture(scope="module")
def unit(
    fake_enrolled_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiUnit]:
    """One unit for the module, with the FAKE face pipeline (this is about roles)."""
    data_dir = tmp_path_factory.mktemp("roles") / "data"
    with running_unit(fake_enrolled_template, data_dir, faces_dir, fake_pipeline()) as api:
        yield api


@pytest.fixture(scope="module")
def states(unit: ApiUnit) -> States:
    s, u = unit.service, unit.users
    photo = unit.photo()

    def searched() -> tuple[int, list[dict[str, Any]]]:
        filed = s.requests.submit_request(u["requester"], unit.form(), photo)
        return filed.id, s.requests.run_request_search(u["examiner"], filed.id).candidates

    def agreed(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"candidate_id": c["id"], "outcome": "possible_lead" if c["rank"] == 1 else "not_match"}
            for c in candidates
        ]

    approved = s.requests.submit_request(u["requester"], unit.form(), photo).id
    emergency = unit.form(
        legal_basis_kind="emergency", legal_basis={"facts": EMERGENCY_FIELDS["facts"]}
    )
    emergency_submitted = s.requests.submit_request(u["requester"], emergency, photo).id
    emergency_approved = s.requests.submit_request(u["requester"], emergency, photo).id
    s.requests.approve_emergency(u["supervisor"], emergency_approved)
    searched_id, candidates = searched()
    peer_reviewed, peer_candidates = searched()
    # Operator (examiner), first reviewer (examiner2) and peer reviewer differ (R10).
    s.reviews.submit_review(u["examiner2"], peer_reviewed, agreed(peer_candidates))
    s.reviews.submit_review(u["reviewer"], peer_reviewed, agreed(peer_candidates))
    released, released_candidates = searched()
    s.reviews.submit_review(u["examiner2"], released, agreed(released_candidates))
    s.reviews.submit_review(u["reviewer"], released, agreed(released_candidates))
    s.reviews.release_request(u["examiner"], released)
    pending = s.accounts.create_user(
        unit.root, "pending-user", "Pending", "boston-pd", ["requester"], "a long enough passphrase"
    )
    token, _ = s.tokens.create_api_token(unit.root, "root", "to revoke")
    # Root proposes the active profile again: approving it (a second admin) changes nothing.
    proposal = s.policy.propose_profile(unit.root, s.policy.active_profile().name)
    subject = s.galleries.gallery_detail(ACTOR, GALLERY)["subjects"][0]
    evaluation_summary = fake_evaluation_summary(s.context.pipeline)
    evaluation = s.deployments.record_evaluation(ACTOR, evaluation_summary)
    s.audit.sign_checkpoint(ACTOR)
    return States(
        approved=approved,
        emergency_submitted=emergency_submitted,
        emergency_approved=emergency_approved,
        searched=searched_id,
        candidate=candidates[0]["id"],
        candidate_marks=[{**m, "outcome": "not_match"} for m in agreed(candidates)],
        peer_reviewed=peer_reviewed,
        released=released,
        released_candidate=released_candidates[0]["id"],
        pending_user=pending.username,
        token_id=token.id,
        proposal_id=proposal.id,
        subject=subject["external_id"],
        photo_id=subject["photos"][0]["photo_id"],
        evaluation_id=evaluation.id,
        evaluation_summary=evaluation_summary,
    )


def send(unit: ApiUnit, states: States, who: str | None, method: str, path: str) -> Any:
    call = ROUTES[(method, path)].call(states)
    url = path.format(**call.pop("path", {}))
    if isinstance(call.get("json"), dict) and who is not None:
        call["json"] = {
            k: unit.users[who].username if v == ME else v for k, v in call["json"].items()
        }
    if call.pop("form", False):
        return unit.file(who) if who else unit.call(None, method, url)
    if call.pop("probe", False):
        call["files"] = {"probe": ("probe.jpg", unit.photo(), "image/jpeg")}
    return unit.call(who, method, url, **call)


def test_every_route_has_an_entry(unit: ApiUnit) -> None:
    found = routes_of(build_api(unit.service))
    assert found - set(ROUTES) == set(), "routes without an entry in ROUTES"
    assert set(ROUTES) - found == set(), "entries in ROUTES without a route"


@pytest.mark.parametrize(
    ("method", "path"), [k for k, spec in ROUTES.items() if spec.allowed is not None]
)
def test_without_a_token_every_route_is_401(
    unit: ApiUnit, states: States, method: str, path: str
) -> None:
    response = send(unit, states, None, method, path)
    error_of(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path"), [k for k, spec in ROUTES.items() if spec.allowed is None]
)
def test_public_routes_answer_without_a_token(
    unit: ApiUnit, states: States, method: str, path: str
) -> None:
    response = send(unit, states, None, method, path)
    # The fake credentials are refused; a cosignature no configured witness made is refused.
    expected = {"/auth/login": 401, "/ledger/cosignatures": 422}.get(path, 200)
    assert response.status_code == expected, response.text


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        _param(method, path, who)
        for (method, path), spec in ROUTES.items()
        if spec.allowed is not None
        for who in PERSONAS
        if who not in spec.allowed
    ],
)
def test_every_route_refuses_every_other_role(
    unit: ApiUnit, states: States, method: str, path: str, who: str
) -> None:
    spec = ROUTES[(method, path)]
    response = send(unit, states, who, method, path)
    if who in spec.hidden_from:
        error_of(response, 404, "not_found")
    else:
        assert response.status_code == 403, response.text
        code = response.json()["error"]["code"]
        error_of(response, 403, code)
        assert code in {"permission_denied", "policy_denied"}


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        _param(method, path, who)
        for (method, path), spec in ROUTES.items()
        if method == "GET" and spec.allowed is not None
        for who in sorted(spec.allowed)
    ],
)
def test_every_role_that_may_read_gets_200(
    unit: ApiUnit, states: States, method: str, path: str, who: str
) -> None:
    response = send(unit, states, who, method, path)
    assert response.status_code == 200, response.text
