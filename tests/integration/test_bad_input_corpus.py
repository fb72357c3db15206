"""The bad-input corpus (tests/corpus.py) through the REST API, the web form and the CLI.

One unit for the module: the whole server (``create_app``: the API, the pages and the one body
limit) in uvicorn on a local port, bounded as ``faceledger serve`` bounds it, over the FAKE face
pipeline (tests/fakes.py: these are input tests, not biometrics). The API is called with the
requester's token, the web form by the requester logged in through the login page (with the
CSRF token of the form), and the CLI through typer's CliRunner on the same data directory,
logged in with its own session file and handed the FAKE pipeline (``CliState.pipeline``).

Each refusal must give its status (the CLI: its exit code), its error code (the API's error
JSON; a page's error box ``data-code``; the CLI prints no code, so its message, which only that
error writes, identifies it) and a key phrase of its message, in our own words, and must
leave every table's row count and the ledger's size as they were. An accepted kind files a
request and stores the probe as normalised. The slow body waits ``body_timeout_seconds`` (1 s
here) each time.
"""

from __future__ import annotations

import html
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import faceledger.models  # noqa: F401  (every table in Base.metadata)
from faceledger.cli import app as cli_app
from faceledger.cli.common import CliState
from faceledger.db import Base
from faceledger.governance.models import ProbeImage
from faceledger.server import create_app
from faceledger.service import FaceLedger
from tests import corpus
from tests.backends import copy_data_dir
from tests.conftest import make_settings
from tests.corpus import KINDS, Accepted, Kind, NotApplicable, Refused, Shape, Upload
from tests.factories import PASSWORD, FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import API, FORM_FIELDS, populate
from tests.integration.test_body_limits import bounded, log_in

BODY_TIMEOUT = 1
SETTINGS: dict[str, Any] = {
    "max_image_bytes": corpus.MAX_IMAGE_BYTES,
    "max_image_pixels": corpus.MAX_IMAGE_PIXELS,
    "body_timeout_seconds": BODY_TIMEOUT,
}
REQUESTER = "det-jones"
CLI_OPTIONS = {
    "case_number": "--case",
    "offence_code": "--offence",
    "narrative": "--narrative",
    "legal_basis_kind": "--basis",
    "court": "--court",
    "order_id": "--order-id",
    "judge": "--judge",
    "issued_on": "--issued",
    "expires_on": "--expires",
    "authority": "--authority",
    "facts": "--facts",
    "declared_at": "--declared-at",
    "description": "--description",
    "probe_source": "--probe-source",
    "attestation_text": "--attestation",
    "purpose": "--purpose",
    "galleries": "--gallery",
    "max_candidates": "--max-candidates",
    "face_index": "--face",
    "described_sex": "--described-sex",
    "described_race": "--described-race",
}
"""The request form's fields as ``faceledger request file`` names its options."""
NOT_OURS = ("PIL", "Pillow", "cannot identify image file", "Traceback", "Errno")
"""Wording that must never reach a person: the image library's, or a stack trace."""
runner = CliRunner()


@dataclass
class Answer:
    """What an interface answered: a status (the CLI: exit code), the error code it showed
    (None if it shows none) and the text a person reads."""

    status: int
    code: str | None
    text: str
    location: str = ""
    details: dict[str, Any] | None = None
    """The error's details, where the interface shows them (the API)."""


@dataclass
class Site:
    """The served unit and a client per interface."""

    service: FaceLedger
    api: httpx.Client
    web: httpx.Client
    token: str
    data_dir: Path
    files: Path

    # -- what is stored ---------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows of every table, and the ledger's size."""
        with self.service.context.db.read() as session:
            counts = {
                table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables
            }
            counts["ledger size"] = self.service.context.ledger.tree_size(session)
        return counts

    def probe_size(self, upload: Upload) -> tuple[int, int]:
        """The stored (width, height) of the probe with ``upload``'s bytes."""
        from faceledger.biometrics.image import sha256_hex

        with self.service.context.db.read() as session:
            row = session.get(ProbeImage, sha256_hex(upload.data))
            assert row is not None, "the accepted probe is not stored"
            return row.width, row.height

    # -- the interfaces ---------------------------------------------------------------------

    def call_api(self, kind: Kind) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}"}
        if kind.shape in (Shape.SHOW, Shape.LIST_OFFSET, Shape.LIST_LIMIT):
            path, params = _listing(kind, "api")
            return _api_answer(self.api.get(f"{API}{path}", params=params, headers=headers))
        if kind.shape is Shape.SLOW_BODY:
            return self.slow(f"{API}/requests", f"Authorization: Bearer {self.token}")
        if kind.shape is Shape.OVERSIZE_BODY:
            return self.oversize(f"{API}/requests", f"Authorization: Bearer {self.token}")
        fields = _fields(kind, attested="true")
        if kind.shape is Shape.JSON_BODY:
            answer = self.api.post(f"{API}/requests", json=fields, headers=headers)
            return _api_answer(answer)
        files = _files(kind, fields)
        answer = self.api.post(f"{API}/requests", data=fields, files=files, headers=headers)
        return _api_answer(answer)

    def call_web(self, kind: Kind) -> Answer:
        if kind.shape in (Shape.SHOW, Shape.LIST_OFFSET):
            path, params = _listing(kind, "web")
            return _web_answer(self.web.get(path, params=params))
        cookie = "; ".join(f"{name}={value}" for name, value in self.web.cookies.items())
        if kind.shape is Shape.SLOW_BODY:
            return self.slow("/requests/new", f"Cookie: {cookie}")
        if kind.shape is Shape.OVERSIZE_BODY:
            return self.oversize("/requests/new", f"Cookie: {cookie}")
        fields = _fields(kind, attested="yes")
        page = self.web.get("/requests/new")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and found, page.text
        if kind.shape is Shape.JSON_BODY:
            return _web_answer(self.web.post("/requests/new", json=fields))
        fields["csrf_token"] = found.group(1)
        if kind.shape is Shape.KEPT_PROBE:
            fields.update(probe_kept=kind.value, probe_name="probe.jpg")
            return _web_answer(self.web.post("/requests/new", data=fields))
        files = _files(kind, fields)
        return _web_answer(self.web.post("/requests/new", data=fields, files=files))

    def call_cli(self, kind: Kind) -> Answer:
        if kind.shape is Shape.SHOW:
            return self.cli("request", "show", kind.value)
        if kind.shape is Shape.LIST_OFFSET:
            return self.cli("request", "list", f"--offset={kind.value}")
        if kind.shape is Shape.LIST_LIMIT:
            return self.cli("request", "list", f"--limit={kind.value}")
        assert kind.shape is Shape.FILE, kind
        args = ["request", "file"]
        if kind.changes.get("probe", "") is not None:
            upload = kind.upload()
            path = self.files / f"{len(list(self.files.iterdir()))}-{upload.filename}"
            path.write_bytes(upload.data)
            args.append(f"--probe={path}")
        fields = _fields(kind, attested="")
        for name, value in fields.items():
            if name == "attested":
                args.append("--attest" if value == "" else f"--attest={value}")
                continue
            for one in value if isinstance(value, list) else [value]:
                args.append(f"{CLI_OPTIONS[name]}={one}")
        return self.cli(*args)

    def cli(self, *args: str) -> Answer:
        """Run ``faceledger ARGS`` as the requester, on the unit's data directory."""
        result = runner.invoke(
            cli_app,
            ["--data-dir", str(self.data_dir), *args],
            env=self.cli_env(),
            obj=CliState(pipeline=fake_pipeline()),
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        # Click's usage errors come in a box drawn with rich; the words are what count.
        words = re.sub(r"[\u2500-\u257f]", " ", result.stderr + result.stdout)
        return Answer(result.exit_code, None, " ".join(words.split()))

    def cli_env(self) -> dict[str, str]:
        env = {f"FACELEDGER_{name.upper()}": str(value) for name, value in SETTINGS.items()}
        env["FACELEDGER_SESSION_FILE"] = str(self.files.parent / "requester.session")
        return env

    # -- by hand on the socket ----------------------------------------------------------------

    def _head(self, path: str, auth: str, length: int) -> bytes:
        host = urlsplit(str(self.api.base_url)).netloc
        return (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n"
            f"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {length}\r\n\r\n"
        ).encode()

    def slow(self, path: str, auth: str) -> Answer:
        """Send the head and a first part of a filing, then nothing: the body stalls."""
        with self._connect() as sock:
            sock.sendall(self._head(path, auth, 100_000) + b"--xyz\r\nContent-Disposition: form")
            started = time.monotonic()
            reply = _read_until_closed(sock)
            waited = time.monotonic() - started
        assert waited < BODY_TIMEOUT + 3, f"the stalled body was held {waited:.1f} s"
        return _raw_answer(reply)

    def oversize(self, path: str, auth: str) -> Answer:
        """Declare a body of 1 GB; send nothing of it."""
        with self._connect() as sock:
            sock.sendall(self._head(path, auth, 1_000_000_000))
            return _raw_answer(_read_until_closed(sock))

    def _connect(self) -> socket.socket:
        url = urlsplit(str(self.api.base_url))
        assert url.hostname is not None and url.port is not None
        return socket.create_connection((url.hostname, url.port), timeout=10)


def _fields(kind: Kind, attested: str) -> dict[str, Any]:
    """The good form with the kind's changes (the probe aside), as the interface sends it."""
    fields: dict[str, Any] = {**FORM_FIELDS, "attested": attested}
    if kind.changes.get("legal_basis_kind") == "emergency":
        for name in ("court", "order_id", "judge", "issued_on", "expires_on"):
            fields.pop(name)
    for name, value in kind.changes.items():
        if name == "probe":
            continue
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = [value] if name == "galleries" else value
    return fields


def _files(kind: Kind, fields: dict[str, Any]) -> list[tuple[str, Any]]:
    """The multipart file parts: the probe (unless left out), and a repeated part."""
    if kind.changes.get("probe", "") is None:
        return []
    upload = kind.upload()
    files: list[tuple[str, Any]] = [("probe", (upload.filename, upload.data, upload.content_type))]
    if kind.shape is Shape.DUPLICATE_PART:
        if kind.value == "probe":
            files.append(("probe", ("second.jpg", upload.data, upload.content_type)))
        else:
            files.append((kind.value, (None, str(fields[kind.value]).encode())))
    return files


def _listing(kind: Kind, interface: str) -> tuple[str, dict[str, str]]:
    if kind.shape is Shape.SHOW:
        return f"/requests/{kind.value}", {}
    if kind.shape is Shape.LIST_LIMIT:
        return "/requests", {"limit": kind.value}
    return "/requests", {"offset" if interface == "api" else "page": kind.value}


def _api_answer(response: httpx.Response) -> Answer:
    if response.status_code < 400:
        return Answer(response.status_code, None, response.text)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    error = body["error"]
    return Answer(response.status_code, error["code"], error["message"], "", error["details"])


def _web_answer(response: httpx.Response) -> Answer:
    if response.status_code < 400:
        return Answer(response.status_code, None, "", response.headers.get("location", ""))
    code = re.search(r'data-testid="error" data-code="([^"]+)"', response.text)
    message = re.search(r'data-testid="error-message">(.*?)</p>', response.text, re.S)
    assert message, response.text
    return Answer(
        response.status_code, code.group(1) if code else "", html.unescape(message.group(1))
    )


def _read_until_closed(sock: socket.socket) -> bytes:
    reply = b""
    while data := sock.recv(65536):
        reply += data
    return reply


def _raw_answer(reply: bytes) -> Answer:
    """The status and error of an answer read off the socket (JSON for the API, text for a
    page)."""
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"application/json" in head.lower():
        error = json.loads(body)["error"]
        return Answer(status, error["code"], error["message"])
    return Answer(status, "", body.decode())


# -- the unit ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(fake_enrolled_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("corpus")
    data_dir = root / "data"
    copy_data_dir(fake_enrolled_template, data_dir)
    service = FastFaceLedger(make_settings(data_dir, **SETTINGS), pipeline=fake_pipeline())
    try:
        _, _, _, tokens = populate(service)
        with (
            bounded(create_app(service)) as api,
            httpx.Client(base_url=api.base_url, timeout=60) as web,
        ):
            log_in(web, REQUESTER)
            files = root / "files"
            files.mkdir()
            unit = Site(service, api, web, tokens["requester"], data_dir, files)
            logged_in = runner.invoke(
                cli_app,
                ["--data-dir", str(data_dir), "login", REQUESTER, "--password-stdin"],
                input=PASSWORD + "\n",
                env=unit.cli_env(),
            )
            assert logged_in.exit_code == 0, logged_in.output
            yield unit
    finally:
        service.close()


CASES = [
    pytest.param(kind, interface, id=f"{kind.name}-{interface}")
    for kind in KINDS
    for interface, outcome in kind.outcomes().items()
    if not isinstance(outcome, NotApplicable)
]


@pytest.mark.parametrize(("kind", "interface"), CASES)
def test_bad_input(site: Site, kind: Kind, interface: str) -> None:
    expected = kind.outcomes()[interface]
    before = site.counts()
    answer = getattr(site, f"call_{interface}")(kind)
    after = site.counts()
    for phrase in NOT_OURS:
        assert phrase not in answer.text, answer.text
    if isinstance(expected, Accepted):
        assert answer.status == expected.status, answer.text
        assert after["search_requests"] == before["search_requests"] + 1, "accepted but not filed"
        assert after["ledger size"] > before["ledger size"]
        if expected.size is not None:
            assert site.probe_size(kind.upload()) == expected.size
        return
    assert isinstance(expected, Refused)
    assert (answer.status, answer.text) != (500, ""), answer
    assert answer.status == expected.status, answer
    if answer.code is not None:
        assert answer.code == expected.code, answer
    assert expected.phrase in answer.text, answer
    if expected.cause and answer.details is not None:
        assert answer.details.get("cause") == expected.cause, answer
    assert after == before, "a refused input wrote something"


def test_the_corpus_has_forty_kinds_or_more() -> None:
    assert len(KINDS) >= 40
    assert len({kind.name for kind in KINDS}) == len(KINDS)
    families = {kind.family for kind in KINDS}
    assert families == {"image", "request"}


def test_the_readme_holds_the_corpus_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert corpus.readme_table() in readme, (
        "README.md's corpus table is out of date: paste the output of "
        "`python -m tests.corpus` into the Security section"
    )
