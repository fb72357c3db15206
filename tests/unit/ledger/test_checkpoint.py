"""Signed checkpoints: the exact signed bytes, the signature, and the JSON form."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger import Checkpoint
from faceledger.ledger.checkpoint import sign_checkpoint, validate_log_id
from faceledger.ledger.merkle import EMPTY_ROOT

TS = dt.datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=dt.UTC)


def _signed(key: Ed25519PrivateKey, **changes: object) -> Checkpoint:
    fields: dict[str, object] = {
        "number": 4,
        "log_id": "example.org/log",
        "tree_size": 12,
        "root_hash": EMPTY_ROOT,
        "timestamp": TS,
    }
    fields.update(changes)
    return sign_checkpoint(key, **fields)  # type: ignore[arg-type]


def test_signed_body_is_the_documented_note() -> None:
    cp = _signed(Ed25519PrivateKey.generate())
    root_b64 = base64.b64encode(EMPTY_ROOT).decode()
    assert cp.body() == f"example.org/log\n12\n{root_b64}\n2026-03-04T05:06:07.000089Z\n".encode()


def test_signature_verifies_and_any_change_breaks_it() -> None:
    key = Ed25519PrivateKey.generate()
    cp = _signed(key)
    cp.verify_signature(key.public_key())
    forged = [
        Checkpoint(cp.number, cp.log_id, 13, cp.root_hash, cp.timestamp, cp.signature),
        Checkpoint(cp.number, "other", cp.tree_size, cp.root_hash, cp.timestamp, cp.signature),
        Checkpoint(cp.number, cp.log_id, cp.tree_size, b"\x01" * 32, cp.timestamp, cp.signature),
        Checkpoint(
            cp.number, cp.log_id, cp.tree_size, cp.root_hash, TS + dt.timedelta(1), cp.signature
        ),
    ]
    for other in forged:
        with pytest.raises(VerificationFailed) as info:
            other.verify_signature(key.public_key())
        assert info.value.details["reason"] == "bad_signature"
    with pytest.raises(VerificationFailed):
        cp.verify_signature(Ed25519PrivateKey.generate().public_key())


def test_number_is_not_signed() -> None:
    key = Ed25519PrivateKey.generate()
    cp = _signed(key)
    renumbered = Checkpoint(9, cp.log_id, cp.tree_size, cp.root_hash, cp.timestamp, cp.signature)
    renumbered.verify_signature(key.public_key())


def test_json_round_trip() -> None:
    cp = _signed(Ed25519PrivateKey.generate())
    text = cp.to_json()
    assert "\n" not in text
    assert Checkpoint.from_json(text) == cp
    assert Checkpoint.from_dict(json.loads(text)) == cp


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tree_size": -1}, "tree_size"),
        ({"tree_size": True}, "tree_size"),
        ({"root_hash": "00" * 31}, "root_hash"),
        ({"root_hash": "zz" * 32}, "non-hexadecimal"),
        ({"timestamp": "2026-03-04T05:06:07Z"}, "timestamp"),
        ({"signature": "not base64!"}, "Malformed"),
        ({"log_id": "two\nlines"}, "log id"),
        ({"number": None}, "number"),
    ],
)
def test_malformed_json_is_refused(change: dict[str, object], message: str) -> None:
    data = _signed(Ed25519PrivateKey.generate()).to_dict()
    data.update(change)
    with pytest.raises(VerificationFailed, match=message) as info:
        Checkpoint.from_dict(data)
    assert info.value.details["reason"] == "malformed"


def test_missing_field_and_bad_json() -> None:
    data = _signed(Ed25519PrivateKey.generate()).to_dict()
    del data["signature"]
    with pytest.raises(VerificationFailed, match="missing field 'signature'"):
        Checkpoint.from_dict(data)
    with pytest.raises(VerificationFailed, match="JSON"):
        Checkpoint.from_json("{not json")
    with pytest.raises(VerificationFailed, match="object"):
        Checkpoint.from_json("[1]")


@pytest.mark.parametrize("log_id", ["", "a\nb", "tab\there", "x" * 201])
def test_log_id_must_fit_one_line(log_id: str) -> None:
    with pytest.raises(LedgerError):
        validate_log_id(log_id)
