"""The holes of issue 8 through the command line: ad hoc search, verify and quickstart under
massachusetts (hole 1), quickstart on a fresh directory under lab (hole 1, slow: real models),
and ``faceledger login`` while locked out (hole 12).

The commands run through typer's CliRunner on a copy of the governed unit (``governed``); the
service of the fixture reads the same database, so row counts and the ledger are checked
after each command as in ``test_holes.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.errors import Unauthenticated
from faceledger.governance.models import ViolationRow
from faceledger.service import FaceLedger
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.integration.governance.conftest import Governed
from tests.integration.governance.test_holes import LOCKING_FAILURES

pytestmark = pytest.mark.filterwarnings("ignore::faceledger.governance.policy.UnsafeProfileWarning")

runner = CliRunner()


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run ``faceledger --data-dir DATA ARGS`` with no FACELEDGER_ settings from outside."""
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args], input=stdin, env={})
    return result.exit_code, result.stdout, result.stderr


def one_line(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def assert_forbidden_attempt(governed: Governed, before: dict[str, int], action: str) -> None:
    """One access.denied entry and one forbidden_attempt violation for ``action``, nothing else."""
    after = governed.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "violations": 1,
        "alerts": 1,
        "ledger": 1,
    }
    [entry] = governed.last_entries(1)
    assert entry.action == "access.denied"
    payload = entry.payload
    assert (payload["action"], payload["kind"]) == (action, "forbidden_attempt")
    with governed.service.context.db.read() as session:
        newest = session.scalars(select(ViolationRow).order_by(ViolationRow.id.desc())).first()
        assert newest is not None
        assert newest.kind == "forbidden_attempt"
        assert newest.actor.startswith("local:")


@pytest.mark.parametrize("command", ["search", "verify"])
def test_hole1_cli_adhoc_commands_are_refused_under_massachusetts(
    governed: Governed, command: str
) -> None:
    data_dir, probe = governed.service.settings.data_dir, str(governed.probe)
    args = [probe] if command == "search" else [probe, probe]
    before = governed.counts()
    code, out, err = cli(data_dir, command, *args)
    assert code == 2, out + err
    message = one_line(err)
    assert "massachusetts" in message
    assert f"{command}.adhoc" in message
    assert_forbidden_attempt(governed, before, f"{command}.adhoc")


def test_hole1_cli_quickstart_is_refused_on_a_massachusetts_directory(
    governed: Governed, faces_dir: Path, tmp_path: Path
) -> None:
    """On an existing directory quickstart keeps its profile, and the search is refused.

    The photos given are one subject of one photo (the real model runs on that one), and a
    refused quickstart should leave the unit as it was but for the recorded refusal."""
    faces = tmp_path / "faces"
    (faces / "people" / "obama").mkdir(parents=True)
    (faces / "groups").mkdir()
    shutil.copy(faces_dir / "people" / "obama" / "obama1.jpg", faces / "people" / "obama")
    shutil.copy(faces_dir / "groups" / "bbt4.jpg", faces / "groups" / "bbt4.jpg")
    data_dir = governed.service.settings.data_dir
    before = governed.counts()
    code, out, err = cli(data_dir, "quickstart", "--faces", str(faces))
    assert code == 2, out + err
    message = one_line(err)
    assert "massachusetts" in message and "search.adhoc" in message
    assert "UNSAFE" not in message
    assert governed.service.policy.active_profile().name == "massachusetts"
    [denied] = [e for e in governed.entries_of("access.denied") if e.seq >= before["ledger"]]
    assert denied.payload["kind"] == "forbidden_attempt"
    # Nothing but the refusal: no gallery enrolled into the unit on the way to it.
    assert_forbidden_attempt(governed, before, "search.adhoc")


def test_hole1_cli_commands_refused_on_a_fresh_default_directory(
    tmp_path: Path, faces_dir: Path
) -> None:
    """A directory initialised with the default profile refuses search and verify too."""
    data_dir = tmp_path / "data"
    assert cli(data_dir, "init")[0] == 0
    probe = str(faces_dir / "people" / "obama" / "obama1.jpg")
    for args, action in (
        (["search", probe], "search.adhoc"),
        (["verify", probe, probe], "verify.adhoc"),
    ):
        code, _, err = cli(data_dir, *args)
        assert code == 2
        assert "massachusetts" in one_line(err) and action in one_line(err)
    service = FaceLedger(make_settings(data_dir))
    try:
        with service.context.db.read() as session:
            kinds = session.scalars(select(ViolationRow.kind)).all()
            assert list(kinds) == ["forbidden_attempt", "forbidden_attempt"]
    finally:
        service.close()


def test_hole1_cli_init_under_lab_allows_adhoc_search(tmp_path: Path) -> None:
    """``faceledger init`` with FACELEDGER_POLICY_PROFILE=lab makes a lab directory (the search
    itself runs in test_holes.py with the FAKE pipeline; here only the profile is checked)."""
    data_dir = tmp_path / "data"
    result = runner.invoke(
        app, ["--data-dir", str(data_dir), "init"], env={"FACELEDGER_POLICY_PROFILE": "lab"}
    )
    assert result.exit_code == 0, result.stderr
    service = FaceLedger(make_settings(data_dir))
    try:
        assert service.policy.active_profile().name == "lab"
        from faceledger.governance.accounts import LocalOperator

        assert service.access.allows(LocalOperator("t"), "search.adhoc")
        assert service.access.allows(LocalOperator("t"), "verify.adhoc")
    finally:
        service.close()


@pytest.mark.slow
def test_hole1_cli_quickstart_initialises_a_fresh_directory_under_lab(
    tmp_path: Path, faces_dir: Path
) -> None:
    """Real models on the shared photos: a fresh directory becomes lab, with the banner."""
    data_dir = tmp_path / "fresh"
    code, out, err = cli(data_dir, "quickstart", "--faces", str(faces_dir))
    assert code == 0, out + err
    assert "UNSAFE" in err
    assert "enrolled" in out and "searching bbt4.jpg" in out
    service = FaceLedger(make_settings(data_dir))
    try:
        assert service.policy.active_profile().name == "lab"
    finally:
        service.close()


def test_hole12_cli_login_while_locked_out_exits_2(governed: Governed) -> None:
    data_dir, name = governed.service.settings.data_dir, governed.who("ex1").username
    for _ in range(LOCKING_FAILURES):
        with pytest.raises(Unauthenticated):
            governed.service.accounts.login(name, "wrong password")
    before = governed.counts()
    code, out, err = cli(data_dir, "login", name, "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2, out + err
    assert "Too many failed logins" in one_line(err)
    # No session was opened.
    assert governed.counts()["user_sessions"] == before["user_sessions"]
