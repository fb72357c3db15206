"""The export format: JSON Lines records, written by the exporter and read by the verifier.

An export is UTF-8 text, one canonical-JSON object per line:

1. One header, first: ``{"type": "header", "format": "faceledger-ledger-export", "version": 1,
   "tree_size": N, "checkpoints": K, "payloads": "included" | "redacted"}``.
2. Entries in ``seq`` order: ``{"type": "entry", "seq", "ts", "actor", "action",
   "object_type", "object_id", "payload_sha256", "leaf_hash"}`` plus ``"payload"`` (the JSON
   object) unless redacted, and ``"public"`` (the entry's public fields, a non-empty JSON
   object) if it has any, whether payloads are redacted or not. See
   :mod:`faceledger.ledger.envelope` for how they hash.
3. Checkpoints, each placed right after the entry that brings the log to its ``tree_size`` (so a
   verifier checks it in one pass): ``{"type": "checkpoint", ...}`` with the fields of
   :class:`~faceledger.ledger.checkpoint.Checkpoint` plus, from the second checkpoint on,
   ``"consistency_proof"``: the RFC 9162 proof (hex hashes) from the previous checkpoint's tree.

Nothing in the header or the placement is trusted: the verifier recomputes everything from the
entries and the signed checkpoints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import canonical_json, parse_json
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.envelope import LedgerEntry, envelope_bytes, format_ts, parse_ts
from faceledger.ledger.merkle import HASH_SIZE

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "CheckpointRecord",
    "EntryRecord",
    "ExportHeader",
    "Record",
    "parse_line",
    "parse_record",
    "record_to_line",
]

EXPORT_FORMAT = "faceledger-ledger-export"
EXPORT_VERSION = 1


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
    """

    seq: int
    ts: str
    actor: str
    action: str
    object_type: str
    object_id: str
    payload_sha256: str
    leaf_hash: str
    payload: bytes | None
    canonical_payload: bool = True
    parsed_payload: Any = field(default=None, compare=False, repr=False)
    public: Mapping[str, Any] | None = None

    @classmethod
    def from_entry(cls, entry: LedgerEntry, include_payload: bool = True) -> EntryRecord:
        """Return the record of a :class:`LedgerEntry`."""
        payload = None
        if include_payload and entry.payload is not None:
            payload = canonical_json(entry.payload)
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

    def envelope(self) -> bytes:
        """Return the canonical envelope bytes (see :mod:`faceledger.ledger.envelope`)."""
        return envelope_bytes(
            seq=self.seq,
            ts=self.ts,
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            payload_sha256=self.payload_sha256,
            public=self.public,
        )

    def payload_digest(self) -> str | None:
        """Return hex SHA-256 of the payload bytes, or None if redacted."""
        return None if self.payload is None else hashlib.sha256(self.payload).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Return the export form (``type: entry``).

        Raises:
            LedgerError: if the stored payload is not JSON (a damaged database).
        """
        data: dict[str, Any] = {
            "type": "entry",
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "payload_sha256": self.payload_sha256,
            "leaf_hash": self.leaf_hash,
        }
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
    texts = {
        name: _text(data, name) for name in ("ts", "actor", "action", "object_type", "object_id")
    }
    parse_ts(texts["ts"])
    payload = parsed = None
    if "payload" in data:
        parsed = data["payload"]
        if not isinstance(parsed, dict):
            raise ValueError("payload must be a JSON object")
        payload = canonical_json(parsed)
    public = None
    if "public" in data:
        public = data["public"]
        # An entry without public fields leaves the key out: one form for each envelope.
        if not isinstance(public, dict) or not public:
            raise ValueError("public must be a non-empty JSON object")
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
        public=public,
    )


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
