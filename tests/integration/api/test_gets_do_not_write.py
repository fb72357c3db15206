"""GETs never change state (issue 13, item 5).

A GET of an inclusion proof used to sign a checkpoint when none covered the entry. Now a proof
is given against the latest signed checkpoint only, and an entry not yet covered is a 409
saying so; signing is the POST it always was. A GET of a transparency or purge report used to
produce it, and producing one is recorded in the ledger; producing a report is now a POST, and
a GET of its path is a 405 that writes nothing. The tests also walk every GET route of the API
and of the web pages (from the apps themselves, so a route added later is covered), as every
persona, and check that an answered GET left every table and the ledger as they were.

The unit runs the FAKE face pipeline of tests/fakes.py (a labelled fake).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.exceptions import StarletteDeprecationWarning

from faceledger.ledger import load_public_key, verify_inclusion_bundle
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import PEOPLE, ApiUnit, error_of, running_unit, web_clients
from tests.integration.api.test_bounds import counts, spec_of
from tests.integration.web.conftest import csrf_of

with warnings.catch_warnings():
    # Starlette prefers the httpx2 package for its test client (tests/integration/web).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)


@pytest.fixture(scope="module")
def unit(
    fake_enrolled_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiUnit]:
    """One FAKE-pipeline unit per module, with one request filed."""
    data_dir = tmp_path_factory.mktemp("gets") / "data"
    with running_unit(fake_enrolled_template, data_dir, faces_dir, fake_pipeline()) as api:
        filed = api.file("requester")
        assert filed.status_code == 201, filed.text
        yield api


def test_a_proof_get_never_signs_a_checkpoint(unit: ApiUnit) -> None:
    newest = unit.ledger_size() - 1
    before = counts(unit)
    answer = unit.call("auditor", "GET", f"/ledger/entries/{newest}/proof")
    details = error_of(answer, 409, "conflict")
    assert details["seq"] == newest
    message = answer.json()["error"]["message"]
    assert f"Entry {newest} is not yet in a signed checkpoint" in message
    assert "POST /ledger/checkpoints" in message
    assert counts(unit) == before

    signed = unit.call("auditor", "POST", "/ledger/checkpoints")
    assert signed.status_code == 201, signed.text
    assert counts(unit)["ledger_checkpoints"] == before["ledger_checkpoints"] + 1
    after_signing = counts(unit)
    proof = unit.call("auditor", "GET", f"/ledger/entries/{newest}/proof")
    assert proof.status_code == 200, proof.text
    verify_inclusion_bundle(proof.json(), load_public_key(unit.service.public_key_path))
    assert proof.json()["checkpoint"]["tree_size"] == signed.json()["tree_size"]
    assert counts(unit) == after_signing

    # An entry that does not exist is still a 404, not a 409.
    error_of(unit.call("auditor", "GET", f"/ledger/entries/{newest + 100}/proof"), 404, "not_found")


# -- every GET route, every persona ----------------------------------------------------------


def _sample(unit: ApiUnit, name: str) -> str:
    values = {
        "request_id": "1",
        "seq": "0",
        "name": "people",
        "username": unit.users["examiner"].username,
        "face_index": "0",
    }
    return values.get(name, "1")


def _api_gets(unit: ApiUnit) -> list[tuple[str, dict[str, str]]]:
    found = []
    for path, operations in spec_of(unit)["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        url, query = path, {}
        for parameter in operation.get("parameters", ()):
            value = _sample(unit, parameter["name"])
            if parameter["in"] == "path":
                url = url.replace("{" + parameter["name"] + "}", value)
            elif parameter["in"] == "query" and parameter.get("required"):
                query[parameter["name"]] = value
        found.append((url, query))
    return found


def _assert_unchanged(unit: ApiUnit, url: str, before: dict[str, int], who: object) -> None:
    # No exception: producing a report, the one read the ledger records, is a POST.
    assert counts(unit) == before, (who, url)


REPORTS = {
    "/reports/transparency": ("report.transparency", {"from": "2026-01-01", "to": "2026-01-31"}),
    "/reports/purge": ("report.purge", {"since": "2026-01-01"}),
}
"""The reports whose production the ledger records (R13, R17), and a period for each."""


def _new_actions(unit: ApiUnit, since: int) -> list[str]:
    entries = unit.call("admin", "GET", "/ledger/entries", params={"offset": since}).json()
    return [entry["action"] for entry in entries["items"]]


@pytest.mark.parametrize("path", REPORTS)
def test_a_report_get_writes_nothing_and_its_post_records_once(unit: ApiUnit, path: str) -> None:
    action, period = REPORTS[path]
    before = counts(unit)
    for params in ({}, period):
        got = unit.call("auditor", "GET", path, params=params)
        error_of(got, 405, "method_not_allowed")
        assert got.headers["allow"] == "POST", got.headers
        assert counts(unit) == before, params
    made = unit.call("auditor", "POST", path, json=period)
    assert made.status_code == 200, made.text
    after = counts(unit)
    assert after["ledger size"] == before["ledger size"] + 1
    # The entry, its Merkle nodes and the ledger's state row (and the checkpoint an append
    # signs when one is due); nothing else.
    changed = {name for name in after if after[name] != before[name]}
    ledger = {"ledger_entries", "ledger_nodes", "ledger_state", "ledger_checkpoints"}
    assert changed <= ledger | {"ledger size"}, changed
    assert _new_actions(unit, before["ledger size"]) == [action]


def test_the_report_page_get_writes_nothing_and_its_post_records_once(
    unit: ApiUnit, web: tuple[FastAPI, dict[str, Any]]
) -> None:
    _, clients = web
    auditor = clients["auditor"]
    period = {"from": "2026-01-01", "to": "2026-01-31", "version": "public"}
    before = counts(unit)
    page = auditor.get("/reports/transparency", params=period)
    assert page.status_code == 200 and 'data-testid="transparency-totals"' not in page.text
    for fmt in ("html", "csv", "json"):
        got = auditor.get(f"/reports/transparency/report.{fmt}", params=period)
        assert got.status_code == 405 and got.headers["allow"] == "POST", fmt
    assert counts(unit) == before
    posted = auditor.post(
        "/reports/transparency", data={**period, "csrf_token": csrf_of(page.text)}
    )
    assert posted.status_code == 200 and 'data-testid="transparency-totals"' in posted.text
    assert counts(unit)["ledger size"] == before["ledger size"] + 1
    assert _new_actions(unit, before["ledger size"]) == ["report.transparency"]
    # Without the session's CSRF token the post produces nothing.
    after = counts(unit)
    forged = auditor.post("/reports/transparency/report.csv", data=period)
    assert forged.status_code == 403 and 'data-code="csrf_rejected"' in forged.text
    assert counts(unit) == after


def test_no_answered_api_get_writes(unit: ApiUnit) -> None:
    gets = _api_gets(unit)
    assert ("/ledger/entries/0/proof", {}) in gets
    assert not {url for url, _ in gets} & set(REPORTS)  # no GET produces a report
    answered = 0
    for persona in (*PEOPLE, None):
        for url, query in gets:
            before = counts(unit)
            response = unit.call(persona, "GET", url, params=query)
            assert response.status_code < 500, (persona, url, response.text[:300])
            if response.status_code < 400:
                answered += 1
                _assert_unchanged(unit, url, before, persona)
    assert answered > len(gets)  # most routes answered someone


def _web_gets(app: FastAPI) -> list[str]:
    found = []
    for route in iter_route_contexts(app.routes):
        if "GET" not in (getattr(route, "methods", None) or ()):
            continue
        url = str(route.path)
        while "{" in url:
            start, end = url.index("{"), url.index("}")
            name = url[start + 1 : end].split(":")[0]
            url = url[:start] + ("0" if name in ("seq", "face_index") else "1") + url[end + 1 :]
        found.append(url)
    return found


@pytest.fixture(scope="module")
def web(unit: ApiUnit) -> Iterator[tuple[FastAPI, dict[str, Any]]]:
    """The web pages over the unit's service, and a logged-in client per persona."""
    with web_clients(unit) as pages:
        yield pages


def test_no_answered_web_get_writes(unit: ApiUnit, web: tuple[FastAPI, dict[str, Any]]) -> None:
    app, clients = web
    pages = _web_gets(app)
    assert "/audit/entries/0" in pages and "/audit/entries/0/proof.json" in pages
    newest = unit.ledger_size() - 1
    pages += [f"/audit/entries/{newest}", f"/audit/entries/{newest}/proof.json"]
    answered = 0
    for persona, client in clients.items():
        for url in pages:
            if url == "/logout":
                continue
            before = counts(unit)
            response = client.get(url)
            assert response.status_code < 500, (persona, url, response.text[:300])
            if response.status_code < 400:
                answered += 1
                assert counts(unit) == before, (persona, url)
    assert answered > len(pages)


def test_the_web_proof_page_of_an_uncovered_entry_says_so(
    unit: ApiUnit, web: tuple[FastAPI, dict[str, Any]]
) -> None:
    _, clients = web
    unit.call("admin", "POST", "/tokens", json={"username": "adm-white", "name": "one more"})
    newest = unit.ledger_size() - 1
    before = counts(unit)
    page = clients["auditor"].get(f"/audit/entries/{newest}")
    assert page.status_code == 409
    assert f"Entry {newest} is not yet in a signed checkpoint" in page.text
    assert counts(unit) == before
