"""The engine: deny by default, every reason kept, serialisable decisions, loud lab profile."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faceledger.errors import PolicyDenied
from faceledger.governance import (
    DENY_BY_DEFAULT,
    UNSAFE_LAB_PROFILE,
    Action,
    Decision,
    PolicyContext,
    PolicyEngine,
    ProbeSource,
    Profile,
    Release,
    Rule,
    UnsafeProfileWarning,
    build_rules,
    load_profile,
    shipped_profiles,
)


class _OnlySubmit:
    """A minimal rule for action ``submit`` only."""

    id, requirement, applies_to = "only_submit", "R1", frozenset({Action.SUBMIT})

    def check(self, ctx: PolicyContext) -> str | None:
        return None


@pytest.mark.parametrize(
    "rules", [pytest.param([], id="no-rules"), pytest.param([_OnlySubmit()], id="no-rule-applies")]
)
def test_action_without_rules_is_denied_by_default(
    massachusetts: Profile, make_ctx: Any, rules: list[Rule]
) -> None:
    decision = PolicyEngine(massachusetts, rules).evaluate(make_ctx(Action.RUN_SEARCH))
    assert not decision.allowed
    assert decision.rules_checked == ()
    assert [(f.rule_id, f.requirement) for f in decision.failures] == [(DENY_BY_DEFAULT, "")]
    assert decision.reasons == (
        "No rule of the massachusetts profile governs the action 'run_search', so it is denied "
        "by default.",
    )


def test_custom_rule_that_applies_allows(massachusetts: Profile, make_ctx: Any) -> None:
    decision = PolicyEngine(massachusetts, [_OnlySubmit()]).evaluate(make_ctx(Action.SUBMIT))
    assert decision.allowed
    assert decision.rules_checked == ("only_submit",)


@pytest.mark.parametrize("name", shipped_profiles())
@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_governed_in_every_profile(name: str, action: Action) -> None:
    rules = build_rules(load_profile(name))
    assert any(action in rule.applies_to for rule in rules)


@pytest.mark.parametrize("name", shipped_profiles())
def test_shipped_rules_satisfy_the_protocol(name: str) -> None:
    for rule in build_rules(load_profile(name)):
        assert isinstance(rule, Rule)
        assert rule.requirement.startswith("R")


def _walk(value: Any) -> None:
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        for item in value.values():
            _walk(item)
    elif isinstance(value, list):
        for item in value:
            _walk(item)
    else:
        assert value is None or type(value) in {str, int, bool}, repr(value)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="allowed"),
        pytest.param({"request": {"probe_source": ProbeSource.SKETCH}}, id="denied"),
    ],
)
def test_decision_to_dict_is_plain_json_without_floats(
    ma_engine: PolicyEngine, make_ctx: Any, changes: dict[str, Any]
) -> None:
    decision = ma_engine.evaluate(make_ctx(Action.RUN_SEARCH, **changes))
    data = decision.to_dict()
    _walk(data)
    assert json.loads(json.dumps(data)) == data
    assert data["profile"] == {"name": "massachusetts", "sha256": ma_engine.profile.sha256}
    assert data["allowed"] is decision.allowed
    assert data["decided_at"] == "2024-06-01T12:00:00+00:00"
    assert [f["reason"] for f in data["failures"]] == list(decision.reasons)
    assert data["flags"] == [] and data["warnings"] == []


def test_raise_for_denial_lists_every_reason(ma_engine: PolicyEngine, make_ctx: Any) -> None:
    ctx = make_ctx(Action.SUBMIT, request={"offence_code": "shoplifting", "probe_source": "sketch"})
    decision = ma_engine.evaluate(ctx)
    with pytest.raises(PolicyDenied) as caught:
        decision.raise_for_denial()
    assert caught.value.details["reasons"] == list(decision.reasons)
    assert caught.value.details["requirements"] == ["R6", "R7"]
    assert caught.value.status == 403
    ma_engine.evaluate(make_ctx(Action.SUBMIT)).raise_for_denial()  # allowed: returns


def test_decision_must_agree_with_its_failures(ma_engine: PolicyEngine, make_ctx: Any) -> None:
    decision = ma_engine.evaluate(make_ctx(Action.SUBMIT))
    with pytest.raises(ValueError, match="exactly when it has no failures"):
        Decision(**{**decision.__dict__, "allowed": False})


def test_naive_now_is_rejected(make_ctx: Any) -> None:
    from faceledger.errors import InvalidInput

    with pytest.raises(InvalidInput, match="timezone-aware"):
        make_ctx(Action.SUBMIT, now=make_ctx(Action.SUBMIT).now.replace(tzinfo=None))


@pytest.fixture(scope="module")
def lab_engine() -> PolicyEngine:
    with pytest.warns(UnsafeProfileWarning, match=UNSAFE_LAB_PROFILE):
        return PolicyEngine(load_profile("lab"))


@pytest.mark.parametrize(
    ("action", "changes", "allowed"),
    [
        pytest.param(Action.SUBMIT, {"request": {"legal_basis": None}}, True, id="no-basis"),
        pytest.param(
            Action.RUN_SEARCH,
            {"request": {"probe_source": ProbeSource.LIVE_STREAM, "offence_code": "anything"}},
            True,
            id="live-stream",
        ),
        pytest.param(
            Action.RUN_SEARCH, {"actor": {"training_certified_until": None}}, True, id="untrained"
        ),
        pytest.param(
            Action.SUBMIT, {"actor": {"account_approved": False}}, False, id="unapproved-account"
        ),
    ],
)
def test_lab_decisions_carry_the_unsafe_warning(
    lab_engine: PolicyEngine,
    make_ctx: Any,
    action: Action,
    changes: dict[str, Any],
    allowed: bool,
) -> None:
    decision = lab_engine.evaluate(make_ctx(action, **changes))
    assert decision.allowed is allowed
    assert decision.unsafe
    assert decision.flags == (UNSAFE_LAB_PROFILE,)
    assert decision.warnings == (lab_engine.profile.unsafe_banner,)
    assert decision.warnings[0].startswith("UNSAFE_LAB_PROFILE: Research lab profile")
    data = decision.to_dict()
    assert data["flags"] == [UNSAFE_LAB_PROFILE]
    assert data["warnings"] == [lab_engine.profile.unsafe_banner]


def test_lab_release_must_show_the_unsafe_banner(lab_engine: PolicyEngine, make_ctx: Any) -> None:
    banner, caveat = lab_engine.profile.unsafe_banner, lab_engine.profile.results.caveat
    hidden = lab_engine.evaluate(make_ctx(Action.RELEASE, release=Release(("c1",), caveat)))
    assert hidden.reasons == (f"The release must show the notice {banner!r} (R9).",)
    shown = make_ctx(Action.RELEASE, release=Release(("c1",), caveat, (banner,)))
    assert lab_engine.evaluate(shown).allowed


def test_safe_profiles_do_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    for name in shipped_profiles():
        if name != "lab":
            PolicyEngine(load_profile(name))
    assert len(recwarn) == 0
