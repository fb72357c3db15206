"""The monitor around its rules: it verifies first, says "cannot check" rather than pass,
handles logs that crossed to pseudonymous envelopes, and reads only public names."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from faceledger.errors import InvalidInput, VerificationFailed
from faceledger.monitor import EXIT_BREACH, EXIT_OK, monitor_export, names
from faceledger.service.ledger_actions import LedgerAction as A

from .builder import LogBuilder, clean_log
from .conftest import MakeBuilder

# -- verification comes first ---------------------------------------------------------------


def _tampered(path: Path) -> Path:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        record = json.loads(line)
        if record.get("action") == A.REQUEST_SEARCH:
            record["public"]["candidates"] += 1
            lines[i] = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
            break
    else:
        raise AssertionError("no search to tamper with")
    out = path.with_name("tampered.jsonl")
    out.write_text("".join(lines), encoding="utf-8")
    return out


def test_a_log_that_does_not_verify_is_refused_before_any_rule(builder: LogBuilder) -> None:
    clean_log(builder)
    with pytest.raises(VerificationFailed) as caught:
        monitor_export(_tampered(builder.export()), builder.key.public_key())
    assert caught.value.details["reason"] == "leaf_hash_mismatch"


def test_a_log_signed_by_another_key_is_refused(
    builder: LogBuilder, make_builder: MakeBuilder
) -> None:
    clean_log(builder)
    other = make_builder(name="other")
    with pytest.raises(VerificationFailed):
        monitor_export(builder.export(), other.key.public_key())


def test_a_missing_export_or_negative_grace_is_an_input_error(
    builder: LogBuilder, tmp_path: Path
) -> None:
    key = builder.key.public_key()
    with pytest.raises(InvalidInput, match="Cannot read the export"):
        monitor_export(tmp_path / "missing.jsonl", key)
    with pytest.raises(InvalidInput, match="grace"):
        monitor_export(builder.export(), key, grace=-dt.timedelta(hours=1))


# -- what cannot be checked is said, never passed -------------------------------------------


def test_a_profile_without_public_parameters_cannot_be_checked_against(
    builder: LogBuilder,
) -> None:
    # A log from before the profile's public fields: the change carries none.
    builder.add(A.POLICY_PROFILE_SET, "local:installer", "policy", "massachusetts")
    builder.file(1)
    builder.search(1)
    builder.review(1, "user:ex-two")
    builder.review(1, "user:rev-one", first=False)
    builder.release(1)
    report = builder.monitor()
    assert report.ok and report.exit_code() == EXIT_OK
    assert report.exit_code(strict=True) == EXIT_BREACH
    status = {r.rule: r.status for r in report.results}
    assert status["search_after_approval"] == "cannot check"
    assert status["independent_review"] == "cannot check"  # checked against 2 all the same
    assert status["retention_on_schedule"] == "cannot check"
    assert status["sealed_is_final"] == "ok"


def test_a_court_order_without_its_expiry_cannot_be_checked_for_expiry(
    builder: LogBuilder,
) -> None:
    builder.install()
    public = {"state": "approved", "outcome": "pending", "legal_basis": "court_order"}
    builder.add(
        A.REQUEST_SUBMIT, "user:det-a", "request", "1", public | {"offence_class": "felony"}
    )
    search = builder.search(1)
    [gap] = [u for u in builder.monitor().unchecked if u.rule == "search_while_authorised"]
    assert search in gap.seqs and "expiry" in gap.message


def test_a_log_that_crossed_to_pseudonyms_cannot_join_the_two_names(
    make_builder: MakeBuilder,
) -> None:
    b = make_builder(pseudonymous=False)
    b.install()
    b.file(1)
    b.search(1)
    b.file(2, basis="emergency")
    b.approve_emergency(2)
    b.go_pseudonymous()
    search = b.search(1)  # the same request, now under its pseudonym
    b.review(1, "user:ex-two")
    b.review(1, "user:rev-one", first=False)
    b.release(1)
    b.wait(hours=49)
    b.file(3)
    report = b.monitor()
    assert report.ok, [f.message for f in report.findings]
    rules = {u.rule for u in report.unchecked}
    assert {"search_after_approval", "independent_review", "emergency_statement_on_time"} <= rules
    assert any(search in u.seqs for u in report.unchecked)
    note = report.named_note()
    assert note is not None and "name people and requests in clear" in note
    assert report.named_seqs == (0, 1, 2, 3, 4)


def test_a_v2_log_names_people_and_requests_in_clear(make_builder: MakeBuilder) -> None:
    b = make_builder(pseudonymous=False)
    b.install()
    b.file(1, state="denied")
    b.search(1, "user:ex-one")
    finding = b.monitor().findings[0]
    assert finding.request == "request:1" and finding.people == ("user:ex-one",)


def test_a_pseudonymous_export_names_nobody(builder: LogBuilder) -> None:
    clean_log(builder)
    text = builder.export().read_text(encoding="utf-8")
    for name in ("det-a", "ex-one", "ex-two", "rev-one", "sup-one", "admin", '"1"', "request:"):
        assert name not in text
    report = monitor_export(builder.export("again.jsonl"), builder.key.public_key())
    assert report.ok and not report.named_seqs


# -- the profile history --------------------------------------------------------------------


def test_the_profile_history_shows_each_change_and_its_parameters(builder: LogBuilder) -> None:
    first = builder.install()
    builder.propose("user:admin", 1, probe_days=30)
    second = builder.approve("user:admin-two", 1, probe_days=30)
    history = builder.monitor().to_dict(profile_history=True)["profiles"]
    assert [p["seq"] for p in history] == [first, second]
    assert [p["probe_days"] for p in history] == [365, 30]
    assert history[1]["proposal"] == 1 and history[0]["proposal"] is None
    assert history[0]["profile"] == "massachusetts" and len(history[0]["sha256"]) == 64
    assert history[0]["emergency_filing_hours"] == 48 and history[0]["required_reviews"] == 2
    assert history[0]["legal_bases"] == ["court_order", "deceased_or_incapacitated", "emergency"]


def test_the_json_report_is_complete(builder: LogBuilder) -> None:
    builder.install()
    builder.file(1, state="denied")
    search = builder.search(1)
    data = json.loads(json.dumps(builder.monitor().to_dict()))
    assert data["ok"] is False and data["findings"] == 1 and "profiles" not in data
    [rule] = [r for r in data["rules"] if r["status"] == "breach"]
    assert rule["rule"] == "search_after_approval" and rule["requirement"] == "R3"
    assert search in rule["findings"][0]["seqs"]
    assert data["verified"]["tree_size"] == data["entries"] == 3


# -- the monitor's contract with the service and its import boundary ------------------------


def test_the_action_names_the_monitor_reads_are_the_catalogues() -> None:
    values = {a.value for a in A}
    read = {
        value
        for key, value in vars(names).items()
        if key.isupper() and isinstance(value, str) and "." in value
    }
    assert read <= values, read - values
    assert (names.ALLOWED_AFTER_SEAL | names.REVIEWS).issubset(values)


def test_the_monitor_imports_nothing_from_the_application() -> None:
    code = (
        "import sys, faceledger.monitor\n"
        "bad = sorted(m for m in sys.modules if m.startswith('faceledger') and not "
        "m.startswith(('faceledger.ledger', 'faceledger.monitor')) and m not in "
        "('faceledger', 'faceledger.errors'))\n"
        "bad += sorted(m for m in sys.modules if m in ('faceledger.ledger.log', "
        "'faceledger.ledger.models') or m.startswith(('sqlalchemy.orm', 'alembic')))\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
