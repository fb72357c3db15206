"""Shipped profiles load and hash stably, differ where their laws differ, and reject bad YAML."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from faceledger.errors import ConfigError
from faceledger.governance import (
    RULE_TYPES,
    Action,
    AgencyKind,
    Attestation,
    AuthorityKind,
    CourtOrder,
    DeceasedOrIncapacitated,
    Emergency,
    Investigation,
    PolicyEngine,
    ProbeSource,
    Profile,
    Purpose,
    Release,
    Role,
    UnsafeProfileWarning,
    load_profile,
    shipped_profiles,
)
from faceledger.governance.profiles import role_combination_problems

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
SHIPPED = ("eu-ai-act", "lab", "maryland", "massachusetts", "washington")
REAL = ("eu-ai-act", "maryland", "massachusetts", "washington")
# A felony-class robbery code in each profile's own catalogue.
ROBBERY = {
    "massachusetts": "armed_robbery",
    "washington": "robbery_1",
    "maryland": "armed_robbery",
    "eu-ai-act": "armed_robbery",
    "lab": "synthetic_felony",
}


def _text(name: str) -> str:
    return (resources.files("faceledger.governance") / "profiles" / f"{name}.yaml").read_text(
        encoding="utf-8"
    )


def test_shipped_profiles_are_the_five() -> None:
    assert shipped_profiles() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_loads_with_stable_hash(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert re.fullmatch(r"[0-9a-f]{64}", profile.sha256)
    assert load_profile(name).sha256 == profile.sha256
    assert profile.rules and all(rule in RULE_TYPES for rule in profile.rules)
    assert profile.results.caveat == "investigative lead only — not probable cause for arrest"
    assert len(profile.offences) > 0
    assert profile.unsafe is (name == "lab")


def test_hashes_differ_between_profiles() -> None:
    assert len({load_profile(name).sha256 for name in SHIPPED}) == len(SHIPPED)


def test_canonical_content_covers_every_field(massachusetts: Profile) -> None:
    fields = {f.name for f in dataclasses.fields(Profile)} - {"sha256", "source"}
    assert set(massachusetts.canonical()) == fields


def test_hash_ignores_comments_and_key_order_but_not_content(tmp_path: Path) -> None:
    data = yaml.safe_load(_text("massachusetts"))
    reordered = tmp_path / "reordered.yaml"
    reordered.write_text(yaml.safe_dump(dict(reversed(list(data.items())))), encoding="utf-8")
    assert load_profile(reordered).sha256 == load_profile("massachusetts").sha256
    data["results"]["max_candidates"] = 11
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_profile(changed).sha256 != load_profile("massachusetts").sha256


def test_extra_offences_extend_the_catalogue_and_the_hash(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "name: boston-extra\ntitle: Extra\noffences:\n"
        "  - {code: carjacking, name: Carjacking, severity: violent_felony}\n",
        encoding="utf-8",
    )
    profile = load_profile("massachusetts", extra_offences=[extra])
    assert profile.offences.get("carjacking").name == "Carjacking"
    assert profile.sha256 != load_profile("massachusetts").sha256


def test_unknown_profile_name() -> None:
    with pytest.raises(ConfigError, match="Unknown policy profile 'utopia'; shipped profiles: eu"):
        load_profile("utopia")


def test_profile_helpers(massachusetts: Profile) -> None:
    assert massachusetts.emergency_filing_deadline(NOW) == NOW + dt.timedelta(hours=48)
    assert load_profile("washington").emergency_filing_deadline(NOW) is None
    assert massachusetts.training_certified_until(dt.date(2024, 1, 1)) == dt.date(2024, 12, 31)
    assert massachusetts.summary() == {
        "name": "massachusetts",
        "sha256": massachusetts.sha256,
        "unsafe": False,
    }


# --- role combinations (R10) -----------------------------------------------------------

R = Role
STRICT_PAIRS = {
    frozenset(pair)
    for pair in [
        (R.REQUESTER, R.EXAMINER),
        (R.REQUESTER, R.REVIEWER),
        (R.REQUESTER, R.SUPERVISOR),
        (R.AUDITOR, R.EXAMINER),
        (R.AUDITOR, R.REVIEWER),
        (R.AUDITOR, R.SUPERVISOR),
        (R.AUDITOR, R.ADMIN),
        (R.ADMIN, R.EXAMINER),
        (R.ADMIN, R.REVIEWER),
    ]
}


@pytest.mark.parametrize("name", REAL)
def test_real_profiles_forbid_the_strict_role_combinations(name: str) -> None:
    pairs = load_profile(name).access.forbidden_role_combinations
    assert set(pairs) == STRICT_PAIRS and len(pairs) == len(STRICT_PAIRS)
    assert frozenset({R.ADMIN, R.SUPERVISOR}) not in pairs  # the bootstrap account
    assert frozenset({R.EXAMINER, R.REVIEWER}) not in pairs


def test_lab_forbids_no_role_combination() -> None:
    assert load_profile("lab").access.forbidden_role_combinations == ()
    assert role_combination_problems(load_profile("lab"), frozenset(Role)) == []


@pytest.mark.parametrize(
    ("roles", "problems"),
    [
        pytest.param(
            {R.REQUESTER, R.EXAMINER},
            [
                "The massachusetts profile does not let one account hold both requester and "
                "examiner: it would defeat independent review (R10)."
            ],
            id="requester-examiner",
        ),
        pytest.param({R.ADMIN, R.SUPERVISOR}, [], id="bootstrap-admin-supervisor"),
        pytest.param({R.EXAMINER, R.REVIEWER}, [], id="examiner-reviewer"),
        pytest.param({R.AUDITOR}, [], id="one-role"),
        pytest.param(set(), [], id="no-role"),
        pytest.param(
            {R.ADMIN, R.AUDITOR, R.REVIEWER},
            [
                "The massachusetts profile does not let one account hold both reviewer and "
                "auditor: it would defeat independent review (R10).",
                "The massachusetts profile does not let one account hold both reviewer and "
                "admin: it would defeat independent review (R10).",
                "The massachusetts profile does not let one account hold both auditor and "
                "admin: it would defeat independent review (R10).",
            ],
            id="three-roles-three-pairs",
        ),
    ],
)
def test_role_combination_problems(
    massachusetts: Profile, roles: set[Role], problems: list[str]
) -> None:
    assert sorted(role_combination_problems(massachusetts, frozenset(roles))) == sorted(problems)


def test_role_combination_problems_of_an_access_section(massachusetts: Profile) -> None:
    roles = frozenset({R.REQUESTER, R.SUPERVISOR})
    named = role_combination_problems(massachusetts.access, roles, profile_name="boston")
    assert named == [
        "The boston profile does not let one account hold both requester and supervisor: it "
        "would defeat independent review (R10)."
    ]
    assert role_combination_problems(massachusetts.access, roles)[0].startswith(
        "The active profile does not let"
    )


def test_role_pairs_hash_the_same_in_any_order(tmp_path: Path) -> None:
    data = yaml.safe_load(_text("massachusetts"))
    pairs = data["access"]["forbidden_role_combinations"]
    data["access"]["forbidden_role_combinations"] = [list(reversed(p)) for p in reversed(pairs)]
    path = tmp_path / "reversed.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    profile = load_profile(path)
    assert profile.access == load_profile("massachusetts").access
    assert profile.sha256 == load_profile("massachusetts").sha256


# --- where the laws differ --------------------------------------------------------------


@pytest.fixture(scope="module")
def engines() -> dict[str, PolicyEngine]:
    """One engine per shipped profile (the lab one warns, as it must)."""
    built = {}
    for name in SHIPPED:
        if name == "lab":
            with pytest.warns(UnsafeProfileWarning):
                built[name] = PolicyEngine(load_profile(name))
        else:
            built[name] = PolicyEngine(load_profile(name))
    return built


Change = dict[str, Any]
EMERGENCY_NO_DEADLINE = Emergency("Armed man holding hostages at 12 Elm St.", NOW, "sergeant-3")
DECEASED = {
    "offence_code": None,
    "legal_basis": DeceasedOrIncapacitated("Unidentified body."),
    "attestation": Attestation(True, "No suspicion.", Purpose.IDENTIFY_DECEASED_OR_INCAPACITATED),
}
ADMIN_ORDER = CourtOrder(
    "Police authority",
    "A-1",
    "Director",
    dt.date(2024, 5, 1),
    dt.date(2024, 7, 1),
    AuthorityKind.ADMINISTRATIVE,
)


@pytest.mark.parametrize(
    ("action", "change", "allowed_in"),
    [
        pytest.param(
            Action.RUN_SEARCH,
            {"actor": {"agency_id": "seattle-pd"}},
            {"washington", "maryland", "eu-ai-act", "lab"},
            id="R1-any-operating-unit-not-only-state-police",
        ),
        pytest.param(
            Action.RUN_SEARCH,
            {"actor": {"agency_kind": AgencyKind.REQUESTING_AGENCY}},
            {"lab"},
            id="R1-requesting-agency-runs-search",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"offence_code": "shoplifting"}},
            {"washington", "eu-ai-act", "lab"},  # MA: misdemeanour; MD: not a listed offence
            id="R6-shoplifting",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"offence_code": "stalking"}},
            {"maryland", "lab"},  # listed in §2-503 although a misdemeanour; unknown elsewhere
            id="R6-stalking",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"probe_source": ProbeSource.VIDEO_FRAME}},
            {"washington", "maryland", "eu-ai-act", "lab"},
            id="R7-video-frame",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"probe_source": ProbeSource.LIVE_STREAM}},
            {"lab"},
            id="R7-live-stream",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": DECEASED},
            {"massachusetts", "maryland", "lab"},  # WA needs a court order; EU an authorisation
            id="R5-deceased-without-court-order",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"legal_basis": Investigation()}},
            {"maryland", "lab"},
            id="R3-listed-offence-investigation-without-order",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"legal_basis": ADMIN_ORDER}},
            {"eu-ai-act", "lab"},
            id="R3-administrative-authorisation",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"legal_basis": EMERGENCY_NO_DEADLINE}},
            {"washington", "lab"},  # MA and EU need a filing within 48 h; MD has no emergency
            id="R4-emergency-without-filing-deadline",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"legal_basis": None}},
            {"lab"},
            id="R3-no-legal-basis",
        ),
    ],
)
def test_profiles_differ_where_their_laws_differ(
    engines: dict[str, PolicyEngine],
    make_ctx: Callable[..., Any],
    action: Action,
    change: Change,
    allowed_in: set[str],
) -> None:
    allowed = set()
    for name, engine in engines.items():
        request = {"offence_code": ROBBERY[name], **change.get("request", {})}
        if engine.evaluate(make_ctx(action, actor=change.get("actor"), request=request)).allowed:
            allowed.add(name)
    assert allowed == allowed_in


@pytest.mark.parametrize("name", SHIPPED)
def test_baseline_request_passes_every_profile(
    engines: dict[str, PolicyEngine], make_ctx: Callable[..., Any], name: str
) -> None:
    engine = engines[name]
    notices = (engine.profile.unsafe_banner,) if engine.profile.unsafe else ()
    release = Release(("c1",), engine.profile.results.caveat, notices)
    for action in Action:
        if action in {Action.APPROVE_EMERGENCY, Action.FILE_EMERGENCY_STATEMENT, Action.SEAL}:
            continue  # these need an emergency request: see test_rules.py, R4
        extra = {"release": release} if action is Action.RELEASE else {}
        ctx = make_ctx(action, request={"offence_code": ROBBERY[name]}, **extra)
        assert engine.evaluate(ctx).reasons == (), action


# --- malformed profiles -----------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        data[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        del data[last]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "key", "message"),
    [
        pytest.param(_set("colour", "blue"), "colour", "unknown key colour", id="unknown-key"),
        pytest.param(
            _set("results.max_candiates", 5),
            "results.max_candiates",
            "unknown key results.max_candiates",
            id="unknown-nested-key",
        ),
        pytest.param(
            _set("results.max_candidates", "ten"),
            "results.max_candidates",
            "key results.max_candidates must be an integer, got 'ten'",
            id="wrong-type-int",
        ),
        pytest.param(
            _set("results.max_candidates", True),
            "results.max_candidates",
            "key results.max_candidates must be an integer, got True",
            id="bool-is-not-int",
        ),
        pytest.param(
            _set("results.max_candidates", 0),
            "results.max_candidates",
            "must be an integer of at least 1 and at most 1000, got 0",
            id="out-of-range",
        ),
        pytest.param(
            _set("unsafe", "no"),
            "unsafe",
            "key unsafe must be true or false, got 'no'",
            id="wrong-type-bool",
        ),
        pytest.param(
            _set("access", ["operating_unit"]),
            "access",
            "key access must be a mapping",
            id="section-not-mapping",
        ),
        pytest.param(
            _set("rules", ["named_actor", "no_such_rule"]),
            "rules[1]",
            "key rules[1] names unknown rule 'no_such_rule'; known rules: account_active",
            id="unknown-rule",
        ),
        pytest.param(
            _set("rules", ["named_actor", "named_actor"]),
            "rules",
            "key rules must be a list without repeats",
            id="repeated-rule",
        ),
        pytest.param(
            _set("request.allowed_probe_sources", ["polaroid"]),
            "request.allowed_probe_sources[0]",
            "must be one of still_photo, video_frame, live_stream, sketch, composite, got "
            "'polaroid'",
            id="unknown-enum-value",
        ),
        pytest.param(
            _delete("retention.probe_days"),
            "retention.probe_days",
            "key retention.probe_days is missing",
            id="missing-key",
        ),
        pytest.param(
            _set("unsafe", True),
            "unsafe_warning",
            "key unsafe_warning is missing",
            id="unsafe-without-warning",
        ),
        pytest.param(
            _set("unsafe_warning", "careful"),
            "unsafe_warning",
            "key unsafe_warning must be absent unless unsafe is true",
            id="warning-without-unsafe",
        ),
        pytest.param(
            _set("access.training_validity_days", None),
            "access.training_validity_days",
            "rule training_current needs access.training_validity_days",
            id="rule-parameter-missing",
        ),
        pytest.param(
            _set("request.offence_catalogue", "atlantis"),
            "request.offence_catalogue",
            "Unknown offence catalogue 'atlantis'",
            id="unknown-catalogue",
        ),
        pytest.param(
            _set("legal_basis.court_order_authorities", []),
            "legal_basis.court_order_authorities",
            "non-empty when court_order is allowed",
            id="court-order-without-authority",
        ),
        pytest.param(
            _delete("access.forbidden_role_combinations"),
            "access.forbidden_role_combinations",
            "key access.forbidden_role_combinations is missing",
            id="role-pairs-missing",
        ),
        pytest.param(
            _set("access.forbidden_role_combinations", "requester+examiner"),
            "access.forbidden_role_combinations",
            "must be a list of role pairs like [requester, examiner]",
            id="role-pairs-not-a-list",
        ),
        pytest.param(
            _set("access.forbidden_role_combinations", [["requester", "janitor"]]),
            "access.forbidden_role_combinations[0][1]",
            "must be one of requester, examiner, reviewer, supervisor, auditor, admin, got "
            "'janitor'",
            id="role-pair-unknown-role",
        ),
        pytest.param(
            _set("access.forbidden_role_combinations", [["requester", ["examiner"]]]),
            "access.forbidden_role_combinations[0][1]",
            "must be one of requester",
            id="role-pair-role-not-a-string",
        ),
        pytest.param(
            _set("access.forbidden_role_combinations", [["requester"]]),
            "access.forbidden_role_combinations[0]",
            "must be a list of two different roles, got ['requester']",
            id="role-pair-of-one",
        ),
        pytest.param(
            _set("access.forbidden_role_combinations", [["admin", "auditor", "examiner"]]),
            "access.forbidden_role_combinations[0]",
            "must be a list of two different roles",
            id="role-pair-of-three",
        ),
        pytest.param(
            _set("access.forbidden_role_combinations", [["admin", "admin"]]),
            "access.forbidden_role_combinations[0]",
            "must be a list of two different roles, got ['admin', 'admin']",
            id="role-pair-repeats-a-role",
        ),
        pytest.param(
            _set("access.forbidden_role_combinations", ["requester"]),
            "access.forbidden_role_combinations[0]",
            "must be a list of two different roles, got 'requester'",
            id="role-pair-not-a-list",
        ),
        pytest.param(
            _set(
                "access.forbidden_role_combinations",
                [["requester", "examiner"], ["examiner", "requester"]],
            ),
            "access.forbidden_role_combinations",
            "must be a list without repeats",
            id="role-pair-repeated",
        ),
        pytest.param(
            _set("name", "Massachusetts!"),
            "name",
            "key name must be a lower-case name",
            id="bad-name",
        ),
    ],
)
def test_malformed_profile_is_a_config_error(
    tmp_path: Path, mutate: Mutation, key: str, message: str
) -> None:
    data = yaml.safe_load(_text("massachusetts"))
    mutate(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert str(path) in caught.value.message
    assert message in caught.value.message
    assert caught.value.details["key"] == key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("name: [unclosed\n", "is not valid YAML", id="invalid-yaml"),
        pytest.param("- just\n- a list\n", "the top level must be a mapping", id="not-mapping"),
    ],
)
def test_unparseable_profile_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_profile(path)
    assert caught.value.details["file"] == str(path)


def test_profile_may_use_a_catalogue_beside_it(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").write_text(
        "name: local\ntitle: Local\noffences:\n  - {code: arson, name: Arson, severity: felony}\n",
        encoding="utf-8",
    )
    data = yaml.safe_load(_text("massachusetts"))
    data["request"]["offence_catalogue"] = "local.yaml"
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    profile = load_profile(path)
    assert profile.offences.name == "local"
    assert "arson" in profile.offences
