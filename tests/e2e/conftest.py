"""A unit with people: agencies, approved and trained accounts, and an enrolled gallery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from faceledger import FaceLedger
from faceledger.governance.accounts import UserInfo
from faceledger.ledger import load_public_key, verify_database
from faceledger.ledger.verify import VerifyReport
from tests.backends import copy_data_dir
from tests.conftest import make_settings

PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class FastFaceLedger(FaceLedger):
    """The real service with a cheap argon2 setting, so tests create accounts quickly."""

    password_hasher = FAST_HASHER


@dataclass
class Unit:
    """The service and the people who use it."""

    service: FaceLedger
    faces: Path
    admin: UserInfo
    requester: UserInfo
    examiner: UserInfo
    reviewer: UserInfo
    second_examiner: UserInfo
    supervisor: UserInfo
    auditor: UserInfo
    outsider_examiner: UserInfo

    def refresh(self, user: UserInfo) -> UserInfo:
        return self.service.accounts.get_user(self.admin, user.username)

    def verify_ledger(self) -> VerifyReport:
        """Check the whole ledger with the public key alone, as an auditor would."""
        self.service.audit.sign_checkpoint(self.auditor)
        key = load_public_key(self.service.public_key_path)
        return verify_database(self.service.settings.db_url, key)


@pytest.fixture
def unit(enrolled_template: Path, faces_dir: Path, tmp_path: Path) -> Iterator[Unit]:
    data_dir = tmp_path / "data"
    copy_data_dir(enrolled_template, data_dir)
    service = FastFaceLedger(make_settings(data_dir))
    admin, _ = service.accounts.bootstrap_admin(
        "admin",
        "First Admin",
        agency_slug="ma-state-police",
        agency_name="Massachusetts State Police FR unit",
    )
    service.accounts.create_agency(
        admin, "boston-pd", "Boston Police Department", "requesting_agency", "US-MA"
    )
    # The unit's second person (R2): the accounts the admin creates are approved and certified
    # by a supervisor who did not create them.
    supervisor, _ = service.accounts.bootstrap_supervisor("sup-brown", "Sup-Brown", PASSWORD)
    people = {
        "requester": ("det-jones", "boston-pd", ["requester"]),
        "examiner": ("ex-smith", "ma-state-police", ["examiner"]),
        "second_examiner": ("ex-park", "ma-state-police", ["examiner"]),
        "reviewer": ("ex-lee", "ma-state-police", ["examiner", "reviewer"]),
        "auditor": ("aud-green", "ma-state-police", ["auditor"]),
        "outsider_examiner": ("ex-bpd", "boston-pd", ["examiner"]),
    }
    for username, agency, roles in people.values():
        service.accounts.create_user(admin, username, username.title(), agency, roles, PASSWORD)
    until = dt.date.today() + dt.timedelta(days=200)
    for username, _, _ in people.values():
        service.accounts.approve_user(supervisor, username)
        service.accounts.certify_training(supervisor, username, until)
    # The supervisor was made at bootstrap, not by the admin: the admin certifies its training.
    service.accounts.certify_training(admin, supervisor.username, until)
    users = {key: service.accounts.get_user(admin, name) for key, (name, _, _) in people.items()}
    users["supervisor"] = service.accounts.get_user(admin, supervisor.username)
    yield Unit(service, faces_dir, admin, **users)
    service.close()
