"""The search lifecycle end to end through HTTP, on real photos and the real face models:
filed with a real probe, searched, reviewed twice (the second blind), released, used as a lead,
and the ledger proven and verified by an auditor, all through /api/v1."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.api.conftest import (
    EMERGENCY_FIELDS,
    ApiUnit,
    error_of,
)

CAVEAT = "investigative lead only — not probable cause for arrest"


def marks(view: dict[str, Any], lead_rank: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "candidate_id": c["id"],
            "outcome": "possible_lead" if c["rank"] == lead_rank else "not_match",
            "note": "eyes, nose bridge and ear shape agree" if c["rank"] == lead_rank else "",
        }
        for c in view["run"]["candidates"]
    ]


def test_court_order_request_from_filing_to_verified_ledger(unit: ApiUnit) -> None:
    filed = unit.file("requester")
    assert filed.status_code == 201, filed.text
    request = filed.json()
    rid = request["id"]
    assert request["state"] == "approved" and request["decision"]["allowed"] is True
    assert request["requester"] == "det-jones"

    searched = unit.call("examiner", "POST", f"/requests/{rid}/search")
    assert searched.status_code == 200, searched.text
    run = searched.json()["run"]
    assert run["operator"] == "ex-smith"
    top = run["candidates"][0]
    assert (top["rank"], top["external_id"], top["within_threshold"]) == (1, "obama", True)

    # The examiner sees the candidate's face chip; the requester nothing unreleased.
    chip = unit.call("examiner", "GET", f"/requests/{rid}/candidates/{top['id']}/chip.jpg")
    assert chip.status_code == 200
    assert chip.headers["content-type"] == "image/jpeg"
    assert chip.headers["cache-control"] == "no-store"
    assert chip.content.startswith(b"\xff\xd8\xff")
    hidden = unit.call("requester", "GET", f"/requests/{rid}/candidates/{top['id']}/chip.jpg")
    error_of(hidden, 403, "permission_denied")
    mine = unit.call("requester", "GET", f"/requests/{rid}").json()
    assert mine["run"]["candidates"] == [] and mine["release"] is None

    # R10: the operator may not review their own search; a second examiner reviews first.
    own = unit.call(
        "examiner", "POST", f"/requests/{rid}/reviews", json={"marks": marks(searched.json())}
    )
    error_of(own, 403, "permission_denied")
    first = unit.call(
        "examiner2", "POST", f"/requests/{rid}/reviews", json={"marks": marks(searched.json())}
    )
    assert first.status_code == 200 and first.json()["state"] == "reviewed"

    # Blind peer review: the peer sees no review before submitting their own.
    blind = unit.call("reviewer", "GET", f"/requests/{rid}").json()
    assert blind["reviews"] == []
    assert any("blind peer review" in n for n in blind["notices"])
    peer = unit.call(
        "reviewer", "POST", f"/requests/{rid}/reviews", json={"marks": marks(searched.json())}
    )
    assert peer.status_code == 200, peer.text
    assert {r["reviewer"] for r in peer.json()["reviews"]} == {"ex-wong", "rev-lee"}

    released = unit.call("examiner", "POST", f"/requests/{rid}/release")
    assert released.status_code == 200 and released.json()["state"] == "released"

    seen = unit.call("requester", "GET", f"/requests/{rid}").json()
    assert [c["external_id"] for c in seen["run"]["candidates"]] == ["obama"]
    assert seen["release"]["caveat"] == CAVEAT
    assert seen["reviews"] == []  # the requester sees the outcome, not the reviewers' notes
    lead = seen["run"]["candidates"][0]["id"]

    # R11: an arrest needs corroboration; the first attempt is refused with the reason.
    use = {"candidate_id": lead, "use": "arrest"}
    denied = unit.call("requester", "POST", f"/requests/{rid}/lead-uses", json=use)
    details = error_of(denied, 403, "policy_denied")
    assert "R11" in details["requirements"]
    assert any("independent corroborating evidence" in r for r in details["reasons"])
    used = unit.call(
        "requester",
        "POST",
        f"/requests/{rid}/lead-uses",
        json={**use, "corroboration_ref": "Latent print ID LP-778"},
    )
    assert used.status_code == 200, used.text
    assert used.json()["lead_uses"][0]["corroboration_ref"] == "Latent print ID LP-778"

    # The auditor reads the request's history, proves an entry and verifies the whole ledger.
    entries = unit.call(
        "auditor",
        "GET",
        "/ledger/entries",
        params={"object_type": "request", "object_id": str(rid)},
    )
    assert entries.status_code == 200
    page = entries.json()
    actions = [e["action"] for e in page["items"]]
    # The request's history holds its refused attempts too: the requester's look at an
    # unreleased candidate (R9), the operator's own first review (R10) and an uncorroborated
    # arrest (R11), each one "access.denied" entry.
    assert actions == [
        "request.submit",
        "request.search",
        "access.denied",
        "access.denied",
        "request.review.first",
        "request.review.peer",
        "request.release",
        "access.denied",
        "request.lead_use",
    ]
    # Each refusal is one "access.denied" entry naming the request and its violation.
    denied_entries = unit.call(
        "auditor", "GET", "/ledger/entries", params={"action": "access.denied", "limit": 500}
    ).json()["items"]
    refusals = [e["payload"] for e in denied_entries if e["payload"]["request_id"] == rid]
    assert [r["action"] for r in refusals] == [
        "request.candidates",
        "request.review.first",
        "request.lead_use",
    ]
    assert "R9" in refusals[0]["requirements"] and "R10" in refusals[1]["requirements"]
    assert "R11" in refusals[2]["requirements"]
    # Every entry made with a token names it; the first review commits to its marks, which
    # the peer review's entry reveals.
    by_action = {e["action"]: e for e in page["items"]}
    assert re.fullmatch(r"user:ex-smith\+token:\d+", by_action["request.search"]["actor"])
    assert re.fullmatch(r"user:det-jones\+token:\d+", by_action["request.submit"]["actor"])
    first_entry = by_action["request.review.first"]["payload"]
    assert "marks" not in first_entry and "marks" in first_entry["commitments"]
    assert "marks" in str(by_action["request.review.peer"]["payload"])
    assert page["total"] == len(actions) and page["offset"] == 0
    seq = page["items"][1]["seq"]
    # A proof is given against a signed checkpoint; a GET signs none, so sign one first.
    signed = unit.call("auditor", "POST", "/ledger/checkpoints")
    assert signed.status_code in (200, 201), signed.text
    proof = unit.call("auditor", "GET", f"/ledger/entries/{seq}/proof")
    assert proof.status_code == 200, proof.text
    assert proof.json()["entry"]["seq"] == seq
    report = unit.call("auditor", "POST", "/ledger/verify")
    assert report.status_code == 200, report.text
    assert report.json()["ok"] is True
    assert report.json()["tree_size"] == unit.ledger_size()
    violations = unit.call("auditor", "GET", "/violations").json()
    assert any("R11" in v["requirements"] for v in violations["items"])


def test_emergency_needs_a_supervisor_then_a_filing_or_is_sealed(unit: ApiUnit) -> None:
    filed = unit.file("requester", EMERGENCY_FIELDS)
    assert filed.status_code == 201, filed.text
    first = filed.json()
    assert first["state"] == "submitted" and first["emergency"]["filing_deadline"]
    # Until a supervisor approves it, examiners do not see the request at all.
    error_of(unit.call("examiner", "POST", f"/requests/{first['id']}/search"), 404, "not_found")
    error_of(unit.call("examiner", "GET", f"/requests/{first['id']}"), 404, "not_found")
    assert unit.call("supervisor", "GET", f"/requests/{first['id']}").status_code == 200
    approved = unit.call("supervisor", "POST", f"/requests/{first['id']}/approve-emergency")
    assert approved.status_code == 200, approved.text
    assert approved.json()["emergency"]["approving_supervisor"] == "sup-brown"
    filing = unit.call(
        "requester",
        "POST",
        f"/requests/{first['id']}/emergency-filing",
        json={"reference": "SUCR-EM-7"},
    )
    assert filing.status_code == 200, filing.text
    assert filing.json()["emergency"]["filing_reference"] == "SUCR-EM-7"
    overdue = unit.call("supervisor", "POST", "/emergencies/overdue-check")
    assert overdue.status_code == 200 and overdue.json() == {"flagged": [], "sealed": []}
    error_of(unit.call("auditor", "POST", "/emergencies/overdue-check"), 403, "permission_denied")

    second = unit.file("requester", EMERGENCY_FIELDS).json()
    unit.call("supervisor", "POST", f"/requests/{second['id']}/approve-emergency")
    assert unit.call("examiner", "POST", f"/requests/{second['id']}/search").status_code == 200
    sealed = unit.call(
        "supervisor",
        "POST",
        f"/requests/{second['id']}/court-refusal",
        json={"note": "Order refused."},
    )
    assert sealed.status_code == 200, sealed.text
    assert sealed.json()["state"] == "sealed" and sealed.json()["run"]["candidates"] == []
    error_of(unit.call("examiner", "GET", f"/requests/{second['id']}/probe"), 404, "not_found")


def test_images_follow_the_request_s_visibility(unit: ApiUnit) -> None:
    s = unit.service
    filed = s.requests.submit_request(
        unit.users["requester"], unit.form(), unit.photo(), "probe.jpg"
    )
    searched = s.requests.run_request_search(unit.users["examiner"], filed.id).to_dict()
    s.reviews.submit_review(unit.users["examiner2"], filed.id, marks(searched))
    s.reviews.submit_review(unit.users["reviewer"], filed.id, marks(searched))
    s.reviews.release_request(unit.users["examiner"], filed.id)
    ids = [c["id"] for c in searched["run"]["candidates"]]
    lead, others = ids[0], ids[1:]
    base = f"/requests/{filed.id}"

    probe = unit.call("requester", "GET", f"{base}/probe")
    assert probe.status_code == 200, probe.text
    assert probe.content == unit.photo()
    assert probe.headers["content-type"] == "image/jpeg"
    assert probe.headers["cache-control"] == "no-store"
    crop = unit.call("examiner", "GET", f"{base}/faces/0/crop.jpg")
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    error_of(unit.call("examiner", "GET", f"{base}/faces/9/crop.jpg"), 404, "not_found")
    chip = unit.call("requester", "GET", f"{base}/candidates/{lead}/chip.jpg")
    assert chip.status_code == 200 and chip.headers["content-type"] == "image/jpeg"
    assert others, "the gallery should give more than one candidate"
    hidden = unit.call("requester", "GET", f"{base}/candidates/{others[0]}/chip.jpg")
    error_of(hidden, 403, "permission_denied")
