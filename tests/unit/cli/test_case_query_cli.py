"""``faceledger request query`` over the governed unit's hand-built history: the warrant
question in one command, tables, JSON, CSV files, paging, and bad filters (exit 2, nothing
recorded)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.service.case_queries import CSV_COLUMNS
from tests.factories import PASSWORD
from tests.integration.governance.case_history import FORMULA_CASE, History, history_unit
from tests.integration.governance.conftest import (  # noqa: F401 (fixture)
    Governed,
    governed_template,
)

runner = CliRunner()
WARRANTS = ["request", "query", "--lead-use", "warrant", "--searched-since", "2026-01-01"]


class Desk:
    """The history's data directory from the command line, one session file per person."""

    def __init__(self, data_dir: Path, unit: Governed, history: History) -> None:
        self.data_dir, self.unit, self.history = data_dir, unit, history

    def run(self, who: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        env = {"FACELEDGER_SESSION_FILE": str(self.data_dir.parent / f"{who}.session")}
        result = runner.invoke(app, ["--data-dir", str(self.data_dir), *args], input=stdin, env=env)
        return result.exit_code, result.stdout, result.stderr

    def ok(self, who: str, *args: str, stdin: str | None = None) -> str:
        code, out, err = self.run(who, *args, stdin=stdin)
        assert code == 0, err
        return out

    def json(self, who: str, *args: str) -> dict:  # type: ignore[type-arg]
        return json.loads(self.ok(who, *args, "--json"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def desk(
    governed_template: tuple[Path, dict[str, str], dict[str, int]],  # noqa: F811
    faces_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Desk]:
    """The history, and its auditor and a Boston requester logged in."""
    with history_unit(governed_template, faces_dir, tmp_path_factory.mktemp("cli")) as made:
        unit, history = made
        desk = Desk(unit.service.settings.data_dir, unit, history)
        for who in ("aud-one", "det-a"):
            desk.ok(who, "login", who, "--password-stdin", stdin=PASSWORD)
        yield desk


def test_the_warrant_question_is_one_command(desk: Desk) -> None:
    data = desk.json("aud-one", *WARRANTS)
    assert [r["id"] for r in data["items"]] == [desk.history.warrant_after]
    assert data["total"] == 1
    assert data["description"] == "requests with a lead used for warrant, searched since 2026-01-01"
    assert [u["kind"] for u in data["items"][0]["lead_uses"]] == ["warrant", "arrest"]
    # --since is the filing date: both warrant requests were filed in 2025.
    filed = desk.json(
        "aud-one", "request", "query", "--lead-use", "warrant", "--since", "2026-01-01"
    )
    assert filed["total"] == 0
    before = desk.json(
        "aud-one", "request", "query", "--lead-use", "warrant", "--filed-until", "2025-12-30"
    )
    assert [r["id"] for r in before["items"]] == [desk.history.warrant_before]


def test_the_table_says_what_was_asked(desk: Desk) -> None:
    text = desk.ok("aud-one", *WARRANTS)
    out = " ".join(text.split())
    assert "requests with a lead used for warrant, searched since 2026-01-01: 1" in out
    assert f"│ {desk.history.warrant_after} " in text and "2026-01-01" in out
    assert "GOV-lead" not in out and "further_investigation" not in out


def test_lists_repeat_and_pages_page(desk: Desk) -> None:
    data = desk.json(
        "aud-one",
        "request",
        "query",
        "--lead-use",
        "warrant",
        "--lead-use",
        "further_investigation",
    )
    assert data["total"] == 3
    page = desk.json("aud-one", "request", "query", "--limit", "2", "--offset", "2")
    assert page["total"] == 10 and len(page["items"]) == 2 and page["offset"] == 2
    out = desk.ok("aud-one", "request", "query", "--limit", "2")
    assert "rows 1-2 of 10; see more with --offset 2" in out


def test_a_requester_cannot_widen_their_sight(desk: Desk) -> None:
    assert desk.json("det-a", "request", "query", "--agency", "cambridge-pd")["total"] == 0
    mine = desk.json("det-a", "request", "query")
    assert {r["agency"] for r in mine["items"]} == {"boston-pd"}
    assert all(r["first_reviewer"] is None for r in mine["items"])


def test_csv_goes_to_a_file_with_every_match(desk: Desk, tmp_path: Path) -> None:
    target = tmp_path / "cases.csv"
    out = desk.ok("aud-one", "request", "query", "--limit", "1", "--csv", str(target))
    assert f"wrote 10 rows (all requests) to {target}" in " ".join(out.split())
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 11
    assert not target.with_name("cases.csv.part").exists()
    cases = [r[1] for r in rows[1:]]
    assert "'" + FORMULA_CASE in cases and FORMULA_CASE not in cases

    summary = desk.json("aud-one", *WARRANTS, "-o", str(target))
    assert summary["rows"] == 1 and summary["file"] == str(target)
    assert len(target.read_text(encoding="utf-8").splitlines()) == 2


def test_csv_to_standard_output(desk: Desk) -> None:
    code, out, err = desk.run("aud-one", *WARRANTS, "--csv", "-")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(CSV_COLUMNS)
    assert [int(r[0]) for r in rows[1:]] == [desk.history.warrant_after]
    assert "wrote 1 rows" in err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--state", "nope"], "state must be one of draft, submitted"),
        (["--lead-use", "lineup"], "lead_use must be one of"),
        (["--since", "2026-13-01"], "filed_since must be a date (YYYY-MM-DD)"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "is before filed_since"),
        (["--searched-since", "soon"], "searched_since must be a date"),
        (["--examiner", "Ex One"], "examiner: Username"),
    ],
)
def test_a_bad_filter_exits_2_and_records_nothing(desk: Desk, args: list[str], named: str) -> None:
    before = desk.unit.counts()
    code, _, err = desk.run("aud-one", "request", "query", *args)
    assert code == 2
    assert named in " ".join(err.split())
    assert desk.unit.counts() == before


def test_without_a_login_it_exits_2(desk: Desk) -> None:
    code, _, err = desk.run("nobody", "request", "query")
    assert code == 2 and "Not logged in" in err
