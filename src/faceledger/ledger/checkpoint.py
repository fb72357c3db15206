"""Signed checkpoints: (log id, tree size, root hash, timestamp) under the log's Ed25519 key.

The signed bytes follow the body layout of the C2SP ``tlog-checkpoint`` format, with the
timestamp as its one extension line. Every line ends in ``\\n``::

    <log id>
    <tree size, decimal>
    <root hash, standard base64>
    <timestamp, YYYY-MM-DDTHH:MM:SS.ffffffZ>

The signature is Ed25519 (RFC 8032) over exactly these UTF-8 bytes. A checkpoint's ``number``
(0-based, in creation order) is bookkeeping and is not signed.

JSON form (export lines, saved trusted checkpoints)::

    {"number": 3, "log_id": "...", "tree_size": 1000, "root_hash": "<hex>",
     "timestamp": "...Z", "signature": "<standard base64>"}
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import canonical_json
from faceledger.ledger.envelope import format_ts, parse_ts
from faceledger.ledger.merkle import HASH_SIZE

__all__ = ["Checkpoint", "checkpoint_body", "sign_checkpoint", "validate_log_id"]

MAX_LOG_ID_LENGTH = 200


def validate_log_id(log_id: str) -> str:
    """Return ``log_id`` if it can head a checkpoint: 1-200 printable characters, no newline.

    Raises:
        LedgerError: otherwise.
    """
    if (
        not isinstance(log_id, str)
        or not 0 < len(log_id) <= MAX_LOG_ID_LENGTH
        or not log_id.isprintable()
    ):
        raise LedgerError(
            f"The ledger log id must be 1-{MAX_LOG_ID_LENGTH} printable characters without "
            f"line breaks, got {log_id!r}.",
            log_id=repr(log_id),
        )
    return log_id


def checkpoint_body(log_id: str, tree_size: int, root_hash: bytes, timestamp: dt.datetime) -> bytes:
    """Return the exact bytes a checkpoint signature covers (module doc)."""
    root = base64.b64encode(root_hash).decode("ascii")
    return f"{log_id}\n{tree_size}\n{root}\n{format_ts(timestamp)}\n".encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head."""

    number: int
    log_id: str
    tree_size: int
    root_hash: bytes
    timestamp: dt.datetime
    signature: bytes

    def body(self) -> bytes:
        """Return the signed bytes."""
        return checkpoint_body(self.log_id, self.tree_size, self.root_hash, self.timestamp)

    def verify_signature(self, public_key: Ed25519PublicKey) -> None:
        """Check the Ed25519 signature over :meth:`body`.

        Raises:
            VerificationFailed: with ``reason='bad_signature'`` if it does not verify.
        """
        try:
            public_key.verify(self.signature, self.body())
        except InvalidSignature:
            raise VerificationFailed(
                f"Checkpoint {self.number} (tree size {self.tree_size}) is not signed by the "
                "given public key.",
                reason="bad_signature",
                checkpoint=self.number,
                expected="a valid Ed25519 signature by the given key",
                actual=base64.b64encode(self.signature).decode("ascii"),
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (module doc)."""
        return {
            "number": self.number,
            "log_id": self.log_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": format_ts(self.timestamp),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    def to_json(self) -> str:
        """Return the JSON form as one canonical line (what an auditor saves as trusted)."""
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Parse the JSON form. Unknown keys are ignored.

        Raises:
            VerificationFailed: with ``reason='malformed'`` naming the bad field.
        """
        try:
            number = _int_field(data, "number")
            tree_size = _int_field(data, "tree_size")
            log_id = validate_log_id(data["log_id"])
            root_hash = bytes.fromhex(_str_field(data, "root_hash"))
            if len(root_hash) != HASH_SIZE:
                raise ValueError("root_hash is not 32 bytes")
            timestamp = parse_ts(_str_field(data, "timestamp"))
            signature = base64.b64decode(_str_field(data, "signature"), validate=True)
        except KeyError as exc:
            raise VerificationFailed(
                f"Malformed checkpoint: missing field {exc}.",
                reason="malformed",
                checkpoint=data.get("number"),
            ) from None
        except (ValueError, TypeError, binascii.Error, LedgerError) as exc:
            raise VerificationFailed(
                f"Malformed checkpoint: {exc}", reason="malformed", checkpoint=data.get("number")
            ) from None
        return cls(number, log_id, tree_size, root_hash, timestamp, signature)

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Parse :meth:`to_json` output (for example a trusted checkpoint file's contents).

        Raises:
            VerificationFailed: with ``reason='malformed'``.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise VerificationFailed(
                f"Malformed checkpoint JSON: {exc}.", reason="malformed"
            ) from None
        if not isinstance(data, dict):
            raise VerificationFailed("A checkpoint must be a JSON object.", reason="malformed")
        return cls.from_dict(data)


def sign_checkpoint(
    key: Ed25519PrivateKey,
    *,
    number: int,
    log_id: str,
    tree_size: int,
    root_hash: bytes,
    timestamp: dt.datetime,
) -> Checkpoint:
    """Sign a tree head and return the checkpoint."""
    body = checkpoint_body(validate_log_id(log_id), tree_size, root_hash, timestamp)
    return Checkpoint(number, log_id, tree_size, root_hash, timestamp, key.sign(body))


def _int_field(data: Mapping[str, Any], name: str) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} is not a non-negative integer")
    return value


def _str_field(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return value
