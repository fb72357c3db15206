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

**Version 2** adds the entry's *public fields*: a small JSON object of non-personal facts (an
agency, a legal basis, a count) that outsiders may read. It is committed in the envelope itself,
so it survives payload redaction, is in every export and is checked by every verifier::

    envelope       = canonical_json({
        "v": 2,
        ...every version 1 key, unchanged...,
        "public": public,                                     # a non-empty JSON object
    })

An entry without public fields (None or an empty object) has exactly the version 1 envelope,
so ledgers written before version 2 verify unchanged. ``public`` follows the payload's canonical
JSON rules (no floats, string keys, ...) and its canonical form is at most
:data:`PUBLIC_MAX_BYTES` (2,000) bytes; an envelope that breaks either rule cannot be hashed.

**Version 3** (pseudonymous) keeps the actor and the object id out of the envelope, so that
the payload-less public export names nobody. They and the payload hash go into a salted
*private part* that the envelope names by its hash; the envelope carries the keyed-hash
pseudonyms of :mod:`faceledger.ledger.pseudonyms` instead::

    salt           = 32 lower-case hex digits, random per entry        # os.urandom(16).hex()
    private_bytes  = canonical_json({
        "actor": actor, "object_id": object_id,
        "payload_sha256": payload_sha256, "salt": salt,
    })
    private_sha256 = hex(SHA-256(private_bytes))
    envelope       = canonical_json({
        "v": 3, "seq": seq, "ts": ts,
        "action": action, "object_type": object_type,
        "actor_ref": actor_ref,                                 # 32 hex digits, stable per actor
        "object_ref": object_ref,                               # 32 hex digits, stable per object
        "private_sha256": private_sha256,
        "public": public,                                       # only when non-empty, as in v2
    })
    leaf_hash      = SHA-256(0x00 || envelope)

with the pseudonyms keyed by the unit's pseudonym key ``K`` (32 random bytes, never exported;
text is UTF-8)::

    actor_ref      = hex(HMAC-SHA256(K, "faceledger actor\\n" || actor)[:16])
    object_ref     = hex(HMAC-SHA256(K, "faceledger object\\n" || object_type || "\\n"
                                        || object_id)[:16])

Without ``K`` nobody can recompute a pseudonym; a verifier checks them as envelope fields only.
The salt stops anyone from confirming a guessed actor or object id against ``private_sha256``.
A ledger with a pseudonym key writes version 3; one without writes versions 1 and 2 exactly as
before, and entries of every version verify side by side in one log.

``canonical_json`` is defined in :mod:`faceledger.ledger.canonical`. The stored and exported
payload is checked against ``payload_sha256``; the private part, when present, against
``private_sha256``; the leaf hash against the envelope. A payload may be redacted (removed)
from the database later: its hash stays, so the entry still verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from faceledger.errors import LedgerError
from faceledger.ledger.canonical import CanonicalJSONError, canonical_json
from faceledger.ledger.merkle import leaf_hash
from faceledger.ledger.pseudonyms import actor_ref as make_actor_ref
from faceledger.ledger.pseudonyms import object_ref as make_object_ref

__all__ = [
    "ENVELOPE_VERSION",
    "ENVELOPE_VERSION_PSEUDONYMOUS",
    "ENVELOPE_VERSION_PUBLIC",
    "FIELD_LIMITS",
    "PUBLIC_MAX_BYTES",
    "SALT_HEX_DIGITS",
    "EntryDraft",
    "LedgerEntry",
    "canonical_public",
    "envelope_bytes",
    "format_ts",
    "new_salt",
    "parse_ts",
    "private_bytes",
    "private_sha256",
]

ENVELOPE_VERSION = 1
# The envelope version of entries with public fields (module doc).
ENVELOPE_VERSION_PUBLIC = 2
# The envelope version of pseudonymous entries: actor and object id in the private part.
ENVELOPE_VERSION_PSEUDONYMOUS = 3
# A version 3 entry's salt: 16 random bytes in lower-case hex.
SALT_HEX_DIGITS = 32
# Largest canonical JSON encoding of an entry's public fields, in bytes.
PUBLIC_MAX_BYTES = 2000
# Longest value of each text field, in characters (the column widths).
FIELD_LIMITS = {"actor": 200, "action": 100, "object_type": 100, "object_id": 200}
_PUBLIC_PREFIX = b'{"public":'
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


def canonical_public(public: Mapping[str, Any] | None) -> bytes | None:
    """Check an entry's public fields and return their canonical JSON, or None if there are none.

    None and an empty mapping both mean "no public fields" (a version 1 envelope).

    Raises:
        LedgerError: if ``public`` is not a mapping, has a key that is not a string, or its
            canonical JSON is longer than :data:`PUBLIC_MAX_BYTES`;
            :class:`~faceledger.ledger.canonical.CanonicalJSONError` (also a LedgerError) for a
            value canonical JSON cannot encode (a float, say).
    """
    if public is None:
        return None
    if not isinstance(public, Mapping):
        raise LedgerError(
            "Ledger public fields must be a JSON object (a mapping with string keys), not "
            f"{type(public).__name__}.",
            field="public",
        )
    if not public:
        return None
    for key in public:
        if not isinstance(key, str):
            raise LedgerError(f"Ledger public field name {key!r} is not a string.", field="public")
    try:
        # Encoded one level down, as in the envelope, so that the nesting limit is the
        # envelope's and error paths read $.public...; the wrapper is '{"public":' and '}'.
        encoded = canonical_json({"public": public})[len(_PUBLIC_PREFIX) : -1]
    except CanonicalJSONError as exc:
        details = {**exc.details, "field": "public"}
        raise CanonicalJSONError(
            f"Ledger public fields cannot be canonical JSON: {exc.message}", **details
        ) from None
    if len(encoded) > PUBLIC_MAX_BYTES:
        raise LedgerError(
            f"Ledger public fields take {len(encoded)} bytes of canonical JSON, more than the "
            f"{PUBLIC_MAX_BYTES} allowed; keep them to a few categorical facts.",
            field="public",
            size=len(encoded),
            limit=PUBLIC_MAX_BYTES,
        )
    return encoded


def new_salt() -> str:
    """Return a fresh random salt for a version 3 entry (32 lower-case hex digits)."""
    return os.urandom(SALT_HEX_DIGITS // 2).hex()


def private_bytes(*, actor: str, object_id: str, payload_sha256: str, salt: str) -> bytes:
    """Return the canonical bytes of a version 3 entry's private part (module doc).

    Raises:
        LedgerError: for a field canonical JSON cannot encode (not a string, say).
    """
    return canonical_json(
        {"actor": actor, "object_id": object_id, "payload_sha256": payload_sha256, "salt": salt}
    )


def private_sha256(*, actor: str, object_id: str, payload_sha256: str, salt: str) -> str:
    """Return ``private_sha256`` of a version 3 entry: hex SHA-256 of :func:`private_bytes`.

    Raises:
        LedgerError: as :func:`private_bytes`.
    """
    return hashlib.sha256(
        private_bytes(actor=actor, object_id=object_id, payload_sha256=payload_sha256, salt=salt)
    ).hexdigest()


def envelope_bytes(
    *,
    seq: int,
    ts: str,
    action: str,
    object_type: str,
    actor: str | None = None,
    object_id: str | None = None,
    payload_sha256: str | None = None,
    public: Mapping[str, Any] | None = None,
    actor_ref: str | None = None,
    object_ref: str | None = None,
    private_sha256: str | None = None,
) -> bytes:
    """Return the canonical envelope bytes whose leaf hash goes into the tree (module doc).

    With ``actor_ref`` this is the version 3 envelope, built from ``actor_ref``, ``object_ref``
    and ``private_sha256`` (``actor``, ``object_id`` and ``payload_sha256`` are not used: they
    are inside the private part). Otherwise it is the version 1 envelope, or the version 2 one
    when there are public fields (``public`` neither None nor empty).

    Raises:
        LedgerError: for a missing field of the version chosen, public fields that break the
            rules of :func:`canonical_public`, or a field canonical JSON cannot encode.
    """
    fields: dict[str, Any]
    if actor_ref is not None:
        if object_ref is None or private_sha256 is None:
            raise LedgerError(
                "A version 3 envelope needs actor_ref, object_ref and private_sha256."
            )
        fields = {
            "v": ENVELOPE_VERSION_PSEUDONYMOUS,
            "seq": seq,
            "ts": ts,
            "action": action,
            "object_type": object_type,
            "actor_ref": actor_ref,
            "object_ref": object_ref,
            "private_sha256": private_sha256,
        }
        if public is not None and canonical_public(public) is not None:
            fields["public"] = public
        return canonical_json(fields)
    if actor is None or object_id is None or payload_sha256 is None:
        raise LedgerError("A version 1 or 2 envelope needs actor, object_id and payload_sha256.")
    fields = {
        "v": ENVELOPE_VERSION,
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "payload_sha256": payload_sha256,
    }
    # The version 1 path pays for the first test only.
    if public is not None and canonical_public(public) is not None:
        fields["v"] = ENVELOPE_VERSION_PUBLIC
        fields["public"] = public
    return canonical_json(fields)


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger entry. ``payload`` is None when it was redacted (from the database, or left
    out of an export).

    ``public`` holds the entry's public fields (committed in its envelope, never redacted), or
    None if it has none. A version 3 (pseudonymous) entry also has ``actor_ref``,
    ``object_ref`` and ``salt``; they are None for versions 1 and 2.
    """

    seq: int
    ts: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: Mapping[str, Any] | None
    payload_sha256: str
    leaf_hash: str
    public: Mapping[str, Any] | None = None
    actor_ref: str | None = None
    object_ref: str | None = None
    salt: str | None = None

    @property
    def version(self) -> int:
        """The envelope version (1, 2 or 3; module doc)."""
        if self.actor_ref is not None:
            return ENVELOPE_VERSION_PSEUDONYMOUS
        return ENVELOPE_VERSION_PUBLIC if self.public else ENVELOPE_VERSION

    @property
    def private_sha256(self) -> str | None:
        """The hash of the private part of a version 3 entry (None for versions 1 and 2)."""
        if self.salt is None:
            return None
        return private_sha256(
            actor=self.actor,
            object_id=self.object_id,
            payload_sha256=self.payload_sha256,
            salt=self.salt,
        )

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
            public=self.public,
            actor_ref=self.actor_ref,
            object_ref=self.object_ref,
            private_sha256=self.private_sha256,
        )


@dataclass(frozen=True)
class EntryDraft:
    """A checked entry waiting for its place in the log (its ``seq`` and time).

    ``public_bytes`` is the canonical JSON of the public fields, or None if there are none.
    ``actor_ref``, ``object_ref`` and ``salt`` are set for a version 3 entry, else None.
    """

    actor: str
    action: str
    object_type: str
    object_id: str
    payload_bytes: bytes
    payload_sha256: str
    public_bytes: bytes | None = None
    actor_ref: str | None = None
    object_ref: str | None = None
    salt: str | None = None

    @classmethod
    def new(
        cls,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        payload: Mapping[str, Any],
        public: Mapping[str, Any] | None = None,
        pseudonym_key: bytes | None = None,
    ) -> EntryDraft:
        """Check the fields, canonicalise the payload and the public fields.

        ``public`` is a small JSON object of non-personal facts committed in the envelope
        (module doc); None or an empty mapping means none. With ``pseudonym_key`` the entry is
        version 3: its pseudonyms are computed under the key and it gets a fresh salt.

        Raises:
            LedgerError: for an empty or over-long text field or one with a NUL, a payload
                that is not a mapping, or public fields that are not a mapping with string
                keys or are over :data:`PUBLIC_MAX_BYTES`;
                :class:`~faceledger.ledger.canonical.CanonicalJSONError` (also a LedgerError)
                for a payload or public value canonical JSON cannot encode; a pseudonym key
                that is not 32 bytes.
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
            if "\x00" in value:
                # Every backend alike: PostgreSQL text cannot hold NUL, SQLite would store it.
                raise LedgerError(f"Ledger field {name} must not contain a NUL.", field=name)
            if len(value) > FIELD_LIMITS[name]:
                raise LedgerError(
                    f"Ledger field {name} is longer than {FIELD_LIMITS[name]} characters.",
                    field=name,
                )
        if not isinstance(payload, Mapping):
            raise LedgerError("A ledger payload must be a JSON object (a mapping).")
        payload_bytes = canonical_json(payload)
        refs: dict[str, str] = {}
        if pseudonym_key is not None:
            refs = {
                "actor_ref": make_actor_ref(pseudonym_key, actor),
                "object_ref": make_object_ref(pseudonym_key, object_type, object_id),
                "salt": new_salt(),
            }
        return cls(
            payload_bytes=payload_bytes,
            payload_sha256=hashlib.sha256(payload_bytes).hexdigest(),
            public_bytes=canonical_public(public),
            **fields,
            **refs,
        )

    def public_fields(self) -> dict[str, Any] | None:
        """Return a fresh copy of the public fields as stored (None if there are none)."""
        return None if self.public_bytes is None else json.loads(self.public_bytes)

    def at(self, seq: int, ts: dt.datetime) -> LedgerEntry:
        """Return the entry as leaf ``seq`` appended at time ``ts`` (hashing its envelope).

        Raises:
            LedgerError: for a naive ``ts`` (it would be read as local time).
        """
        if ts.tzinfo is None:
            raise LedgerError("Ledger timestamps must be timezone-aware.")
        ts = ts.astimezone(dt.UTC)
        # What was stored (plain json: these bytes were just made canonical), so append and
        # later reads return equal entries.
        public = self.public_fields()
        entry = LedgerEntry(
            seq=seq,
            ts=ts,
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            payload=json.loads(self.payload_bytes),
            payload_sha256=self.payload_sha256,
            leaf_hash="",
            public=public,
            actor_ref=self.actor_ref,
            object_ref=self.object_ref,
            salt=self.salt,
        )
        return replace(entry, leaf_hash=leaf_hash(entry.envelope()).hex())
