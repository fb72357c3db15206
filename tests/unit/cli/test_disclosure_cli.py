"""``faceledger report disclosure`` and ``faceledger ledger check-packet`` through typer's
CliRunner, each person with their own session file, on one copy of the governed unit (FAKE
pipeline: these tests are about the packet, not faces). The packet (and its PDF) is produced
once for the module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.service import FaceLedger
from tests.backends import copy_data_dir
from tests.conftest import make_settings
from tests.factories import PASSWORD, FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.governance import conftest as governance
from tests.unit.reports.disclosure.pdf_text import inflated

governed_template = governance.governed_template
"""The governed unit's template data directory (a session fixture of the governance tests)."""
runner = CliRunner()
RECIPIENT = "Defence counsel for R. v. Doe, docket 24-123"


@dataclass
class Desk:
    """A data directory, the service on it, and a session file per username."""

    data_dir: Path
    service: FaceLedger
    requests: dict[str, int]

    def run(self, who: str | None, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        env = {"FACELEDGER_SESSION_FILE": str(self.data_dir.parent / f"{who}.session")}
        result = runner.invoke(app, ["--data-dir", str(self.data_dir), *args], input=stdin, env=env)
        return result.exit_code, result.stdout, result.stderr

    def login(self, username: str) -> None:
        code, _, err = self.run(username, "login", username, "--password-stdin", stdin=PASSWORD)
        assert code == 0, err

    def ledger_size(self) -> int:
        with self.service.context.db.read() as session:
            return self.service.context.ledger.tree_size(session)

    @property
    def public_key(self) -> str:
        return str(self.service.public_key_path)


@pytest.fixture(scope="module")
def desk(
    governed_template: tuple[Path, dict[str, str], dict[str, int]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Desk]:
    template, _, requests = governed_template
    root = tmp_path_factory.mktemp("disclosure-cli") / "data"
    copy_data_dir(template, root)
    service = FastFaceLedger(make_settings(root), pipeline=fake_pipeline())
    try:
        desk = Desk(root, service, requests)
        for username in ("aud-one", "det-a"):
            desk.login(username)
        rid = requests["released"]
        code, out, err = desk.run("det-a", "request", "show", str(rid), "--json")
        assert code == 0, err
        lead = json.loads(out)["release"]["candidate_ids"][0]
        code, _, err = desk.run(
            "det-a",
            "request",
            "use-lead",
            str(rid),
            "--candidate",
            str(lead),
            "--use",
            "arrest",
            "--corroboration",
            "State lab report 24-77",
        )
        assert code == 0, err
        yield desk
    finally:
        service.close()


@pytest.fixture(scope="module")
def produced(
    desk: Desk, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, object]]:
    """The packet of the released request, produced once by the auditor with --json."""
    folder = tmp_path_factory.mktemp("out") / "packet"
    rid = desk.requests["released"]
    args = ["report", "disclosure", str(rid), "-o", str(folder), "--recipient", RECIPIENT]
    code, out, err = desk.run("aud-one", *args, "--purpose", "discovery", "--json")
    assert code == 0, err
    return folder, json.loads(out)


def test_the_packet_is_written_as_pdf_html_and_json(
    desk: Desk, produced: tuple[Path, dict[str, object]]
) -> None:
    folder, summary = produced
    assert sorted(p.name for p in folder.iterdir()) == ["packet.html", "packet.json", "packet.pdf"]
    pdf = (folder / "packet.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"case GOV-released" in inflated(pdf)
    html = (folder / "packet.html").read_text(encoding="utf-8")
    assert "case GOV-released" in html and "State lab report 24-77" in html
    text = (folder / "packet.json").read_text(encoding="utf-8")
    import hashlib

    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == summary["packet_sha256"]
    with desk.service.context.db.read() as session:
        [entry] = desk.service.context.ledger.query(session, action="report.disclosure")
    assert entry.payload["packet_sha256"] == summary["packet_sha256"]
    assert entry.actor == "user:aud-one" and entry.payload["recipient"] == RECIPIENT


def test_check_packet_passes_offline(desk: Desk, produced: tuple[Path, dict[str, object]]) -> None:
    folder, summary = produced
    packet = str(folder / "packet.json")
    code, out, err = desk.run(
        None, "ledger", "check-packet", packet, "--public-key", desk.public_key
    )
    assert code == 0, err
    assert "OK" in out and f"{summary['facts']} facts match their entries" in " ".join(out.split())
    code, out, _ = desk.run(None, "ledger", "check-packet", packet, "--json")
    assert code == 0 and json.loads(out)["facts"] == summary["facts"]


def _tampered(folder: Path, tmp_path: Path, in_fact: bool) -> Path:
    """packet.json with one digit of candidate rank 2's distance changed, in its fact or in
    the search entry that backs it."""
    text = (folder / "packet.json").read_text(encoding="utf-8")
    data = json.loads(text)
    [fact] = [f for f in data["facts"] if f["id"] == "candidate.1"]
    score = f'"distance_micro": {fact["value"]["distance_micro"]}'
    at = text.index(score)
    if in_fact:
        at = text.index(score, at + 1)
    end = at + len(score)
    digit = "1" if text[end - 1] == "0" else "0"
    path = tmp_path / "packet.json"
    path.write_text(text[: end - 1] + digit + text[end:], encoding="utf-8")
    return path


def test_one_tampered_byte_in_a_fact_is_named(
    desk: Desk, produced: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    path = _tampered(produced[0], tmp_path, in_fact=True)
    code, _, err = desk.run(
        None, "ledger", "check-packet", str(path), "--public-key", desk.public_key
    )
    assert code == 2
    message = " ".join(err.split())
    assert "Fact candidate.1 (Rank 2 in gallery people)" in message
    assert "fact_mismatch" in message


def test_one_tampered_byte_in_an_entry_is_named(
    desk: Desk, produced: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    path = _tampered(produced[0], tmp_path, in_fact=False)
    code, _, err = desk.run(
        None, "ledger", "check-packet", str(path), "--public-key", desk.public_key
    )
    assert code == 2
    data = json.loads((produced[0] / "packet.json").read_text(encoding="utf-8"))
    seq = next(e["seq"] for e in data["entries"] if e["action"] == "request.search")
    assert f"Entry {seq}: the payload does not match its payload_sha256" in " ".join(err.split())


def test_another_key_fails_the_checkpoint(
    desk: Desk, produced: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    from faceledger.ledger import generate_keys

    other = generate_keys(tmp_path / "other").public_key_path
    packet = str(produced[0] / "packet.json")
    code, _, err = desk.run(None, "ledger", "check-packet", packet, "--public-key", str(other))
    assert code == 2 and "not signed by the given public key" in " ".join(err.split())


def test_a_requester_may_not_produce_one(desk: Desk, tmp_path: Path) -> None:
    before = desk.ledger_size()
    rid = str(desk.requests["released"])
    args = ["report", "disclosure", rid, "-o", str(tmp_path / "p"), "--recipient", RECIPIENT]
    code, _, err = desk.run("det-a", *args)
    assert code == 2
    assert "report.disclosure" in " ".join(err.split())
    assert not (tmp_path / "p" / "packet.json").exists()
    assert desk.ledger_size() == before + 1  # the refusal, recorded


def test_a_folder_holding_a_packet_is_refused_before_anything_is_produced(
    desk: Desk, produced: tuple[Path, dict[str, object]]
) -> None:
    before = desk.ledger_size()
    rid = str(desk.requests["released"])
    args = ["report", "disclosure", rid, "-o", str(produced[0]), "--recipient", RECIPIENT]
    code, _, err = desk.run("aud-one", *args)
    assert code == 2 and "already holds" in " ".join(err.split())
    assert desk.ledger_size() == before


def test_it_needs_a_login_and_a_recipient(desk: Desk, tmp_path: Path) -> None:
    rid = str(desk.requests["released"])
    code, _, err = desk.run(
        "nobody", "report", "disclosure", rid, "-o", str(tmp_path / "a"), "--recipient", "x"
    )
    assert code == 2 and "Not logged in" in err
    code, _, err = desk.run(
        "aud-one", "report", "disclosure", rid, "-o", str(tmp_path / "b"), "--recipient", " "
    )
    assert code == 2 and "Name the recipient" in " ".join(err.split())
