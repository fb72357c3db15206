"""Accuracy evaluation in NIST terms (R15) with demographic differentials (R16).

Embed a labelled set once, then measure 1:1 (FMR, FNMR, EER, ROC/DET), 1:N (CMC, FNIR at
FPIR), failure to enrol and per-group error rates, with identity-level bootstrap intervals.
"""

from faceledger.reports.evaluation.calibration import (
    Calibration,
    ImpostorDistribution,
    fmr_for_fpir,
    threshold_for_fmr,
    threshold_for_fpir,
)
from faceledger.reports.evaluation.dataset import Dataset, load_folder, load_pairs_only
from faceledger.reports.evaluation.demographics import LABEL_SOURCES, read_labels
from faceledger.reports.evaluation.report import WrittenReport, write_report
from faceledger.reports.evaluation.results import EvaluationReport
from faceledger.reports.evaluation.runner import (
    EvaluationOptions,
    evaluate_embeddings,
    run_evaluation,
)

__all__ = [
    "LABEL_SOURCES",
    "Calibration",
    "Dataset",
    "EvaluationOptions",
    "EvaluationReport",
    "ImpostorDistribution",
    "WrittenReport",
    "evaluate_embeddings",
    "fmr_for_fpir",
    "load_folder",
    "load_pairs_only",
    "read_labels",
    "run_evaluation",
    "threshold_for_fmr",
    "threshold_for_fpir",
    "write_report",
]
