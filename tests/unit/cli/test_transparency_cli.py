"""``faceledger report transparency`` over the governed unit: the logged-in auditor writes the
report from the records; an outsider, with no login and no data directory, recomputes the same
public counts from the public export and the key, and a broken export is refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceledger.cli import app
from tests.factories import PASSWORD
from tests.integration.governance.conftest import (  # noqa: F401 (fixtures)
    Governed,
    governed,
    governed_template,
)

runner = CliRunner()
TODAY = dt.datetime.now(dt.UTC).date()
PERIOD = ["--from", (TODAY - dt.timedelta(days=1)).isoformat(), "--to", TODAY.isoformat()]


class Desk:
    """The governed data directory from the command line, one session file per person."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def run(
        self, who: str | None, *args: str, stdin: str | None = None, data_dir: Path | None = None
    ) -> tuple[int, str, str]:
        env = {"FACELEDGER_SESSION_FILE": str(self.data_dir.parent / f"{who}.session")}
        where = str(data_dir or self.data_dir)
        result = runner.invoke(app, ["--data-dir", where, *args], input=stdin, env=env)
        return result.exit_code, result.stdout, result.stderr

    def login(self, username: str) -> None:
        code, _, err = self.run(username, "login", username, "--password-stdin", stdin=PASSWORD)
        assert code == 0, err


@pytest.fixture
def desk(governed: Governed) -> Desk:  # noqa: F811
    return Desk(governed.service.settings.data_dir)


@pytest.fixture
def published(desk: Desk, tmp_path: Path) -> tuple[Path, Path]:
    """The public export and the public key, as the unit publishes them."""
    export, key = tmp_path / "ledger.jsonl", tmp_path / "faceledger.pub"
    code, _, err = desk.run(None, "ledger", "export", "--public", "-o", str(export))
    assert code == 0, err
    code, out, err = desk.run(None, "ledger", "public-key")
    assert code == 0, err
    key.write_text(out, encoding="utf-8")
    return export, key


def read(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_auditor_writes_the_three_files(desk: Desk, tmp_path: Path) -> None:
    desk.login("aud-one")
    out = tmp_path / "report"
    code, stdout, err = desk.run(
        "aud-one", "report", "transparency", *PERIOD, "--public", "-o", str(out)
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.html", "report.json"]
    data = read(out)
    assert data["public"] is True and data["source"] == "records"
    assert data["totals"]["requests"] == 8 and data["totals"]["searches"] == 4
    assert "public transparency report" in stdout and "8 requests, 4 searches" in stdout
    assert (out / "report.csv").read_text().startswith("agency,metric,category,value\n")


def test_an_outsider_reproduces_the_public_counts_from_the_export(
    desk: Desk, published: tuple[Path, Path], tmp_path: Path
) -> None:
    desk.login("aud-one")
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    code, _, err = desk.run(
        "aud-one", "report", "transparency", *PERIOD, "--public", "-o", str(inside)
    )
    assert code == 0, err
    export, key = published
    nowhere = tmp_path / "no-data-dir"
    code, stdout, err = desk.run(
        "outsider",
        "report",
        "transparency",
        *PERIOD,
        "--public",
        "--from-export",
        str(export),
        "--public-key",
        str(key),
        "-o",
        str(outside),
        data_dir=nowhere,
    )
    assert code == 0, err
    assert "verified" in stdout.lower()
    assert not nowhere.exists()  # no data directory was needed, none was made
    theirs, ours = read(outside), read(inside)
    assert theirs["source"] == "export"
    assert theirs["totals"] == ours["totals"]
    assert theirs["agencies"] == ours["agencies"]
    assert theirs["small_cell_min"] == ours["small_cell_min"]


def test_a_broken_export_is_refused(
    desk: Desk, published: tuple[Path, Path], tmp_path: Path
) -> None:
    export, key = published
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        record = json.loads(line)
        if record.get("public", {}).get("legal_basis") == "court_order":
            record["public"]["legal_basis"] = "emergency"
            lines[i] = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
            break
    else:
        raise AssertionError("the export has no filing entry with public fields")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = desk.run(
        "outsider",
        "report",
        "transparency",
        *PERIOD,
        "--from-export",
        str(broken),
        "--public-key",
        str(key),
        "-o",
        str(out),
        data_dir=tmp_path / "none",
    )
    assert code == 2
    assert "Entry" in err and "leaf hash" in err
    assert not out.exists()


def test_without_a_key_the_export_is_counted_with_a_warning(
    desk: Desk, published: tuple[Path, Path], tmp_path: Path
) -> None:
    export, _ = published
    out = tmp_path / "out"
    code, _, err = desk.run(
        None,
        "report",
        "transparency",
        *PERIOD,
        "--from-export",
        str(export),
        "--small-cell-min",
        "3",
        "-o",
        str(out),
        data_dir=tmp_path / "none",
    )
    assert code == 0, err
    assert "not verified" in err
    data = read(out)
    assert data["small_cell_min"] == 3 and data["public"] is False
    assert data["agencies"]["boston-pd"]["requests"] == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-13-01", "--to", "2025-12-31"], "YYYY-MM-DD"),
        (["--from", "2025-12-31", "--to", "2025-01-01"], "after it ends"),
        ([*PERIOD, "--public-key", "k.pem"], "go with --from-export"),
    ],
)
def test_bad_options_are_refused(desk: Desk, tmp_path: Path, args: list[str], message: str) -> None:
    desk.login("aud-one")
    code, _, err = desk.run("aud-one", "report", "transparency", *args, "-o", str(tmp_path / "o"))
    assert code == 2
    assert message in err


def test_a_requester_is_refused(desk: Desk, tmp_path: Path) -> None:
    desk.login("det-a")
    code, _, err = desk.run("det-a", "report", "transparency", *PERIOD, "-o", str(tmp_path / "o"))
    assert code == 2
    assert "report.transparency" in err
    assert not (tmp_path / "o").exists()


def test_nobody_logged_in_is_refused(desk: Desk, tmp_path: Path) -> None:
    code, _, err = desk.run("ghost", "report", "transparency", *PERIOD, "-o", str(tmp_path / "o"))
    assert code == 2
    assert "Not logged in" in err
