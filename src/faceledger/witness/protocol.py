"""The ``add-checkpoint`` wire format of ``c2sp.org/tlog-witness``, both ways.

Request body (every line ends in ``\\n``)::

    old <size of the witness's latest cosigned checkpoint, ASCII decimal, no leading zeroes>
    <consistency proof hash, base64>        (0 to 63 lines; none when the old size is 0)
    <empty line>
    <the checkpoint: a signed note, c2sp.org/tlog-checkpoint>

Answers: 200 with one or more cosignature lines (``— <name> <base64>``, each ending in
``\\n``); 409 with ``Content-Type: text/x.tlog.size`` and the witness's latest size plus
``\\n`` when the old size is not that size; 409 (other type) for the same size with another
root; 400 bad request or old > new; 403 no trusted log signature; 404 unknown origin; 422 the
consistency proof does not verify.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from faceledger.errors import InvalidInput
from faceledger.ledger.merkle import HASH_SIZE
from faceledger.ledger.note import NoteSignature, parse_note

__all__ = [
    "ADD_CHECKPOINT_PATH",
    "MAX_PROOF_LINES",
    "MAX_REQUEST_BYTES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpointRequest",
    "format_add_checkpoint",
    "format_cosignatures",
    "parse_add_checkpoint",
    "parse_cosignatures",
    "parse_size",
]

ADD_CHECKPOINT_PATH = "/add-checkpoint"
SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
"""At most this many proof lines (tlog-witness): enough for any tree of up to 2^63 leaves."""
MAX_REQUEST_BYTES = 64 * 1024
"""Largest request a witness reads: 63 proof lines and a checkpoint with dozens of signatures."""
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class AddCheckpointRequest:
    """A parsed ``add-checkpoint`` request: old size, consistency proof, checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str | bytes) -> bytes:
    """Return the request body for ``old_size``, the consistency ``proof`` and ``note``.

    Raises:
        InvalidInput: for a negative size or more than 63 proof hashes.
    """
    if old_size < 0 or len(proof) > MAX_PROOF_LINES:
        raise InvalidInput(
            "An add-checkpoint request needs an old size >= 0 and at most 63 proof hashes.",
            old_size=old_size,
            proof_lines=len(proof),
        )
    data = note.encode("utf-8") if isinstance(note, str) else note
    lines = "".join(base64.b64encode(h).decode("ascii") + "\n" for h in proof)
    return f"old {old_size}\n{lines}\n".encode("ascii") + data


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Parse an ``add-checkpoint`` request body (module doc); the note is not parsed here.

    Raises:
        InvalidInput: (400) naming what is malformed.
    """
    if len(body) > MAX_REQUEST_BYTES:
        raise InvalidInput(f"The request is larger than {MAX_REQUEST_BYTES} bytes.")
    head, sep, note = body.partition(b"\n\n")
    if not sep or not note:
        raise InvalidInput(
            "An add-checkpoint request is an old size line, proof lines, an empty line and a "
            "checkpoint."
        )
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise InvalidInput("The old size and proof lines must be ASCII.") from None
    found = _OLD_LINE.fullmatch(lines[0])
    if found is None:
        raise InvalidInput(
            f"The first line must be 'old <size>' in decimal without leading zeroes, got "
            f"{lines[0][:40]!r}."
        )
    proof_lines = lines[1:]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise InvalidInput(f"More than {MAX_PROOF_LINES} consistency proof lines.")
    proof: list[bytes] = []
    for number, line in enumerate(proof_lines, start=1):
        try:
            value = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            value = b""
        if len(value) != HASH_SIZE:
            raise InvalidInput(f"Proof line {number} is not a base64 SHA-256 hash.", line=number)
        proof.append(value)
    return AddCheckpointRequest(int(found.group(1)), tuple(proof), note)


def format_cosignatures(lines: Sequence[NoteSignature]) -> str:
    """Return the 200 answer body: the cosignature lines."""
    return "".join(line.line() for line in lines)


def parse_cosignatures(note: str, answer: str) -> list[NoteSignature]:
    """Return the signature lines of a 200 answer to ``note`` (unverified).

    As tlog-witness suggests, the answer is appended to the checkpoint note and read as a note.

    Raises:
        VerificationFailed: ``reason='malformed'`` if the answer is not signature lines.
    """
    _, before = parse_note(note)
    _, after = parse_note(note + answer)
    return after[len(before) :]


def parse_size(answer: str) -> int:
    """Return the size in a 409 ``text/x.tlog.size`` answer.

    Raises:
        InvalidInput: if it is not a decimal number and a newline.
    """
    text = answer.removesuffix("\n")
    if not _OLD_LINE.fullmatch(f"old {text}"):
        raise InvalidInput(f"The witness's size answer is not a number: {answer[:40]!r}.")
    return int(text)
