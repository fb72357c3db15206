"""Pull mode against a small stand-in for a unit's API on a real loopback socket (the real unit
is in tests/integration/test_witnesses.py): what is fetched, checked and posted back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from faceledger.errors import Conflict, LedgerError, VerificationFailed
from faceledger.ledger.cosignature import check_quorum
from faceledger.ledger.note import parse_checkpoint_note
from faceledger.witness.add import add_checkpoint
from faceledger.witness.pull import api_base, cosign_from_unit
from faceledger.witness.state import WitnessDir
from tests.unit.witness.conftest import LOG_KEY, NOW, MemoryLog


class FakeUnit(ThreadingHTTPServer):
    """Serves ``log``'s latest note and proofs under /api/v1 and keeps what is posted."""

    def __init__(self, log: MemoryLog) -> None:
        self.log, self.posted, self.refuse = log, [], False
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeUnit

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/api/v1/ledger/checkpoints/latest/note":
            self._send(200, self.server.log.note(), "text/plain")
        elif url.path == "/api/v1/ledger/consistency":
            query = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
            hashes = [h.hex() for h in self.server.log.proof(query["old"], query["new"])]
            self._send(200, json.dumps({"hashes": hashes}), "application/json")
        else:
            self._send(404, "{}", "application/json")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if self.server.refuse:
            error = {"error": {"code": "verification_failed", "message": "not trusted"}}
            self._send(422, json.dumps(error), "application/json")
            return
        self.server.posted.append(body)
        self._send(200, json.dumps({"checkpoint": 4, "stored": ["w"], "cosigned": ["w"]}), "")

    def _send(self, status: int, text: str, kind: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def unit(log: MemoryLog) -> Iterator[FakeUnit]:
    server = FakeUnit(log)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_api_base() -> None:
    assert api_base("https://unit.example/") == "https://unit.example/api/v1"
    assert api_base("https://unit.example/api/v1") == "https://unit.example/api/v1"


def test_pull_cosigns_and_posts_the_note_back(witness: WitnessDir, unit: FakeUnit) -> None:
    first = cosign_from_unit(witness, unit.url, clock=lambda: NOW)
    assert (first.old_size, first.tree_size, first.stored) == (0, 5, ["w"])
    unit.log.grow(4)
    second = cosign_from_unit(witness, unit.url, clock=lambda: NOW)
    assert (second.old_size, second.tree_size) == (5, 9)
    posted = parse_checkpoint_note(unit.posted[-1], LOG_KEY.public_key())
    assert posted.tree_size == 9
    assert check_quorum(posted, [witness.identity], 1, now=NOW) == [witness.name]


def test_a_smaller_checkpoint_is_a_rollback(witness: WitnessDir, unit: FakeUnit) -> None:
    bigger = unit.log.fork().grow(3)
    add_checkpoint(witness, bigger.request(0), clock=lambda: NOW)
    with pytest.raises(Conflict) as caught:
        cosign_from_unit(witness, unit.url, clock=lambda: NOW)
    assert caught.value.details["reason"] == "rollback"
    assert [p.name.startswith("rollback-") for p in witness.evidence_dir.iterdir()] == [True]
    assert unit.posted == []


def test_a_fork_is_refused_as_inconsistent(witness: WitnessDir, unit: FakeUnit) -> None:
    cosign_from_unit(witness, unit.url, clock=lambda: NOW)
    unit.log.leaves[0] = bytes(32)  # history rewritten, then grown
    unit.log.grow(2)
    with pytest.raises(VerificationFailed) as caught:
        cosign_from_unit(witness, unit.url, clock=lambda: NOW)
    assert caught.value.details["reason"] == "inconsistent"
    assert len(unit.posted) == 1


def test_the_units_refusal_is_named(witness: WitnessDir, unit: FakeUnit) -> None:
    unit.refuse = True
    with pytest.raises(LedgerError, match="HTTP 422: not trusted"):
        cosign_from_unit(witness, unit.url, clock=lambda: NOW)


def test_an_unreachable_unit_is_named(witness: WitnessDir, unit: FakeUnit) -> None:
    url = unit.url
    unit.shutdown()
    unit.server_close()
    with pytest.raises(LedgerError, match="Cannot reach the unit"):
        cosign_from_unit(witness, url, clock=lambda: NOW)
