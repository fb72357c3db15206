"""An existing data directory upgrades to one model per gallery (migration 0010)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, select

from faceledger.db import Database
from faceledger.gallery.models import Gallery, Template
from faceledger.gallery.sources import from_folder_tree
from faceledger.service import FaceLedger
from tests.backends import database_url
from tests.conftest import ACTOR, make_settings
from tests.fakes import FAKE_EMBEDDER, fake_pipeline


def test_galleries_of_an_old_data_directory_take_their_templates_model(
    faces_dir: Path, tmp_path: Path
) -> None:
    # An empty database, so that every migration runs on the backend (not a migrated clone).
    settings = make_settings(tmp_path / "data", database_url=database_url(tmp_path, "old.db"))
    FaceLedger.initialise(settings, ACTOR.ledger_actor).close()
    service = FaceLedger(settings, pipeline=fake_pipeline())
    try:
        service.galleries.enroll(ACTOR, "old", from_folder_tree(faces_dir / "people"))
        service.galleries.create_gallery(ACTOR, "empty")
    finally:
        service.close()
    db = Database(settings.db_url)
    try:
        command.downgrade(db._alembic_config(), "0009")
        columns = {c["name"] for c in inspect(db.engine).get_columns("galleries")}
        assert "model_name" not in columns  # as a data directory of the previous release
        assert "above_threshold" in {
            c["name"] for c in inspect(db.engine).get_columns("candidates")
        }
        db.upgrade()
        with db.read() as session:
            rows = {
                g.name: (g.model_name, g.model_version, g.model_sha256)
                for g in session.scalars(select(Gallery))
            }
        assert rows == {
            "old": (FAKE_EMBEDDER.name, FAKE_EMBEDDER.version, FAKE_EMBEDDER.sha256),
            "empty": (None, None, None),
        }
        # Nothing was lost: rebuilding a table on SQLite must not cascade into its children.
        with db.read() as session:
            assert len(session.scalars(select(Template.id)).all()) == 54
        assert "within_threshold" in {
            c["name"] for c in inspect(db.engine).get_columns("candidates")
        }
    finally:
        db.dispose()
