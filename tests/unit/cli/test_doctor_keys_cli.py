"""`faceledger doctor` and `faceledger keys rotate-data-key` from the command line: modes after
init, a loose file, a missing KEK and an unsigned tail reported with their fixes (exit 1), and a
rotation that prints its progress per table."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from faceledger.cli import app
from tests import backends
from tests.integration.governance.conftest import (  # noqa: F401 (fixtures)
    Governed,
    governed,
    governed_template,
)

runner = CliRunner()


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def doctor(data_dir: Path) -> tuple[int, list[dict[str, str]]]:
    code, out, err = cli(data_dir, "doctor", "--json")
    assert code in (0, 1), err
    return code, json.loads(out)["findings"]


def test_init_makes_a_private_data_dir_and_doctor_reports_each_problem(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, _, err = cli(data, "init")
    assert code == 0, err
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "keys").stat().st_mode) == 0o700
    for path in (data / "keys").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    if not backends.on_postgresql():
        assert stat.S_IMODE((data / "faceledger.db").stat().st_mode) == 0o600
    # A fresh ledger has its init entry unsigned: the one finding, with its fix.
    code, findings = doctor(data)
    assert code == 1
    assert [(f["kind"], f["fix"]) for f in findings] == [
        ("unsigned_tail", "faceledger ledger checkpoint")
    ]
    assert cli(data, "ledger", "checkpoint")[0] == 0
    code, out, _ = cli(data, "doctor")
    assert code == 0 and "nothing to fix" in out

    loose = data / "export.csv"  # a file made by hand under a wide umask
    loose.write_text("case,count\n")
    os.chmod(loose, 0o644)
    code, findings = doctor(data)
    assert code == 1
    assert findings == [
        {
            "kind": "loose_mode",
            "subject": str(loose),
            "problem": "The file is mode 0644: other local accounts may read it.",
            "fix": f"chmod 600 {loose}",
        }
    ]
    code, out, _ = cli(data, "doctor", "--fix-modes")
    assert code == 0 and f"fixed chmod 600 {loose}" in out
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600

    kek = data / "keys" / "data-kek"
    kek.rename(tmp_path / "kept-kek")
    code, findings = doctor(data)
    assert code == 1 and [f["kind"] for f in findings] == ["kek"]
    assert f"{kek} is missing" in findings[0]["problem"]
    assert findings[0]["fix"].startswith(f"restore the KEK file {kek}")
    code, _, err = cli(data, "ledger", "checkpoint")
    assert code == 2 and f"{kek} is missing" in " ".join(err.split())


def test_doctor_skips_a_public_tile_mirror(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "init")[0] == 0
    assert cli(data, "ledger", "checkpoint")[0] == 0
    mirror = data / "public-tiles"
    code, _, err = cli(data, "ledger", "tiles", "export", str(mirror))
    assert code == 0, err
    code, out, _ = cli(data, "doctor", "--json")
    report = json.loads(out)
    assert code == 0 and report["tile_mirrors"] == [str(mirror)]


def test_rotate_data_key_prints_progress_per_table_and_doctor_is_clean(
    governed: Governed,  # noqa: F811 (the fixture)
) -> None:
    data = governed.service.settings.data_dir
    governed.service.close()
    # The unit was built in this process, not by the command (which sets umask 077): its index
    # files are loose, and doctor says so, each with its chmod.
    code, findings = doctor(data)
    assert code == 1 and findings
    assert all(f["kind"] in ("loose_mode", "unsigned_tail") for f in findings), findings
    assert any(f["subject"].startswith(str(data / "index")) for f in findings)
    assert cli(data, "doctor", "--fix-modes")[0] in (0, 1)
    code, out, err = cli(data, "keys", "rotate-data-key")
    assert code == 0, err
    templates = governed.counts()["templates"]
    assert f"templates.embedding: {templates}/{templates}" in err
    assert "probe_images.data: 0/" in err
    assert "rotated to data key 2" in out and "keys retired: 1" in out
    assert cli(data, "ledger", "checkpoint")[0] == 0
    code, findings = doctor(data)
    assert code == 0, findings
    code, out, err = cli(data, "keys", "rotate-data-key", "--rewrap", "--json")
    assert code == 0, err
    assert json.loads(out)["key_ids"] == [1, 2]
