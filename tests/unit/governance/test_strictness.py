"""A custom profile that loosens the strictest shipped one is marked unsafe and cannot hide it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from faceledger.governance import (
    UNSAFE_LAB_PROFILE,
    Action,
    PolicyEngine,
    Profile,
    UnsafeProfileWarning,
    load_profile,
    shipped_profiles,
)
from faceledger.governance.profiles import LOOSENED_WARNING
from faceledger.governance.strictness import (
    COMPARED_FIELDS,
    NOT_COMPARED,
    STRICTEST_PROFILE,
    loosenings,
)

SECTIONS = (
    "access",
    "legal_basis",
    "request",
    "results",
    "retention",
    "accuracy",
    "transparency",
    "misuse",
)
REAL = ("eu-ai-act", "maryland", "massachusetts", "washington")
Mutation = Callable[[dict[str, Any]], None]


def _text(name: str, folder: str = "profiles") -> str:
    return (resources.files("faceledger.governance") / folder / f"{name}.yaml").read_text(
        encoding="utf-8"
    )


def _strictest_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(_text(STRICTEST_PROFILE))
    return data


def _write(tmp_path: Path, data: dict[str, Any], name: str = "custom.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _keys_named(sentences: list[str]) -> set[str]:
    """The dotted key each sentence starts with."""
    return {sentence.split(" ", 1)[0].rstrip(":") for sentence in sentences}


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        data[last] = value

    return mutate


def _add(path: str, *values: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        data[last] = [*data[last], *values]

    return mutate


def _drop(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        assert value in data[last]
        data[last] = [v for v in data[last] if v != value]

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


# --- every field is compared or deliberately not ------------------------------------------


def test_every_profile_field_is_compared_or_listed_with_a_reason(massachusetts: Profile) -> None:
    top = {f.name for f in dataclasses.fields(Profile)} - set(SECTIONS)
    nested = {
        f"{section}.{f.name}"
        for section in SECTIONS
        for f in dataclasses.fields(getattr(massachusetts, section))
    }
    assert COMPARED_FIELDS | set(NOT_COMPARED) == top | nested
    assert not COMPARED_FIELDS & set(NOT_COMPARED)
    assert all(reason.strip() for reason in NOT_COMPARED.values())


# --- loosening one parameter marks a custom profile unsafe ----------------------------------


@pytest.mark.parametrize(
    ("mutate", "loosened"),
    [
        pytest.param(_drop("rules", "candidate_cap"), {"rules"}, id="rule-dropped"),
        pytest.param(
            _add("access.operating_agency_kinds", "requesting_agency"),
            {"access.operating_agency_kinds"},
            id="agency-kind-added",
        ),
        pytest.param(
            _add("access.operating_agency_ids", "boston-pd"),
            {"access.operating_agency_ids"},
            id="agency-id-added",
        ),
        pytest.param(
            _set("access.operating_agency_ids", []),
            {"access.operating_agency_ids"},
            id="agency-ids-emptied-means-any",
        ),
        pytest.param(
            _set("access.training_validity_days", 730),
            {"access.training_validity_days"},
            id="training-valid-longer",
        ),
        pytest.param(
            _both(_set("access.training_validity_days", None), _drop("rules", "training_current")),
            {"access.training_validity_days", "rules"},
            id="training-not-required",
        ),
        pytest.param(
            _drop("access.forbidden_role_combinations", ["requester", "examiner"]),
            {"access.forbidden_role_combinations"},
            id="role-combination-allowed",
        ),
        pytest.param(
            _add("legal_basis.allowed", "investigation"),
            {"legal_basis.allowed"},
            id="legal-basis-added",
        ),
        pytest.param(
            _add("legal_basis.court_order_authorities", "administrative"),
            {"legal_basis.court_order_authorities"},
            id="order-authority-added",
        ),
        pytest.param(
            _set("legal_basis.emergency_filing_hours", 72),
            {"legal_basis.emergency_filing_hours"},
            id="filing-deadline-later",
        ),
        pytest.param(
            _set("legal_basis.emergency_filing_hours", None),
            {"legal_basis.emergency_filing_hours"},
            id="filing-deadline-none",
        ),
        pytest.param(
            _add("request.allowed_severity_classes", "misdemeanour"),
            {"request.allowed_severity_classes", "offences"},  # shoplifting etc. now allowed
            id="severity-class-added",
        ),
        pytest.param(
            _set("request.min_narrative_chars", 10),
            {"request.min_narrative_chars"},
            id="narrative-shorter",
        ),
        pytest.param(
            _add("request.allowed_probe_sources", "live_stream"),
            {"request.allowed_probe_sources"},
            id="probe-source-added",
        ),
        pytest.param(
            _drop("request.forbidden_purposes", "immigration_enforcement"),
            {"request.forbidden_purposes"},
            id="purpose-no-longer-forbidden",
        ),
        pytest.param(
            _set("results.max_candidates", 11),
            {"results.max_candidates"},
            id="more-candidates",
        ),
        pytest.param(
            _set("results.required_reviews", 1),
            {"results.required_reviews"},
            id="fewer-reviews",
        ),
        pytest.param(
            _set("results.caveat", "a strong lead"),
            {"results.caveat"},
            id="caveat-changed",
        ),
        pytest.param(
            _drop("results.corroboration_required_for", "photo_lineup"),
            {"results.corroboration_required_for"},
            id="corroboration-not-required",
        ),
        pytest.param(
            _set("retention.probe_days", 366), {"retention.probe_days"}, id="probes-kept-longer"
        ),
        pytest.param(
            _set("retention.result_days", 3000),
            {"retention.result_days"},
            id="results-kept-longer",
        ),
        pytest.param(
            _set("retention.audit_log_min_days", 365),
            {"retention.audit_log_min_days"},
            id="audit-log-kept-shorter",
        ),
    ],
)
def test_loosened_custom_profile_loads_as_unsafe(
    tmp_path: Path, mutate: Mutation, loosened: set[str]
) -> None:
    data = _strictest_data()
    mutate(data)
    assert data["unsafe"] is False  # the file says safe; that cannot hide the loosening
    profile = load_profile(_write(tmp_path, data))
    found = loosenings(profile, load_profile(STRICTEST_PROFILE))
    assert _keys_named(found) == loosened
    assert profile.unsafe is True
    head = LOOSENED_WARNING.format(name="massachusetts", strictest=STRICTEST_PROFILE)
    assert profile.unsafe_warning == " ".join([head, *found])
    assert profile.unsafe_banner.startswith(f"{UNSAFE_LAB_PROFILE}: {head}")
    for key in loosened:
        assert key in profile.unsafe_banner
    assert profile.summary()["unsafe"] is True
    assert profile.sha256 != load_profile(STRICTEST_PROFILE).sha256


def _catalogue(tmp_path: Path, severities: dict[str, str]) -> None:
    """Write local.yaml beside the profile: the massachusetts offences with new severities."""
    data = yaml.safe_load(_text("massachusetts", "offences"))
    data["name"] = "local"
    for offence in data["offences"]:
        offence["severity"] = severities.get(offence["code"], offence["severity"])
    (tmp_path / "local.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def test_offence_added_by_extra_catalogue_loosens(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "name: extra\ntitle: Extra\noffences:\n"
        "  - {code: carjacking, name: Carjacking, severity: violent_felony}\n",
        encoding="utf-8",
    )
    profile = load_profile(_write(tmp_path, _strictest_data()), extra_offences=[extra])
    assert profile.unsafe is True
    assert "offences: " in profile.unsafe_warning and "carjacking" in profile.unsafe_warning


def test_offence_raised_to_an_allowed_class_loosens(tmp_path: Path) -> None:
    _catalogue(tmp_path, {"shoplifting": "felony"})
    data = _strictest_data()
    data["request"]["offence_catalogue"] = "local.yaml"
    profile = load_profile(_write(tmp_path, data))
    assert profile.unsafe is True
    found = loosenings(profile, load_profile(STRICTEST_PROFILE))
    assert _keys_named(found) == {"offences"}
    assert found[0].endswith("refuses: shoplifting.")


def test_offence_lowered_out_of_the_allowed_classes_stays_safe(tmp_path: Path) -> None:
    _catalogue(tmp_path, {"armed_robbery": "misdemeanour"})
    data = _strictest_data()
    data["request"]["offence_catalogue"] = "local.yaml"
    assert load_profile(_write(tmp_path, data)).unsafe is False


def test_own_unsafe_warning_is_kept_after_the_loosenings(tmp_path: Path) -> None:
    data = _strictest_data()
    data["results"]["max_candidates"] = 50
    data["unsafe"], data["unsafe_warning"] = True, "Training exercise only."
    profile = load_profile(_write(tmp_path, data))
    head = LOOSENED_WARNING.format(name="massachusetts", strictest=STRICTEST_PROFILE)
    assert profile.unsafe_warning.startswith(f"{head} results.max_candidates is 50")
    assert profile.unsafe_warning.endswith(" Training exercise only.")


def test_decisions_under_a_loosened_profile_carry_the_unsafe_flag(
    tmp_path: Path, make_ctx: Callable[..., Any]
) -> None:
    data = _strictest_data()
    data["results"]["max_candidates"] = 11
    profile = load_profile(_write(tmp_path, data))
    with pytest.warns(UnsafeProfileWarning, match="results.max_candidates"):
        engine = PolicyEngine(profile)
    decision = engine.evaluate(make_ctx(Action.SUBMIT))
    assert decision.allowed
    assert decision.unsafe is True
    assert decision.flags == (UNSAFE_LAB_PROFILE,)
    assert decision.warnings == (profile.unsafe_banner,)


# --- unchanged or stricter custom profiles stay safe ---------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda data: None, id="unchanged"),
        pytest.param(_set("results.max_candidates", 5), id="fewer-candidates"),
        pytest.param(_set("results.required_reviews", 3), id="more-reviews"),
        pytest.param(_set("request.min_narrative_chars", 200), id="longer-narrative"),
        pytest.param(_add("request.forbidden_purposes", "research"), id="purpose-forbidden"),
        pytest.param(
            _add("access.forbidden_role_combinations", ["examiner", "reviewer"]),
            id="role-combination-forbidden",
        ),
        pytest.param(_set("legal_basis.allowed", ["court_order"]), id="fewer-legal-bases"),
        pytest.param(_set("legal_basis.emergency_filing_hours", 24), id="earlier-filing"),
        pytest.param(_set("access.training_validity_days", 180), id="training-renewed-sooner"),
        pytest.param(
            _set("request.allowed_severity_classes", ["violent_felony"]), id="fewer-classes"
        ),
        pytest.param(
            _add("results.corroboration_required_for", "further_investigation"),
            id="more-corroboration",
        ),
        pytest.param(_set("retention.probe_days", 30), id="probes-deleted-sooner"),
        pytest.param(_set("retention.audit_log_min_days", 3650), id="audit-log-kept-longer"),
        pytest.param(_set("name", "boston"), id="renamed"),
        pytest.param(_set("sources", ["our own reading"]), id="other-sources"),
    ],
)
def test_unchanged_or_stricter_custom_profile_stays_safe(tmp_path: Path, mutate: Mutation) -> None:
    data = _strictest_data()
    mutate(data)
    profile = load_profile(_write(tmp_path, data))
    assert loosenings(profile, load_profile(STRICTEST_PROFILE)) == []
    assert profile.unsafe is False
    assert profile.unsafe_banner == ""


def test_unchanged_copy_keeps_the_shipped_hash(tmp_path: Path) -> None:
    copy = load_profile(_write(tmp_path, _strictest_data()))
    assert copy.sha256 == load_profile(STRICTEST_PROFILE).sha256


# --- shipped profiles ------------------------------------------------------------------------


@pytest.mark.parametrize("name", shipped_profiles())
def test_shipped_profiles_are_compared_but_keep_their_own_unsafe(name: str) -> None:
    profile = load_profile(name)
    found = loosenings(profile, load_profile(STRICTEST_PROFILE))
    assert all(isinstance(s, str) and s.endswith(".") for s in found)
    assert _keys_named(found) <= COMPARED_FIELDS
    assert (found == []) is (name == STRICTEST_PROFILE)
    assert profile.unsafe is (name == "lab")


@pytest.mark.parametrize("name", [n for n in REAL if n != STRICTEST_PROFILE])
def test_a_copy_of_a_looser_shipped_profile_loaded_by_path_is_unsafe(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / "copy.yaml").write_text(_text(name), encoding="utf-8")
    # A shipped catalogue name resolves as before, so only the path makes the profile custom.
    profile = load_profile(tmp_path / "copy.yaml")
    assert profile.unsafe is True
    assert profile.unsafe_banner.startswith(f"{UNSAFE_LAB_PROFILE}: Custom profile {name}")


def test_lab_loosens_massachusetts() -> None:
    found = loosenings(load_profile("lab"), load_profile("massachusetts"))
    assert {
        "rules",
        "access.forbidden_role_combinations",
        "request.allowed_probe_sources",
        "request.forbidden_purposes",
        "results.max_candidates",
    } <= _keys_named(found)
    assert any(s.startswith("rules does not run") and "legal_basis" in s for s in found)
