"""Ledger entries and the envelope whose hash is the Merkle leaf.

A leaf does not hash the payload itself but an *envelope* that names the payload by its hash,
so a public export may drop payloads and still verify::

    payload_bytes  = canonical_json(payload)                  # a JSON object
    payload_sha256 = hex(SHA-256(payload_bytes))
    envelope       = canonical_json({
        "v": 1,                                               # envelope format version
        "seq": seq,                                           # 0-based = RFC 6962 leaf index
        "ts": "YYYY-MM-DDTHH:MM:SS.ffffffZ",                  # UTC, always 6 digits, 'Z'
        "actor": actor, "action": action,
        "object_type": object_type, "object_id": object_id,
        "payload_sha256": payload_sha256,
    })
    leaf_hash      = SHA-256(0x00 || envelope)                # RFC 9162 §2.1.1

``canonical_json`` is defined in :mod:`faceledger.ledger.canonical`. The stored and exported
payload is checked against ``payload_sha256``; the leaf hash is checked against the envelope.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from faceledger.errors import LedgerError
from faceledger.ledger.canonical import canonical_json
from faceledger.ledger.merkle import leaf_hash

__all__ = [
    "ENVELOPE_VERSION",
    "FIELD_LIMITS",
    "EntryDraft",
    "LedgerEntry",
    "envelope_bytes",
    "format_ts",
    "parse_ts",
]

ENVELOPE_VERSION = 1
# Longest value of each text field, in characters (the column widths).
FIELD_LIMITS = {"actor": 200, "action": 100, "object_type": 100, "object_id": 200}
_TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def format_ts(ts: dt.datetime) -> str:
    """Return the envelope form of a timestamp: ISO-8601 UTC, microseconds, ``Z``.

    Raises:
        LedgerError: for a naive datetime.
    """
    if ts.tzinfo is None:
        raise LedgerError("Ledger timestamps must be timezone-aware.")
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> dt.datetime:
    """Parse the envelope form of a timestamp (and only that form).

    Raises:
        ValueError: if ``text`` is not exactly ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.
    """
    if not isinstance(text, str) or not _TS_RE.fullmatch(text):
        raise ValueError(f"timestamp {text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def envelope_bytes(
    *,
    seq: int,
    ts: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload_sha256: str,
) -> bytes:
    """Return the canonical envelope bytes whose leaf hash goes into the tree (module doc)."""
    return canonical_json(
        {
            "v": ENVELOPE_VERSION,
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload_sha256": payload_sha256,
        }
    )


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger entry. ``payload`` is None when it was redacted (public exports)."""

    seq: int
    ts: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: Mapping[str, Any] | None
    payload_sha256: str
    leaf_hash: str

    def envelope(self) -> bytes:
        """Return the canonical envelope bytes of this entry."""
        return envelope_bytes(
            seq=self.seq,
            ts=format_ts(self.ts),
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            payload_sha256=self.payload_sha256,
        )


@dataclass(frozen=True)
class EntryDraft:
    """A checked entry waiting for its place in the log (its ``seq`` and time)."""

    actor: str
    action: str
    object_type: str
    object_id: str
    payload_bytes: bytes
    payload_sha256: str

    @classmethod
    def new(
        cls,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        payload: Mapping[str, Any],
    ) -> EntryDraft:
        """Check the fields and canonicalise the payload.

        Raises:
            LedgerError: for an empty or over-long text field, or a payload that is not a
                mapping; :class:`~faceledger.ledger.canonical.CanonicalJSONError` (also a
                LedgerError) for a payload canonical JSON cannot encode.
        """
        fields = {
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
        }
        for name, value in fields.items():
            if not isinstance(value, str) or not value:
                raise LedgerError(f"Ledger field {name} must be a non-empty string.", field=name)
            if len(value) > FIELD_LIMITS[name]:
                raise LedgerError(
                    f"Ledger field {name} is longer than {FIELD_LIMITS[name]} characters.",
                    field=name,
                )
        if not isinstance(payload, Mapping):
            raise LedgerError("A ledger payload must be a JSON object (a mapping).")
        payload_bytes = canonical_json(payload)
        return cls(
            payload_bytes=payload_bytes,
            payload_sha256=hashlib.sha256(payload_bytes).hexdigest(),
            **fields,
        )

    def at(self, seq: int, ts: dt.datetime) -> LedgerEntry:
        """Return the entry as leaf ``seq`` appended at time ``ts`` (hashing its envelope).

        Raises:
            LedgerError: for a naive ``ts`` (it would be read as local time).
        """
        if ts.tzinfo is None:
            raise LedgerError("Ledger timestamps must be timezone-aware.")
        ts = ts.astimezone(dt.UTC)
        envelope = envelope_bytes(
            seq=seq,
            ts=format_ts(ts),
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            payload_sha256=self.payload_sha256,
        )
        return LedgerEntry(
            seq=seq,
            ts=ts,
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            # What was stored (plain json: these bytes were just made canonical), so append
            # and later reads return equal entries.
            payload=json.loads(self.payload_bytes),
            payload_sha256=self.payload_sha256,
            leaf_hash=leaf_hash(envelope).hex(),
        )
