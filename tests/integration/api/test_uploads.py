"""Probe uploads over a real socket: size limits enforced early and while streaming, pixel
limit and unusable images through the service's decoding, and nothing written when refused."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import func, select

from faceledger.api.uploads import FORM_OVERHEAD_BYTES, JSON_BODY_BYTES
from faceledger.governance.models import ProbeImage, RequestRow
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import FORM_FIELDS, ApiUnit, error_of, running_unit

MAX_BYTES = 200_000
MAX_PIXELS = 1_000_000


@pytest.fixture(scope="module")
def unit(
    fake_enrolled_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiUnit]:
    """One unit for the module, with the FAKE face pipeline (this is about uploads)."""
    data_dir = tmp_path_factory.mktemp("uploads") / "data"
    with running_unit(
        fake_enrolled_template,
        data_dir,
        faces_dir,
        fake_pipeline(),
        max_image_bytes=MAX_BYTES,
        max_image_pixels=MAX_PIXELS,
    ) as api:
        yield api


def stored(unit: ApiUnit) -> tuple[int, int, int]:
    """Requests, probe images and ledger entries stored now."""
    with unit.service.context.db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(RequestRow)) or 0,
            session.scalar(select(func.count()).select_from(ProbeImage)) or 0,
            unit.service.context.ledger.tree_size(session),
        )


@pytest.fixture
def nothing_written(unit: ApiUnit) -> Iterator[None]:
    """Assert the test leaves no request, probe image or ledger entry behind."""
    before = stored(unit)
    yield
    assert stored(unit) == before


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 160)).save(out, format="PNG")
    return out.getvalue()


def raw_request(unit: ApiUnit, head: str, body: Iterator[bytes] = iter(())) -> tuple[int, Any]:
    """Send a hand-made HTTP/1.1 request; return the status and JSON body of the answer."""
    url = urlsplit(str(unit.client.base_url))
    assert url.hostname is not None and url.port is not None
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        try:
            for chunk in body:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the client is done sending
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < _length(reply):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    status_line, _, rest = reply.partition(b"\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(content)


def _length(reply: bytes) -> int:
    for line in reply.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 30


def head(unit: ApiUnit, extra: str) -> str:
    return (
        "POST /api/v1/requests HTTP/1.1\n"
        f"Host: {urlsplit(str(unit.client.base_url)).netloc}\n"
        f"Authorization: Bearer {unit.tokens['requester']}\n"
        "Content-Type: multipart/form-data; boundary=xyz\n"
        f"{extra}"
    )


@pytest.mark.usefixtures("nothing_written")
def test_declared_length_over_the_limit_is_refused_before_the_body(unit: ApiUnit) -> None:
    declared = MAX_BYTES + FORM_OVERHEAD_BYTES + 1
    status, body = raw_request(unit, head(unit, f"Content-Length: {declared}\n"))
    assert status == 413
    assert body["error"]["code"] == "invalid_image"
    assert body["error"]["details"] == {"cause": "too_large", "limit_bytes": MAX_BYTES}


@pytest.mark.usefixtures("nothing_written")
def test_streamed_body_is_cut_off_once_over_the_limit(unit: ApiUnit) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'--xyz\r\nContent-Disposition: form-data; name="probe"; filename="p.jpg"\r\n\r\n'
        for _ in range(64):  # 4 MiB, far past the limit, in 64 KiB chunks
            yield b"\xff" * 65536

    status, body = raw_request(unit, head(unit, "Transfer-Encoding: chunked\n"), chunks())
    assert status == 413 and body["error"]["code"] == "invalid_image"


@pytest.mark.usefixtures("nothing_written")
def test_file_over_the_limit_is_413(unit: ApiUnit) -> None:
    big = b"\xff\xd8\xff\xe0" + b"\x00" * MAX_BYTES
    response = unit.file("requester", probe=("big.jpg", big, "image/jpeg"))
    details = error_of(response, 413, "invalid_image")
    assert details["limit_bytes"] == MAX_BYTES


@pytest.mark.usefixtures("nothing_written")
def test_json_body_over_the_limit_is_413(unit: ApiUnit) -> None:
    body = {"marks": [{"candidate_id": 1, "outcome": "not_match", "note": "x" * JSON_BODY_BYTES}]}
    error_of(unit.call("examiner", "POST", "/requests/1/reviews", json=body), 413, "body_too_large")


@pytest.mark.parametrize(
    ("probe", "status", "code"),
    [
        (lambda unit: png(2000, 1000), 422, "invalid_image"),  # 2 Mpx: over the pixel limit
        (lambda unit: unit.photo()[:2000], 422, "invalid_image"),  # a truncated JPEG
        (lambda unit: b"", 422, "invalid_image"),
        (lambda unit: b"GIF89a" + b"\x00" * 100, 422, "invalid_image"),
        (lambda unit: unit.photo("edge/no_face_white.png"), 422, "no_face_found"),
    ],
    ids=["pixel-limit", "truncated", "empty", "not-an-image", "no-face"],
)
@pytest.mark.usefixtures("nothing_written")
def test_unusable_probe_is_422(unit: ApiUnit, probe: Any, status: int, code: str) -> None:
    response = unit.file("requester", probe=("probe", probe(unit), "application/octet-stream"))
    error_of(response, status, code)


def test_a_probe_within_the_limits_is_filed(unit: ApiUnit) -> None:
    before = stored(unit)
    response = unit.file("requester", FORM_FIELDS)
    assert response.status_code == 201, response.text
    assert stored(unit)[0] == before[0] + 1
