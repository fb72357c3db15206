"""C2SP cosignature/v1: known answers for a fixed key, vkeys, adversarial lines, the quorum."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.errors import InvalidInput, VerificationFailed
from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.cosignature import (
    MAX_FUTURE_SECONDS,
    WitnessKey,
    check_note_quorum,
    check_quorum,
    cosignature_timestamp,
    cosigned_message,
    load_witness_key,
    load_witness_keys,
    parse_vkey,
    sign_cosignature,
    verify_cosignature,
)
from faceledger.ledger.note import (
    NoteSignature,
    checkpoint_note,
    parse_checkpoint_note,
    parse_note,
    raw_public_key,
)

W1 = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
NAME = "witness.example.com/w1"
# The checkpoint body and timestamp of the tlog-cosignature spec's example.
SPEC_BODY = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_TIME = 1679315147
# The spec example's cosignature line (by a witness whose key the spec does not give).
SPEC_LINE = (
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+"
    "mbIUBkBIfZ+qnA=="
)
# Ours, for the fixed key W1 (Ed25519 is deterministic): freezes the whole wire format.
KNOWN_LINE = (
    "\u2014 witness.example.com/w1 71Fk0wAAAABkGFDLDX+NZ9MhcErxcR1GjveMS97iTtWIXzolarW/aXEXkRTSr"
    "f2hPe2KZu+CjlpNbLikAEWDlVvTWdilv959HUxzAQ==\n"
)
KNOWN_VKEY = "witness.example.com/w1+ef5164d3+BAu8NGpXZnw4ASC9nH/X5R0sX9/qN80vW/QFssa/by14"
NOW = SPEC_TIME + 60

LOG = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _witness(i: int) -> tuple[Ed25519PrivateKey, WitnessKey]:
    key = Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32)
    return key, WitnessKey.of(f"w{i}.example", key.public_key())


def _note(cosigners: list[tuple[Ed25519PrivateKey, WitnessKey]], stamp: int = SPEC_TIME) -> str:
    cp = sign_checkpoint(
        LOG,
        number=0,
        log_id="example.org/log",
        tree_size=5,
        root_hash=bytes(range(32)),
        timestamp=dt.datetime(2023, 3, 20, tzinfo=dt.UTC),
    )
    lines = [sign_cosignature(k, w.name, cp.body(), stamp) for k, w in cosigners]
    return checkpoint_note(cp, LOG.public_key(), lines)


# -- known answers -----------------------------------------------------------------------


def test_key_hash_is_sha256_of_name_newline_0x04_and_key() -> None:
    raw = raw_public_key(W1.public_key())
    expected = hashlib.sha256(NAME.encode() + b"\n\x04" + raw).digest()[:4]
    assert WitnessKey.of(NAME, W1.public_key()).key_hash == expected


def test_signed_message_is_header_time_line_and_body() -> None:
    assert cosigned_message(SPEC_BODY, SPEC_TIME) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_a_fixed_key_gives_fixed_bytes() -> None:
    line = sign_cosignature(W1, NAME, SPEC_BODY, SPEC_TIME)
    assert line.line() == KNOWN_LINE
    # Checked without the module: 8-byte big-endian time, then Ed25519 over the spec message.
    raw = base64.b64decode(KNOWN_LINE.split(" ")[-1])
    assert raw[:4] == WitnessKey.of(NAME, W1.public_key()).key_hash
    assert raw[4:12] == SPEC_TIME.to_bytes(8, "big")
    W1.public_key().verify(raw[12:], b"cosignature/v1\ntime 1679315147\n" + SPEC_BODY)


def test_the_spec_example_line_has_the_spec_layout() -> None:
    raw = base64.b64decode(SPEC_LINE)
    signature = NoteSignature(NAME, raw[:4], raw[4:])
    assert len(raw) == 4 + 8 + 64
    assert cosignature_timestamp(signature) == SPEC_TIME


def test_vkey_round_trips_and_is_fixed_for_a_fixed_key() -> None:
    key = WitnessKey.of(NAME, W1.public_key())
    assert key.vkey() == KNOWN_VKEY
    parsed = parse_vkey(KNOWN_VKEY + "\n")
    assert parsed.name == NAME and parsed.key_hash == key.key_hash
    assert raw_public_key(parsed.public_key) == raw_public_key(W1.public_key())


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "no-plus-signs",
        KNOWN_VKEY.replace("+ef5164d3+", "+ef5164d4+"),  # wrong key hash
        KNOWN_VKEY.replace("+ef5164d3+", "+ef51+"),  # short key hash
        "witness.example.com/w1+ef5164d3+AQu8NGpXZnw4ASC9nH/X5R0sX9/qN80vW/QFssa/by14",  # 0x01
        "witness.example.com/w1+ef5164d3+BAu8NGpX",  # short key
        "witness.example.com/w1+ef5164d3+not base64!",
        "+ef5164d3+BAu8NGpXZnw4ASC9nH/X5R0sX9/qN80vW/QFssa/by14",  # no name
    ],
)
def test_malformed_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(InvalidInput):
        parse_vkey(vkey)


def test_witness_keys_load_from_text_or_file(tmp_path: Path) -> None:
    path = tmp_path / "w1.vkey"
    path.write_text(KNOWN_VKEY + "\n", encoding="ascii")
    assert load_witness_key(str(path)).vkey() == KNOWN_VKEY
    assert load_witness_key(KNOWN_VKEY).vkey() == KNOWN_VKEY
    assert len(load_witness_keys([KNOWN_VKEY, str(path), " "])) == 1  # the same key, once
    with pytest.raises(InvalidInput, match="neither a witness vkey"):
        load_witness_key(str(tmp_path / "missing.vkey"))


def test_two_keys_under_one_name_are_refused() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    with pytest.raises(InvalidInput, match="Two different witness keys"):
        load_witness_keys([KNOWN_VKEY, WitnessKey.of(NAME, other.public_key()).vkey()])


# -- adversarial lines -------------------------------------------------------------------


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: NoteSignature(s.name, s.key_hash, _flip(s.signature, 40)), "bad_cosignature"),
        (lambda s: NoteSignature(s.name, s.key_hash, _flip(s.signature, 7)), "bad_cosignature"),
        (lambda s: NoteSignature("w2.example", s.key_hash, s.signature), "wrong_key"),
        (lambda s: NoteSignature(s.name, _flip(s.key_hash, 0), s.signature), "wrong_key"),
        (lambda s: NoteSignature(s.name, s.key_hash, s.signature[:-1]), "malformed"),
        (lambda s: NoteSignature(s.name, s.key_hash, b"\xff" + s.signature[1:]), "malformed"),
    ],
    ids=[
        "flipped signature bit",
        "flipped time bit",
        "wrong name",
        "wrong key hash",
        "truncated",
        "time beyond 2^63-1",
    ],
)
def test_a_damaged_cosignature_is_refused(change, reason: str) -> None:  # type: ignore[no-untyped-def]
    witness = WitnessKey.of(NAME, W1.public_key())
    good = sign_cosignature(W1, NAME, SPEC_BODY, SPEC_TIME)
    assert verify_cosignature(witness, SPEC_BODY, good, now=NOW) == SPEC_TIME
    with pytest.raises(VerificationFailed) as caught:
        verify_cosignature(witness, SPEC_BODY, change(good), now=NOW)
    assert caught.value.details["reason"] == reason


def test_a_cosignature_on_another_body_does_not_verify() -> None:
    witness = WitnessKey.of(NAME, W1.public_key())
    line = sign_cosignature(W1, NAME, SPEC_BODY, SPEC_TIME)
    with pytest.raises(VerificationFailed) as caught:
        verify_cosignature(witness, SPEC_BODY.replace(b"20852163", b"20852164"), line, now=NOW)
    assert caught.value.details["reason"] == "bad_cosignature"


def test_future_timestamps_are_refused_beyond_the_allowed_skew() -> None:
    witness = WitnessKey.of(NAME, W1.public_key())
    near = sign_cosignature(W1, NAME, SPEC_BODY, NOW + MAX_FUTURE_SECONDS)
    assert verify_cosignature(witness, SPEC_BODY, near, now=NOW) == NOW + MAX_FUTURE_SECONDS
    far = sign_cosignature(W1, NAME, SPEC_BODY, NOW + MAX_FUTURE_SECONDS + 1)
    with pytest.raises(VerificationFailed) as caught:
        verify_cosignature(witness, SPEC_BODY, far, now=NOW)
    assert caught.value.details["reason"] == "future_timestamp"


# -- the quorum --------------------------------------------------------------------------


def test_quorum_counts_each_valid_witness_once() -> None:
    w1, w2, w3 = _witness(1), _witness(2), _witness(3)
    text = _note([w1, w2, w1])
    note = parse_checkpoint_note(text, LOG.public_key())
    keys = [w1[1], w2[1], w3[1]]
    assert check_quorum(note, keys, 2, now=NOW) == ["w1.example", "w2.example"]
    with pytest.raises(VerificationFailed) as caught:
        check_quorum(note, keys, 3, now=NOW)
    details = caught.value.details
    assert details["reason"] == "quorum_not_met"
    assert (details["expected"], details["actual"]) == (3, 2)
    assert details["missing"] == ["w3.example"]
    assert "w3.example" in caught.value.message


def test_lines_by_unknown_keys_are_ignored() -> None:
    w1, stranger = _witness(1), _witness(9)
    impostor = (stranger[0], WitnessKey.of("w1.example", stranger[0].public_key()))
    note = parse_checkpoint_note(_note([w1, stranger, impostor]), LOG.public_key())
    assert check_quorum(note, [w1[1]], 1, now=NOW) == ["w1.example"]


def test_a_forged_line_by_a_known_witness_rejects_the_note() -> None:
    w1, w2 = _witness(1), _witness(2)
    text = _note([w1, w2])
    body, signatures = parse_note(text)
    forged = NoteSignature(
        signatures[2].name, signatures[2].key_hash, _flip(signatures[2].signature, 30)
    )
    note = parse_checkpoint_note(
        body.decode() + "\n" + "".join(s.line() for s in [*signatures[:2], forged]),
        LOG.public_key(),
    )
    with pytest.raises(VerificationFailed) as caught:
        check_quorum(note, [w1[1], w2[1]], 1, now=NOW)
    assert caught.value.details["reason"] == "bad_cosignature"


def test_a_future_cosignature_is_not_counted_and_is_named() -> None:
    w1, w2 = _witness(1), _witness(2)
    note = parse_checkpoint_note(_note([w1]), LOG.public_key())
    late = parse_checkpoint_note(_note([w2], stamp=NOW + 10 * MAX_FUTURE_SECONDS), LOG.public_key())
    both = parse_checkpoint_note(
        checkpoint_note(note.checkpoint(0), LOG.public_key(), [*note.others, *late.others]),
        LOG.public_key(),
    )
    with pytest.raises(VerificationFailed) as caught:
        check_quorum(both, [w1[1], w2[1]], 2, now=NOW)
    assert caught.value.details["actual"] == 1
    assert list(caught.value.details["invalid"]) == ["w2.example"]


@pytest.mark.parametrize("quorum", [0, -1, 3])
def test_a_quorum_that_is_vacuous_or_impossible_is_refused(quorum: int) -> None:
    w1, w2 = _witness(1), _witness(2)
    note = parse_checkpoint_note(_note([w1, w2]), LOG.public_key())
    with pytest.raises(InvalidInput):
        check_quorum(note, [w1[1], w2[1]], quorum, now=NOW)


def test_a_note_file_is_checked_whole() -> None:
    w1 = _witness(1)
    text = _note([w1])
    assert check_note_quorum(text, LOG.public_key(), [w1[1]], 1, now=NOW) == ["w1.example"]
    with pytest.raises(VerificationFailed) as caught:
        check_note_quorum(text, w1[0].public_key(), [w1[1]], 1, now=NOW)
    assert caught.value.details["reason"] == "bad_signature"
