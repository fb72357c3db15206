"""The deployment gate (R15, R16): does a stored evaluation meet the profile's accuracy bounds?

Pure: it reads an evaluation summary (as ``faceledger eval`` writes it) and the active profile's
:class:`~faceledger.governance.profiles.AccuracyPolicy`, and returns one sentence per bound the
evaluation misses. An empty list opens the gate. The service records both outcomes in the
ledger and stores an activation only when the list is empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from faceledger.governance.profiles import FNIR_FPIR, AccuracyPolicy


@dataclass(frozen=True)
class GateFigures:
    """The figures of an evaluation that the gate reads (``None``: not reported)."""

    rank1: float | None
    fnir: float | None  # at FPIR = FNIR_FPIR
    fte: float | None
    label_source: str | None  # None: no demographic table
    max_fmr_ratio: float | None
    max_fnmr_ratio: float | None
    unbounded: tuple[str, ...] = ()  # ratios whose best group had no errors ("race_id:fmr")
    unmeasured: tuple[str, ...] = ()  # ratios the set was too small to measure at all

    @classmethod
    def of(cls, summary: Mapping[str, Any]) -> GateFigures:
        """Read the gate's figures from an evaluation summary."""
        one_to_n = summary.get("one_to_n") or {}
        at = (one_to_n.get("fnir_at_fpir") or {}).get(_fpir_key(FNIR_FPIR)) or {}
        demographics = summary.get("demographics") or None
        fte = summary.get("fte")
        return cls(
            rank1=_number(one_to_n.get("rank1")),
            fnir=_number(at.get("fnir")),
            fte=_number(fte.get("rate") if isinstance(fte, Mapping) else fte),
            label_source=None if demographics is None else str(demographics.get("label_source")),
            max_fmr_ratio=None if demographics is None else _ratio(demographics, "max_fmr_ratio"),
            max_fnmr_ratio=(
                None if demographics is None else _ratio(demographics, "max_fnmr_ratio")
            ),
            unbounded=()
            if demographics is None
            else tuple(str(u) for u in demographics.get("unbounded_ratios") or ()),
            unmeasured=() if demographics is None else _unmeasured(demographics),
        )

    def to_record(self) -> dict[str, int | str | None]:
        """Return the figures as integers (millionths), as the ledger records them."""
        return {
            "rank1_micro": _micro(self.rank1),
            "fnir_at_fpir_0_003_micro": _micro(self.fnir),
            "fte_micro": _micro(self.fte),
            "label_source": self.label_source,
            "max_fmr_ratio_micro": _micro(self.max_fmr_ratio),
            "max_fnmr_ratio_micro": _micro(self.max_fnmr_ratio),
            "unbounded_ratios": ",".join(self.unbounded),
            "unmeasured_ratios": ",".join(self.unmeasured),
        }


def gate_reasons(summary: Mapping[str, Any] | GateFigures, policy: AccuracyPolicy) -> list[str]:
    """Return one sentence per accuracy bound of ``policy`` the evaluation (its summary, or the
    figures read from it) does not meet."""
    figures = summary if isinstance(summary, GateFigures) else GateFigures.of(summary)
    reasons: list[str] = []
    _minimum(reasons, "rank-1 identification rate", figures.rank1, policy.min_rank1)
    _maximum(reasons, f"FNIR at FPIR {FNIR_FPIR:g}", figures.fnir, policy.max_fnir)
    _maximum(reasons, "failure-to-enrol rate", figures.fte, policy.max_fte)
    if policy.require_demographics and figures.label_source is None:
        reasons.append(
            "the evaluation has no demographic table (FMR and FNMR per group, R16); run "
            "`faceledger eval` with --labels"
        )
    if figures.label_source is not None:
        _maximum(
            reasons,
            "worst-to-best FMR ratio between groups",
            figures.max_fmr_ratio,
            policy.max_fmr_ratio,
            ratio=True,
        )
        _maximum(
            reasons,
            "worst-to-best FNMR ratio between groups",
            figures.max_fnmr_ratio,
            policy.max_fnmr_ratio,
            ratio=True,
        )
        if figures.unbounded and (policy.max_fmr_ratio or policy.max_fnmr_ratio):
            reasons.append(
                "the differentials cannot be bounded for "
                f"{', '.join(figures.unbounded)}: the best group had no errors at the operating "
                "threshold, so the ratio is unknown; evaluate on a set with more comparisons "
                "per group"
            )
    return reasons


def _minimum(reasons: list[str], what: str, value: float | None, bound: float | None) -> None:
    if bound is None:
        return
    if value is None:
        reasons.append(
            f"the evaluation does not report the {what}; the profile needs at least {bound:.1%}"
        )
    elif value < bound:
        reasons.append(f"{what} is {value:.2%}, below the profile's minimum of {bound:.1%}")


def _maximum(
    reasons: list[str],
    what: str,
    value: float | None,
    bound: float | None,
    ratio: bool = False,
) -> None:
    if bound is None:
        return

    def shown(v: float) -> str:
        return f"{v:.2f}x" if ratio else f"{v:.2%}"

    if value is None:
        reasons.append(
            f"the evaluation does not report the {what}; the profile allows at most {shown(bound)}"
        )
    elif value > bound:
        reasons.append(f"{what} is {shown(value)}, above the profile's maximum of {shown(bound)}")


def _fpir_key(fpir: float) -> str:
    return f"{fpir:g}"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ratio(demographics: Mapping[str, Any], key: str) -> float | None:
    # A ratio that cannot be computed (a group with no errors at all) is reported as null by
    # the evaluation; the gate cannot show that it is within bounds, so it counts as missing.
    return _number(demographics.get(key))


def _unmeasured(demographics: Mapping[str, Any]) -> tuple[str, ...]:
    # A ratio with no value that is not unbounded: fewer than two groups had enough comparisons
    # to measure the rate. It is recorded with the gate's figures (and so with an activation),
    # not counted against the bound: a small set cannot show a differential either way.
    unbounded = set(demographics.get("unbounded_ratios") or ())
    found = []
    for column, table in (demographics.get("columns") or {}).items():
        for rate in ("fmr", "fnmr"):
            ratio = table.get(f"{rate}_ratio") or {}
            key = f"{column}:{rate}"
            if ratio.get("value") is None and key not in unbounded:
                found.append(key)
    return tuple(found)


def _micro(value: float | None) -> int | None:
    return None if value is None else round(value * 1_000_000)
