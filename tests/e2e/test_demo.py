"""`faceledger demo`: a labelled demo with one request at each lifecycle stage."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.demo import DEMO_LABEL, load_demo
from faceledger.errors import Conflict
from faceledger.ledger import load_public_key, verify_database
from faceledger.service import FaceLedger
from tests.conftest import make_settings

pytestmark = pytest.mark.slow  # the real face models


def test_demo_has_every_stage_and_a_verifying_ledger(
    faces_dir: Path, sface_evaluation: Path, tmp_path: Path
) -> None:
    data = tmp_path / "demo"
    result = CliRunner().invoke(
        app,
        [
            "--data-dir",
            str(data),
            "demo",
            "--faces",
            str(faces_dir),
            "--evaluation",
            str(sface_evaluation),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert DEMO_LABEL in result.stdout
    assert "administrator: admin / " in result.stdout
    service = FaceLedger(make_settings(data))
    try:
        admin = service.accounts.get_user(
            service.accounts.user_for_token(
                service.accounts.login(
                    "admin", result.stdout.split("administrator: admin / ")[1].split()[0]
                )
            ),
            "admin",
        )
        views, total = service.requests.list_requests(admin, limit=100)
        states = sorted(v.state for v in views)
        assert states == sorted(
            [
                "approved",
                "searched",
                "reviewed",
                "peer_reviewed",
                "released",
                "no_lead",
                "submitted",
                "approved_emergency",
                "sealed",
                "denied",
            ]
        )
        assert total == 10
        assert all(DEMO_LABEL in v.to_dict()["narrative"] for v in views)
        verify_database(service.settings.db_url, load_public_key(service.public_key_path))
        with pytest.raises(Conflict, match="already has accounts"):
            load_demo(service, faces_dir, {})
    finally:
        service.close()
