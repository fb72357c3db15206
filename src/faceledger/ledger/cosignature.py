"""Witness cosignatures on checkpoints: C2SP ``tlog-cosignature`` (``cosignature/v1``, Ed25519).

A cosignature is a signed-note signature line (:class:`~faceledger.ledger.note.NoteSignature`)
added to a checkpoint note by a *witness*, a party outside the unit that checked the checkpoint
extends the last one it saw (``c2sp.org/tlog-witness``). Per ``c2sp.org/tlog-cosignature``:

* key hash (the signed-note key ID) = ``SHA-256(name || "\\n" || 0x04 || 32-byte Ed25519
  public key)[:4]``;
* signature = ``timestamped_signature``: an 8-byte big-endian POSIX ``timestamp`` (at most
  2^63 - 1) followed by the 64-byte Ed25519 (RFC 8032) signature;
* signed message = ``"cosignature/v1\\n"`` + ``"time <timestamp>\\n"`` (ASCII decimal, no
  leading zeroes) + the whole checkpoint note body, final newline included, no signature lines.

A witness's public key travels as a signed-note *verifier key* (vkey)::

    <name>+<key hash, 8 hex digits>+<base64(0x04 || 32-byte Ed25519 public key)>

The name may not contain ``+``; base64 may, so a vkey splits on the first two only.

Checking a quorum (:func:`check_quorum`) follows ``c2sp.org/signed-note``: lines whose name and
key hash match no configured witness are ignored; a line that matches one is verified. Two
decisions of ours, where the specs leave a choice:

* a cosignature from a configured witness whose Ed25519 signature does not verify makes the
  whole note fail (``reason='bad_cosignature'``), as signed-note says clients SHOULD: a note
  carrying a forged line was tampered with;
* a cosignature timestamped more than :data:`MAX_FUTURE_SECONDS` ahead of the verifier's clock
  is not counted (tlog-cosignature says verifiers MAY reject future timestamps): a witness may
  not vouch now for a time that has not come, but clock skew of a few minutes is tolerated.

Like :mod:`.note` this module needs only the standard library and ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.errors import InvalidInput, LedgerError, VerificationFailed
from faceledger.ledger.note import (
    ALG_COSIGNATURE_V1,
    CheckpointNote,
    NoteSignature,
    key_hash,
    parse_checkpoint_note,
    raw_public_key,
)

__all__ = [
    "COSIGNATURE_HEADER",
    "MAX_FUTURE_SECONDS",
    "MAX_TIMESTAMP",
    "WitnessKey",
    "check_note_quorum",
    "check_quorum",
    "cosignature_timestamp",
    "cosigned_message",
    "load_witness_key",
    "load_witness_keys",
    "parse_vkey",
    "sign_cosignature",
    "verify_cosignature",
]

COSIGNATURE_HEADER = b"cosignature/v1\n"
"""The domain-separating first line of the signed message."""
MAX_TIMESTAMP = 2**63 - 1
"""Largest timestamp a cosignature may carry (tlog-cosignature)."""
MAX_FUTURE_SECONDS = 300
"""How far ahead of the verifier's clock a cosignature's timestamp may be and still count."""
_SIGNATURE_BYTES = 8 + 64  # timestamp || Ed25519 signature
_VKEY_FILE_LIMIT = 4096


@dataclass(frozen=True)
class WitnessKey:
    """A witness's identity: its key name and Ed25519 public key, and the key hash they give."""

    name: str
    public_key: Ed25519PublicKey
    key_hash: bytes

    @classmethod
    def of(cls, name: str, public_key: Ed25519PublicKey) -> WitnessKey:
        """Return the witness key for ``name`` and ``public_key``.

        Raises:
            LedgerError: for a name a note line cannot carry (empty, spaces, ``+``).
        """
        return cls(name, public_key, key_hash(name, ALG_COSIGNATURE_V1, public_key))

    def vkey(self) -> str:
        """Return the verifier key text (module doc), what the unit and auditors are given."""
        material = bytes([ALG_COSIGNATURE_V1]) + raw_public_key(self.public_key)
        return f"{self.name}+{self.key_hash.hex()}+{base64.b64encode(material).decode('ascii')}"

    def matches(self, signature: NoteSignature) -> bool:
        """Whether a signature line names this key (name and key hash), as signed-note matches."""
        return signature.name == self.name and hmac.compare_digest(
            signature.key_hash, self.key_hash
        )


def parse_vkey(text: str) -> WitnessKey:
    """Parse a ``cosignature/v1`` verifier key (module doc).

    Raises:
        InvalidInput: if it is not ``name+hash+base64``, its key type is not 0x04, the key is
            not 32 bytes, or the key hash is not the one the name and key give.
    """
    value = text.strip()
    name, _, rest = value.partition("+")
    hash_hex, _, blob = rest.partition("+")
    try:
        material = base64.b64decode(blob, validate=True)
        given_hash = bytes.fromhex(hash_hex)
    except (binascii.Error, ValueError):
        raise _bad_vkey(value, "the key hash or key is not hex and base64") from None
    if not name or len(given_hash) != 4 or not material:
        raise _bad_vkey(value, "expected <name>+<8 hex digits>+<base64 key>")
    if material[0] != ALG_COSIGNATURE_V1 or len(material) != 33:
        raise _bad_vkey(
            value, "not an Ed25519 cosignature/v1 key (type byte 0x04 and 32 key bytes)"
        )
    try:
        key = WitnessKey.of(name, Ed25519PublicKey.from_public_bytes(material[1:]))
    except (LedgerError, ValueError) as exc:
        raise _bad_vkey(value, str(exc)) from None
    if not hmac.compare_digest(key.key_hash, given_hash):
        raise _bad_vkey(value, f"its key hash should be {key.key_hash.hex()}")
    return key


def load_witness_key(value: str) -> WitnessKey:
    """Return the witness key in ``value``: a vkey, or the path of a file holding one.

    Raises:
        InvalidInput: for a file that cannot be read or a malformed vkey.
    """
    text = value.strip()
    if text.count("+") < 2 or _is_file(text):
        path = Path(text)
        try:
            with path.open("rb") as handle:
                data = handle.read(_VKEY_FILE_LIMIT + 1)
        except OSError as exc:
            raise InvalidInput(
                f"{text!r} is neither a witness vkey (name+hash+key) nor a readable file: "
                f"{exc.strerror}.",
                value=text,
            ) from None
        if len(data) > _VKEY_FILE_LIMIT:
            raise InvalidInput(f"{path} is too large to be a witness vkey file.", path=str(path))
        text = data.decode("utf-8", "replace")
    return parse_vkey(text)


def load_witness_keys(values: Iterable[str]) -> list[WitnessKey]:
    """Return the witness keys of ``values`` (vkeys or vkey files), without duplicates.

    Raises:
        InvalidInput: for any value :func:`load_witness_key` refuses, or two different keys
            under one name (a cosignature could not say which one it means).
    """
    keys: dict[str, WitnessKey] = {}
    for value in values:
        if not value.strip():
            continue
        key = load_witness_key(value)
        known = keys.get(key.name)
        if known is not None and known.key_hash != key.key_hash:
            raise InvalidInput(
                f"Two different witness keys are named {key.name!r}; give each witness its "
                "own name.",
                name=key.name,
            )
        keys[key.name] = key
    return list(keys.values())


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """Return the bytes a ``cosignature/v1`` signs over checkpoint note ``body`` (module doc).

    Raises:
        LedgerError: for a timestamp outside 0..2^63-1 or a body without its final newline.
    """
    _check_timestamp(timestamp)
    if not body.endswith(b"\n"):
        raise LedgerError("A checkpoint note body ends in a newline.")
    return COSIGNATURE_HEADER + f"time {timestamp}\n".encode("ascii") + body


def sign_cosignature(
    key: Ed25519PrivateKey, name: str, body: bytes, timestamp: int
) -> NoteSignature:
    """Cosign checkpoint note ``body`` as witness ``name`` at ``timestamp`` (POSIX seconds).

    Raises:
        LedgerError: for a bad name, timestamp or body.
    """
    witness = WitnessKey.of(name, key.public_key())
    signature = key.sign(cosigned_message(body, timestamp))
    return NoteSignature(name, witness.key_hash, timestamp.to_bytes(8, "big") + signature)


def cosignature_timestamp(signature: NoteSignature) -> int:
    """Return the timestamp a cosignature line carries.

    Raises:
        VerificationFailed: ``reason='malformed'`` unless it holds 8 + 64 bytes with a timestamp
            of at most 2^63 - 1.
    """
    if len(signature.signature) != _SIGNATURE_BYTES:
        raise _fail(
            f"The cosignature by {signature.name!r} is not 8 + 64 bytes.",
            "malformed",
            _SIGNATURE_BYTES,
            len(signature.signature),
            signature.name,
        )
    stamp = int.from_bytes(signature.signature[:8], "big")
    if stamp > MAX_TIMESTAMP:
        raise _fail(
            f"The cosignature by {signature.name!r} has a timestamp beyond 2^63 - 1.",
            "malformed",
            f"<= {MAX_TIMESTAMP}",
            stamp,
            signature.name,
        )
    return stamp


def verify_cosignature(
    witness: WitnessKey,
    body: bytes,
    signature: NoteSignature,
    *,
    now: float | None = None,
) -> int:
    """Check that ``signature`` is ``witness``'s cosignature on note ``body``; return its time.

    ``now`` (POSIX seconds, default the clock) bounds the timestamp: at most
    :data:`MAX_FUTURE_SECONDS` ahead of it.

    Raises:
        VerificationFailed: ``reason='wrong_key'`` if the line's name or key hash is not the
            witness's; ``'malformed'`` for a wrong length or timestamp; ``'future_timestamp'``;
            ``'bad_cosignature'`` if the Ed25519 signature does not verify.
    """
    # (1) The line must name this key: signed-note matches on name and key hash together.
    if not witness.matches(signature):
        raise _fail(
            f"The signature line {signature.name}/{signature.key_hash.hex()} is not by witness "
            f"{witness.name!r}.",
            "wrong_key",
            f"{witness.name}/{witness.key_hash.hex()}",
            f"{signature.name}/{signature.key_hash.hex()}",
            witness.name,
        )
    # (2) timestamped_signature: 8-byte big-endian timestamp || 64-byte signature.
    stamp = cosignature_timestamp(signature)
    # (3) Ed25519 over "cosignature/v1\ntime <t>\n" || body.
    try:
        witness.public_key.verify(signature.signature[8:], cosigned_message(body, stamp))
    except InvalidSignature:
        raise _fail(
            f"The cosignature by witness {witness.name!r} does not verify.",
            "bad_cosignature",
            "a valid Ed25519 cosignature/v1 signature",
            base64.b64encode(signature.signature).decode("ascii"),
            witness.name,
        ) from None
    # (4) A witness cannot have observed the log at a time still to come.
    limit = (time.time() if now is None else now) + MAX_FUTURE_SECONDS
    if stamp > limit:
        raise _fail(
            f"The cosignature by witness {witness.name!r} is dated {stamp}, in the future.",
            "future_timestamp",
            f"<= {int(limit)}",
            stamp,
            witness.name,
        )
    return stamp


def check_quorum(
    note: CheckpointNote,
    witnesses: Sequence[WitnessKey],
    quorum: int,
    *,
    now: float | None = None,
) -> list[str]:
    """Require valid cosignatures by at least ``quorum`` of ``witnesses`` on ``note``.

    ``note`` comes from :func:`~faceledger.ledger.note.parse_checkpoint_note`, which checked the
    log's own signature; its other lines are checked here (module doc). Each witness counts once.

    Returns:
        The names of the witnesses that cosigned, in the order given.

    Raises:
        InvalidInput: unless 1 <= ``quorum`` <= the number of distinct witnesses (a quorum of
            none would pass vacuously, one above it can never be met).
        VerificationFailed: ``reason='bad_cosignature'`` if a configured witness's line does not
            verify; ``reason='quorum_not_met'`` with ``expected`` (the quorum), ``actual`` (the
            count), ``missing`` (witnesses without a line) and ``invalid`` (witness: why not
            counted) otherwise.
    """
    distinct = {w.name: w for w in witnesses}
    if not 1 <= quorum <= len(distinct):
        raise InvalidInput(
            f"A witness quorum must be between 1 and the {len(distinct)} witness key(s) given, "
            f"got {quorum}.",
            quorum=quorum,
            witnesses=len(distinct),
        )
    cosigned: list[str] = []
    missing: list[str] = []
    invalid: dict[str, str] = {}
    for witness in distinct.values():
        lines = [s for s in note.others if witness.matches(s)]
        if not lines:
            missing.append(witness.name)
            continue
        counted = False
        for line in lines:
            try:
                verify_cosignature(witness, note.body, line, now=now)
            except VerificationFailed as exc:
                if exc.details.get("reason") == "bad_cosignature":
                    raise
                invalid[witness.name] = exc.message
            else:
                counted = True
        if counted:
            cosigned.append(witness.name)
            invalid.pop(witness.name, None)
    if len(cosigned) < quorum:
        raise VerificationFailed(
            f"Checkpoint {note.tree_size} of {note.log_id!r} has {len(cosigned)} valid witness "
            f"cosignature(s); {quorum} are required."
            + (f" Missing: {', '.join(missing)}." if missing else "")
            + (f" Not counted: {', '.join(invalid)}." if invalid else ""),
            reason="quorum_not_met",
            kind="checkpoint",
            expected=quorum,
            actual=len(cosigned),
            cosigned=cosigned,
            missing=missing,
            invalid=invalid,
        )
    return cosigned


def check_note_quorum(
    text: str | bytes,
    log_key: Ed25519PublicKey,
    witnesses: Sequence[WitnessKey],
    quorum: int,
    *,
    now: float | None = None,
) -> list[str]:
    """Check a checkpoint note (a saved file, a tiles ``checkpoint``): the log's signature by
    ``log_key``, then ``quorum`` cosignatures of ``witnesses``; return who cosigned.

    Raises:
        VerificationFailed: as :func:`~faceledger.ledger.note.parse_checkpoint_note` and
            :func:`check_quorum`.
        InvalidInput: for a quorum outside 1..len(witnesses).
    """
    return check_quorum(parse_checkpoint_note(text, log_key), witnesses, quorum, now=now)


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long for a path, or a NUL in it
        return False


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise LedgerError(f"A cosignature timestamp is an integer, got {timestamp!r}.")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise LedgerError(f"A cosignature timestamp must be 0..2^63-1, got {timestamp}.")


def _fail(
    message: str, reason: str, expected: object, actual: object, witness: str
) -> VerificationFailed:
    return VerificationFailed(
        message,
        reason=reason,
        kind="cosignature",
        witness=witness,
        expected=expected,
        actual=actual,
    )


def _bad_vkey(value: str, why: str) -> InvalidInput:
    return InvalidInput(f"Not a usable witness vkey ({why}): {value[:120]!r}.", vkey=value[:120])
