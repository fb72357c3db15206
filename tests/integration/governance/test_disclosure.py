"""Disclosure packets (R14) through the real service on the governed unit: a released request
with a lead use makes a packet that checks offline, and producing one is a recorded action
that only supervisors of the unit and auditors may take."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from faceledger.errors import InvalidInput, NotFound, PermissionDenied, VerificationFailed
from faceledger.governance.models import RequestRow
from faceledger.ledger import load_public_key
from faceledger.reports.disclosure import Packet, check_packet
from faceledger.reports.models import DisclosureRow
from faceledger.service.disclosures import ACTION_NAMES
from tests.integration.governance.conftest import Governed

RECIPIENT = "Defence counsel for R. v. Doe, docket 24-123"
CORROBORATION = "Latent fingerprint match, state lab report 24-77"


def _values(packet: Packet) -> dict[str, Any]:
    return {f["id"]: f["value"] for f in packet.data["facts"]}


def _used(governed: Governed) -> tuple[int, Packet]:
    """The released request with a lead use, and its packet produced by the auditor."""
    rid = governed.requests["released"]
    view = governed.service.requests.get_request(governed.who("req_a"), rid)
    lead = view.release.candidate_ids[0] if view.release else 0
    governed.service.reviews.record_lead_use(
        governed.who("req_a"), rid, lead, "arrest", CORROBORATION
    )
    packet = governed.service.disclosures.produce(governed.who("aud"), rid, RECIPIENT, "discovery")
    return rid, packet


def test_a_released_request_with_a_lead_use_checks_offline(governed: Governed) -> None:
    rid, packet = _used(governed)
    key = load_public_key(governed.service.public_key_path)
    report = check_packet(packet.text, key, ACTION_NAMES)
    assert report.request_id == rid and report.facts == packet.fact_count
    assert report.reveals_checked == 1  # the first review's marks, opened by the peer review

    values = _values(packet)
    assert values["use.search"] == "request.search"
    assert values["search.model.embedder"]["name"] == "FAKE-embedder-for-tests"
    assert values["gallery.0.name"] == "people" and values["gallery.0.size"] == 54
    assert values["accuracy.0.evaluated"] is True
    assert values["accuracy.0.figure.rank1_micro"] == 990000  # the gate's evaluation entry
    assert values["accuracy.0.summary.rank1"] == 0.99  # the stored summary, hash-checked
    assert values["probe.source"] == "still_photo" and len(values["probe.sha256"]) == 64
    candidates = [f for f in values if f.startswith("candidate.")]
    assert len(candidates) == values["search.count"] == 3  # all of them, not only the leads
    assert values["review.first.reviewer"] == "ex-two"
    assert values["review.peer.reviewer"] == "rev-one"
    assert values["review.first.time"] < values["review.peer.time"]
    assert values["lead_use.0.use"] == "arrest"
    assert values["lead_use.0.corroboration"] == CORROBORATION
    assert values["legal_basis.kind"] == "court_order"
    assert values["legal_basis.order_id"] == "SUCR-2026-1"
    header = packet.data["header"]
    assert (header["recipient"], header["purpose"], header["produced_by"]) == (
        RECIPIENT,
        "discovery",
        "user:aud-one",
    )
    names = packet.data["records"]["candidates"]
    assert [n["fact"] for n in names] == candidates and all(n["external_id"] for n in names)


def test_producing_a_packet_is_recorded_and_marks_the_request_disclosed(
    governed: Governed,
) -> None:
    rid, packet = _used(governed)
    [entry] = governed.last_entries(1)
    assert (entry.action, entry.actor, entry.object_id) == (
        "report.disclosure",
        "user:aud-one",
        str(rid),
    )
    assert entry.payload["packet_sha256"] == packet.sha256
    assert entry.payload["recipient"] == RECIPIENT
    assert entry.payload["checkpoint_size"] == packet.checkpoint_size == entry.seq
    assert entry.payload["fact_count"] == packet.fact_count
    with governed.service.context.db.read() as session:
        row = session.get(RequestRow, rid)
        assert row is not None and row.disclosure_status == "disclosed"
        [stored] = session.scalars(select(DisclosureRow)).all()
        assert (stored.packet_sha256, stored.ledger_seq) == (packet.sha256, entry.seq)
    view = governed.service.requests.get_request(governed.who("aud"), rid)
    assert view.disclosure_status == "disclosed"  # R12, as the request shows it
    # Every entry of the packet is covered by its one checkpoint, signed for it.
    assert max(e["seq"] for e in packet.data["entries"]) < packet.checkpoint_size


def test_a_later_packet_states_the_earlier_one(governed: Governed) -> None:
    rid, first = _used(governed)
    second = governed.service.disclosures.produce(governed.who("sup"), rid, "The court, R. v. Doe")
    values = _values(second)
    assert values["disclosure.0.recipient"] == RECIPIENT
    assert values["disclosure.0.sha256"] == first.sha256
    assert values["disclosure.0.actor"] == "user:aud-one"
    listed = governed.service.disclosures.list_disclosures(governed.who("aud"), rid)
    assert [(d.recipient, d.packet_sha256) for d in listed] == [
        (RECIPIENT, first.sha256),
        ("The court, R. v. Doe", second.sha256),
    ]
    assert listed[1].produced_by == "user:sup-one"


def test_one_tampered_byte_is_named(governed: Governed) -> None:
    _, packet = _used(governed)
    key = load_public_key(governed.service.public_key_path)
    score = str(_values(packet)["candidate.1"]["distance_micro"])
    flipped = score[:-1] + ("1" if score[-1] == "0" else "0")
    # The score appears twice: in the search entry's payload, then in the candidate's fact.
    text = packet.text
    in_entry = text.index(f'"distance_micro": {score}')
    in_fact = text.index(f'"distance_micro": {score}', in_entry + 1)
    for at, named in (
        (in_fact, "Fact candidate.1 (Rank 2 in gallery people)"),
        (in_entry, "Entry"),
    ):
        tampered = text[:at] + text[at:].replace(score, flipped, 1)
        assert len(tampered) == len(text) and tampered != text
        with pytest.raises(VerificationFailed) as caught:
            check_packet(tampered, key, ACTION_NAMES)
        assert caught.value.message.startswith(named), caught.value.message
    seq = next(e["seq"] for e in packet.data["entries"] if e["action"] == "request.search")
    assert caught.value.details["seq"] == seq


def test_a_request_never_searched_gets_a_packet_that_says_so(governed: Governed) -> None:
    rid = governed.requests["approved"]
    packet = governed.service.disclosures.produce(governed.who("aud"), rid, RECIPIENT)
    key = load_public_key(governed.service.public_key_path)
    check_packet(packet.text, key, ACTION_NAMES)
    assert "No face search was run for this request." in packet.data["header"]["notes"]
    values = _values(packet)
    assert values["request.case_number"] == "GOV-approved"
    assert not [f for f in values if f.startswith(("use.", "candidate.", "accuracy."))]
    assert "No face search was run for this request" in packet.html()


def test_a_sealed_request_discloses_that_it_ran_but_not_its_results(governed: Governed) -> None:
    service, rid = governed.service, governed.requests["emergency_approved"]
    service.requests.run_request_search(governed.who("ex1"), rid)
    service.emergencies.record_court_refusal(governed.who("sup"), rid, "Refused on 2 May.")
    packet = service.disclosures.produce(governed.who("aud"), rid, RECIPIENT)
    check_packet(packet.text, load_public_key(service.public_key_path), ACTION_NAMES)
    values = _values(packet)
    assert values["use.search"] == "request.search" and "search.time" in values
    assert not [f for f in values if f.startswith(("candidate.", "gallery."))]
    assert values["sealing.reason"].startswith("The court refused the emergency filing.")
    assert values["emergency.approval.actor"] == "user:sup-one"
    [search] = [e for e in packet.data["entries"] if e["action"] == "request.search"]
    assert "payload" not in search and packet.data["records"]["candidates"] == []


@pytest.mark.parametrize(("who", "error"), [("req_a", PermissionDenied), ("ex1", PermissionDenied)])
def test_requesters_and_examiners_are_refused_and_recorded(
    governed: Governed, who: str, error: type[Exception]
) -> None:
    rid = governed.requests["released"]
    before = governed.counts()
    with pytest.raises(error):
        governed.service.disclosures.produce(governed.who(who), rid, RECIPIENT)
    after = governed.counts()
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    changed.pop("alerts", None)  # a violation alerts supervisors and auditors (R18)
    assert changed == {"violations": 1, "ledger": 1}
    [entry] = governed.last_entries(1)
    assert (entry.action, entry.payload["action"]) == ("access.denied", "report.disclosure")
    assert entry.payload["requirements"] == ["R14", "R18"]
    with pytest.raises(error):
        governed.service.disclosures.list_disclosures(governed.who(who), rid)


@pytest.mark.parametrize("who", ["req_b", "ex_out", "sup_bpd"])
def test_a_request_out_of_sight_answers_not_found(governed: Governed, who: str) -> None:
    """A requester of another agency, an examiner outside the unit, a supervisor of another
    agency (the role, not the sight): 404 as for a request that does not exist, recorded."""
    import datetime as dt

    from tests.factories import PASSWORD
    from tests.integration.governance.conftest import BOSTON

    service, rid = governed.service, governed.requests["released"]
    if who == "sup_bpd":
        service.accounts.create_user(
            governed.who("admin"), "sup-bpd", "Sup BPD", BOSTON, ["supervisor"], PASSWORD
        )
        service.accounts.approve_user(governed.who("sup"), "sup-bpd")
        until = dt.date.today() + dt.timedelta(days=30)
        acting = service.accounts.certify_training(governed.who("sup"), "sup-bpd", until)
    else:
        acting = governed.who(who)
    before = governed.counts()
    with pytest.raises(NotFound) as caught:
        service.disclosures.produce(acting, rid, RECIPIENT)
    assert caught.value.message == f"There is no search request {rid}."
    with pytest.raises(NotFound):
        service.disclosures.list_disclosures(acting, rid)
    after = governed.counts()
    assert after["ledger"] - before["ledger"] == 2 and after["disclosures"] == before["disclosures"]
    [entry] = governed.last_entries(1)
    assert (entry.action, entry.actor) == ("access.denied", acting.ledger_actor)
    assert (entry.object_id, entry.payload["action"]) == (str(rid), "report.disclosure")


def test_a_request_that_does_not_exist_answers_not_found(governed: Governed) -> None:
    before = governed.counts()
    with pytest.raises(NotFound):
        governed.service.disclosures.produce(governed.who("aud"), 9999, RECIPIENT)
    assert governed.counts() == before


@pytest.mark.parametrize("recipient", ["", "   ", "x" * 301])
def test_a_packet_needs_a_recipient_and_writes_nothing_without_one(
    governed: Governed, recipient: str
) -> None:
    before = governed.counts()
    with pytest.raises(InvalidInput) as caught:
        governed.service.disclosures.produce(
            governed.who("aud"), governed.requests["released"], recipient
        )
    assert caught.value.details["field"] == "recipient"
    assert "recipient" in caught.value.message
    assert governed.counts() == before


def test_the_packet_json_is_the_text_whose_hash_is_recorded(governed: Governed) -> None:
    import hashlib

    _, packet = _used(governed)
    assert hashlib.sha256(packet.text.encode("utf-8")).hexdigest() == packet.sha256
    assert json.loads(packet.text) == json.loads(json.dumps(packet.data))
    with governed.service.context.db.read() as session:
        assert session.scalar(select(func.count()).select_from(DisclosureRow)) == 1
