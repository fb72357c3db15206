"""One body limit for the whole server (API and pages), over a real socket: a body over its
limit is refused before it is read, or as soon as it streams past, and nothing is spooled or
written. The server is ``create_app`` in uvicorn with the bounds ``faceledger serve`` gives it
(:func:`faceledger.http_limits.uvicorn_options`), over the FAKE face pipeline (tests/fakes.py):
no face is analysed here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from faceledger.api.errors import BodyTooLarge
from faceledger.errors import ImageTooLarge
from faceledger.http_limits import FORM_OVERHEAD_BYTES, LOGIN_BODY_BYTES, uvicorn_options
from faceledger.server import create_app
from tests.backends import copy_data_dir, listening_socket
from tests.conftest import make_settings
from tests.factories import PASSWORD, FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import API, populate, stored_counts

MAX_BYTES = 200_000
MiB = 1024 * 1024


def _socket_buffer_max() -> int:
    """The most the kernel may buffer for one loopback connection: the send side's and the
    receive side's autotuning maximum (tcp_wmem, tcp_rmem), 10 MiB if they cannot be read."""
    try:
        return sum(
            int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[2])
            for name in ("tcp_wmem", "tcp_rmem")
        )
    except (OSError, ValueError, IndexError):
        return 10 * MiB


EARLY = max(32 * MiB, 2 * _socket_buffer_max())
"""Far past the limits here: the client's count includes what the kernel's socket buffers took
on both ends before the refusal, so a server that stopped at its limit shows a few MiB; one
that read this far spooled."""
FLOOD = 4 * EARLY
"""What a flooding client would send; the server must stop reading long before."""
BOUNDARY = "xyz"


class Site:
    """The whole server on a local port, its service, and a requester logged in on the web."""

    def __init__(self, service: FastFaceLedger, client: httpx.Client, token: str) -> None:
        self.service = service
        self.client = client
        self.token = token

    def stored(self) -> tuple[int, int, int]:
        """Requests, probe images and ledger entries stored now."""
        return stored_counts(self.service)


@pytest.fixture(scope="module")
def server(
    fake_enrolled_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("limits") / "data"
    copy_data_dir(fake_enrolled_template, data_dir)
    service = FastFaceLedger(
        make_settings(data_dir, max_image_bytes=MAX_BYTES), pipeline=fake_pipeline()
    )
    try:
        _, _, _, tokens = populate(service)
        with bounded(create_app(service)) as client:
            log_in(client, "det-jones")
            yield Site(service, client, tokens["requester"])
    finally:
        service.close()


@contextmanager
def bounded(app: ASGIApp) -> Iterator[httpx.Client]:
    """Serve ``app`` on a free local port as ``faceledger serve`` does; yield a client."""
    sock = listening_socket()
    host, port = sock.getsockname()
    config = uvicorn.Config(app, log_level="warning", access_log=False, **uvicorn_options(10))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def log_in(client: httpx.Client, username: str) -> None:
    """Log ``client`` in through the web login form (the session cookie stays in it)."""
    form = client.get("/login")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
def nothing_written(server: Site) -> Iterator[None]:
    """Assert the test leaves no request, probe image or ledger entry behind."""
    before = server.stored()
    yield
    assert server.stored() == before


class Flood:
    """A body generator that counts what the client managed to hand to the socket."""

    def __init__(self, first: bytes, total: int, filler: bytes = b"\xff") -> None:
        self.first = first
        self.total = total
        self.filler = filler
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        self.sent += len(self.first)
        yield self.first
        block = self.filler * 65536
        while self.sent < self.total:
            part = block[: self.total - self.sent]
            self.sent += len(part)
            yield part

    def stopped_early(self) -> bool:
        """Whether the server stopped reading well before the end of the flood."""
        return self.sent < EARLY


def probe_part() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="probe"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()


def multipart(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **(extra or {})}


@pytest.mark.usefixtures("nothing_written")
def test_web_upload_without_csrf_is_cut_off_while_streaming(server: Site) -> None:
    # The attack: a logged-in requester streams a huge chunked upload without a CSRF token.
    flood = Flood(probe_part(), FLOOD)
    answer = server.client.post("/requests/new", content=iter(flood), headers=multipart())
    assert answer.status_code == 413, answer.text
    assert answer.text.startswith("Too large:") and "over the limit" in answer.text
    assert answer.headers["connection"] == "close"
    assert flood.stopped_early(), f"the server read {flood.sent} bytes of the flood"


@pytest.mark.usefixtures("nothing_written")
def test_web_upload_over_its_declared_length_is_refused_unread(server: Site) -> None:
    limit = (MAX_BYTES + 2) // 3 * 4 + FORM_OVERHEAD_BYTES
    headers = multipart({"Content-Length": str(limit + 1)})
    # Content-Length is over: the answer comes without the body being read at all.
    flood = Flood(probe_part(), limit + 1)
    answer = server.client.post("/requests/new", content=iter(flood), headers=headers)
    assert answer.status_code == 413 and answer.text.startswith("Too large:")


@pytest.mark.usefixtures("nothing_written")
def test_login_flood_is_refused_before_it_is_parsed(server: Site) -> None:
    # The attack: a flood of "&" (50 MiB in the attack run) to the login form, unauthenticated.
    anonymous = httpx.Client(base_url=server.client.base_url, timeout=60)
    flood = Flood(b"&", FLOOD, filler=b"&")
    started = time.monotonic()
    with anonymous:
        answer = anonymous.post(
            "/login",
            content=iter(flood),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 413, answer.text
    assert f"limit of {LOGIN_BODY_BYTES} bytes" in answer.text
    assert flood.stopped_early() and time.monotonic() - started < 10


@pytest.mark.usefixtures("nothing_written")
def test_api_login_takes_a_few_kilobytes(server: Site) -> None:
    body = {"username": "det-jones", "password": "x" * (2 * LOGIN_BODY_BYTES)}
    answer = server.client.post(f"{API}/auth/login", json=body)
    error = error_body(answer, 413, BodyTooLarge.code)
    assert error["details"] == {"limit_bytes": LOGIN_BODY_BYTES}


@pytest.mark.usefixtures("nothing_written")
def test_api_upload_flood_is_cut_off_with_the_image_error(server: Site) -> None:
    flood = Flood(probe_part(), FLOOD)
    headers = multipart({"Authorization": f"Bearer {server.token}"})
    answer = server.client.post(f"{API}/requests", content=iter(flood), headers=headers)
    error = error_body(answer, 413, ImageTooLarge.code)
    assert error["details"] == {"cause": "too_large", "limit_bytes": MAX_BYTES}
    assert flood.stopped_early(), f"the server read {flood.sent} bytes of the flood"


@pytest.mark.usefixtures("nothing_written")
def test_any_other_body_is_bounded_at_one_mebibyte(server: Site) -> None:
    flood = Flood(b"x", FLOOD, filler=b"x")
    answer = server.client.post(
        "/account/password",
        content=iter(flood),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413 and f"limit of {MiB} bytes" in answer.text
    assert flood.stopped_early()


def test_a_small_request_still_works_after_refusals(server: Site) -> None:
    assert server.client.get("/requests/new").status_code == 200
    assert server.client.get(f"{API}/health").status_code == 200


def error_body(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The API's one error shape, with ``status`` and ``code``."""
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] == code and error["message"], error
    assert set(error) == {"code", "message", "details"}
    return error
