"""The ledger commands as an auditor uses them: export, verify, prove, check-proof, entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceledger.cli import app
from tests import rawsql
from tests.backends import copy_data_dir
from tests.conftest import make_settings

# Ad-hoc verify (the recorded actions here) runs only under the unsafe lab profile, which warns.
pytestmark = [
    pytest.mark.slow,  # real verifications (same person, different people) make the log
    pytest.mark.filterwarnings("ignore::faceledger.governance.policy.UnsafeProfileWarning"),
]

runner = CliRunner()


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path) -> Path:
    """A lab data directory (ad-hoc verify allowed) with a few recorded actions and a saved
    trusted checkpoint."""
    data = tmp_path_factory.mktemp("ledger") / "data"
    make_settings(data)  # on PostgreSQL: the directory's own database, in its faceledger.toml
    people = faces_dir / "people"
    lab = runner.invoke(
        app, ["--data-dir", str(data), "init"], env={"FACELEDGER_POLICY_PROFILE": "lab"}
    )
    assert lab.exit_code == 0, lab.stderr
    assert cli(data, "verify", str(people / "amy/amy1.png"), str(people / "amy/amy2.png"))[0] == 0
    assert cli(data, "verify", str(people / "amy/amy1.png"), str(people / "raj/raj1.png"))[0] == 1
    code, out, _ = cli(data, "ledger", "checkpoint", "--save", str(data.parent / "trusted.json"))
    assert code == 0 and json.loads(out)["tree_size"] >= 3
    assert cli(data, "verify", str(people / "raj/raj1.png"), str(people / "raj/raj2.png"))[0] == 0
    return data


def copy_of(data: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    copy_data_dir(data, target)
    return target


def test_verify_database_and_public_export(logged: Path, tmp_path: Path) -> None:
    code, out, _ = cli(logged, "ledger", "verify")
    assert code == 0 and "OK Verified" in out
    export = tmp_path / "public.jsonl"
    assert cli(logged, "ledger", "export", "--public", "-o", str(export))[0] == 0
    assert '"payload"' not in export.read_text()
    pub = tmp_path / "key.pem"
    pub.write_text(cli(logged, "ledger", "public-key")[1])
    code, out, _ = cli(
        logged,
        "ledger",
        "verify",
        "--export",
        str(export),
        "--public-key",
        str(pub),
        "--trusted-checkpoint",
        str(logged.parent / "trusted.json"),
        "--json",
    )
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["payloads_redacted"] == report["tree_size"]


def test_tampered_entry_is_named_and_exits_2(logged: Path, tmp_path: Path) -> None:
    data = copy_of(logged, tmp_path)
    changed = rawsql.execute(
        make_settings(data).db_url,
        "UPDATE ledger_entries SET actor = 'local:someone-else' WHERE seq = 1",
    )
    assert changed == 1
    code, _, err = cli(data, "ledger", "verify")
    assert code == 2
    assert "Entry 1" in err and "leaf_hash_mismatch" in err


def test_rollback_is_caught_with_the_trusted_checkpoint(
    logged: Path, tmp_path: Path, faces_dir: Path
) -> None:
    older = copy_of(logged, tmp_path)
    people = faces_dir / "people"
    newer = tmp_path / "newer"
    copy_data_dir(logged, newer)
    cli(newer, "verify", str(people / "amy/amy1.png"), str(people / "amy/amy3.png"))
    trusted = tmp_path / "trusted-later.json"
    assert cli(newer, "ledger", "checkpoint", "--save", str(trusted))[0] == 0
    assert cli(older, "ledger", "verify")[0] == 0  # on its own the old copy looks fine
    code, _, err = cli(older, "ledger", "verify", "--trusted-checkpoint", str(trusted))
    assert code == 2 and "rolled_back" in err


def test_prove_and_check_proof(logged: Path, tmp_path: Path) -> None:
    code, out, _ = cli(logged, "ledger", "prove", "1")
    assert code == 0
    bundle = tmp_path / "proof.json"
    bundle.write_text(out)
    code, out, _ = cli(logged, "ledger", "check-proof", str(bundle))
    assert code == 0 and "proves its entry" in out
    data = json.loads(bundle.read_text())
    data["entry"]["actor"] = "local:forged"
    bundle.write_text(json.dumps(data))
    code, _, err = cli(logged, "ledger", "check-proof", str(bundle))
    assert code == 2 and "error" in err
    assert cli(logged, "ledger", "prove", "9999")[0] == 2


def test_entries_filters(logged: Path) -> None:
    code, out, _ = cli(logged, "ledger", "entries", "--action", "verify.run", "--json")
    found = json.loads(out)
    assert code == 0 and len(found) == 3
    assert all(e["action"] == "verify.run" for e in found)
    code, out, _ = cli(logged, "ledger", "entries", "--since", "2999-01-01", "--json")
    assert json.loads(out) == []
    code, _, err = cli(logged, "ledger", "entries", "--since", "yesterday")
    assert code == 2 and "ISO 8601" in err
