"""The compliance monitor over the governed unit's own public export: exported through the
command line with ``--public``, it passes every rule, carries the public fields the rules need,
and names no person, case or gallery subject."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.governance.accounts import LocalOperator
from faceledger.ledger import PUBLIC_KEY_FILE
from tests.factories import PASSWORD
from tests.integration.governance.conftest import PEOPLE, UNIT, Governed

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={})
    return result.exit_code, result.stdout


@pytest.fixture
def exported(governed: Governed, tmp_path: Path) -> tuple[Path, Path]:
    """The governed unit after a profile change by two admins and an emergency's statement,
    exported with ``ledger export --public``; the export and the unit's public key."""
    service, admin = governed.service, governed.who("admin")
    service.accounts.create_user(admin, "admin-two", "Admin Two", UNIT, ["admin"], PASSWORD)
    service.accounts.approve_user(governed.who("sup"), "admin-two")
    proposal = service.policy.propose_profile(admin, "massachusetts")
    service.policy.approve_proposal(service.accounts.get_user(admin, "admin-two"), proposal.id)
    emergency = governed.requests["emergency_approved"]
    service.emergencies.file_emergency_statement(governed.who("req_a"), emergency, "SUCR-EM-1")
    data_dir = service.settings.data_dir
    out = tmp_path / "public.jsonl"
    code, _ = cli("--data-dir", str(data_dir), "ledger", "export", "--public", "--out", str(out))
    assert code == 0 and out.stat().st_size > 0
    return out, data_dir / "keys" / PUBLIC_KEY_FILE


def _entries(export: Path) -> list[dict[str, Any]]:
    lines = export.read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "entry"]


def test_the_governed_units_public_export_passes_the_monitor(
    exported: tuple[Path, Path],
) -> None:
    export, key = exported
    code, out = cli(
        "monitor", "--export", str(export), "--public-key", str(key), "--json", "--profile-history"
    )
    report = json.loads(out)
    assert code == 0, [r for r in report["rules"] if r["status"] != "ok"]
    assert report["ok"] and report["findings"] == 0 and report["unchecked"] == 0
    checked = {r["rule"]: r["checked"] for r in report["rules"]}
    # searched, reviewed, peer_reviewed and released: four searches; one release; one
    # approved emergency (the other still awaits its supervisor); one profile change.
    assert checked["search_after_approval"] == checked["search_while_authorised"] == 4
    assert checked["independent_review"] == 1
    assert checked["emergency_statement_on_time"] == 1
    assert checked["profile_change_two_admins"] == 1
    profiles = report["profiles"]
    assert [p["profile"] for p in profiles] == ["massachusetts", "massachusetts"]
    assert profiles[0]["proposal"] is None and isinstance(profiles[1]["proposal"], int)
    assert profiles[1]["required_reviews"] == 2 and profiles[1]["emergency_filing_hours"] == 48
    assert report["named_entries"] == 0  # every entry is pseudonymous (envelope version 3)


def test_the_public_export_carries_the_fields_the_rules_need(
    exported: tuple[Path, Path],
) -> None:
    entries = _entries(exported[0])
    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_action.setdefault(entry["action"], []).append(entry.get("public", {}))
    approved = [p for p in by_action["request.submit"] if p["state"] == "approved"]
    assert len(approved) == 5 and all("order_expires" in p for p in approved)
    assert all("order_expires" not in p for p in by_action["request.submit"] if p not in approved)
    [emergency] = by_action["request.approve_emergency"]
    assert "filing_due" in emergency
    [statement] = by_action["request.emergency_filed"]
    assert statement["filing"] == "on_time" and "filed_at" in statement
    for change in by_action["policy.profile_set"] + by_action["policy.proposed"]:
        assert {"profile", "profile_sha256", "legal_bases", "offence_classes"} <= set(change)
        assert {"probe_days", "result_days", "audit_log_min_days", "rules"} <= set(change)
    [proposed] = by_action["policy.proposed"]
    assert proposed["proposal"] == by_action["policy.profile_set"][-1]["proposal"]
    assert all(len(e["actor_ref"]) == len(e["object_ref"]) == 32 for e in entries)


def test_the_public_export_names_no_person_case_or_subject(
    governed: Governed, exported: tuple[Path, Path], faces_dir: Path
) -> None:
    text = exported[0].read_text(encoding="utf-8")
    usernames = [name for name, _, _ in PEOPLE.values()] + ["admin", "sup-one", "admin-two"]
    subjects = sorted(p.name for p in (faces_dir / "people").iterdir() if p.is_dir())
    assert len(subjects) > 5
    for word in [*usernames, *subjects]:
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), word
    for needle in (
        "GOV-",
        "SUCR-",
        "user:",
        "local:",
        '"actor"',
        '"object_id"',
        '"payload":',
        '"payload_sha256"',
        '"salt"',
    ):
        assert needle not in text, needle


def test_the_retention_jobs_purges_are_read_by_the_monitor(
    governed: Governed, tmp_path: Path
) -> None:
    # The retention job's clock moved past the probe period (the ledger stamps its own time,
    # so the purges come early, which the rule allows): the monitor joins every purge entry
    # to its request and still finds nothing.
    service = governed.service
    service.retention.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    run = service.retention.run(LocalOperator("jobs"))
    assert not run.errors
    out = tmp_path / "public.jsonl"
    data_dir = service.settings.data_dir
    assert (
        cli("--data-dir", str(data_dir), "ledger", "export", "--public", "--out", str(out))[0] == 0
    )
    key = data_dir / "keys" / PUBLIC_KEY_FILE
    code, text = cli("monitor", "--export", str(out), "--public-key", str(key), "--json")
    report = json.loads(text)
    assert code == 0 and report["ok"], report["rules"]
    purges = [e for e in _entries(out) if e["action"] == "retention.purge"]
    assert {e["public"]["kind"] for e in purges} == {"probe"}
    assert len(purges) == len(governed.requests)  # every filed request's probe went
    [retention] = [r for r in report["rules"] if r["rule"] == "retention_on_schedule"]
    assert retention["checked"] >= len(purges) and retention["status"] == "ok"
