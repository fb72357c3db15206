"""Operating thresholds from the impostor (non-mated) distance distribution.

``threshold_for_fmr`` picks the loosest measured distance whose FMR is at most the target.
``threshold_for_fpir`` turns a 1:N target into a 1:1 one for a gallery of N entries, assuming
independent comparisons: FPIR(t, N) ~= 1 - (1 - FMR(t))^N, so FMR = 1 - (1 - FPIR)^(1/N).

The distribution can be rebuilt from a stored evaluation summary
(:meth:`ImpostorDistribution.from_summary`), so thresholds can be re-derived without photos.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from faceledger.errors import InvalidInput
from faceledger.reports.evaluation.metrics import Floats, rate_threshold

KEEP_SMALLEST = 20_000
DECIMALS = 6
FMR_GRID: tuple[float, ...] = (
    *(round(m * 10.0**e, 10) for e in range(-6, 0) for m in (1, 2, 3, 5)),
    0.2,
    0.3,
    0.5,
)


@dataclass(frozen=True)
class Calibration:
    """A threshold chosen for a target, and whether the measurements can show the target."""

    threshold: float
    target_fmr: float
    within_measured_range: bool
    measured_fmr: float
    note: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values."""
        return {
            "threshold": self.threshold,
            "target_fmr": self.target_fmr,
            "within_measured_range": self.within_measured_range,
            "measured_fmr": self.measured_fmr,
            "note": self.note,
        }


@dataclass(frozen=True)
class ImpostorDistribution:
    """The smallest impostor distances (sorted, rounded), their total count, and a grid of
    thresholds for FMRs beyond the kept smallest ones."""

    smallest: Floats
    count: int
    quantiles: tuple[tuple[float, float | None], ...]  # (FMR, threshold); None below 1/count

    @classmethod
    def from_distances(
        cls, distances: ArrayLike, keep: int = KEEP_SMALLEST
    ) -> ImpostorDistribution:
        """Summarise every impostor distance (infinite ones, from failed photos, count in the
        total and are never within a threshold).

        Raises:
            InvalidInput: if there are no finite distances.
        """
        values = np.sort(np.round(np.asarray(distances, dtype=np.float64).ravel(), DECIMALS))
        if not np.isfinite(values).any():
            raise InvalidInput("No impostor distances to calibrate on.")
        grid = tuple(
            (
                fmr,
                rate_threshold(values, values.size, fmr).threshold
                if fmr * values.size >= 1
                else None,
            )
            for fmr in FMR_GRID
        )
        finite = values[np.isfinite(values)]
        return cls(smallest=finite[:keep].copy(), count=int(values.size), quantiles=grid)

    def to_summary(self) -> dict[str, Any]:
        """Return the JSON-ready form stored in an evaluation summary."""
        return {
            "count": self.count,
            "smallest": [round(float(v), DECIMALS) for v in self.smallest],
            "quantiles": [{"fmr": f, "threshold": t} for f, t in self.quantiles],
            "decimals": DECIMALS,
        }

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> ImpostorDistribution:
        """Rebuild the distribution from :meth:`to_summary` output (e.g. a stored summary).

        Raises:
            InvalidInput: if a field is missing or malformed.
        """
        try:
            smallest = np.sort(np.asarray(summary["smallest"], dtype=np.float64))
            count = int(summary["count"])
            grid: Sequence[Mapping[str, Any]] = summary["quantiles"]
            quantiles = tuple(
                (float(q["fmr"]), None if q["threshold"] is None else float(q["threshold"]))
                for q in grid
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"Not an impostor distribution summary: {exc}") from exc
        if smallest.size == 0 or count < smallest.size:
            raise InvalidInput("An impostor summary needs 1..count smallest distances.")
        return cls(smallest=smallest, count=count, quantiles=quantiles)


def fmr_for_fpir(target_fpir: float, gallery_size: int) -> float:
    """Return the per-comparison FMR giving ``target_fpir`` against ``gallery_size`` entries:
    1 - (1 - FPIR)^(1/N).

    Raises:
        InvalidInput: if the target is outside [0, 1) or the gallery is empty.
    """
    if not 0.0 <= target_fpir < 1.0:
        raise InvalidInput(f"A target FPIR must lie in [0, 1), not {target_fpir}.")
    if gallery_size < 1:
        raise InvalidInput(f"The gallery size must be at least 1, not {gallery_size}.")
    return -math.expm1(math.log1p(-target_fpir) / gallery_size)


def threshold_for_fmr(impostor: ImpostorDistribution, target_fmr: float) -> Calibration:
    """Return the loosest measured distance whose FMR is at most ``target_fmr``.

    Below 1 / count no measured threshold can show the target: the threshold is clamped to the
    smallest measured impostor distance (whose own FMR is 1 / count) and
    ``within_measured_range`` is False.

    Raises:
        InvalidInput: if the target is outside [0, 1].
    """
    n = impostor.count
    allowed = math.floor(target_fmr * n + 1e-9) if 0.0 <= target_fmr <= 1.0 else -1
    if allowed < 0:
        raise InvalidInput(f"A target FMR must lie in [0, 1], not {target_fmr}.")
    if allowed < impostor.smallest.size:
        chosen = rate_threshold(impostor.smallest, n, target_fmr)
        measured = float(np.searchsorted(impostor.smallest, chosen.threshold, "right") / n)
        if not chosen.within_measured_range:
            note = (
                f"Target FMR {target_fmr:g} is below 1/{n} impostor comparisons: clamped to the "
                f"smallest measured impostor distance, whose measured FMR is {measured:g}. "
                "Measure more impostor comparisons to set this target."
            )
        else:
            note = f"Measured FMR {measured:g} over {n} impostor comparisons."
        return Calibration(
            chosen.threshold, target_fmr, chosen.within_measured_range, measured, note
        )
    usable = [(f, t) for f, t in impostor.quantiles if t is not None and f <= target_fmr]
    if not usable:  # beyond the kept distances and below the grid: the last kept is safe
        last = float(impostor.smallest[-1])
        measured = impostor.smallest.size / n
        return Calibration(
            last, target_fmr, True, measured, "Largest kept impostor distance (conservative)."
        )
    fmr, threshold = max(usable)
    assert threshold is not None
    return Calibration(
        threshold,
        target_fmr,
        True,
        fmr,
        f"From the stored quantile grid at FMR {fmr:g} (at most the target; conservative).",
    )


def threshold_for_fpir(
    impostor: ImpostorDistribution, target_fpir: float, gallery_size: int
) -> Calibration:
    """Return the threshold for ``target_fpir`` against ``gallery_size`` entries, via the FMR
    1 - (1 - FPIR)^(1/N) (independent comparisons assumed). Larger galleries get stricter
    (smaller) thresholds.

    Raises:
        InvalidInput: if the target is outside [0, 1) or the gallery is empty.
    """
    return threshold_for_fmr(impostor, fmr_for_fpir(target_fpir, gallery_size))
