"""The witness's HTTP service on a real loopback socket: statuses and content types."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from faceledger.witness.protocol import MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE
from faceledger.witness.server import WitnessServer, make_server
from faceledger.witness.state import WitnessDir
from tests.unit.witness.conftest import MemoryLog


@pytest.fixture
def server(witness: WitnessDir) -> Iterator[WitnessServer]:
    running = make_server(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield running
    running.shutdown()
    running.server_close()
    thread.join()


def _post(server: WitnessServer, body: bytes, path: str = "/add-checkpoint") -> httpx.Response:
    return httpx.post(server.url + path, content=body, timeout=10)


def test_statuses_over_http(server: WitnessServer, log: MemoryLog) -> None:
    ok = _post(server, log.request(0))
    assert ok.status_code == 200
    assert ok.text.startswith("\u2014 witness.example/w1 ") and ok.text.endswith("\n")
    log.grow(2)
    stale = _post(server, log.request(0))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == SIZE_CONTENT_TYPE
    assert stale.text == "5\n"
    fork = log.fork()
    fork.leaves[-1] = bytes(32)
    assert _post(server, log.request(5)).status_code == 200
    split = _post(server, fork.request(7))
    assert split.status_code == 409 and "Split view" in split.text
    assert split.headers["content-type"].startswith("text/plain")
    assert _post(server, b"old x\n\n").status_code == 400
    assert (
        _post(server, MemoryLog(origin="other.example/log").grow(1).request(0)).status_code == 404
    )


def test_limits_and_unknown_paths(server: WitnessServer) -> None:
    assert _post(server, b"x" * (MAX_REQUEST_BYTES + 1)).status_code == 413
    assert _post(server, b"old 0\n\n", path="/elsewhere").status_code == 404
    home = httpx.get(server.url + "/", timeout=10)
    assert home.status_code == 200
    assert server.witness.identity.vkey() in home.text
