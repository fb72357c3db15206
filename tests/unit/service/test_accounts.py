"""Agencies, accounts and login sessions over a real SQLite data directory and real argon2."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import func, inspect, select, update

from faceledger import FaceLedger
from faceledger.db import utcnow
from faceledger.errors import (
    Conflict,
    FaceLedgerError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from faceledger.governance.accounts import (
    Agency,
    User,
    UserInfo,
    UserSession,
    check_password_strength,
    token_digest,
)
from faceledger.governance.actions import ACTIONS, Party, Scope
from faceledger.governance.context import AgencyKind, Role
from faceledger.governance.models import ViolationRow
from faceledger.ledger import LedgerEntry
from faceledger.service.accounts import SESSION_LIFETIME
from tests.backends import copy_data_dir
from tests.conftest import make_settings

# Cheap parameters keep the suite fast; production uses argon2-cffi's RFC 9106 defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "a long enough passphrase"
OTHER_AGENCY = "springfield-pd"


class Service(FaceLedger):
    password_hasher = FAST_HASHER


# -- fixtures and helpers ------------------------------------------------------------------


def entries(service: Service, action: str | None = None) -> list[LedgerEntry]:
    with service.context.db.read() as session:
        return service.context.ledger.query(session, action=action, limit=10_000)


def payload(entry: LedgerEntry) -> Mapping[str, Any]:
    assert entry.payload is not None
    return entry.payload


def newest_violation_id(service: Service) -> int | None:
    with service.context.db.read() as session:
        return session.scalar(select(func.max(ViolationRow.id)))


def snapshot(service: Service) -> dict[str, Any]:
    """Every row of the account tables, and the ledger size."""
    with service.context.db.read() as session:
        return {
            "agencies": [
                (a.slug, a.name, a.kind, a.jurisdiction) for a in session.scalars(select(Agency))
            ],
            "users": [
                (
                    u.username,
                    u.role_names,
                    u.password_hash,
                    u.approved,
                    u.approved_by_id,
                    u.active,
                    u.training_certified_until,
                )
                for u in session.scalars(select(User))
            ],
            "sessions": [
                (s.user_id, s.token_sha256, s.revoked_at)
                for s in session.scalars(select(UserSession))
            ],
            "violations": session.scalar(select(func.count()).select_from(ViolationRow)),
            "ledger": service.context.ledger.tree_size(session),
        }


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """A fresh data directory with no accounts."""
    opened = Service.initialise(make_settings(tmp_path / "data"), "test")
    yield opened
    opened.close()


def bootstrap(service: Service) -> UserInfo:
    """Bootstrap 'root' and give it the password PASSWORD through the use case itself."""
    root, generated = service.accounts.bootstrap_admin("root", "Rosa Root")
    return service.accounts.set_password(root, "root", PASSWORD, current_password=generated)


SUPERVISOR = "sam-super"


@pytest.fixture
def supervisor(service: Service, admin: UserInfo) -> UserInfo:
    """The unit's second supervisor (made at bootstrap, not by the admin), password PASSWORD."""
    return service.accounts.bootstrap_supervisor(SUPERVISOR, "Sam Super", PASSWORD)[0]


@pytest.fixture
def admin(service: Service) -> UserInfo:
    """The bootstrap administrator (also a supervisor), password PASSWORD."""
    return bootstrap(service)


@pytest.fixture
def person(service: Service, admin: UserInfo, supervisor: UserInfo) -> Callable[..., UserInfo]:
    """Make an account with the given roles (created by the bootstrap admin), approved by the
    second supervisor unless told not: its creator may not approve it (R2)."""
    agencies = {a.slug for a in service.accounts.list_agencies(admin)}

    def make(
        username: str, *roles: str, approved: bool = True, agency: str = "operating-unit"
    ) -> UserInfo:
        if agency not in agencies:
            service.accounts.create_agency(admin, agency, agency.title(), "requesting_agency", "MA")
            agencies.add(agency)
        user = service.accounts.create_user(
            admin, username, username.title(), agency, roles, PASSWORD
        )
        return service.accounts.approve_user(supervisor, username) if approved else user

    return make


ONE_ROLE = {role: f"only-{role.value}" for role in Role}


@pytest.fixture(scope="module")
def cast_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the bootstrap admin, one approved account per role, and 'target'.

    The supervisor is the bootstrap supervisor; it approves the accounts the admin creates."""
    data_dir = tmp_path_factory.mktemp("cast") / "data"
    service = Service.initialise(make_settings(data_dir), "test")
    try:
        admin = bootstrap(service)
        service.accounts.create_agency(
            admin, OTHER_AGENCY, "Springfield PD", "requesting_agency", "MA"
        )
        supervisor_name = ONE_ROLE[Role.SUPERVISOR]
        supervisor, _ = service.accounts.bootstrap_supervisor(supervisor_name, "One Role", PASSWORD)
        for role, username in ONE_ROLE.items():
            if role is Role.SUPERVISOR:
                continue
            service.accounts.create_user(
                admin, username, "One Role", "operating-unit", [role], PASSWORD
            )
            service.accounts.approve_user(supervisor, username)
        service.accounts.create_user(
            admin, "target", "Tara Target", OTHER_AGENCY, ["requester"], PASSWORD
        )
    finally:
        service.close()
    return data_dir


@pytest.fixture
def cast(cast_template: Path, tmp_path: Path) -> Iterator[Service]:
    """A private copy of the cast data directory, opened."""
    data_dir = tmp_path / "data"
    copy_data_dir(cast_template, data_dir)
    opened = Service(make_settings(data_dir))
    yield opened
    opened.close()


def as_user(service: Service, username: str) -> UserInfo:
    return service.accounts.user_for_token(service.accounts.login(username, PASSWORD))


# -- bootstrap -----------------------------------------------------------------------------


def test_bootstrap_creates_an_approved_admin_once(service: Service) -> None:
    admin, password = service.accounts.bootstrap_admin(
        "root", "Rosa Root", "ma-state-police", "Massachusetts State Police"
    )
    assert admin.roles == {Role.ADMIN, Role.SUPERVISOR}
    assert (admin.agency, admin.agency_kind) == ("ma-state-police", AgencyKind.OPERATING_UNIT)
    assert admin.approved and admin.active and admin.approved_at is not None
    check_password_strength(password, "root")
    assert service.accounts.user_for_token(service.accounts.login("root", password)) == admin

    assert [e.action for e in entries(service)[:2]] == ["system.init", "policy.profile_set"]
    created = [(e.action, e.actor, e.object_id) for e in entries(service)[2:4]]
    assert created == [
        ("agency.create", "system", "ma-state-police"),
        ("user.create", "system", "root"),
    ]
    before = snapshot(service)
    with pytest.raises(Conflict, match="Accounts exist already"):
        service.accounts.bootstrap_admin("second", "Second Admin")
    assert snapshot(service) == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("Root", "Rosa"), "username"),
        (("root", "  "), "Display name"),
        (("root", "Rosa", "Bad Slug"), "slug"),
        (("root", "Rosa", "unit", "Unit", "police_station"), "kind"),
    ],
)
def test_bootstrap_refuses_bad_input_and_writes_nothing(
    service: Service, args: tuple[str, ...], field: str
) -> None:
    before = snapshot(service)
    with pytest.raises(InvalidInput) as raised:
        service.accounts.bootstrap_admin(*args)
    assert raised.value.details["field"] == field
    assert snapshot(service) == before


# -- login, logout, expiry -----------------------------------------------------------------


def test_login_opens_a_session_of_twelve_hours(service: Service, admin: UserInfo) -> None:
    token = service.accounts.login("root", PASSWORD)
    assert service.accounts.user_for_token(token).username == "root"
    with service.context.db.read() as session:
        login = session.scalars(select(UserSession)).one()
        assert login.token_sha256 == token_digest(token) != token
        assert login.expires_at - login.created_at == SESSION_LIFETIME == dt.timedelta(hours=12)
        session_id = login.id
    [entry] = entries(service, "auth.login")
    assert (entry.actor, entry.object_id) == ("user:root", "root")
    assert payload(entry)["session_id"] == session_id


@pytest.mark.parametrize(("username", "password"), [("root", "wrong password!"), ("nobody", "x")])
def test_wrong_password_and_unknown_user_get_one_message(
    service: Service, admin: UserInfo, username: str, password: str
) -> None:
    before = snapshot(service)
    with pytest.raises(Unauthenticated) as raised:
        service.accounts.login(username, password)
    assert raised.value.message == "Unknown username or wrong password."
    after = snapshot(service)
    assert after["ledger"] == before["ledger"] + 1
    assert {**after, "ledger": 0} == {**before, "ledger": 0}
    [failed] = entries(service, "auth.login_failed")
    if username == "nobody":  # an unknown name may be a mistyped password: not written down
        assert (failed.actor, failed.object_id, payload(failed)["username"]) == (
            "anonymous",
            "unknown",
            None,
        )
    else:
        assert (failed.actor, payload(failed)["reason"]) == ("user:root", "wrong_password")


def test_logout_ends_the_session(service: Service, admin: UserInfo) -> None:
    token = service.accounts.login("root", PASSWORD)
    service.accounts.logout(token)
    with pytest.raises(Unauthenticated, match="ended"):
        service.accounts.user_for_token(token)
    with pytest.raises(Unauthenticated):
        service.accounts.logout(token)
    [entry] = entries(service, "auth.logout")
    assert entry.payload == {"username": "root", "session_id": 1}


def test_expired_and_unknown_tokens_are_refused(service: Service, admin: UserInfo) -> None:
    token = service.accounts.login("root", PASSWORD)
    with service.context.db.transaction() as session:
        session.execute(update(UserSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    with pytest.raises(Unauthenticated, match="expired"):
        service.accounts.user_for_token(token)
    with pytest.raises(Unauthenticated, match="Unknown session"):
        service.accounts.user_for_token("not-a-token")


def test_a_hash_made_with_other_parameters_is_upgraded_at_login(service: Service) -> None:
    class Stronger(Service):
        password_hasher = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)

    bootstrap(service)
    stronger = Stronger(service.settings)
    try:
        stronger.accounts.login("root", PASSWORD)
        with stronger.context.db.read() as session:
            stored = session.scalars(select(User.password_hash)).one()
        assert stored.startswith("$argon2id$v=19$m=16,t=2,p=1$")
        service.accounts.login("root", PASSWORD)  # still verifies with the old hasher
    finally:
        stronger.close()


# -- R2: approval --------------------------------------------------------------------------


def test_new_accounts_cannot_log_in_until_a_supervisor_approves(
    service: Service, admin: UserInfo, supervisor: UserInfo, person: Callable[..., UserInfo]
) -> None:
    alice = person("alice", "examiner", approved=False)
    assert not alice.approved and not alice.actor().account_approved
    with pytest.raises(Unauthenticated, match="not been approved by a supervisor"):
        service.accounts.login("alice", PASSWORD)
    with pytest.raises(Unauthenticated, match="Unknown username or wrong password"):
        service.accounts.login(
            "alice", "a wrong password here"
        )  # the state shows only to the holder
    with pytest.raises(PermissionDenied, match="not approved"):  # not even on itself
        service.accounts.approve_user(alice, "alice")
    # Whoever created the account may not approve it too (R2): a second person must.
    before = snapshot(service)
    with pytest.raises(PermissionDenied, match="a second person must"):
        service.accounts.approve_user(admin, "alice")
    after = snapshot(service)
    assert after["ledger"] == before["ledger"] + 1
    assert after["violations"] == before["violations"] + 1
    assert {**after, "ledger": 0, "violations": 0} == {**before, "ledger": 0, "violations": 0}
    assert [payload(e)["action"] for e in entries(service, "access.denied")] == [
        "user.approve",
        "user.approve",
    ]

    approved = service.accounts.approve_user(supervisor, "alice")
    assert approved.approved and approved.approved_by == SUPERVISOR
    assert approved.approved_at is not None
    assert service.accounts.user_for_token(service.accounts.login("alice", PASSWORD)).approved
    [entry] = entries(service, "user.approve")
    assert (entry.actor, entry.object_id, entry.payload) == (
        f"user:{SUPERVISOR}",
        "alice",
        {"username": "alice", "approved_by": SUPERVISOR},
    )
    with pytest.raises(Conflict, match="approved already"):
        service.accounts.approve_user(supervisor, "alice")


def test_the_creator_of_an_account_cannot_certify_its_training(
    service: Service, admin: UserInfo, supervisor: UserInfo, person: Callable[..., UserInfo]
) -> None:
    person("alice", "examiner")
    until = utcnow().date() + dt.timedelta(days=30)
    before = snapshot(service)
    with pytest.raises(PermissionDenied, match="a second person must"):
        service.accounts.certify_training(admin, "alice", until)
    after = snapshot(service)
    assert (after["ledger"], after["violations"]) == (
        before["ledger"] + 1,
        before["violations"] + 1,
    )
    assert {**after, "ledger": 0, "violations": 0} == {**before, "ledger": 0, "violations": 0}
    [denied] = entries(service, "access.denied")
    assert payload(denied)["action"] == "user.certify_training"
    assert "R2" in payload(denied)["requirements"]
    certified = service.accounts.certify_training(supervisor, "alice", until)
    assert certified.training_certified_until == until


def test_a_supervisor_cannot_approve_or_certify_themselves(cast: Service) -> None:
    supervisor = as_user(cast, ONE_ROLE[Role.SUPERVISOR])
    attempts: list[Callable[[], object]] = [
        lambda: cast.accounts.approve_user(supervisor, supervisor.username),
        lambda: cast.accounts.certify_training(
            supervisor, supervisor.username, dt.date.today() + dt.timedelta(days=100)
        ),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match="another supervisor must"):
            attempt()
    assert [payload(e)["action"] for e in entries(cast, "access.denied")] == [
        "user.approve",
        "user.certify_training",
    ]


# -- role checks, table-driven -------------------------------------------------------------

USE_CASES: dict[str, Callable[[Service, UserInfo], object]] = {
    "agency.create": lambda s, a: s.accounts.create_agency(
        a, "new-pd", "New PD", "requesting_agency"
    ),
    "user.create": lambda s, a: s.accounts.create_user(
        a, "newbie", "New Person", "operating-unit", ["requester"], PASSWORD
    ),
    "user.approve": lambda s, a: s.accounts.approve_user(a, "target"),
    "user.certify_training": lambda s, a: s.accounts.certify_training(
        a, "target", dt.date.today() + dt.timedelta(days=100)
    ),
    "user.disable": lambda s, a: s.accounts.disable_user(a, "target"),
    "user.enable": lambda s, a: s.accounts.enable_user(a, "target"),
    "user.set_password": lambda s, a: s.accounts.set_password(
        a, "target", "another good passphrase"
    ),
    "user.list": lambda s, a: s.accounts.list_users(a),
    "user.show": lambda s, a: s.accounts.get_user(a, "target"),
}
ACCOUNT_ACTIONS = {
    name: spec.roles
    for name, spec in ACTIONS.items()
    if name.startswith(("user.", "agency.create"))
}
"""The registry's agency and account actions, with the roles each needs."""
DENIED = [
    (action, role)
    for action, allowed in ACCOUNT_ACTIONS.items()
    for role in Role
    if role not in allowed
]
ALLOWED = [
    (action, role) for action, allowed in ACCOUNT_ACTIONS.items() for role in sorted(allowed)
]


def test_every_permission_has_a_use_case_under_test() -> None:
    assert set(USE_CASES) == set(ACCOUNT_ACTIONS)


@pytest.mark.parametrize(("action", "role"), DENIED, ids=[f"{a}-{r}" for a, r in DENIED])
def test_each_use_case_refuses_each_role_without_permission(
    cast: Service, action: str, role: Role
) -> None:
    acting = as_user(cast, ONE_ROLE[role])
    before = snapshot(cast)
    with pytest.raises(PermissionDenied) as raised:
        USE_CASES[action](cast, acting)
    needed = ACCOUNT_ACTIONS[action]
    assert raised.value.message.startswith(f"{acting.username} may not ")
    assert "needs one of the roles" in raised.value.message
    assert all(r.value in raised.value.message for r in needed)
    # The refusal is recorded one way (one violation, R18, with its one access.denied entry);
    # nothing else changes.
    after = snapshot(cast)
    assert after["ledger"] == before["ledger"] + 1
    assert after["violations"] == before["violations"] + 1
    assert {**after, "ledger": 0, "violations": 0} == {**before, "ledger": 0, "violations": 0}
    [denied] = entries(cast, "access.denied")
    assert (denied.actor, denied.object_type) == (acting.ledger_actor, "violation")
    assert denied.payload == {
        "kind": "denied_action",
        "reason": raised.value.message,
        "requirements": [ACTIONS[action].requirement, "R18"],
        "request_id": None,
        "details": {"attempted": action, "status": 403},
        "action": action,
        "violation_id": newest_violation_id(cast),
    }


@pytest.mark.parametrize(("action", "role"), ALLOWED, ids=[f"{a}-{r}" for a, r in ALLOWED])
def test_each_use_case_allows_the_roles_it_names(cast: Service, action: str, role: Role) -> None:
    if action == "user.enable":
        cast.accounts.disable_user(as_user(cast, "root"), "target")
    USE_CASES[action](cast, as_user(cast, ONE_ROLE[role]))
    assert not entries(cast, "access.denied")


@pytest.mark.parametrize("username", ["", "x" * 300])
def test_a_refusal_is_recorded_whatever_the_target_name(cast: Service, username: str) -> None:
    requester = as_user(cast, ONE_ROLE[Role.REQUESTER])
    with pytest.raises(PermissionDenied):
        cast.accounts.create_user(requester, username, "X", "operating-unit", ["admin"], PASSWORD)
    [denied] = entries(cast, "access.denied")
    assert payload(denied)["action"] == "user.create"
    assert payload(denied)["details"] == {"attempted": "user.create", "status": 403}


def test_anyone_may_see_their_own_account_and_set_their_own_password(cast: Service) -> None:
    requester = as_user(cast, ONE_ROLE[Role.REQUESTER])
    assert cast.accounts.get_user(requester, requester.username) == requester
    before = snapshot(cast)
    # One's own password changes only with the current one.
    with pytest.raises(InvalidInput, match="current password"):
        cast.accounts.set_password(requester, requester.username, "my brand new passphrase")
    with pytest.raises(Unauthenticated):
        cast.accounts.set_password(
            requester, requester.username, "my brand new passphrase", current_password="wrong one!"
        )
    assert snapshot(cast) == before
    cast.accounts.set_password(
        requester, requester.username, "my brand new passphrase", current_password=PASSWORD
    )
    with pytest.raises(Unauthenticated):
        cast.accounts.login(requester.username, PASSWORD)
    assert cast.accounts.login(requester.username, "my brand new passphrase")
    entry = entries(cast, "user.set_password")[-1]
    assert entry.payload == {
        "username": requester.username,
        "by": "self",
        "sessions_revoked": 1,
        "tokens_revoked": 0,
    }


def test_a_stale_user_record_cannot_act_after_its_account_is_disabled(cast: Service) -> None:
    admin = as_user(cast, "root")
    supervisor = as_user(cast, ONE_ROLE[Role.SUPERVISOR])
    cast.accounts.disable_user(admin, supervisor.username)
    before = snapshot(cast)
    with pytest.raises(PermissionDenied, match="disabled"):
        cast.accounts.approve_user(supervisor, "target")
    after = snapshot(cast)
    assert (after["ledger"], after["violations"]) == (
        before["ledger"] + 1,
        before["violations"] + 1,
    )
    assert {**after, "ledger": 0, "violations": 0} == {**before, "ledger": 0, "violations": 0}
    assert cast.accounts.get_user(admin, "target").approved is False


def test_the_registry_says_who_may_act_on_which_account() -> None:
    # Approval and training need a second person: never one's own account, nor one created.
    for name in ("user.approve", "user.certify_training"):
        spec = ACTIONS[name]
        assert spec.roles == {Role.SUPERVISOR} and spec.scope is Scope.OTHER_ACCOUNT
        assert Party.ACCOUNT_CREATOR in spec.distinct_from and spec.requirement == "R2"
    # Anyone may look at their own account and change their own password; others' need roles.
    assert ACTIONS["user.set_password"].scope is Scope.OWN_ACCOUNT
    assert ACTIONS["user.set_password"].roles == {Role.ADMIN}
    assert ACTIONS["user.show"].scope is Scope.OWN_ACCOUNT
    assert (
        ACTIONS["user.disable"].roles
        == ACTIONS["user.enable"].roles
        == {
            Role.ADMIN,
            Role.SUPERVISOR,
        }
    )
    assert not any(ACTIONS[a].local_operator for a in ACCOUNT_ACTIONS)


# -- training ------------------------------------------------------------------------------


def test_training_certificate_is_stored_and_reaches_the_policy_actor(cast: Service) -> None:
    supervisor = as_user(cast, ONE_ROLE[Role.SUPERVISOR])
    examiner = ONE_ROLE[Role.EXAMINER]
    until = utcnow().date() + dt.timedelta(days=365)
    info = cast.accounts.certify_training(supervisor, examiner, until)
    assert info.training_certified_until == until
    assert as_user(cast, examiner).actor().training_certified_until == until
    [entry] = entries(cast, "user.certify_training")
    assert entry.payload == {
        "username": examiner,
        "certified_until": until.isoformat(),
        "previous": None,
    }


@pytest.mark.parametrize(
    "until",
    [
        dt.date(2020, 1, 1),
        dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
        "2099-01-01",
    ],
)
def test_training_end_must_be_a_date_not_in_the_past(cast: Service, until: Any) -> None:
    supervisor = as_user(cast, ONE_ROLE[Role.SUPERVISOR])
    before = snapshot(cast)
    with pytest.raises(InvalidInput, match="training end"):
        cast.accounts.certify_training(supervisor, ONE_ROLE[Role.EXAMINER], until)
    assert snapshot(cast) == before


# -- disable and enable --------------------------------------------------------------------


def test_disabling_blocks_login_and_ends_existing_sessions(cast: Service) -> None:
    supervisor = as_user(cast, ONE_ROLE[Role.SUPERVISOR])
    examiner = ONE_ROLE[Role.EXAMINER]
    token = cast.accounts.login(examiner, PASSWORD)
    info = cast.accounts.disable_user(supervisor, examiner)
    assert not info.active and not info.actor().active
    with pytest.raises(Unauthenticated):
        cast.accounts.user_for_token(token)
    with pytest.raises(Unauthenticated, match="is disabled"):
        cast.accounts.login(examiner, PASSWORD)
    [entry] = entries(cast, "user.disable")
    assert entry.payload == {"username": examiner, "sessions_revoked": 1, "tokens_revoked": 0}
    with pytest.raises(Conflict, match="disabled already"):
        cast.accounts.disable_user(supervisor, examiner)

    cast.accounts.enable_user(supervisor, examiner)
    assert cast.accounts.user_for_token(cast.accounts.login(examiner, PASSWORD)).active
    with pytest.raises(Conflict, match="active already"):
        cast.accounts.enable_user(supervisor, examiner)


def test_the_last_admin_cannot_be_disabled(cast: Service) -> None:
    root = as_user(cast, "root")
    supervisor = as_user(cast, ONE_ROLE[Role.SUPERVISOR])
    second = ONE_ROLE[Role.ADMIN]
    cast.accounts.disable_user(root, second)
    before = snapshot(cast)
    for acting in (root, supervisor):
        with pytest.raises(Conflict, match="last active admin"):
            cast.accounts.disable_user(acting, "root")
    assert snapshot(cast) == before
    cast.accounts.enable_user(root, second)
    assert not cast.accounts.disable_user(root, "root").active  # another admin remains


# -- passwords -----------------------------------------------------------------------------

WEAK = [
    ("eleven char", "at least 12 characters"),
    (" " * 12, "only spaces"),
    ("x" * 1025, "at most 1024"),
    ("my-name-is-newbie!", "must not contain the username"),
]


@pytest.mark.parametrize(("password", "words"), WEAK)
def test_weak_passwords_are_refused_and_nothing_is_written(
    cast: Service, password: str, words: str
) -> None:
    root = as_user(cast, "root")
    before = snapshot(cast)
    with pytest.raises(InvalidInput, match=words):
        cast.accounts.create_user(
            root, "newbie", "New Person", "operating-unit", ["requester"], password
        )
    with pytest.raises(InvalidInput, match=words.replace("newbie", "target")):
        cast.accounts.set_password(root, "target", password.replace("newbie", "target"))
    assert snapshot(cast) == before


def test_an_admin_resets_a_password_and_ends_the_sessions(cast: Service) -> None:
    root = as_user(cast, "root")
    examiner = ONE_ROLE[Role.EXAMINER]
    token = cast.accounts.login(examiner, PASSWORD)
    cast.accounts.set_password(root, examiner, "reset by the admin ok")
    with pytest.raises(Unauthenticated):
        cast.accounts.user_for_token(token)
    cast.accounts.login(examiner, "reset by the admin ok")
    entry = entries(cast, "user.set_password")[-1]
    assert entry.payload == {
        "username": examiner,
        "by": "admin",
        "sessions_revoked": 1,
        "tokens_revoked": 0,
    }


# -- agencies and accounts -----------------------------------------------------------------


def test_agencies_are_created_listed_and_recorded(service: Service, admin: UserInfo) -> None:
    agency = service.accounts.create_agency(
        admin, "boston-pd", "Boston Police", "requesting_agency", "MA"
    )
    assert agency.kind is AgencyKind.REQUESTING_AGENCY
    assert [a.slug for a in service.accounts.list_agencies(admin)] == [
        "boston-pd",
        "operating-unit",
    ]
    [entry] = entries(service, "agency.create")[1:]
    assert (entry.actor, entry.object_id, entry.payload) == (
        "user:root",
        "boston-pd",
        {
            "slug": "boston-pd",
            "name": "Boston Police",
            "kind": "requesting_agency",
            "jurisdiction": "MA",
        },
    )


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        (("operating-unit", "Dup", "operating_unit"), Conflict, "exists already"),
        (("Bad_Slug", "Bad", "operating_unit"), InvalidInput, "is not allowed"),
        (("ok-pd", "OK", "sheriff"), InvalidInput, "Unknown agency kind"),
        (("ok-pd", "", "operating_unit"), InvalidInput, "Agency name"),
    ],
)
def test_bad_agencies_are_refused_and_nothing_is_written(
    service: Service,
    admin: UserInfo,
    args: tuple[str, ...],
    error: type[FaceLedgerError],
    words: str,
) -> None:
    before = snapshot(service)
    with pytest.raises(error, match=words):
        service.accounts.create_agency(admin, *args)
    assert snapshot(service) == before


def test_a_new_account_is_recorded_without_its_password(
    service: Service, admin: UserInfo, person: Callable[..., UserInfo]
) -> None:
    bob = person("bob", "requester", approved=False, agency=OTHER_AGENCY)
    assert bob.roles == {Role.REQUESTER}
    assert (bob.agency, bob.agency_kind) == (OTHER_AGENCY, AgencyKind.REQUESTING_AGENCY)
    with service.context.db.read() as session:
        stored = session.scalars(select(User).where(User.username == "bob")).one()
        assert stored.role_names == "requester"
        assert stored.password_hash.startswith("$argon2id$")
    [entry] = [e for e in entries(service, "user.create") if e.object_id == "bob"]
    assert entry.payload == {
        "username": "bob",
        "display_name": "Bob",
        "agency": OTHER_AGENCY,
        "roles": ["requester"],
        "approved": False,
        "bootstrap": False,
    }


@pytest.mark.parametrize(
    "roles",
    [
        ["requester", "examiner"],
        ["requester", "supervisor"],
        ["auditor", "reviewer"],
        ["auditor", "admin"],
        ["admin", "examiner"],
    ],
)
def test_roles_the_profile_forbids_together_are_refused_and_recorded(
    cast: Service, roles: list[str]
) -> None:
    root = as_user(cast, "root")
    before = snapshot(cast)
    with pytest.raises(PermissionDenied) as raised:
        cast.accounts.create_user(root, "newbie", "New Person", "operating-unit", roles, PASSWORD)
    assert all(r in raised.value.message for r in roles)
    after = snapshot(cast)
    assert (after["ledger"], after["violations"]) == (
        before["ledger"] + 1,
        before["violations"] + 1,
    )
    assert {**after, "ledger": 0, "violations": 0} == {**before, "ledger": 0, "violations": 0}
    [denied] = entries(cast, "access.denied")
    assert payload(denied)["action"] == "user.create"
    assert "R10" in payload(denied)["requirements"]


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"username": "target"}, Conflict, "exists already"),
        ({"agency_slug": "nowhere"}, NotFound, "No agency"),
        ({"roles": ["sheriff"]}, InvalidInput, "Unknown role 'sheriff'"),
        ({"roles": []}, InvalidInput, "at least one role"),
        ({"username": "Bad Name"}, InvalidInput, "is not allowed"),
        ({"display_name": "tab\there"}, InvalidInput, "printable"),
    ],
)
def test_bad_accounts_are_refused_and_nothing_is_written(
    cast: Service, change: dict[str, Any], error: type[FaceLedgerError], words: str
) -> None:
    root = as_user(cast, "root")
    fields: dict[str, Any] = {
        "username": "newbie",
        "display_name": "New Person",
        "agency_slug": "operating-unit",
        "roles": ["requester"],
        "password": PASSWORD,
        **change,
    }
    before = snapshot(cast)
    with pytest.raises(error, match=words):
        cast.accounts.create_user(root, **fields)
    assert snapshot(cast) == before


def test_listing_and_showing_accounts(cast: Service) -> None:
    auditor = as_user(cast, ONE_ROLE[Role.AUDITOR])
    everyone = cast.accounts.list_users(auditor)
    assert [u.username for u in everyone] == sorted(u.username for u in everyone)
    assert [u.username for u in cast.accounts.list_users(auditor, OTHER_AGENCY)] == ["target"]
    assert cast.accounts.get_user(auditor, "target").approved is False
    with pytest.raises(NotFound):
        cast.accounts.list_users(auditor, "nowhere")
    with pytest.raises(NotFound):
        cast.accounts.get_user(auditor, "ghost")
    cast.accounts.disable_user(as_user(cast, "root"), ONE_ROLE[Role.REVIEWER])
    active = cast.accounts.list_users(auditor, include_disabled=False)
    assert ONE_ROLE[Role.REVIEWER] not in {u.username for u in active}


def test_user_info_gives_the_policy_actor_and_a_json_shape(cast: Service) -> None:
    examiner = as_user(cast, ONE_ROLE[Role.EXAMINER])
    actor = examiner.actor()
    assert (actor.user_id, actor.agency_id, actor.agency_kind) == (
        examiner.username,
        "operating-unit",
        AgencyKind.OPERATING_UNIT,
    )
    assert actor.roles == {Role.EXAMINER} and actor.account_approved and actor.active
    shape = examiner.to_dict()
    assert json.loads(json.dumps(shape)) == shape
    assert shape["roles"] == ["examiner"] and shape["approved_by"] == ONE_ROLE[Role.SUPERVISOR]
    assert "password" not in json.dumps(shape)


def test_no_ledger_entry_holds_a_password_hash_or_token(cast: Service) -> None:
    root = as_user(cast, "root")
    token = cast.accounts.login(ONE_ROLE[Role.EXAMINER], PASSWORD)
    cast.accounts.set_password(root, "target", "a secret passphrase 1")
    cast.accounts.logout(token)
    text = json.dumps([e.payload for e in entries(cast)])
    for secret in (token, token_digest(token), PASSWORD, "a secret passphrase 1", "$argon2"):
        assert secret not in text


# -- schema --------------------------------------------------------------------------------


def test_migration_0003_downgrades_and_upgrades(service: Service) -> None:
    tables = {"agencies", "users", "user_sessions"}
    assert tables <= set(inspect(service.context.db.engine).get_table_names())
    command.downgrade(service.context.db._alembic_config(), "0002")
    assert not tables & set(inspect(service.context.db.engine).get_table_names())
    service.context.db.upgrade()
    assert tables <= set(inspect(service.context.db.engine).get_table_names())
