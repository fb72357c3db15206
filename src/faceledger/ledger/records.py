"""The export format: JSON Lines records, written by the exporter and read by the verifier.

An export is UTF-8 text, one canonical-JSON object per line:

1. One header, first: ``{"type": "header", "format": "faceledger-ledger-export", "version": 1,
   "tree_size": N, "checkpoints": K, "payloads": "included" | "redacted"}``.
2. Entries in ``seq`` order. An entry of envelope version 1 or 2: ``{"type": "entry", "seq",
   "ts", "actor", "action", "object_type", "object_id", "payload_sha256", "leaf_hash"}``. An
   entry of version 3 (pseudonymous): ``{"type": "entry", "seq", "ts", "action",
   "object_type", "actor_ref", "object_ref", "private_sha256", "leaf_hash"}``, plus its
   private fields ``"actor", "object_id", "payload_sha256", "salt"`` (all four or none) in an
   export with payloads; a public export carries none of them. Either version adds
   ``"payload"`` (the JSON object) unless redacted (left out of the export, or removed from the
   database), and ``"public"`` (the entry's public fields, a non-empty JSON object) if it has
   any, whether payloads are redacted or not. The version is not written: ``"actor_ref"``
   makes a line version 3, and ``"public"`` a version 1 line version 2. A version 3 line with
   a payload must carry the private fields (the payload is checked against their
   ``payload_sha256``). See :mod:`faceledger.ledger.envelope` for how they hash.
3. Checkpoints, each placed right after the entry that brings the log to its ``tree_size`` (so a
   verifier checks it in one pass): ``{"type": "checkpoint", ...}`` with the fields of
   :class:`~faceledger.ledger.checkpoint.Checkpoint` plus, from the second checkpoint on,
   ``"consistency_proof"``: the RFC 9162 proof (hex hashes) from the previous checkpoint's tree.

Nothing in the header or the placement is trusted: the verifier recomputes everything from the
entries and the signed checkpoints.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import canonical_json, parse_json
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.envelope import (
    ENVELOPE_VERSION,
    ENVELOPE_VERSION_PSEUDONYMOUS,
    ENVELOPE_VERSION_PUBLIC,
    SALT_HEX_DIGITS,
    LedgerEntry,
    envelope_bytes,
    format_ts,
    parse_ts,
    private_sha256,
)
from faceledger.ledger.merkle import HASH_SIZE
from faceledger.ledger.pseudonyms import REF_HEX_DIGITS

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "PRIVATE_FIELDS",
    "REASON_PRIVATE_HASH_MISMATCH",
    "CheckpointRecord",
    "EntryRecord",
    "ExportHeader",
    "Record",
    "is_lower_hex",
    "parse_line",
    "parse_record",
    "record_to_line",
]

EXPORT_FORMAT = "faceledger-ledger-export"
EXPORT_VERSION = 1
# A version 3 entry's private fields: in an export with payloads, never in a public one.
PRIVATE_FIELDS = ("actor", "object_id", "payload_sha256", "salt")
# The verifier's reason code when a private part does not hash to its private_sha256.
REASON_PRIVATE_HASH_MISMATCH = "private_hash_mismatch"


@dataclass(frozen=True)
class ExportHeader:
    """What the exporter claims the export holds (checked, never trusted)."""

    tree_size: int
    checkpoints: int
    payloads_included: bool


@dataclass(frozen=True)
class EntryRecord:
    """An entry as stored or exported: text fields exactly as hashed, payload as bytes.

    ``payload`` is the canonical JSON bytes, or None when redacted. ``canonical_payload`` is
    False when the bytes came from a database column that still has to prove it is canonical.
    ``parsed_payload`` is the payload as parsed JSON when the reader already has it, so that the
    verifier need not parse it again (None means: not at hand). ``public`` holds the public
    fields (never redacted), or None if the entry has none.

    A version 3 entry has ``actor_ref``, ``object_ref`` and ``private_sha256``; its private
    fields ``actor``, ``object_id``, ``payload_sha256`` and ``salt`` are all None in a public
    record (and all set otherwise). Versions 1 and 2 have the last three None and always carry
    ``actor``, ``object_id`` and ``payload_sha256``.
    """

    seq: int
    ts: str
    actor: str | None
    action: str
    object_type: str
    object_id: str | None
    payload_sha256: str | None
    leaf_hash: str
    payload: bytes | None
    canonical_payload: bool = True
    parsed_payload: Any = field(default=None, compare=False, repr=False)
    public: Mapping[str, Any] | None = None
    actor_ref: str | None = None
    object_ref: str | None = None
    private_sha256: str | None = None
    salt: str | None = None

    @classmethod
    def from_entry(
        cls,
        entry: LedgerEntry,
        include_payload: bool = True,
        *,
        include_private: bool | None = None,
    ) -> EntryRecord:
        """Return the record of a :class:`LedgerEntry`.

        ``include_private`` (default: as ``include_payload``) keeps a version 3 entry's private
        fields; without them the record is fit for the public (the payload then goes too,
        whatever ``include_payload`` says, since nothing would check it). Versions 1 and 2 name
        their actor and object in the envelope, so they always carry them.
        """
        private = include_payload if include_private is None else include_private
        pseudonymous = entry.actor_ref is not None
        payload = None
        if include_payload and entry.payload is not None and (private or not pseudonymous):
            payload = canonical_json(entry.payload)
        if not pseudonymous:
            return cls(
                seq=entry.seq,
                ts=format_ts(entry.ts),
                actor=entry.actor,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                payload_sha256=entry.payload_sha256,
                leaf_hash=entry.leaf_hash,
                payload=payload,
                public=entry.public or None,
            )
        return cls(
            seq=entry.seq,
            ts=format_ts(entry.ts),
            actor=entry.actor if private else None,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id if private else None,
            payload_sha256=entry.payload_sha256 if private else None,
            leaf_hash=entry.leaf_hash,
            payload=payload,
            public=entry.public or None,
            actor_ref=entry.actor_ref,
            object_ref=entry.object_ref,
            private_sha256=entry.private_sha256,
            salt=entry.salt if private else None,
        )

    @property
    def version(self) -> int:
        """The envelope version: 3 with ``actor_ref``, else 2 with public fields, else 1."""
        if self.actor_ref is not None:
            return ENVELOPE_VERSION_PSEUDONYMOUS
        return ENVELOPE_VERSION_PUBLIC if self.public else ENVELOPE_VERSION

    @property
    def has_private(self) -> bool:
        """Whether the record names its actor and object (always, below version 3)."""
        return self.actor_ref is None or self.salt is not None

    def computed_private_sha256(self) -> str | None:
        """Return SHA-256 of the private part rebuilt from the private fields (module doc of
        :mod:`faceledger.ledger.envelope`), or None when there is none to rebuild (a public
        version 3 record, or version 1 or 2).

        Raises:
            LedgerError: if a private field is missing or not a string (a damaged record).
        """
        if self.actor_ref is None or self.salt is None:
            return None
        if self.actor is None or self.object_id is None or self.payload_sha256 is None:
            raise LedgerError(
                f"Ledger entry {self.seq} has only some of its private fields.", seq=self.seq
            )
        return private_sha256(
            actor=self.actor,
            object_id=self.object_id,
            payload_sha256=self.payload_sha256,
            salt=self.salt,
        )

    def check_private(self) -> None:
        """Check that a version 3 record's private fields hash to its ``private_sha256``.

        Nothing to check for a public version 3 record or for versions 1 and 2 (their actor and
        object are in the envelope itself).

        Raises:
            LedgerError: with ``reason='private_hash_mismatch'``, ``seq``, ``expected`` (the
                recorded hash) and ``actual`` (the one computed) if they differ; or as
                :meth:`computed_private_sha256`.
        """
        computed = self.computed_private_sha256()
        if computed is None:
            return
        recorded = self.private_sha256 or ""
        if not hmac.compare_digest(computed.encode(), recorded.encode("utf-8", "replace")):
            raise LedgerError(
                f"Entry {self.seq}: the actor, object id, payload hash and salt do not match "
                "the entry's private_sha256 (one of them was changed).",
                reason=REASON_PRIVATE_HASH_MISMATCH,
                seq=self.seq,
                expected=recorded,
                actual=computed,
            )

    def envelope(self, *, check_private: bool = True) -> bytes:
        """Return the canonical envelope bytes (see :mod:`faceledger.ledger.envelope`).

        A version 3 envelope holds only the hash of the private part, so by default the
        private fields are checked against it first (:meth:`check_private`): a verifier that
        recomputes only the leaf hash still notices a changed actor or object id. A caller that
        has already checked them passes ``check_private=False``.

        Raises:
            LedgerError: for an envelope that cannot be built (a missing field, public fields
                that break their rules), or from :meth:`check_private`.
        """
        if self.actor_ref is not None and check_private:
            self.check_private()
        return envelope_bytes(
            seq=self.seq,
            ts=self.ts,
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

    def payload_digest(self) -> str | None:
        """Return hex SHA-256 of the payload bytes, or None if redacted."""
        return None if self.payload is None else hashlib.sha256(self.payload).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Return the export form (``type: entry``; module doc).

        Raises:
            LedgerError: if the stored payload is not JSON (a damaged database).
        """
        data: dict[str, Any] = {"type": "entry", "seq": self.seq, "ts": self.ts}
        if self.actor_ref is None:
            data.update(
                actor=self.actor,
                action=self.action,
                object_type=self.object_type,
                object_id=self.object_id,
                payload_sha256=self.payload_sha256,
                leaf_hash=self.leaf_hash,
            )
        else:
            data.update(
                action=self.action,
                object_type=self.object_type,
                actor_ref=self.actor_ref,
                object_ref=self.object_ref,
                private_sha256=self.private_sha256,
                leaf_hash=self.leaf_hash,
            )
            if self.salt is not None:
                data.update(
                    actor=self.actor,
                    object_id=self.object_id,
                    payload_sha256=self.payload_sha256,
                    salt=self.salt,
                )
        if self.public:
            data["public"] = self.public
        if self.payload is not None:
            try:
                data["payload"] = parse_json(self.payload)
            except LedgerError:
                raise LedgerError(
                    f"Ledger entry {self.seq} has a payload that is not valid JSON; run the "
                    "verifier on the database.",
                    seq=self.seq,
                ) from None
        return data


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint with the consistency proof from the previous one (None for the first).

    ``proof_error`` says why the exporter could not build the proof (a damaged tree).
    """

    checkpoint: Checkpoint
    consistency_proof: tuple[bytes, ...] | None
    proof_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the export form (``type: checkpoint``)."""
        data: dict[str, Any] = {"type": "checkpoint", **self.checkpoint.to_dict()}
        if self.consistency_proof is not None:
            data["consistency_proof"] = [h.hex() for h in self.consistency_proof]
        if self.proof_error is not None:
            data["consistency_proof_error"] = self.proof_error
        return data


Record = ExportHeader | EntryRecord | CheckpointRecord


def record_to_line(record: Record) -> str:
    """Return one export line (canonical JSON and a newline)."""
    if isinstance(record, ExportHeader):
        data: dict[str, Any] = {
            "type": "header",
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "tree_size": record.tree_size,
            "checkpoints": record.checkpoints,
            "payloads": "included" if record.payloads_included else "redacted",
        }
    else:
        data = record.to_dict()
    return canonical_json(data).decode("utf-8") + "\n"


def parse_line(text: str, line_no: int) -> Record:
    """Parse one export line.

    Raises:
        VerificationFailed: with ``reason='malformed'`` and ``line`` for anything that is not a
            well-formed record.
    """
    try:
        data = parse_json(text)
    except LedgerError as exc:
        raise VerificationFailed(
            f"Line {line_no} of the export is not valid JSON: {exc.message}",
            kind="line",
            reason="malformed",
            line=line_no,
        ) from None
    return parse_record(data, line_no)


def parse_record(data: Any, line_no: int) -> Record:
    """Parse one record already decoded from JSON (see :func:`parse_line`).

    Raises:
        VerificationFailed: with ``reason='malformed'``.
    """
    try:
        if not isinstance(data, dict):
            raise ValueError("a record must be a JSON object")
        kind = data.get("type")
        if kind == "entry":
            return _parse_entry(data)
        if kind == "checkpoint":
            return _parse_checkpoint(data)
        if kind == "header":
            return _parse_header(data)
        raise ValueError(f"unknown record type {kind!r}")
    except (ValueError, KeyError, TypeError, LedgerError, VerificationFailed) as exc:
        if isinstance(exc, VerificationFailed):
            exc.details.update(kind="line", line=line_no)
            raise
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise VerificationFailed(
            f"Line {line_no} of the export is not a valid record: {reason}",
            kind="line",
            reason="malformed",
            line=line_no,
        ) from None


def _parse_header(data: Mapping[str, Any]) -> ExportHeader:
    if data.get("format") != EXPORT_FORMAT or data.get("version") != EXPORT_VERSION:
        raise ValueError(
            f"not a {EXPORT_FORMAT} version {EXPORT_VERSION} header "
            f"(format {data.get('format')!r}, version {data.get('version')!r})"
        )
    payloads = data["payloads"]
    if payloads not in ("included", "redacted"):
        raise ValueError("payloads must be 'included' or 'redacted'")
    return ExportHeader(
        _count(data, "tree_size"), _count(data, "checkpoints"), payloads == "included"
    )


def _parse_entry(data: Mapping[str, Any]) -> EntryRecord:
    if "actor_ref" in data:
        return _parse_pseudonymous_entry(data)
    texts = {
        name: _text(data, name) for name in ("ts", "actor", "action", "object_type", "object_id")
    }
    parse_ts(texts["ts"])
    payload, parsed = _payload(data)
    return EntryRecord(
        seq=_count(data, "seq"),
        ts=texts["ts"],
        actor=texts["actor"],
        action=texts["action"],
        object_type=texts["object_type"],
        object_id=texts["object_id"],
        payload_sha256=_hex_hash(data, "payload_sha256"),
        leaf_hash=_hex_hash(data, "leaf_hash"),
        payload=payload,
        parsed_payload=parsed,
        public=_public(data),
    )


def _parse_pseudonymous_entry(data: Mapping[str, Any]) -> EntryRecord:
    ts = _text(data, "ts")
    parse_ts(ts)
    present = [name for name in PRIVATE_FIELDS if name in data]
    if present and len(present) != len(PRIVATE_FIELDS):
        missing = [name for name in PRIVATE_FIELDS if name not in data]
        raise ValueError(
            "a version 3 entry carries all of its private fields or none; "
            f"{', '.join(missing)} missing"
        )
    payload, parsed = _payload(data)
    if payload is not None and not present:
        raise ValueError("a version 3 entry with a payload must carry its private fields")
    actor = object_id = payload_sha256 = salt = None
    if present:
        actor, object_id = _text(data, "actor"), _text(data, "object_id")
        payload_sha256 = _hex_hash(data, "payload_sha256")
        salt = _hex(data, "salt", SALT_HEX_DIGITS)
    return EntryRecord(
        seq=_count(data, "seq"),
        ts=ts,
        actor=actor,
        action=_text(data, "action"),
        object_type=_text(data, "object_type"),
        object_id=object_id,
        payload_sha256=payload_sha256,
        leaf_hash=_hex_hash(data, "leaf_hash"),
        payload=payload,
        parsed_payload=parsed,
        public=_public(data),
        actor_ref=_hex(data, "actor_ref", REF_HEX_DIGITS),
        object_ref=_hex(data, "object_ref", REF_HEX_DIGITS),
        private_sha256=_hex_hash(data, "private_sha256"),
        salt=salt,
    )


def _payload(data: Mapping[str, Any]) -> tuple[bytes | None, Any]:
    if "payload" not in data:
        return None, None
    parsed = data["payload"]
    if not isinstance(parsed, dict):
        raise ValueError("payload must be a JSON object")
    return canonical_json(parsed), parsed


def _public(data: Mapping[str, Any]) -> Any:
    if "public" not in data:
        return None
    public = data["public"]
    # An entry without public fields leaves the key out: one form for each envelope.
    if not isinstance(public, dict) or not public:
        raise ValueError("public must be a non-empty JSON object")
    return public


def _parse_checkpoint(data: Mapping[str, Any]) -> CheckpointRecord:
    proof: tuple[bytes, ...] | None = None
    if "consistency_proof" in data:
        raw = data["consistency_proof"]
        if not isinstance(raw, list):
            raise ValueError("consistency_proof must be a list")
        proof = tuple(_hash_bytes(h, "consistency_proof") for h in raw)
    error = data.get("consistency_proof_error")
    if error is not None and not isinstance(error, str):
        raise ValueError("consistency_proof_error must be a string")
    return CheckpointRecord(Checkpoint.from_dict(data), proof, error)


def _count(data: Mapping[str, Any], name: str) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer")
    return value


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _hash_bytes(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * HASH_SIZE:
        raise ValueError(f"{name} must be a 64-digit hex SHA-256 hash")
    return bytes.fromhex(value)


def _hex_hash(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    _hash_bytes(value, name)
    if value != value.lower():
        raise ValueError(f"{name} must be lower-case hex")
    return str(value)


def _hex(data: Mapping[str, Any], name: str, digits: int) -> str:
    value = data[name]
    if not isinstance(value, str) or not is_lower_hex(value, digits):
        raise ValueError(f"{name} must be {digits} lower-case hex digits")
    return value


def is_lower_hex(value: str, digits: int) -> bool:
    """Whether ``value`` is exactly ``digits`` lower-case hex digits (refs, salts, hashes)."""
    return len(value) == digits and all(c in _LOWER_HEX for c in value)


_LOWER_HEX = frozenset("0123456789abcdef")
