"""``faceledger monitor`` through the real command line: exit 0 when every rule holds, 2 with
findings or for a log that does not verify; ``--json`` and ``--profile-history``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from faceledger.cli import app
from faceledger.ledger.keys import public_key_pem

from .builder import LogBuilder, clean_log
from .test_monitor import _tampered

runner = CliRunner()


def _key_file(builder: LogBuilder, tmp_path: Path) -> Path:
    path = tmp_path / "ledger_public_key.pem"
    path.write_text(public_key_pem(builder.key), encoding="ascii")
    return path


def _monitor(export: Path, key: Path, *extra: str) -> Result:
    return runner.invoke(
        app, ["monitor", "--export", str(export), "--public-key", str(key), *extra]
    )


def test_a_clean_log_exits_0_and_says_every_rule_holds(builder: LogBuilder, tmp_path: Path) -> None:
    clean_log(builder)
    result = _monitor(builder.export(), _key_file(builder, tmp_path), "--profile-history")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "every rule holds" in out and "verified" in out
    assert "Policy profiles in force" in out and "massachusetts" in out
    assert out.count("ok ") >= 7


def test_a_breach_exits_2_naming_the_rule_and_the_seqs(builder: LogBuilder, tmp_path: Path) -> None:
    builder.install()
    builder.file(1, state="denied")
    search = builder.search(1)
    result = _monitor(builder.export(), _key_file(builder, tmp_path))
    assert result.exit_code == 2
    out = result.output
    assert "BREACH search_after_approval" in out and f"seq 1, {search}:" in out
    assert "1 finding(s)" in out


def test_json_output_and_the_grace_option(builder: LogBuilder, tmp_path: Path) -> None:
    builder.install(probe_days=1, result_days=1)
    builder.file(1, state="denied")
    builder.wait(days=1, hours=30)
    builder.purge(1, "probe", builder.clock.now)
    export, key = builder.export(), _key_file(builder, tmp_path)
    relaxed = _monitor(export, key, "--json")
    assert relaxed.exit_code == 0
    assert json.loads(relaxed.output)["ok"] is True
    strict = _monitor(export, key, "--json", "--grace-hours", "12")
    assert strict.exit_code == 2
    data = json.loads(strict.output)
    assert data["grace_hours"] == 12 and data["findings"] == 1


def test_strict_exits_2_when_something_cannot_be_checked(
    builder: LogBuilder, tmp_path: Path
) -> None:
    builder.add("policy.profile_set", "local:installer", "policy", "massachusetts")
    builder.file(1)
    builder.search(1)
    export, key = builder.export(), _key_file(builder, tmp_path)
    assert _monitor(export, key).exit_code == 0
    strict = _monitor(export, key, "--strict")
    assert strict.exit_code == 2 and "cannot check" in strict.output


def test_a_log_that_does_not_verify_exits_2_with_the_verifiers_message(
    builder: LogBuilder, tmp_path: Path
) -> None:
    clean_log(builder)
    tampered, key = _tampered(builder.export()), _key_file(builder, tmp_path)
    text = _monitor(tampered, key)
    assert text.exit_code == 2
    assert "leaf_hash_mismatch" in text.output
    as_json = _monitor(tampered, key, "--json")
    assert as_json.exit_code == 2
    data = json.loads(as_json.output)
    assert data["ok"] is False and data["error"]["details"]["reason"] == "leaf_hash_mismatch"
