"""The offline packet checker: a packet checks out with the public key alone, and any change
to an entry, a document or a fact is named (adversarial vectors in the manner of
transparency-dev's: a flipped byte, a swapped pointer, a dropped fact)."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.errors import VerificationFailed
from faceledger.reports.disclosure import Packet, check_packet
from faceledger.service.disclosures import ACTION_NAMES
from tests.unit.reports.disclosure.synthetic import Built, build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("check"))


@pytest.fixture(scope="module")
def packet(built: Built) -> Packet:
    return built.packet()


def _fails(built: Built, data: Any) -> VerificationFailed:
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(VerificationFailed) as caught:
        check_packet(text, built.public_key, ACTION_NAMES)
    return caught.value


def _index(packet: Packet, fid: str) -> int:
    return [f["id"] for f in packet.data["facts"]].index(fid)


def _seq_of(packet: Packet, action: str) -> int:
    return next(e["seq"] for e in packet.data["entries"] if e["action"] == action)


def test_a_packet_checks_out_with_the_public_key(built: Built, packet: Packet) -> None:
    report = check_packet(packet.text, built.public_key, ACTION_NAMES)
    assert report.request_id == 7
    assert report.facts == packet.fact_count > 50
    assert report.entries == len(packet.data["entries"]) == 8
    assert report.documents == 1 and report.reveals_checked == 1
    assert report.tree_size == packet.checkpoint_size


def test_another_key_is_refused(built: Built, packet: Packet) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(VerificationFailed) as caught:
        check_packet(packet.text, other, ACTION_NAMES)
    assert caught.value.details["reason"] == "bad_signature"


def test_a_changed_candidate_score_names_its_fact(built: Built, packet: Packet) -> None:
    data = json.loads(packet.text)
    i = _index(packet, "candidate.1")
    data["facts"][i]["value"]["distance_micro"] += 1
    error = _fails(built, data)
    assert error.details["reason"] == "fact_mismatch"
    assert error.details["fact"] == "candidate.1"
    assert "Fact candidate.1 (Rank 2 in gallery booking)" in error.message
    assert "1284649" in error.message and "1284648" in error.message


def test_a_changed_entry_payload_names_the_entry(built: Built, packet: Packet) -> None:
    data = json.loads(packet.text)
    seq = _seq_of(packet, "request.search")
    [entry] = [e for e in data["entries"] if e["seq"] == seq]
    entry["payload"]["candidates"][1]["distance_micro"] = 1284649
    error = _fails(built, data)
    assert error.details["seq"] == seq
    assert error.details["reason"] == "payload_hash_mismatch"
    assert error.message.startswith(f"Entry {seq}:")


Mutation = Callable[[dict[str, Any], Packet], str]


def _leaf(data: dict[str, Any], packet: Packet) -> str:
    data["entries"][0]["leaf_hash"] = "0" * 64
    return "leaf_hash_mismatch"


def _actor(data: dict[str, Any], packet: Packet) -> str:
    data["entries"][-1]["actor"] = "user:someone-else"
    return "leaf_hash_mismatch"


def _proof(data: dict[str, Any], packet: Packet) -> str:
    data["entries"][2]["proof"]["hashes"][0] = "f" * 64
    return "root_mismatch"


def _document(data: dict[str, Any], packet: Packet) -> str:
    data["documents"][0]["text"] = data["documents"][0]["text"].replace("0.985", "0.995")
    return "document_hash_mismatch"


def _label(data: dict[str, Any], packet: Packet) -> str:
    data["facts"][_index(packet, "lead_use.0.use")]["label"] = "Use 1: not used"
    return "fact_altered"


def _swap_pointer(data: dict[str, Any], packet: Packet) -> str:
    # Rank 2's fact pointed at rank 1's values, with them: consistent, but not what it says.
    i, j = _index(packet, "candidate.0"), _index(packet, "candidate.1")
    data["facts"][j]["value"] = data["facts"][i]["value"]
    data["facts"][j]["source"] = data["facts"][i]["source"]
    return "fact_altered"


def _drop_fact(data: dict[str, Any], packet: Packet) -> str:
    del data["facts"][_index(packet, "candidate.1")]
    return "fact_missing"


def _add_fact(data: dict[str, Any], packet: Packet) -> str:
    extra = copy.deepcopy(data["facts"][0])
    extra["id"] = "use.extra"
    data["facts"].append(extra)
    return "fact_unexpected"


def _drop_entry(data: dict[str, Any], packet: Packet) -> str:
    seq = _seq_of(packet, "request.lead_use")
    data["entries"] = [e for e in data["entries"] if e["seq"] != seq]
    return "fact_unsourced"


def _drop_reviews(data: dict[str, Any], packet: Packet) -> str:
    # Leaving out an entry and every fact it backs is what a checker without the log cannot
    # see; it can see that the facts read from what is left differ.
    seq = _seq_of(packet, "request.review.first")
    data["entries"] = [e for e in data["entries"] if e["seq"] != seq]
    data["facts"] = [f for f in data["facts"] if f["source"].get("seq") != seq]
    return "fact_unexpected"  # the revealed marks are no longer tied to a first review


def _header_case(data: dict[str, Any], packet: Packet) -> str:
    data["header"]["case_number"] = "BPD-24-999"
    return "header_mismatch"


def _log_id(data: dict[str, Any], packet: Packet) -> str:
    data["header"]["log_id"] = "another-log"
    return "log_mismatch"


def _format(data: dict[str, Any], packet: Packet) -> str:
    data["header"]["facts_version"] = 99
    return "malformed"


@pytest.mark.parametrize(
    "mutate",
    [
        _leaf,
        _actor,
        _proof,
        _document,
        _label,
        _swap_pointer,
        _drop_fact,
        _add_fact,
        _drop_entry,
        _drop_reviews,
        _header_case,
        _log_id,
        _format,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_each_kind_of_tampering_is_caught(built: Built, packet: Packet, mutate: Mutation) -> None:
    data = json.loads(packet.text)
    reason = mutate(data, packet)
    assert _fails(built, data).details["reason"] == reason


def test_duplicate_keys_are_refused(built: Built, packet: Packet) -> None:
    text = packet.text.replace('"header": {', '"header": {"request_id": 1, ', 1)
    assert _fails(built, text).details["reason"] == "malformed"


def _checked_spans(text: str) -> list[int]:
    """Positions of every letter and digit of the packet outside what check-packet does not
    vouch for: the header (its checked fields have their own tests above), the database
    records and the checkpoint's unsigned number."""
    holes: set[int] = set()
    for key, closing in (('"header": {', "\n  },"), ('"records": {', "\n  }")):
        start = text.index(key)
        holes.update(range(start, text.index(closing, start) + len(closing)))
    number = text.index('"number"')
    holes.update(range(number, text.index("\n", number)))
    return [i for i, ch in enumerate(text) if ch.isalnum() and i not in holes]


def test_one_flipped_character_anywhere_checked_is_caught(built: Built, packet: Packet) -> None:
    text = packet.text
    positions = _checked_spans(text)
    rng = random.Random(20261201)
    for i in rng.sample(positions, 150):
        ch = text[i]
        new = {"0": "1", "9": "8", "z": "y", "Z": "Y"}.get(ch) or (
            chr(ord(ch) + 1) if ch.isalnum() else ch
        )
        tampered = text[:i] + new + text[i + 1 :]
        with pytest.raises(VerificationFailed):
            check_packet(tampered, built.public_key, ACTION_NAMES)


def test_the_header_notes_and_records_are_not_vouched_for(built: Built, packet: Packet) -> None:
    """What check-packet does not cover, said plainly: the recipient and the database's names
    may change without it noticing (the ledger's report.disclosure entry holds the SHA-256)."""
    data = json.loads(packet.text)
    data["header"]["recipient"] = "someone else"
    data["records"]["candidates"][0]["display_name"] = "Another Name"
    check_packet(json.dumps(data), built.public_key, ACTION_NAMES)


def test_a_packet_can_be_checked_from_a_file(tmp_path: Path, built: Built, packet: Packet) -> None:
    path = tmp_path / "packet.json"
    path.write_bytes(packet.text.encode("utf-8"))
    assert (
        check_packet(path.read_bytes(), built.public_key, ACTION_NAMES).facts == packet.fact_count
    )
