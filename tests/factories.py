"""Factories for the tests: the one place that makes a unit's agencies and people.

The governance, API, web and end-to-end suites each have their own cast (a table of personas:
username, agency, roles), because their tests read best with different people. Every cast is
made here, the same way: the bootstrap admin, the bootstrap supervisor (the second person of
R2, who approves and certifies what the admin creates), the requesting agencies, then each
persona created by the admin, approved and certified by the supervisor, and optionally given
an API token minted by and for itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from argon2 import PasswordHasher

from faceledger.governance.accounts import UserInfo
from faceledger.service import FaceLedger

PASSWORD = "correct horse battery staple"
"""Every persona's password (strong enough for the password rule)."""
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""A cheap argon2 setting, so tests create and log in accounts quickly."""

UNIT_AGENCY = "ma-state-police"
"""The operating unit: the bootstrap admin's agency, where examiners work."""
AGENCY_NAMES = {
    "boston-pd": "Boston Police Department",
    "cambridge-pd": "Cambridge Police Department",
    "somerville-pd": "Somerville Police Department",
}


class FastFaceLedger(FaceLedger):
    """The real service with a cheap argon2 setting (the face pipeline is whatever the test
    passes in: the real models by default, or the FAKE one of tests/fakes.py)."""

    password_hasher = FAST_HASHER


@dataclass(frozen=True)
class Persona:
    """One person of a cast."""

    username: str
    agency: str
    roles: tuple[str, ...]
    display_name: str = ""

    @property
    def shown_name(self) -> str:
        """The display name (the username, title-cased, unless given)."""
        return self.display_name or self.username.title()


def persona(username: str, agency: str, *roles: str, display_name: str = "") -> Persona:
    """A persona with ``roles``."""
    return Persona(username, agency, tuple(roles), display_name)


@dataclass(frozen=True)
class Bootstrap:
    """How a cast's unit starts: its first admin and its bootstrap supervisor."""

    admin: str = "admin"
    admin_name: str = "First Admin"
    unit_name: str = "Massachusetts State Police FR unit"
    admin_password: str | None = None  # set after bootstrap (None: keep the generated one)
    supervisor: str = "sup-brown"
    supervisor_name: str = "Sup-Brown"
    supervisor_password: str | None = PASSWORD  # None: generated
    certify_supervisor: bool = True  # the admin certifies the supervisor's training
    certify_admin: bool = False  # the supervisor certifies the admin's training
    agencies: Sequence[str] = ("boston-pd",)
    jurisdiction: str = "US-MA"
    agency_names: Mapping[str, str] = field(default_factory=lambda: AGENCY_NAMES)


@dataclass
class Staff:
    """The people a factory made: the admin, the bootstrap supervisor, each persona by key,
    and each persona's API token (when asked for)."""

    admin: UserInfo
    supervisor: UserInfo
    users: dict[str, UserInfo]
    tokens: dict[str, str]

    def everyone(self) -> dict[str, UserInfo]:
        """The personas, plus ``admin`` and ``sup``."""
        return {**self.users, "admin": self.admin, "sup": self.supervisor}


def make_staff(
    service: FaceLedger,
    cast: Mapping[str, Persona],
    bootstrap: Bootstrap | None = None,
    *,
    tokens: bool = False,
    trained_days: int = 200,
) -> Staff:
    """Bootstrap the unit of ``service`` and make every persona of ``cast``: created by the
    admin, approved and certified (for ``trained_days``) by the bootstrap supervisor, each
    with an API token of its own when ``tokens``.

    Raises:
        the service's errors, if the cast breaks a rule (a persona in an unknown agency, say).
    """
    boot = bootstrap or Bootstrap()
    accounts = service.accounts
    admin, generated = accounts.bootstrap_admin(
        boot.admin, boot.admin_name, agency_slug=UNIT_AGENCY, agency_name=boot.unit_name
    )
    if boot.admin_password is not None:
        accounts.set_password(admin, boot.admin, boot.admin_password, current_password=generated)
    supervisor, _ = accounts.bootstrap_supervisor(
        boot.supervisor, boot.supervisor_name, boot.supervisor_password
    )
    for slug in boot.agencies:
        name = boot.agency_names.get(slug, slug.upper())
        accounts.create_agency(admin, slug, name, "requesting_agency", boot.jurisdiction)
    until = dt.date.today() + dt.timedelta(days=trained_days)
    if boot.certify_supervisor:
        accounts.certify_training(admin, boot.supervisor, until)
    if boot.certify_admin:
        accounts.certify_training(supervisor, boot.admin, until)
    users: dict[str, UserInfo] = {}
    minted: dict[str, str] = {}
    for key, who in cast.items():
        accounts.create_user(
            admin, who.username, who.shown_name, who.agency, list(who.roles), PASSWORD
        )
        accounts.approve_user(supervisor, who.username)
        users[key] = accounts.certify_training(supervisor, who.username, until)
        if tokens:
            _, minted[key] = service.tokens.create_api_token(
                users[key], who.username, f"{key} tests"
            )
    return Staff(
        accounts.get_user(admin, boot.admin),
        accounts.get_user(admin, boot.supervisor),
        users,
        minted,
    )
