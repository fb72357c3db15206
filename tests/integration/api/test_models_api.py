"""The models routes: storing evaluations and the deployment gate over HTTP (R15, R16)."""

from __future__ import annotations

from typing import Any

from tests.conftest import GALLERY
from tests.fakes import fake_evaluation_summary
from tests.integration.api.conftest import ApiUnit, error_of


def _store(unit: ApiUnit, **changes: Any) -> dict[str, Any]:
    summary = {**fake_evaluation_summary(unit.service.context.pipeline), **changes}
    response = unit.call("supervisor", "POST", "/evaluations", json={"summary": summary})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_evaluation_is_stored_listed_and_read_back(unit: ApiUnit) -> None:
    stored = _store(unit)
    assert stored["figures"]["rank1"] == 0.99 and stored["figures"]["label_source"] == "predicted"
    assert stored["model"] == unit.service.context.pipeline.embedder.model.to_dict()
    listed = unit.call("auditor", "GET", "/evaluations").json()
    assert stored["id"] in [e["id"] for e in listed["items"]]
    full = unit.call("examiner", "GET", f"/evaluations/{stored['id']}").json()
    assert full["impostor"]["count"] == 200_000
    error_of(unit.call("examiner", "GET", "/evaluations/999999"), 404, "not_found")


def test_activation_through_the_gate_and_its_refusal(unit: ApiUnit) -> None:
    good = _store(unit)
    response = unit.call(
        "admin", "POST", f"/galleries/{GALLERY}/activation", json={"evaluation_id": good["id"]}
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["evaluation_id"] == good["id"] and made["target_fpir"] == 0.003
    current = unit.call("reviewer", "GET", f"/galleries/{GALLERY}/activation").json()
    assert current == {"gallery": GALLERY, "activation": made}
    weak = _store(unit, fte={"rate": 0.3})
    refused = unit.call(
        "admin", "POST", f"/galleries/{GALLERY}/activation", json={"evaluation_id": weak["id"]}
    )
    details = error_of(refused, 409, "deployment_gate")
    assert any("failure-to-enrol rate is 30.00%" in r for r in details["reasons"])
    still = unit.call("reviewer", "GET", f"/galleries/{GALLERY}/activation").json()
    assert still["activation"]["id"] == made["id"]


def test_malformed_bodies_are_refused_with_the_field_named(unit: ApiUnit) -> None:
    bad = unit.call(
        "admin", "POST", f"/galleries/{GALLERY}/activation", json={"evaluation_id": 1, "x": 2}
    )
    assert bad.status_code == 422 and "x" in bad.text
    fpir = unit.call(
        "admin",
        "POST",
        f"/galleries/{GALLERY}/activation",
        json={"evaluation_id": 1, "target_fpir": 0.9},
    )
    assert fpir.status_code == 422 and "target_fpir" in fpir.text
    empty = unit.call("supervisor", "POST", "/evaluations", json={"summary": {}})
    error_of(empty, 400, "invalid_input")
