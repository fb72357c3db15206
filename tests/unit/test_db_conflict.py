"""A unique constraint settling a race is a Conflict (409) with nothing written, on every
backend; other integrity errors stay what they are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from faceledger.db import Database
from faceledger.errors import Conflict
from faceledger.gallery.models import Gallery, Subject
from tests.backends import database_url


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(database_url(tmp_path, migrated=True))
    yield database
    database.dispose()


def test_a_unique_violation_is_a_conflict_and_rolls_everything_back(db: Database) -> None:
    with db.transaction() as session:
        session.add(Gallery(name="people", description=""))
    with pytest.raises(Conflict, match="nothing was written") as caught, db.transaction() as s:
        s.add(Gallery(name="other", description=""))
        s.flush()
        s.add(Gallery(name="people", description="the loser of a race"))
    assert caught.value.status == 409
    with db.read() as session:
        assert session.scalars(select(Gallery.name)).all() == ["people"]


def test_a_foreign_key_violation_is_not_dressed_up_as_a_conflict(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(Subject(gallery_id=999_999, external_id="x", display_name="x"))
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 0
