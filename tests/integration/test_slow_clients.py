"""Slow clients against the real `faceledger serve` process: a request head that trickles in
and a body that stalls are cut off after their timeouts (1 s here, from the environment), in
one process and with ``--workers``; a normal request still works."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.conftest import RunningServer, start_server, stop_server

TIMEOUT = 1
GIVE_UP = 8.0
"""A server without timeouts would still be reading after this many seconds."""


@pytest.fixture(scope="module", params=[(), ("--workers", "2")], ids=["one-process", "workers"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FACELEDGER_HEADER_TIMEOUT_SECONDS", str(TIMEOUT))
        env.setenv("FACELEDGER_BODY_TIMEOUT_SECONDS", str(TIMEOUT))
        running = start_server(tmp_path_factory.mktemp("slow") / "data", extra=request.param)
    try:
        yield running
    finally:
        stop_server(running)


def connect(server: RunningServer) -> socket.socket:
    url = urlsplit(server.url)
    assert url.hostname is not None and url.port is not None
    return socket.create_connection((url.hostname, url.port), timeout=GIVE_UP)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a timeout here fails the test)."""
    reply = b""
    while data := sock.recv(65536):
        reply += data
    return reply


def test_a_trickling_request_head_is_dropped(server: RunningServer) -> None:
    head = f"GET /login HTTP/1.1\r\nHost: {urlsplit(server.url).netloc}\r\n\r\n".encode()
    with connect(server) as sock:
        started = time.monotonic()
        reply = b""
        for byte in head:  # one byte every half second: the head would take ~20 s
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sock.settimeout(0.5)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            reply = data
            break
        else:
            pytest.fail("the server took the whole trickled head")
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + 2.5, f"the connection stayed open {elapsed:.1f} s"
    assert reply == b"" or reply.startswith(b"HTTP/1.1 408 "), reply


def test_a_body_that_stalls_is_answered_408(server: RunningServer) -> None:
    head = (
        "POST /api/v1/auth/login HTTP/1.1\r\n"
        f"Host: {urlsplit(server.url).netloc}\r\n"
        "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    )
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(head.encode() + b'{"username": "adm')  # ... and nothing more
        reply = read_until_closed(sock)
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + 3.5, f"the connection stayed open {elapsed:.1f} s"
    status, _, rest = reply.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 408 "), reply
    error = json.loads(rest.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == "body_timeout" and "not sent in time" in error["message"]


def test_a_web_form_that_stalls_is_answered_408(server: RunningServer) -> None:
    head = (
        "POST /login HTTP/1.1\r\n"
        f"Host: {urlsplit(server.url).netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    )
    with connect(server) as sock:
        sock.sendall(head.encode() + b"username=adm")
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 408 "), reply
    assert b"Too slow: The request body was not sent in time" in reply


def test_a_normal_request_still_works(server: RunningServer) -> None:
    # A head in two parts, well within the timeout, and a kept-alive second request.
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/api/v1/health").status_code == 200
        time.sleep(TIMEOUT + 0.5)  # idle between requests: uvicorn's keep-alive rules
        assert client.get("/login").status_code == 200
    with connect(server) as sock:
        host = urlsplit(server.url).netloc
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
        time.sleep(TIMEOUT / 3)
        sock.sendall(f"Host: {host}\r\nConnection: close\r\n\r\n".encode())
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200 ")
