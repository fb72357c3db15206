"""``faceledger alerts list|ack|deliver`` over a real data directory, each person acting
through their own login session; alerts come from refused commands."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.cli.session import SESSION_FILE_ENV, save_session
from tests.backends import copy_data_dir
from tests.conftest import ACTOR, make_settings
from tests.factories import PASSWORD, FastFaceLedger

runner = CliRunner()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Desk:
    """One data directory; each person acts through their own session file."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir, self.env = data_dir, env or {}

    def __call__(self, who: str, line: str, stdin: str | None = None) -> Result:
        env = {
            SESSION_FILE_ENV: str(self.data_dir.parent / f"{who}.session"),
            "COLUMNS": "250",
            **self.env,
        }
        args = ["--data-dir", str(self.data_dir), *shlex.split(line)]
        return runner.invoke(app, args, input=stdin, env=env)

    def ok(self, who: str, line: str) -> str:
        result = self(who, line)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    def json(self, who: str, line: str) -> Any:
        return json.loads(self.ok(who, f"{line} --json"))

    def fails(self, who: str, line: str) -> str:
        result = self(who, line)
        assert result.exit_code == 2, result.stdout
        return result.stderr


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A data directory with root (admin, supervisor), a second supervisor, an auditor and a
    requester, and a login session token of root, aud and req."""
    data_dir = tmp_path_factory.mktemp("alerts-cli") / "data"
    service = FastFaceLedger.initialise(make_settings(data_dir), ACTOR.ledger_actor)
    try:
        root, root_password = service.accounts.bootstrap_admin("root", "Root Admin")
        second, _ = service.accounts.bootstrap_supervisor("sam", "Sam Second", PASSWORD)
        service.accounts.create_agency(root, "boston-pd", "Boston PD", "requesting_agency")
        until = dt.date.today() + dt.timedelta(days=100)
        people = (("aud", "operating-unit", "auditor"), ("req", "boston-pd", "requester"))
        for name, agency, role in people:
            service.accounts.create_user(root, name, name.title(), agency, [role], PASSWORD)
            service.accounts.approve_user(second, name)
            service.accounts.certify_training(second, name, until)
        tokens = {
            who: service.accounts.login(who, password)
            for who, password in (("root", root_password), ("aud", PASSWORD), ("req", PASSWORD))
        }
    finally:
        service.close()
    return data_dir, tokens


@pytest.fixture
def desk(template: tuple[Path, dict[str, str]], tmp_path: Path) -> Desk:
    """A copy of the template, everyone logged in (as `faceledger login` would leave them);
    alert email goes to a local port nobody listens on."""
    source, tokens = template
    data_dir = tmp_path / "data"
    copy_data_dir(source, data_dir)
    settings = make_settings(data_dir)
    for who, token in tokens.items():
        save_session(data_dir.parent / f"{who}.session", who, token, settings)
    env = {
        "FACELEDGER_ALERT_EMAIL_TO": "sup@unit.example",
        "FACELEDGER_SMTP_HOST": "127.0.0.1",
        "FACELEDGER_SMTP_PORT": str(closed_port()),
        "FACELEDGER_SMTP_TIMEOUT_SECONDS": "2",
    }
    return Desk(data_dir, env)


def test_a_requester_may_not_list_alerts_and_that_raises_one(desk: Desk) -> None:
    error = desk.fails("req", "alerts list")
    assert "alerts.read" in error
    listed = desk.json("aud", "alerts list --open")
    assert listed["total"] == 1
    [alert] = listed["items"]
    assert alert["source"] == "violation" and alert["acknowledged"] is False
    assert [d["channel"] for d in alert["deliveries"]] == ["email"]
    text = desk.ok("aud", "alerts list")
    assert "1 alert(s)" in text and "Violation: denied action" in text and "open" in text


def test_acknowledging_with_a_note_and_not_twice(desk: Desk) -> None:
    desk.fails("req", "alerts list")
    [alert] = desk.json("aud", "alerts list")["items"]

    done = desk.json("aud", f"alerts ack {alert['id']} --note 'Spoke to the officer.'")

    assert done["acknowledged"] is True and done["ack_note"] == "Spoke to the officer."
    assert done["acknowledged_by"] == "aud" and isinstance(done["ack_ledger_seq"], int)
    assert desk.json("root", "alerts list --open")["total"] == 0
    again = desk.fails("root", f"alerts ack {alert['id']} --note 'me too'")
    assert "already acknowledged by aud" in again
    entries = desk.json("aud", "ledger entries --action alert.ack")
    assert [e["payload"]["note"] for e in entries] == ["Spoke to the officer."]
    assert entries[0]["seq"] == done["ack_ledger_seq"]


def test_a_note_is_required(desk: Desk) -> None:
    desk.fails("req", "alerts list")
    [alert] = desk.json("aud", "alerts list")["items"]
    assert "Give a note" in desk.fails("aud", f"alerts ack {alert['id']} --note '  '")
    assert "--note" in desk.fails("aud", f"alerts ack {alert['id']}")
    assert "There is no alert 999" in desk.fails("aud", "alerts ack 999 --note x")
    assert desk.json("aud", "alerts list --open")["total"] == 1


def test_a_requester_may_not_acknowledge(desk: Desk) -> None:
    desk.fails("req", "alerts list")
    [alert] = desk.json("aud", "alerts list")["items"]
    assert "alerts.ack" in desk.fails("req", f"alerts ack {alert['id']} --note mine")
    assert desk.json("aud", "alerts list --open")["total"] == 2  # that refusal raised one too


def test_deliver_records_a_refused_delivery_and_exits_1(desk: Desk) -> None:
    desk.fails("req", "alerts list")

    result = desk("root", "alerts deliver --local-operator --json")

    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    [attempt] = report["attempts"]
    assert (attempt["channel"], attempt["attempt"], attempt["ok"]) == ("email", 1, False)
    assert "refused the connection" in attempt["error"]
    assert attempt["status"] == "pending" and attempt["next_attempt_at"]
    # the wait before the retry is not over: nothing is due now
    text = desk.ok("root", "alerts deliver")
    assert "0 delivery attempt(s): 0 delivered, 0 failed" in text
    [alert] = desk.json("aud", "alerts list")["items"]
    assert alert["deliveries"][0]["attempts"] == 1


def test_deliver_as_a_requester_is_refused(desk: Desk) -> None:
    assert "jobs.run_due" in desk.fails("req", "alerts deliver")


def test_without_a_login_the_inbox_is_closed(desk: Desk) -> None:
    assert "Not logged in" in desk.fails("nobody", "alerts list")
