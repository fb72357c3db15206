"""Secrets stay out of every output: settings shown by `faceledger config` (text and --json)
mask URL passwords and tokens, and database errors carry the SQL but not its parameters.

Attack cases of issue 13: "`faceledger config --json` prints a database password from
`database_url`" and "SQL parameters (probe hashes, face boxes) reach the server log in
tracebacks".
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.config import mask_url
from faceledger.db import Database
from faceledger.errors import ConfigError, Conflict
from faceledger.gallery.models import Gallery, Subject
from tests.backends import database_url
from tests.conftest import make_settings

DB_PASSWORD = "S3cret-db-Pw"
MILVUS_PASSWORD = "Milvus-Pw-42"
WEBHOOK_TOKEN = "T0ken-in-query"
WEBHOOK_SECRET = "hmac-key-never-shown"
WITNESS_PASSWORD = "witness-Pw-9"
SECRETS = (DB_PASSWORD, MILVUS_PASSWORD, WEBHOOK_TOKEN, WEBHOOK_SECRET, WITNESS_PASSWORD)

SECRET_SETTINGS = {
    "database_url": f"postgresql+psycopg://faceledger:{DB_PASSWORD}@db.internal:5432/faceledger",
    "milvus_uri": f"http://root:{MILVUS_PASSWORD}@milvus.internal:19530",
    "alert_webhook_url": f"https://hooks.example.org/in?token={WEBHOOK_TOKEN}&channel=ops",
    "alert_webhook_secret": WEBHOOK_SECRET,
    "witness_urls": f"https://w:{WITNESS_PASSWORD}@w1.example.org/w,https://w2.example.org",
}
MASKED = {
    "database_url": "postgresql+psycopg://faceledger:***@db.internal:5432/faceledger",
    "milvus_uri": "http://root:***@milvus.internal:19530",
    "alert_webhook_url": "https://hooks.example.org/in?token=***&channel=***",
    "alert_webhook_secret": "***",
    "witness_urls": "https://w:***@w1.example.org/w,https://w2.example.org",
}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:pw@host/db", "postgresql+psycopg://u:***@host/db"),
        ("postgresql://u:pw@h1:5432,h2:5432/db", "postgresql://u:***@h1:5432,h2:5432/db"),
        # SQLAlchemy reads an unencoded "/" or "@" as part of the password.
        ("postgresql://u:p/w@host/db", "postgresql://u:***@host/db"),
        ("postgresql://u:p@w@host/db", "postgresql://u:***@host/db"),
        ("postgresql://u:p%40w@host/db", "postgresql://u:***@host/db"),
        (
            "postgresql://u@host/db?sslmode=require&password=pw",
            "postgresql://u@host/db?sslmode=require&password=***",
        ),
        ("https://user:pw@example.org:8443/hook", "https://user:***@example.org:8443/hook"),
        ("https://example.org/hook?sig=abc&code=def", "https://example.org/hook?sig=***&code=***"),
        ("https://example.org/hook?RAWTOKEN", "https://example.org/hook?***"),
        ("https://example.org/hook#token", "https://example.org/hook#***"),
        ("https://u:p@ss@example.org/x", "https://u:***@example.org/x"),
        # Nothing secret: unchanged.
        ("postgresql://u@host:5432/db", "postgresql://u@host:5432/db"),
        ("postgresql://u:@host/db", "postgresql://u:@host/db"),
        ("sqlite:////srv/data/faceledger.db", "sqlite:////srv/data/faceledger.db"),
        ("sqlite:///rel.db?mode=ro&uri=true", "sqlite:///rel.db?mode=ro&uri=true"),
        ("http://[::1]:19530", "http://[::1]:19530"),
        ("tcp://scheduler:8786", "tcp://scheduler:8786"),
        ("/srv/index/milvus.db", "/srv/index/milvus.db"),
        ("", ""),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_settings_shown_masks_url_passwords_tokens_and_secrets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", **SECRET_SETTINGS)
    shown = settings.shown()
    assert {name: shown[name] for name in MASKED} == MASKED
    assert not [s for s in SECRETS if s in json.dumps(shown, default=str)]
    assert settings.database_url == SECRET_SETTINGS["database_url"]  # only the display masks


def _config(tmp_path: Path, *args: str) -> str:
    env = {"FACELEDGER_" + name.upper(): value for name, value in SECRET_SETTINGS.items()}
    env["COLUMNS"] = "400"  # wide enough that the table shows each URL whole
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "config", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_config_json_masks_secrets(tmp_path: Path) -> None:
    out = _config(tmp_path, "--json")
    assert not [s for s in SECRETS if s in out]
    values = json.loads(out)
    assert {name: values[name] for name in MASKED} == MASKED


def test_cli_config_table_masks_secrets(tmp_path: Path) -> None:
    out = _config(tmp_path)
    assert not [s for s in SECRETS if s in out]
    assert MASKED["database_url"] in out
    assert MASKED["milvus_uri"] in out


def test_a_bad_webhook_url_is_refused_without_echoing_its_token(tmp_path: Path) -> None:
    bad = f"ftp://ops:{WEBHOOK_TOKEN}@hooks.example.org/in"
    with pytest.raises(ConfigError, match="alert_webhook_url must be an http") as caught:
        make_settings(tmp_path, alert_webhook_url=bad, alert_webhook_secret=WEBHOOK_SECRET)
    assert WEBHOOK_TOKEN not in caught.value.message
    assert "ftp://ops:***@hooks.example.org/in" in caught.value.message


# -- SQL parameters never reach an error's text, its traceback or a log -------------------

PROBE_HASH = "5e1f0c7a9b3d2e4f6a8c0b1d3e5f7a9c0b2d4e6f8a1c3e5b7d9f0a2c4e6b8d0f"
FACE_BOX = "box-17-42-311-290"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated database on the backend of the run (as tests/unit/test_db_conflict.py)."""
    database = Database(database_url(tmp_path, migrated=True))
    yield database
    database.dispose()


def _everything_shown(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """The error's text, its whole traceback (with its causes) and the log of it."""
    with caplog.at_level(logging.ERROR):
        logging.getLogger("faceledger.test").error("unhandled error", exc_info=error)
    return "\n".join([str(error), "".join(traceback.format_exception(error)), caplog.text])


def test_a_unique_violation_shows_no_parameters(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with db.transaction() as session:
        session.add(Gallery(name=PROBE_HASH, description=""))
    with pytest.raises(Conflict) as caught, db.transaction() as session:
        session.add(Gallery(name=PROBE_HASH, description=FACE_BOX))
    shown = _everything_shown(caught.value, caplog)
    assert "INSERT INTO galleries" in shown  # the statement is still there to debug with
    assert PROBE_HASH not in shown and FACE_BOX not in shown
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Gallery)) == 1


def test_a_foreign_key_violation_shows_no_parameters(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(IntegrityError) as caught, db.transaction() as session:
        session.add(Subject(gallery_id=999_999, external_id=PROBE_HASH, display_name=FACE_BOX))
    shown = _everything_shown(caught.value, caplog)
    assert "hide_parameters" in shown  # SQLAlchemy says the parameters were left out
    assert PROBE_HASH not in shown and FACE_BOX not in shown
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 0


def test_a_failing_raw_statement_shows_no_parameters(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises((OperationalError, ProgrammingError)) as caught, db.read() as session:
        session.execute(
            text("SELECT * FROM no_such_table WHERE probe = :probe"), {"probe": PROBE_HASH}
        )
    shown = _everything_shown(caught.value, caplog)
    assert "no_such_table" in shown
    assert PROBE_HASH not in shown
