"""The add-checkpoint checks of c2sp.org/tlog-witness, each refusal with the spec's status."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.errors import (
    Conflict,
    FaceLedgerError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    VerificationFailed,
)
from faceledger.ledger.cosignature import check_quorum
from faceledger.ledger.note import checkpoint_note, parse_checkpoint_note
from faceledger.witness.add import add_checkpoint
from faceledger.witness.protocol import format_add_checkpoint
from faceledger.witness.state import WitnessDir
from tests.unit.witness.conftest import LOG_KEY, NOW, MemoryLog


def _add(witness: WitnessDir, body: bytes):  # type: ignore[no-untyped-def]
    return add_checkpoint(witness, body, clock=lambda: NOW)


def _refused(witness: WitnessDir, body: bytes, error: type[FaceLedgerError]) -> FaceLedgerError:
    before = witness.latest(next(iter(witness.logs.values())))
    with pytest.raises(error) as caught:
        _add(witness, body)
    # A refusal never moves the witness's state.
    assert witness.latest(next(iter(witness.logs.values()))) == before
    return caught.value


def test_the_first_checkpoint_is_cosigned_and_recorded(witness: WitnessDir, log: MemoryLog) -> None:
    done = _add(witness, log.request(0))
    assert (done.old_size, done.tree_size, done.again) == (0, 5, False)
    state = witness.latest(witness.logs[log.origin])
    assert state is not None and (state.tree_size, state.root_hash) == (5, log.root(5))
    assert state.cosigned_at == int(NOW)
    note = parse_checkpoint_note(
        checkpoint_note(
            parse_checkpoint_note(log.note(), LOG_KEY.public_key()).checkpoint(0),
            LOG_KEY.public_key(),
            done.lines,
        ),
        LOG_KEY.public_key(),
    )
    assert check_quorum(note, [witness.identity], 1, now=NOW) == [witness.name]


def test_a_checkpoint_that_extends_the_last_is_cosigned(
    witness: WitnessDir, log: MemoryLog
) -> None:
    _add(witness, log.request(0))
    log.grow(6)
    done = _add(witness, log.request(5))
    assert (done.old_size, done.tree_size) == (5, 11)


def test_the_same_checkpoint_again_is_cosigned_again(witness: WitnessDir, log: MemoryLog) -> None:
    _add(witness, log.request(0))
    again = _add(witness, log.request(5, minute=1))  # same size and root, signed later
    assert again.again and again.tree_size == 5


def test_a_wrong_old_size_is_409_with_the_latest_size(witness: WitnessDir, log: MemoryLog) -> None:
    _add(witness, log.request(0))
    log.grow(3)
    error = _refused(witness, log.request(4), Conflict)
    assert error.details["reason"] == "old_size_mismatch"
    assert error.details["latest_size"] == 5
    error = _refused(witness, log.request(0), Conflict)
    assert error.details["latest_size"] == 5


def test_an_unknown_origin_is_404(witness: WitnessDir) -> None:
    other = MemoryLog(origin="example.org/another-log").grow(2)
    assert _refused(witness, other.request(0), NotFound).status == 404


def test_a_checkpoint_not_signed_by_the_log_is_403(witness: WitnessDir) -> None:
    impostor = MemoryLog(key=Ed25519PrivateKey.generate()).grow(2)
    assert _refused(witness, impostor.request(0), PermissionDenied).status == 403


def test_an_old_size_beyond_the_checkpoint_is_400(witness: WitnessDir, log: MemoryLog) -> None:
    body = format_add_checkpoint(6, (), log.note())
    assert _refused(witness, body, InvalidInput).status == 400


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 0\n",
        b"old 05\n\nexample.org/log\n1\n",
        b"new 0\n\nx",
        b"old 0\n\nnot a note",
    ],
)
def test_a_malformed_request_is_400(witness: WitnessDir, body: bytes) -> None:
    assert _refused(witness, body, InvalidInput).status == 400


def test_a_proof_from_size_zero_must_be_empty(witness: WitnessDir, log: MemoryLog) -> None:
    body = format_add_checkpoint(0, [bytes(32)], log.note())
    _refused(witness, body, InvalidInput)


def test_a_bad_consistency_proof_is_422_and_kept(witness: WitnessDir, log: MemoryLog) -> None:
    _add(witness, log.request(0))
    log.grow(4)
    proof = list(log.proof(5, 9))
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    error = _refused(witness, format_add_checkpoint(5, proof, log.note()), VerificationFailed)
    assert error.status == 422 and error.details["reason"] == "inconsistent"
    evidence = list(witness.evidence_dir.iterdir())
    assert [p.name.startswith("inconsistent-") for p in evidence] == [True]
    assert log.note() in evidence[0].read_text()


def test_a_checkpoint_that_does_not_extend_the_last_is_refused(
    witness: WitnessDir, log: MemoryLog
) -> None:
    fork = log.fork()
    fork.leaves[2] = b"\x00" * 32  # the fork rewrote history below the cosigned size
    fork.grow(3, tag="-fork")
    _add(witness, log.request(0))
    # A proof the fork can give is consistent with its own past, not with what was cosigned.
    body = format_add_checkpoint(5, fork.proof(5, 8), fork.note())
    assert _refused(witness, body, VerificationFailed).details["reason"] == "inconsistent"


def test_a_split_view_is_409_reported_and_kept_once(witness: WitnessDir, log: MemoryLog) -> None:
    fork = log.fork()
    log.grow(2)
    fork.grow(2, tag="-fork")  # same size 7, another root: both signed by the log
    _add(witness, log.request(0))
    error = _refused(witness, fork.request(7), Conflict)
    assert error.status == 409 and error.details["reason"] == "split_view"
    assert error.details["expected"] == log.root(7).hex()
    assert error.details["actual"] == fork.root(7).hex()
    files = list(witness.evidence_dir.iterdir())
    assert len(files) == 1 and files[0].name.startswith("split-view-")
    text = files[0].read_text()
    assert log.note() in text and fork.note() in text
    _refused(witness, fork.request(7), Conflict)
    assert list(witness.evidence_dir.iterdir()) == files  # the same conflict kept once


def test_an_empty_tree_needs_the_empty_root(witness: WitnessDir) -> None:
    empty = MemoryLog()
    assert _add(witness, empty.request(0)).tree_size == 0


def test_two_racing_requests_from_one_size_cosign_once(witness: WitnessDir, log: MemoryLog) -> None:
    _add(witness, log.request(0))
    a, b = log.fork().grow(2), log.fork().grow(4)
    bodies = [a.request(5), b.request(5)]
    results: list[object] = []
    start = threading.Barrier(2)

    def run(body: bytes) -> None:
        start.wait()
        try:
            results.append(_add(witness, body))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1 and refused[0].details["reason"] == "old_size_mismatch"
    state = witness.latest(witness.logs[log.origin])
    assert state is not None and state.tree_size in (7, 9)
