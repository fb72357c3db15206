"""Checkpoints as C2SP signed notes (``c2sp.org/signed-note``, ``c2sp.org/tlog-checkpoint``).

The signed bytes of a checkpoint (:func:`faceledger.ledger.checkpoint.checkpoint_body`) are
already a tlog-checkpoint note body: the origin line (our log id), the tree size, the base64
root hash, and one extension line with the timestamp. A *note* is that body, an empty line, and
one signature line per signer::

    <body, every line ending in "\\n">
    \\n
    — <key name> <base64(4-byte key hash || signature)>\\n
    ...

The log signs with key name = log id and an Ed25519 note key, whose key hash is
``SHA-256(name || "\\n" || 0x01 || raw public key)[:4]``. Witnesses add ``cosignature/v1``
lines (key hash byte 0x04; :mod:`faceledger.ledger.cosignature`) under their own names. A
verifier picks the lines whose name and key hash it knows and ignores the others, as the spec
says; a note must carry at least the log's own signature.

This module parses and formats only; it needs nothing but the standard library and
``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.checkpoint import Checkpoint, checkpoint_body, validate_log_id
from faceledger.ledger.envelope import parse_ts
from faceledger.ledger.merkle import HASH_SIZE

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_NOTE_BYTES",
    "CheckpointNote",
    "NoteSignature",
    "checkpoint_note",
    "format_note",
    "key_hash",
    "parse_checkpoint_note",
    "parse_note",
    "raw_public_key",
    "read_checkpoint_note",
]

ALG_ED25519 = 0x01
"""The signed-note signature type of a plain Ed25519 note signature (the log's)."""
ALG_COSIGNATURE_V1 = 0x04
"""The signature type of a C2SP ``cosignature/v1`` (a witness's)."""
MAX_NOTE_BYTES = 1_000_000
"""Largest note accepted (a checkpoint with many cosignatures is a few KB)."""
_DASH = "\u2014 "  # the EM DASH and space that start a signature line
_MAX_SIGNATURES = 100


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the signer's key name, 4-byte key hash, and the signature bytes
    (for a cosignature, the 8-byte timestamp followed by the 64-byte signature)."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        """Return the signature line, newline included."""
        blob = base64.b64encode(self.key_hash + self.signature).decode("ascii")
        return f"{_DASH}{self.name} {blob}\n"


@dataclass(frozen=True)
class CheckpointNote:
    """A checkpoint read from a note: the signed fields, the log's signature, and every other
    signature line (cosignatures, unverified until a caller checks them)."""

    log_id: str
    tree_size: int
    root_hash: bytes
    timestamp_text: str
    signature: bytes
    body: bytes
    others: tuple[NoteSignature, ...]

    def checkpoint(self, number: int) -> Checkpoint:
        """Return the :class:`Checkpoint` with the given ``number`` (a note does not carry it)."""
        return Checkpoint(
            number=number,
            log_id=self.log_id,
            tree_size=self.tree_size,
            root_hash=self.root_hash,
            timestamp=parse_ts(self.timestamp_text),
            signature=self.signature,
        )


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of an Ed25519 public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_hash(name: str, algorithm: int, key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte signed-note key hash of ``key`` under ``name`` for ``algorithm``.

    Raises:
        LedgerError: for a key name that a note line cannot carry (empty, spaces, newlines, or
            a plus sign, which the spec forbids).
    """
    _check_name(name)
    material = name.encode("utf-8") + b"\n" + bytes([algorithm]) + raw_public_key(key)
    return hashlib.sha256(material).digest()[:4]


def format_note(body: bytes, signatures: Sequence[NoteSignature]) -> str:
    """Return the note text: ``body``, an empty line, then each signature line.

    Raises:
        LedgerError: if the body is not UTF-8 text ending in a newline, or there is no
            signature.
    """
    if not body.endswith(b"\n") or b"\n\n" in body:
        raise LedgerError("A note body must end in a newline and hold no empty line.")
    if not signatures:
        raise LedgerError("A note needs at least one signature.")
    return body.decode("utf-8") + "\n" + "".join(s.line() for s in signatures)


def parse_note(text: str | bytes) -> tuple[bytes, list[NoteSignature]]:
    """Split a note into its body and signature lines (nothing is verified here).

    Raises:
        VerificationFailed: with ``reason='malformed'`` for text that is not a signed note.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    if len(data) > MAX_NOTE_BYTES:
        raise _malformed(f"The note is {len(data)} bytes, more than the {MAX_NOTE_BYTES} allowed.")
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("The note is not UTF-8 text.") from None
    head, sep, tail = decoded.partition("\n\n")
    if not sep or not head or not tail.endswith("\n"):
        raise _malformed(
            "A note is a body, an empty line and signature lines, each ending in a newline."
        )
    signatures: list[NoteSignature] = []
    for line in tail[:-1].split("\n"):
        if len(signatures) >= _MAX_SIGNATURES:
            raise _malformed(f"The note has more than {_MAX_SIGNATURES} signatures.")
        if not line.startswith(_DASH):
            raise _malformed(f"Not a signature line: {line[:80]!r}.")
        name, space, blob = line[len(_DASH) :].rpartition(" ")
        try:
            _check_name(name)
            raw = base64.b64decode(blob, validate=True)
        except (LedgerError, binascii.Error, ValueError):
            raise _malformed(f"Malformed signature line: {line[:80]!r}.") from None
        if not space or len(raw) < 5:
            raise _malformed(f"Malformed signature line: {line[:80]!r}.")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    if not signatures:
        raise _malformed("The note carries no signature.")
    return (head + "\n").encode("utf-8"), signatures


def checkpoint_note(
    cp: Checkpoint, log_key: Ed25519PublicKey, cosignatures: Sequence[NoteSignature] = ()
) -> str:
    """Return ``cp`` as a signed note: the log's signature line, then ``cosignatures``."""
    own = NoteSignature(cp.log_id, key_hash(cp.log_id, ALG_ED25519, log_key), cp.signature)
    return format_note(cp.body(), [own, *cosignatures])


def read_checkpoint_note(text: str | bytes) -> tuple[CheckpointNote, list[NoteSignature]]:
    """Parse a checkpoint note WITHOUT checking any signature: the checkpoint's fields (its
    ``signature`` left empty) and every signature line.

    For a verifier that must read the log before it knows which key signs its latest checkpoint
    (the key in force after rotations); it then calls :func:`parse_checkpoint_note` with that key.

    Raises:
        VerificationFailed: ``reason='malformed'`` for a note or body that is not a checkpoint
            of this format.
    """
    body, signatures = parse_note(text)
    lines = body.decode("utf-8").split("\n")[:-1]
    if len(lines) != 4:
        raise _malformed(
            "A faceledger checkpoint body has four lines (log id, tree size, root hash, "
            f"timestamp); this one has {len(lines)}."
        )
    origin, size_text, root_text, ts_text = lines
    try:
        validate_log_id(origin)
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise ValueError("tree size is not a decimal number")
        root = base64.b64decode(root_text, validate=True)
        if len(root) != HASH_SIZE:
            raise ValueError("root hash is not 32 bytes")
        stamp = parse_ts(ts_text)
    except (LedgerError, ValueError, binascii.Error) as exc:
        raise _malformed(f"Malformed checkpoint body: {exc}") from None
    if checkpoint_body(origin, int(size_text), root, stamp) != body:
        raise _malformed("The checkpoint body is not in canonical form.")
    unsigned = CheckpointNote(
        log_id=origin,
        tree_size=int(size_text),
        root_hash=root,
        timestamp_text=ts_text,
        signature=b"",
        body=body,
        others=(),
    )
    return unsigned, signatures


def parse_checkpoint_note(text: str | bytes, log_key: Ed25519PublicKey) -> CheckpointNote:
    """Parse a checkpoint note and verify the log's own signature in it with ``log_key``.

    Raises:
        VerificationFailed: ``reason='malformed'`` for a note or body that is not a checkpoint
            of this format; ``reason='bad_signature'`` if no line under the log id's name and
            key hash carries a valid signature by ``log_key``.
    """
    unsigned, signatures = read_checkpoint_note(text)
    origin, body = unsigned.log_id, unsigned.body
    expected = key_hash(origin, ALG_ED25519, log_key)
    own: NoteSignature | None = None
    others: list[NoteSignature] = []
    for sig in signatures:
        if own is None and sig.name == origin and sig.key_hash == expected:
            try:
                log_key.verify(sig.signature, body)
            except InvalidSignature:
                continue
            own = sig
        else:
            others.append(sig)
    if own is None:
        raise VerificationFailed(
            f"The checkpoint note for {origin!r} carries no valid signature by the log's key.",
            reason="bad_signature",
            kind="checkpoint",
            expected=f"a line '{_DASH}{origin} ...' with key hash {expected.hex()}",
            actual=", ".join(f"{s.name}/{s.key_hash.hex()}" for s in signatures),
        )
    return dataclasses.replace(unsigned, signature=own.signature, others=tuple(others))


def _check_name(name: str) -> None:
    if not name or not name.isprintable() or " " in name or "+" in name:
        raise LedgerError(
            f"A note key name must be printable, non-empty, without spaces or '+': {name!r}."
        )


def _malformed(message: str) -> VerificationFailed:
    return VerificationFailed(message, reason="malformed", kind="checkpoint")
