"""One of each part: a multipart form that sends the probe (or any single-valued field) twice is
refused as a whole, through the API (422) and the web form, and nothing is written. The whole
server (``create_app``) runs over the FAKE face pipeline (tests/fakes.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from faceledger.server import create_app
from tests.backends import copy_data_dir
from tests.conftest import FACES, make_settings
from tests.factories import FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import (
    API,
    FORM_FIELDS,
    PROBE,
    error_of,
    populate,
    serving,
    stored_counts,
)
from tests.integration.test_body_limits import log_in

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Unit:
    """The served unit: its service, a client logged in on the web and API tokens."""

    def __init__(self, service: FastFaceLedger, client: httpx.Client, tokens: dict[str, str]):
        self.service = service
        self.client = client
        self.tokens = tokens

    def stored(self) -> tuple[int, int, int]:
        """Requests, probe images and ledger entries stored now."""
        return stored_counts(self.service)

    def api(self, path: str, files: list[tuple[str, Any]], who: str | None = "requester") -> Any:
        """Post a multipart form of ``FORM_FIELDS`` plus ``files`` to the API."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.post(f"{API}{path}", data=FORM_FIELDS, files=files, headers=headers)


@pytest.fixture(scope="module")
def unit(fake_enrolled_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unit]:
    data_dir = tmp_path_factory.mktemp("parts") / "data"
    copy_data_dir(fake_enrolled_template, data_dir)
    service = FastFaceLedger(make_settings(data_dir), pipeline=fake_pipeline())
    try:
        _, _, _, tokens = populate(service)
        with serving(create_app(service)) as client:
            log_in(client, "det-jones")
            yield Unit(service, client, tokens)
    finally:
        service.close()


@pytest.fixture
def nothing_written(unit: Unit) -> Iterator[None]:
    before = unit.stored()
    yield
    assert unit.stored() == before


def probe(name: str = "probe.jpg") -> tuple[str, tuple[str, bytes, str]]:
    return ("probe", (name, (FACES / PROBE).read_bytes(), "image/jpeg"))


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize("path", ["/requests", "/requests/probe-faces"])
def test_two_probe_parts_are_refused(unit: Unit, path: str) -> None:
    answer = unit.api(path, [probe("first.jpg"), probe("second.jpg")])
    details = error_of(answer, 422, "invalid_input")
    assert details == {"fields": ["probe"]}
    assert "probe more than once" in answer.json()["error"]["message"]


@pytest.mark.usefixtures("nothing_written")
def test_a_repeated_text_field_is_refused(unit: Unit) -> None:
    files = [probe(), ("case_number", (None, b"BPD-OTHER")), ("purpose", (None, b"other"))]
    details = error_of(unit.api("/requests", files), 422, "invalid_input")
    assert details == {"fields": ["case_number", "purpose"]}


@pytest.mark.usefixtures("nothing_written")
def test_authentication_comes_before_the_parts(unit: Unit) -> None:
    error_of(unit.api("/requests", [probe(), probe()], who=None), 401, "unauthenticated")


def test_one_probe_and_repeated_galleries_are_filed(unit: Unit) -> None:
    before = unit.stored()
    fields = {**FORM_FIELDS, "galleries": [FORM_FIELDS["galleries"][0]] * 2}
    answer = unit.client.post(
        f"{API}/requests",
        data=fields,
        files=[probe()],
        headers={"Authorization": f"Bearer {unit.tokens['requester']}"},
    )
    assert answer.status_code == 201, answer.text
    assert unit.stored()[:2] == (before[0] + 1, before[1] + 1)


@pytest.mark.usefixtures("nothing_written")
def test_the_web_form_refuses_two_probes(unit: Unit) -> None:
    page = unit.client.get("/requests/new")
    found = CSRF.search(page.text)
    assert found, page.text
    fields = {**FORM_FIELDS, "attested": "yes", "csrf_token": found.group(1)}
    answer = unit.client.post(
        "/requests/new", data=fields, files=[probe("first.jpg"), probe("second.jpg")]
    )
    assert answer.status_code == 422, answer.text
    assert "probe more than once" in answer.text
