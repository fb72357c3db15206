"""``faceledger report misuse`` over the governed unit (its personas and requests): the
logged-in auditor scans and lists; others are refused, and the refusal is recorded."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.governance.models import RequestRow, ViolationRow
from tests.factories import PASSWORD
from tests.integration.governance.conftest import (  # noqa: F401 (fixtures)
    Governed,
    governed,
    governed_template,
)

runner = CliRunner()


class Desk:
    """The governed data directory from the command line, one session file per person."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def run(self, who: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        env = {"FACELEDGER_SESSION_FILE": str(self.data_dir.parent / f"{who}.session")}
        result = runner.invoke(app, ["--data-dir", str(self.data_dir), *args], input=stdin, env=env)
        return result.exit_code, result.stdout, result.stderr

    def login(self, username: str) -> None:
        code, _, err = self.run(username, "login", username, "--password-stdin", stdin=PASSWORD)
        assert code == 0, err


@pytest.fixture
def desk(governed: Governed) -> Desk:  # noqa: F811
    """The governed unit with its template's requests filed yesterday at office hours (the
    service stamped them with the time the template was built)."""
    now = dt.datetime.now(dt.UTC)
    yesterday = (now - dt.timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
    with governed.service.context.db.transaction() as session:
        for i, row in enumerate(session.scalars(select(RequestRow).order_by(RequestRow.id))):
            row.created_at = yesterday + dt.timedelta(minutes=i)  # 11:00 in Boston
    return Desk(governed.service.settings.data_dir)


def violations(g: Governed) -> int:
    with g.service.context.db.read() as session:
        return session.scalar(select(func.count()).select_from(ViolationRow)) or 0


def test_the_auditor_scans_and_lists_findings(desk: Desk, governed: Governed) -> None:  # noqa: F811
    desk.login("aud-one")
    code, out, err = desk.run("aud-one", "report", "misuse", "--json")
    assert code == 0, err
    data = json.loads(out)
    new = data["scan"]["new"]
    assert {f["rule"] for f in new} == {
        "cases_per_requester",
        "probe_cases",
        "subject_cases",
        "narrative_cases",
    }
    assert data["total"] == len(new) == len(data["items"]) == data["scan"]["total"]
    assert data["scan"]["records"] == len(governed.requests)
    stored, _ = governed.service.misuse.findings(governed.who("aud"))
    assert [f["id"] for f in data["items"]] == [f.id for f in stored]

    # Again: nothing new, the same findings listed as a table.
    code, out, err = desk.run("aud-one", "report", "misuse")
    assert code == 0, err
    assert f"new findings: 0, stored in all: {len(new)}" in out and f"{len(new)} findings" in out
    assert "det-a filed 8 requests under 8 different case numbers" in " ".join(out.split())

    code, out, _ = desk.run("aud-one", "report", "misuse", "--rule", "probe_cases", "--json")
    assert code == 0 and [f["rule"] for f in json.loads(out)["items"]] == ["probe_cases"]


def test_an_unknown_rule_is_an_error(desk: Desk) -> None:
    desk.login("sup-one")
    code, _, err = desk.run("sup-one", "report", "misuse", "--rule", "bogus")
    assert code == 2 and "There is no misuse rule 'bogus'" in err


@pytest.mark.parametrize("username", ["det-a", "ex-one"])
def test_requesters_and_examiners_are_refused(
    desk: Desk,
    governed: Governed,  # noqa: F811
    username: str,
) -> None:
    desk.login(username)
    before = violations(governed)
    code, out, err = desk.run(username, "report", "misuse", "--json")
    assert code == 2 and out == ""
    assert "report.misuse" in err
    assert violations(governed) == before + 1


def test_nobody_logged_in(desk: Desk) -> None:
    code, _, err = desk.run("nobody", "report", "misuse")
    assert code == 2 and "Not logged in" in err
