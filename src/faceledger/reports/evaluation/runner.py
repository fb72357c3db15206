"""One evaluation run: embed the set once, then measure 1:1, 1:N, FTE and differentials.

Protocol (stated in every report):

1. Each photo is embedded once; the chosen face (``largest`` or ``centre``) must be usable,
   else the photo is a failure to enrol/acquire (see :data:`results.FTE_POLICY`).
2. 1:1: mated comparisons are every same-identity pair in ``people/``; non-mated comparisons
   every cross-identity pair of all photos (people and distractors), or the pairs CSV if given.
3. 1:N: the gallery holds one photo per ``people/`` identity, the first by file name with a
   usable face (if none is usable, the identity is enrolled as an entry that is never
   returned). The identity's other photos are mated probes. Distractors are the non-mated
   probes; without distractors every third identity (by name) is held out of the gallery and
   its photos are the non-mated probes.
4. Thresholds for FNIR at FPIR are set on the non-mated probes' best-candidate distances.
   Demographic differentials always use every pair (step 2 without the pairs CSV): a pairs
   list has too few non-mated comparisons within a group.
5. Intervals: percentile bootstrap over identities with a fixed seed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from faceledger.biometrics.pipeline import FacePipeline
from faceledger.config import Settings
from faceledger.errors import InvalidInput
from faceledger.reports.evaluation import metrics
from faceledger.reports.evaluation.calibration import (
    Calibration,
    ImpostorDistribution,
    threshold_for_fpir,
)
from faceledger.reports.evaluation.dataset import Dataset
from faceledger.reports.evaluation.demographics import (
    MIN_MATED_PAIRS,
    MIN_NONMATED_PAIRS,
    Comparisons,
    Demographics,
    Labels,
    demographic_differentials,
)
from faceledger.reports.evaluation.embedding import Embeddings, FaceChoice, embed_photos
from faceledger.reports.evaluation.results import (
    EvaluationReport,
    FailureToEnrol,
    Histogram,
    OneToN,
    OneToOne,
)
from faceledger.reports.evaluation.scores import all_pairs, cross_distances, listed_pairs

FPIR_TARGETS = (0.001, 0.003, 0.01, 0.1)
DEFAULT_FPIR = 0.003
MAX_RANK = 50
REPORT_FMRS = (1e-5, 1e-4, 1e-3, 1e-2)  # 1:1 FMR/FNMR are also listed at these FMRs' thresholds
DEMOGRAPHIC_FMR = 1e-3
"""Default operating point of the demographic table: the threshold giving this FMR over all
non-mated pairs. At the far stricter FNIR@FPIR thresholds a few-thousand-photo set shows no
false match at all in its smaller groups, so no FMR ratio could be measured (NIST IR 8280 also
reads differentials at a threshold set for one global FMR)."""


@dataclass(frozen=True)
class EvaluationOptions:
    """How to evaluate: everything but the settings, the set and the embeddings."""

    face_choice: FaceChoice = "largest"
    replicates: int = 1000
    seed: int = 20240501
    threshold: float | None = None  # operating threshold for the differentials
    demographic_fmr: float = DEMOGRAPHIC_FMR  # ... else the threshold for this global FMR
    rank: int = 1
    labels: Labels | None = None
    label_source: str | None = None
    group_columns: tuple[str, ...] = ()
    min_mated_pairs: int = MIN_MATED_PAIRS
    min_nonmated_pairs: int = MIN_NONMATED_PAIRS


def run_evaluation(
    settings: Settings,
    dataset: Dataset,
    options: EvaluationOptions | None = None,
    pipeline: FacePipeline | None = None,
    progress: Callable[[], None] | None = None,
    workers: int | None = None,
) -> EvaluationReport:
    """Embed every photo of ``dataset`` and evaluate it (``progress`` is called per photo).

    Raises:
        InvalidInput: for options that cannot be used (a label column that does not exist,
            a missing label source, nothing to compare).
    """
    options = options or EvaluationOptions()
    if options.labels is not None:
        demographic_differentials_check(options)
    pipeline = pipeline or FacePipeline.from_settings(settings)
    embeddings = embed_photos(
        [p.path for p in dataset.photos],
        settings,
        pipeline,
        options.face_choice,
        workers=workers,
        on_done=progress,
    )
    models = {k: m.to_dict() for k, m in pipeline.models.items()}
    return evaluate_embeddings(dataset, embeddings, models, options)


def demographic_differentials_check(options: EvaluationOptions) -> None:
    """Fail before the slow part when the demographic options cannot work.

    Raises:
        InvalidInput: for a missing label source, no columns, or an unknown column.
    """
    from faceledger.reports.evaluation.demographics import check_label_source

    assert options.labels is not None
    check_label_source(options.label_source)
    if not options.group_columns:
        raise InvalidInput("Name at least one label column (--group-columns).")
    for column in options.group_columns:
        options.labels.column(column, [])


def _fte(dataset: Dataset, embeddings: Embeddings) -> FailureToEnrol:
    failed = [
        (photo.relative, reason, detail)
        for photo, reason, detail in zip(
            dataset.photos, embeddings.failures, embeddings.details, strict=True
        )
        if reason is not None
    ]
    return FailureToEnrol(
        photos=len(dataset.photos),
        failed=len(failed),
        by_reason=dict(Counter(reason for _, reason, _ in failed)),
        failed_files=tuple(failed),
    )


def _histogram(mated: Comparisons, nonmated: Comparisons) -> Histogram:
    edges = np.linspace(0.0, metrics.MAX_DISTANCE, 101)
    m = mated.distance[np.isfinite(mated.distance)]
    n = nonmated.distance[np.isfinite(nonmated.distance)]
    return Histogram(
        edges,
        np.histogram(m, edges)[0].astype(np.float64),
        np.histogram(n, edges)[0].astype(np.float64),
    )


def _one_to_one(
    source: str,
    mated: Comparisons,
    nonmated: Comparisons,
    subjects: metrics.Ints,
    weights: metrics.Floats,
    thresholds: Sequence[float],
) -> OneToOne:
    eer = metrics.equal_error_rate(mated.distance, nonmated.distance)
    replicates = metrics.eer_replicates(
        mated.distance,
        subjects[mated.x],
        nonmated.distance,
        subjects[nonmated.x],
        subjects[nonmated.y],
        weights,
    )
    fmr, fnmr = metrics.error_rates(mated.distance, nonmated.distance, thresholds)
    return OneToOne(
        source=source,
        mated_pairs=int(mated.distance.size),
        nonmated_pairs=int(nonmated.distance.size),
        eer=eer,
        eer_ci=metrics.percentile_interval(replicates),
        at_thresholds=tuple(
            (float(t), float(a), float(b)) for t, a, b in zip(thresholds, fmr, fnmr, strict=True)
        ),
        curve=metrics.error_curve(mated.distance, nonmated.distance),
        histogram=_histogram(mated, nonmated),
    )


@dataclass(frozen=True)
class SearchSplit:
    """Which photos enrol, which search as mated and which as non-mated probes."""

    gallery: tuple[int, ...]  # photo indexes, one per gallery identity
    gallery_failed: int
    probes: tuple[int, ...]
    nonmated_source: str


def search_split(dataset: Dataset, ok: np.ndarray[tuple[int], np.dtype[np.bool_]]) -> SearchSplit:
    """Split the photos into gallery, mated and non-mated probes (see the module protocol)."""
    people = sorted({p.identity for p in dataset.photos if not p.distractor})
    distractors = any(p.distractor for p in dataset.photos)
    held_out = set() if distractors else {name for i, name in enumerate(people) if i % 3 == 2}
    gallery: list[int] = []
    failed = 0
    probes: list[int] = []
    for name in people:
        if name in held_out:
            continue
        photos = [i for i, p in enumerate(dataset.photos) if p.identity == name]
        usable = [i for i in photos if ok[i]]
        chosen = usable[0] if usable else photos[0]
        failed += not usable
        gallery.append(chosen)
        probes.extend(i for i in photos if i != chosen)
    probes.extend(i for i, p in enumerate(dataset.photos) if p.distractor or p.identity in held_out)
    source = "distractors" if distractors else "every third identity held out of the gallery"
    return SearchSplit(tuple(gallery), failed, tuple(probes), source)


def _one_to_n(
    dataset: Dataset,
    embeddings: Embeddings,
    subjects: metrics.Ints,
    weights: metrics.Floats,
    rank: int,
) -> tuple[OneToN, metrics.SearchOutcomes]:
    split = search_split(dataset, embeddings.ok)
    gallery = np.array(split.gallery, dtype=np.int64)
    probes = np.array(split.probes, dtype=np.int64)
    vectors = embeddings.vectors
    distances = cross_distances(vectors[probes], vectors[gallery])
    outcomes = metrics.search_outcomes(distances, subjects[gallery], subjects[probes])
    if outcomes.mate_rank.size == 0:
        raise InvalidInput("No mated probes: every gallery identity needs at least two photos.")
    if outcomes.nonmated_best.size == 0:
        raise InvalidInput("No non-mated probes: add distractors/ or more identities.")
    points = []
    for target in FPIR_TARGETS:
        point = metrics.fnir_at_fpir(outcomes, target, rank)
        replicates = metrics.fnir_at_fpir_replicates(outcomes, target, weights, rank)
        points.append((point, metrics.percentile_interval(replicates)))
    rank1 = metrics.subject_rate_replicates(
        outcomes.mate_rank <= 1, outcomes.mated_subject, weights
    )
    result = OneToN(
        gallery_size=int(gallery.size),
        gallery_failed=split.gallery_failed,
        mated_probes=int(outcomes.mate_rank.size),
        nonmated_probes=int(outcomes.nonmated_best.size),
        nonmated_source=split.nonmated_source,
        rank=rank,
        cmc=metrics.cmc(outcomes.mate_rank, min(MAX_RANK, int(gallery.size))),
        rank1_ci=metrics.percentile_interval(rank1),
        fnir_at_fpir=tuple(points),
    )
    return result, outcomes


def evaluate_embeddings(
    dataset: Dataset,
    embeddings: Embeddings,
    models: dict[str, dict[str, str]],
    options: EvaluationOptions | None = None,
) -> EvaluationReport:
    """Evaluate already computed embeddings (one row per photo of ``dataset``).

    Raises:
        InvalidInput: when there is nothing to compare, or the demographic options are wrong.
    """
    options = options or EvaluationOptions()
    if options.replicates < 1:
        raise InvalidInput("--bootstrap must be at least 1.")
    subjects = dataset.identity_ids()
    weights = metrics.subject_weights(len(dataset.identities), options.replicates, options.seed)
    mated_all, nonmated_all = all_pairs(embeddings.vectors, subjects)
    if dataset.pairs is not None:
        mated, nonmated = listed_pairs(embeddings.vectors, dataset.pairs)
        source = f"pairs CSV {dataset.pairs_source}"
    else:
        mated, nonmated, source = mated_all, nonmated_all, "all pairs"
    if mated.distance.size == 0 or nonmated.distance.size == 0:
        raise InvalidInput("The set needs mated and non-mated comparisons (2+ photos of someone).")
    sorted_nonmated = np.sort(nonmated.distance)
    thresholds = sorted(
        {
            *(
                metrics.rate_threshold(sorted_nonmated, sorted_nonmated.size, f).threshold
                for f in REPORT_FMRS
            ),
            metrics.equal_error_rate(mated.distance, nonmated.distance).threshold,
            *([options.threshold] if options.threshold is not None else []),
        }
    )
    one_to_one = _one_to_one(source, mated, nonmated, subjects, weights, thresholds)
    one_to_n, _ = _one_to_n(dataset, embeddings, subjects, weights, options.rank)

    if options.threshold is not None:
        operating, operating_source = options.threshold, "given (--threshold)"
    else:
        point = metrics.rate_threshold(
            np.sort(nonmated_all.distance), nonmated_all.distance.size, options.demographic_fmr
        )
        operating = point.threshold
        operating_source = (
            f"threshold for FMR={options.demographic_fmr:g} over all non-mated pairs of this run"
        )

    demographics: Demographics | None = None
    if options.labels is not None:
        demographics = demographic_differentials(
            options.labels,
            options.label_source,
            options.group_columns,
            [p.label_key for p in dataset.photos],
            subjects,
            mated_all,
            nonmated_all,
            operating,
            operating_source,
            options.replicates,
            options.seed,
            options.min_mated_pairs,
            options.min_nonmated_pairs,
        )

    impostor = ImpostorDistribution.from_distances(nonmated_all.distance)
    calibration: list[tuple[float, Calibration]] = [
        (target, threshold_for_fpir(impostor, target, one_to_n.gallery_size))
        for target in FPIR_TARGETS
    ]
    notes = [
        "1:N uncertainty resamples probe identities with the gallery held fixed.",
        "Calibration thresholds assume independent comparisons: "
        "FPIR(t, N) ~= 1 - (1 - FMR(t))^N; compare them with the measured FNIR@FPIR thresholds.",
    ]
    return EvaluationReport(
        model=models,
        dataset=dataset.to_dict(),
        face_choice=options.face_choice,
        method={
            "distance": "euclidean between unit descriptors (0..2); within threshold: <=",
            "bootstrap_replicates": options.replicates,
            "bootstrap_seed": options.seed,
            "bootstrap_unit": "identity",
            "interval": "95% percentile",
            "fpir_targets": list(FPIR_TARGETS),
            "gallery_rule": "first photo by file name with a usable face, one per identity",
            "report_fmrs": list(REPORT_FMRS),
        },
        fte=_fte(dataset, embeddings),
        one_to_one=one_to_one,
        one_to_n=one_to_n,
        operating_threshold=float(operating),
        operating_threshold_source=operating_source,
        demographics=demographics,
        impostor=impostor,
        calibration=tuple(calibration),
        notes=tuple(notes),
    )
