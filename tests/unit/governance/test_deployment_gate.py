"""The deployment gate's bounds (R15, R16): which evaluations open it, and the reasons when not."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from faceledger.errors import ConfigError
from faceledger.governance.deployment import GateFigures, gate_reasons
from faceledger.governance.profiles import load_profile
from faceledger.governance.strictness import loosenings

MA = load_profile("massachusetts").accuracy


def summary(
    rank1: float | None = 0.99,
    fnir: float | None = 0.03,
    fte: float | None = 0.005,
    demographics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An evaluation summary holding only what the gate reads."""
    if demographics is None:
        demographics = {"label_source": "predicted", "max_fmr_ratio": 2.5, "max_fnmr_ratio": 1.5}
    return {
        "fte": fte,
        "one_to_n": {"rank1": rank1, "fnir_at_fpir": {"0.003": {"fnir": fnir}}},
        "demographics": demographics,
    }


def test_an_evaluation_within_every_bound_opens_the_gate() -> None:
    assert gate_reasons(summary(), MA) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rank1": 0.90}, "rank-1 identification rate is 90.00%, below the profile's minimum"),
        ({"fnir": 0.21}, "FNIR at FPIR 0.003 is 21.00%, above the profile's maximum of 10.00%"),
        ({"fte": 0.05}, "failure-to-enrol rate is 5.00%, above"),
        ({"rank1": None}, "does not report the rank-1 identification rate"),
        ({"demographics": {}}, "no demographic table"),
    ],
)
def test_each_missed_bound_gives_its_reason(changes: dict[str, Any], expected: str) -> None:
    reasons = gate_reasons(summary(**changes), MA)
    assert len(reasons) == 1 and expected in reasons[0], reasons


def test_demographic_ratios_are_bounded_and_an_unknown_ratio_does_not_pass() -> None:
    wide = {"label_source": "perceived", "max_fmr_ratio": 40.0, "max_fnmr_ratio": 1.0}
    (reason,) = gate_reasons(summary(demographics=wide), MA)
    assert "worst-to-best FMR ratio between groups is 40.00x" in reason
    unknown = {"label_source": "perceived", "max_fmr_ratio": None, "max_fnmr_ratio": 1.0}
    (reason,) = gate_reasons(summary(demographics=unknown), MA)
    assert "does not report the worst-to-best FMR ratio" in reason


def test_every_reason_is_listed_at_once() -> None:
    reasons = gate_reasons(summary(rank1=0.5, fnir=0.5, fte=0.5, demographics={}), MA)
    assert len(reasons) == 4


def test_the_lab_profile_has_no_gate_and_no_bounds() -> None:
    lab = load_profile("lab").accuracy
    assert lab.gate is False
    assert gate_reasons(summary(rank1=0.1, fnir=0.9, fte=0.9, demographics={}), lab) == []


def test_gate_figures_go_to_the_ledger_as_integers() -> None:
    record = GateFigures.of(summary()).to_record()
    assert record["rank1_micro"] == 990_000 and record["fnir_at_fpir_0_003_micro"] == 30_000
    assert all(isinstance(v, int | str) or v is None for v in record.values())


def test_a_custom_profile_that_loosens_the_gate_is_flagged() -> None:
    ma = load_profile("massachusetts")
    looser = dataclasses.replace(
        ma,
        accuracy=dataclasses.replace(
            ma.accuracy, gate=False, min_rank1=0.5, max_fnir=None, operating_fpir=0.1
        ),
    )
    found = " ".join(loosenings(looser, ma))
    for key in (
        "accuracy.gate",
        "accuracy.min_rank1",
        "accuracy.max_fnir",
        "accuracy.operating_fpir",
    ):
        assert key in found, found
    assert loosenings(ma, ma) == []


def test_a_bad_accuracy_value_names_the_key(tmp_path: Path) -> None:
    text = (Path(load_profile("massachusetts").source)).read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("min_rank1: 0.95", "min_rank1: 1.5"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"accuracy\.min_rank1 must be a number from 0 to 1"):
        load_profile(bad)


def test_a_ratio_too_small_to_measure_is_recorded_not_counted() -> None:
    demographics = {
        "label_source": "predicted",
        "max_fmr_ratio": 2.0,
        "max_fnmr_ratio": 1.5,
        "unbounded_ratios": [],
        "columns": {
            "race_id": {"fmr_ratio": {"value": 1.4}, "fnmr_ratio": {"value": None}},
            "sex_id": {"fmr_ratio": {"value": 2.0}, "fnmr_ratio": {"value": 1.5}},
        },
    }
    figures = GateFigures.of(summary(demographics=demographics))
    assert figures.unmeasured == ("race_id:fnmr",)
    assert figures.to_record()["unmeasured_ratios"] == "race_id:fnmr"
    assert gate_reasons(summary(demographics=demographics), MA) == []


def test_an_unbounded_ratio_keeps_the_gate_closed() -> None:
    demographics = {
        "label_source": "predicted",
        "max_fmr_ratio": 2.0,
        "max_fnmr_ratio": 1.5,
        "unbounded_ratios": ["race_id:fmr"],
    }
    (reason,) = gate_reasons(summary(demographics=demographics), MA)
    assert reason.startswith("the differentials cannot be bounded for race_id:fmr")
