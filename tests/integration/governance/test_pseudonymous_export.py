"""The governed unit's ledger is envelope version 3: its public export names nobody.

A whole unit (people, requests at every stage, an enrolled gallery) is exported without
payloads, and the text is searched for every username, name, case number, court order detail and
subject id the unit holds; the export with payloads carries them and verifies as well.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from faceledger.ledger import load_public_key, verify_export
from faceledger.reports.transparency.from_export import read_export
from tests.integration.governance.conftest import Governed


def _export(governed: Governed, include_payloads: bool) -> str:
    out = io.StringIO()
    governed.service.audit.export_ledger(governed.who("aud"), out, include_payloads)
    return out.getvalue()


def _secrets(governed: Governed, faces_dir: Path) -> list[str]:
    people = [info.username for info in governed.people.values()]
    names = ["First Admin", "Sup One"]
    cases = ["GOV-approved", "GOV-searched", "GOV-released", "GOV-EM-1", "GOV-EM-2", "GOV-denied"]
    order = ["SUCR-2026-1", "Hon. A. Judge", "Suffolk Superior Court", "corner shop"]
    subjects = [f'"{p.name}"' for p in (faces_dir / "people").iterdir() if p.is_dir()]
    return people + names + cases + order + subjects


def test_the_public_export_names_no_person_case_or_subject(
    governed: Governed, faces_dir: Path
) -> None:
    text = _export(governed, include_payloads=False)
    entries = [json.loads(line) for line in text.splitlines() if '"type":"entry"' in line]
    assert len(entries) > 50 and all("actor_ref" in e for e in entries)
    found = [secret for secret in _secrets(governed, faces_dir) if secret in text]
    assert found == []
    for private in ('"actor":', '"object_id":', '"payload_sha256":', '"salt":', '"payload":'):
        assert private not in text
    key = load_public_key(governed.service.public_key_path)
    assert verify_export(io.StringIO(text), key).tree_size == len(entries)


def test_the_full_export_carries_them_and_verifies(governed: Governed, faces_dir: Path) -> None:
    text = _export(governed, include_payloads=True)
    # The people who acted in building the unit: filed, searched, reviewed, released.
    for key in ("req_a", "ex1", "ex2", "rev", "sup", "admin"):
        assert f'"actor":"user:{governed.who(key).username}"' in text, key
    # The names searched for in the public export are real: the full one has most of them.
    present = [secret for secret in _secrets(governed, faces_dir) if secret in text]
    assert {"GOV-released", "GOV-EM-2", "SUCR-2026-1", '"amy"'} <= set(present)
    key = load_public_key(governed.service.public_key_path)
    report = verify_export(io.StringIO(text), key)
    assert report.payloads_checked == report.tree_size


def test_one_request_is_one_pseudonym(governed: Governed) -> None:
    public = [
        json.loads(line)
        for line in _export(governed, include_payloads=False).splitlines()
        if '"type":"entry"' in line
    ]
    full = {
        e["seq"]: e
        for e in map(json.loads, _export(governed, include_payloads=True).splitlines())
        if e["type"] == "entry"
    }
    by_request: dict[str, set[str]] = {}
    for entry in public:
        if entry["object_type"] == "request":
            by_request.setdefault(full[entry["seq"]]["object_id"], set()).add(entry["object_ref"])
    assert len(by_request) >= 8
    assert all(len(refs) == 1 for refs in by_request.values())
    assert len({ref for refs in by_request.values() for ref in refs}) == len(by_request)


def test_transparency_facts_join_a_request_by_pseudonym(governed: Governed) -> None:
    key = load_public_key(governed.service.public_key_path)
    public = read_export(_export(governed, False).splitlines(), key)
    full = read_export(_export(governed, True).splitlines(), key)
    assert len(public.requests) == len(full.requests) >= 8

    def outcomes(facts: tuple[object, ...]) -> list[tuple[str, str, int]]:
        return sorted((r.outcome, r.legal_basis, r.candidates) for r in facts)  # type: ignore[attr-defined]

    assert outcomes(public.requests) == outcomes(full.requests)
