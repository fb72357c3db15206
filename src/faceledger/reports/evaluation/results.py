"""What an evaluation found, as data: the report object and its stored summary.

:meth:`EvaluationReport.to_summary` is what the service stores and the deployment gate checks;
:meth:`EvaluationReport.to_dict` adds the curves and per-photo failures for
``evaluation.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faceledger.reports.evaluation.calibration import Calibration, ImpostorDistribution
from faceledger.reports.evaluation.demographics import Demographics
from faceledger.reports.evaluation.metrics import (
    EqualErrorRate,
    ErrorCurve,
    Floats,
    FnirAtFpir,
    Interval,
)

SUMMARY_VERSION = 1
FTE_POLICY = (
    "Photos with no usable chosen face are failures to enrol/acquire (FTE). They stay in every "
    "denominator: a mated comparison or search involving one counts as a miss (a false "
    "non-match / false negative), a non-mated one as a correct rejection, as NIST does."
)


def _ci(interval: Interval | None) -> list[float] | None:
    return None if interval is None else interval.to_list()


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass(frozen=True)
class FailureToEnrol:
    """Photos without a usable chosen face, by reason."""

    photos: int
    failed: int
    by_reason: dict[str, int]
    failed_files: tuple[tuple[str, str, str], ...]  # (relative path, reason, detail)

    @property
    def rate(self) -> float:
        """Share of photos that failed."""
        return self.failed / self.photos if self.photos else 0.0

    def to_summary(self) -> dict[str, Any]:
        """Counts, rate and the FTE policy sentence."""
        return {
            "photos": self.photos,
            "failed": self.failed,
            "rate": _round(self.rate),
            "by_reason": dict(sorted(self.by_reason.items())),
            "policy": FTE_POLICY,
        }


@dataclass(frozen=True)
class Histogram:
    """Distance histograms of mated and non-mated comparisons over shared bin edges."""

    edges: Floats
    mated: Floats
    nonmated: Floats


@dataclass(frozen=True)
class OneToOne:
    """Verification figures."""

    source: str  # 'all pairs' or the pairs CSV
    mated_pairs: int
    nonmated_pairs: int
    eer: EqualErrorRate
    eer_ci: Interval | None
    at_thresholds: tuple[tuple[float, float, float], ...]  # (threshold, FMR, FNMR)
    curve: ErrorCurve
    histogram: Histogram

    def to_summary(self) -> dict[str, Any]:
        """The figures the summary keeps."""
        return {
            "source": self.source,
            "mated_pairs": self.mated_pairs,
            "nonmated_pairs": self.nonmated_pairs,
            "eer": _round(self.eer.eer),
            "eer_ci": _ci(self.eer_ci),
            "eer_threshold": _round(self.eer.threshold),
            "at_thresholds": [
                {"threshold": _round(t), "fmr": _round(fmr, 8), "fnmr": _round(fnmr)}
                for t, fmr, fnmr in self.at_thresholds
            ],
        }


@dataclass(frozen=True)
class OneToN:
    """Identification figures for a gallery of one photo per identity."""

    gallery_size: int
    gallery_failed: int  # identities with no usable photo: enrolled as never-returned entries
    mated_probes: int
    nonmated_probes: int
    nonmated_source: str
    rank: int  # R in FNIR(t, R)
    cmc: Floats
    rank1_ci: Interval | None
    fnir_at_fpir: tuple[tuple[FnirAtFpir, Interval | None], ...]

    def to_summary(self) -> dict[str, Any]:
        """The figures the summary keeps."""
        return {
            "gallery_size": self.gallery_size,
            "gallery_failed": self.gallery_failed,
            "mated_probes": self.mated_probes,
            "nonmated_probes": self.nonmated_probes,
            "nonmated_source": self.nonmated_source,
            "rank": self.rank,
            "rank1": _round(float(self.cmc[0])),
            "rank1_ci": _ci(self.rank1_ci),
            "cmc": [_round(float(v)) for v in self.cmc],
            "fnir_at_fpir": {
                f"{point.target_fpir:g}": {
                    "fnir": _round(point.fnir),
                    "ci": _ci(ci),
                    "threshold": _round(point.threshold),
                    "fpir": _round(point.fpir),
                    "within_measured_range": point.within_measured_range,
                }
                for point, ci in self.fnir_at_fpir
            },
        }


@dataclass(frozen=True)
class EvaluationReport:
    """Everything one evaluation run measured, and how."""

    model: dict[str, dict[str, str]]
    dataset: dict[str, Any]
    face_choice: str
    method: dict[str, Any]
    fte: FailureToEnrol
    one_to_one: OneToOne
    one_to_n: OneToN
    operating_threshold: float
    operating_threshold_source: str
    demographics: Demographics | None
    impostor: ImpostorDistribution
    calibration: tuple[tuple[float, Calibration], ...]  # (target FPIR, threshold)
    notes: tuple[str, ...] = ()

    def to_summary(self) -> dict[str, Any]:
        """Return the JSON-ready summary the service stores and the deployment gate checks."""
        dataset = dict(self.dataset)
        dataset.update(
            gallery_size=self.one_to_n.gallery_size,
            mated_probes=self.one_to_n.mated_probes,
            nonmated_probes=self.one_to_n.nonmated_probes,
            face_choice=self.face_choice,
        )
        return {
            "version": SUMMARY_VERSION,
            "model": self.model,
            "dataset": dataset,
            "method": self.method,
            "fte": self.fte.to_summary(),
            "one_to_one": self.one_to_one.to_summary(),
            "one_to_n": self.one_to_n.to_summary(),
            "operating_threshold": {
                "threshold": _round(self.operating_threshold),
                "source": self.operating_threshold_source,
            },
            "demographics": None if self.demographics is None else self.demographics.to_dict(),
            "calibration": {f"{fpir:g}": chosen.to_dict() for fpir, chosen in self.calibration},
            "impostor": self.impostor.to_summary(),
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the summary plus curves and per-photo failures (for evaluation.json)."""
        curve = self.one_to_one.curve
        hist = self.one_to_one.histogram
        return {
            "summary": self.to_summary(),
            "roc": {
                "threshold": [_round(float(v)) for v in curve.thresholds],
                "fmr": [_round(float(v), 9) for v in curve.fmr],
                "fnmr": [_round(float(v), 9) for v in curve.fnmr],
            },
            "histogram": {
                "edges": [_round(float(v)) for v in hist.edges],
                "mated": [int(v) for v in hist.mated],
                "nonmated": [int(v) for v in hist.nonmated],
            },
            "failed_photos": [
                {"file": f, "reason": r, "detail": d} for f, r, d in self.fte.failed_files
            ],
        }
