"""Checkpoints as C2SP signed notes: format, parse, and the log's own signature."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.note import (
    ALG_ED25519,
    NoteSignature,
    checkpoint_note,
    key_hash,
    parse_checkpoint_note,
    parse_note,
    raw_public_key,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ROOT = bytes(range(32, 64))


def _checkpoint(size: int = 7):
    stamp = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    return sign_checkpoint(
        KEY, number=3, log_id="example.org/log", tree_size=size, root_hash=ROOT, timestamp=stamp
    )


def test_key_hash_follows_the_signed_note_rule() -> None:
    import hashlib

    raw = raw_public_key(KEY.public_key())
    expected = hashlib.sha256(b"example.org/log\n\x01" + raw).digest()[:4]
    assert key_hash("example.org/log", ALG_ED25519, KEY.public_key()) == expected


def test_a_checkpoint_note_round_trips() -> None:
    cp = _checkpoint()
    text = checkpoint_note(cp, KEY.public_key())
    body, _, signature_line = text.partition("\n\n")
    assert body + "\n" == cp.body().decode()
    assert signature_line.startswith("\u2014 example.org/log ")
    note = parse_checkpoint_note(text, KEY.public_key())
    assert note.checkpoint(3) == cp
    assert note.others == ()


def test_other_signature_lines_are_kept_unverified() -> None:
    cp = _checkpoint()
    extra = NoteSignature("witness.example/w1", b"\x01\x02\x03\x04", b"\x00" * 72)
    note = parse_checkpoint_note(checkpoint_note(cp, KEY.public_key(), [extra]), KEY.public_key())
    assert note.others == (extra,)


def test_a_note_signed_by_another_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    text = checkpoint_note(_checkpoint(), KEY.public_key())
    with pytest.raises(VerificationFailed) as err:
        parse_checkpoint_note(text, other.public_key())
    assert err.value.details["reason"] == "bad_signature"


def test_a_changed_size_breaks_the_signature() -> None:
    text = checkpoint_note(_checkpoint(7), KEY.public_key()).replace("\n7\n", "\n8\n", 1)
    with pytest.raises(VerificationFailed) as err:
        parse_checkpoint_note(text, KEY.public_key())
    assert err.value.details["reason"] == "bad_signature"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no signature lines\n",
        "a\nb\n\n",
        "a\n\nnot a signature\n",
        "a\n\n\u2014 name !!!\n",
        "a\n\n\u2014 name " + base64.b64encode(b"abc").decode() + "\n",
    ],
)
def test_malformed_notes_are_refused(text: str) -> None:
    with pytest.raises(VerificationFailed) as err:
        parse_note(text)
    assert err.value.details["reason"] == "malformed"


def test_a_body_that_is_not_a_checkpoint_is_refused() -> None:
    sig = NoteSignature("x", b"abcd", b"s" * 64)
    text = "one\ntwo\n\n" + sig.line()
    with pytest.raises(VerificationFailed) as err:
        parse_checkpoint_note(text, KEY.public_key())
    assert err.value.details["reason"] == "malformed"


def test_key_names_with_spaces_are_refused() -> None:
    with pytest.raises(LedgerError):
        key_hash("two words", ALG_ED25519, KEY.public_key())
