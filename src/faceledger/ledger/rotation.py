"""Signing-key rotation: the new key is announced in the log and signed by the old one.

A rotation is one entry, action :data:`KEY_ROTATE_ACTION`, object type :data:`KEY_OBJECT_TYPE`,
object id ``key_id(new key)``, whose public fields (so every export carries them) are::

    {"new_key":      base64 (standard) of the new raw 32-byte Ed25519 public key,
     "new_key_id":   key_id(new key),
     "old_key_id":   key_id(old key),
     "announcement": base64 of the OLD key's Ed25519 signature over
                     b"faceledger key rotation v1\\n" + log_id + b"\\n" + new_key + b"\\n"}

(``key_id`` is :func:`faceledger.ledger.keys.key_id`; ``log_id`` and ``new_key`` are the UTF-8
bytes of the log id and of the base64 text above.) In the same transaction a checkpoint that
covers the entry is signed with the new key; every later checkpoint is signed with it too. The
log id does not change.

A verifier starts with the key the auditor holds (the log's first key) in force. At each
rotation entry the announcement must verify with the key in force (else ``bad_rotation``), and
from then on checkpoints whose tree size is greater than the entry's ``seq`` verify with the new
key. Rotations chain.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.errors import VerificationFailed
from faceledger.ledger.keys import key_id

__all__ = [
    "ANNOUNCEMENT_PREFIX",
    "KEY_OBJECT_TYPE",
    "KEY_ROTATE_ACTION",
    "REASON_BAD_ROTATION",
    "announcement_message",
    "raw_key_b64",
    "rotation_public",
    "verify_rotation",
]

KEY_ROTATE_ACTION = "ledger.key_rotate"
KEY_OBJECT_TYPE = "ledger_key"
ANNOUNCEMENT_PREFIX = b"faceledger key rotation v1\n"
REASON_BAD_ROTATION = "bad_rotation"
_FIELDS = ("new_key", "new_key_id", "old_key_id", "announcement")


def raw_key_b64(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Return the raw 32-byte public key (of a key pair, or itself) in standard base64."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def announcement_message(log_id: str, new_key_b64: str) -> bytes:
    """Return the bytes the old key signs to announce ``new_key_b64`` in log ``log_id``."""
    return ANNOUNCEMENT_PREFIX + log_id.encode("utf-8") + b"\n" + new_key_b64.encode() + b"\n"


def rotation_public(
    old_key: Ed25519PrivateKey, new_key: Ed25519PublicKey | Ed25519PrivateKey, log_id: str
) -> dict[str, str]:
    """Return the public fields of the entry that rotates ``old_key`` to ``new_key`` (module
    doc), the announcement signed with ``old_key``."""
    new_b64 = raw_key_b64(new_key)
    signature = old_key.sign(announcement_message(log_id, new_b64))
    return {
        "new_key": new_b64,
        "new_key_id": key_id(new_key),
        "old_key_id": key_id(old_key),
        "announcement": base64.b64encode(signature).decode("ascii"),
    }


def verify_rotation(
    public: Mapping[str, Any] | None, key_in_force: Ed25519PublicKey, log_id: str, *, seq: int
) -> Ed25519PublicKey:
    """Check the rotation entry ``seq`` against the key in force and return the new key.

    Raises:
        VerificationFailed: with ``kind='entry'``, ``reason='bad_rotation'``, ``seq``,
            ``expected`` and ``actual``, if a public field is missing or malformed, the old key
            id is not that of the key in force, the new key id does not name the new key, or the
            announcement is not the key in force's signature.
    """

    def bad(message: str, expected: Any, actual: Any) -> VerificationFailed:
        return VerificationFailed(
            f"Entry {seq} (a key rotation): {message}",
            kind="entry",
            reason=REASON_BAD_ROTATION,
            seq=seq,
            expected=expected,
            actual=actual,
        )

    fields = public or {}
    missing = [name for name in _FIELDS if not isinstance(fields.get(name), str)]
    if missing:
        raise bad(
            "its public fields lack " + ", ".join(missing) + ".", list(_FIELDS), sorted(fields)
        )
    try:
        raw = base64.b64decode(fields["new_key"], validate=True)
        signature = base64.b64decode(fields["announcement"], validate=True)
        new_key = Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise bad(
            "the new key or the announcement is not valid base64 of an Ed25519 key and signature.",
            "a raw 32-byte Ed25519 key and a 64-byte signature",
            fields["new_key"],
        ) from None
    if fields["old_key_id"] != key_id(key_in_force):
        raise bad(
            "it rotates away from another key than the one in force.",
            key_id(key_in_force),
            fields["old_key_id"],
        )
    if fields["new_key_id"] != key_id(new_key):
        raise bad("new_key_id does not name the new key.", key_id(new_key), fields["new_key_id"])
    try:
        key_in_force.verify(signature, announcement_message(log_id, fields["new_key"]))
    except InvalidSignature:
        raise bad(
            "the announcement is not signed by the key in force.",
            f"a signature by key {key_id(key_in_force)}",
            fields["announcement"],
        ) from None
    return new_key
