"""The add-checkpoint wire format, both ways."""

from __future__ import annotations

import base64

import pytest

from faceledger.errors import InvalidInput, VerificationFailed
from faceledger.witness.protocol import (
    MAX_PROOF_LINES,
    format_add_checkpoint,
    parse_add_checkpoint,
    parse_cosignatures,
    parse_size,
)
from tests.unit.witness.conftest import MemoryLog


def test_a_request_round_trips(log: MemoryLog) -> None:
    log.grow(3)
    proof = log.proof(5, 8)
    body = format_add_checkpoint(5, proof, log.note())
    lines = body.decode().split("\n")
    assert lines[0] == "old 5"
    assert lines[1 : 1 + len(proof)] == [base64.b64encode(h).decode() for h in proof]
    assert lines[1 + len(proof)] == ""
    parsed = parse_add_checkpoint(body)
    assert (parsed.old_size, parsed.proof, parsed.note) == (5, proof, log.note().encode())


def test_an_empty_proof_is_old_line_then_empty_line(log: MemoryLog) -> None:
    body = format_add_checkpoint(0, (), log.note())
    assert body.startswith(b"old 0\n\n" + log.note().encode()[:10])
    assert parse_add_checkpoint(body).proof == ()


@pytest.mark.parametrize(
    "head",
    ["old 01", "old -1", "old", "old  1", "Old 1", "old 1 ", "old 1\nnot-base64!", "old 1\nAAAA"],
)
def test_malformed_heads_are_refused(head: str, log: MemoryLog) -> None:
    with pytest.raises(InvalidInput):
        parse_add_checkpoint(head.encode() + b"\n\n" + log.note().encode())


def test_at_most_63_proof_lines(log: MemoryLog) -> None:
    line = base64.b64encode(bytes(32)).decode() + "\n"
    body = ("old 9\n" + line * (MAX_PROOF_LINES + 1) + "\n").encode() + log.note().encode()
    with pytest.raises(InvalidInput, match="63"):
        parse_add_checkpoint(body)
    with pytest.raises(InvalidInput):
        format_add_checkpoint(9, [bytes(32)] * (MAX_PROOF_LINES + 1), log.note())


def test_size_answers() -> None:
    assert parse_size("17\n") == 17
    for bad in ("", "017\n", "x\n", "-1\n"):
        with pytest.raises(InvalidInput):
            parse_size(bad)


def test_cosignature_answers_are_read_as_lines_of_the_note(log: MemoryLog) -> None:
    line = "\u2014 w.example/1 " + base64.b64encode(bytes(76)).decode() + "\n"
    found = parse_cosignatures(log.note(), line)
    assert [(s.name, len(s.signature)) for s in found] == [("w.example/1", 72)]
    with pytest.raises(VerificationFailed):
        parse_cosignatures(log.note(), "not a signature line\n")
