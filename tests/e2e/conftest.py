"""A unit with people: agencies, approved and trained accounts, and an enrolled gallery."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from faceledger import FaceLedger
from faceledger.governance.accounts import UserInfo
from faceledger.ledger import load_public_key, verify_database
from faceledger.ledger.verify import VerifyReport
from tests.backends import copy_data_dir
from tests.conftest import make_settings
from tests.factories import (
    UNIT_AGENCY,
    FastFaceLedger,
    make_staff,
    persona,
)


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


CAST = {
    "requester": persona("det-jones", "boston-pd", "requester"),
    "examiner": persona("ex-smith", UNIT_AGENCY, "examiner"),
    "second_examiner": persona("ex-park", UNIT_AGENCY, "examiner"),
    "reviewer": persona("ex-lee", UNIT_AGENCY, "examiner", "reviewer"),
    "auditor": persona("aud-green", UNIT_AGENCY, "auditor"),
    "outsider_examiner": persona("ex-bpd", "boston-pd", "examiner"),
}
"""The end-to-end cast (made by :func:`tests.factories.make_staff`)."""


@pytest.fixture
def unit(enrolled_template: Path, faces_dir: Path, tmp_path: Path) -> Iterator[Unit]:
    """A copy of the real-model enrolled template with the end-to-end cast."""
    data_dir = tmp_path / "data"
    copy_data_dir(enrolled_template, data_dir)
    service = FastFaceLedger(make_settings(data_dir))
    staff = make_staff(service, CAST)
    yield Unit(service, faces_dir, staff.admin, supervisor=staff.supervisor, **staff.users)
    service.close()
