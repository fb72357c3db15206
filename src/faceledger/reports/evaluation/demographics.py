"""Demographic differentials: FMR and FNMR per group at one threshold (NISTIR 8280 style).

For each label column, a group's FMR counts the non-mated comparisons where *both* photos carry
the group's label, and its FNMR the mated comparisons of the group. Differentials are the
worst-to-best ratios (max/min) over groups with enough comparisons; groups below the stated
minimum, and "unknown" labels, are reported but left out of the ratios. Every rate has a
bootstrap interval over the group's subjects.

Where the labels come from matters as much as the numbers: ``label_source`` is mandatory and
travels with every result (``self-reported``, ``perceived`` or ``predicted``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from faceledger.errors import InvalidInput
from faceledger.reports.evaluation.metrics import (
    Floats,
    Interval,
    Ints,
    pair_rate_replicates,
    percentile_interval,
    subject_rate_replicates,
    subject_weights,
)

LabelSource = Literal["self-reported", "perceived", "predicted"]
LABEL_SOURCES: tuple[LabelSource, ...] = ("self-reported", "perceived", "predicted")
UNKNOWN_VALUES = frozenset({"", "unknown", "na", "n/a", "none"})
MIN_MATED_PAIRS = 50
MIN_NONMATED_PAIRS = 1000
MIN_EXPECTED_ERRORS = 5
"""A group's rate enters a ratio only if its comparisons would show at least this many errors
at the pooled rate of the groups: below that, a count of zero says nothing about the group
(its rate is not measurable with so few comparisons), and one error more or less changes the
ratio several-fold."""


@dataclass(frozen=True)
class Labels:
    """A labels table: for each photo key (path relative to people/ or distractors/) its
    values by column."""

    source_file: str
    columns: tuple[str, ...]
    rows: Mapping[str, Mapping[str, str]]

    def column(self, name: str, keys: Sequence[str]) -> list[str | None]:
        """Return the ``name`` label of each key (None when the photo has no row).

        Raises:
            InvalidInput: if the table has no column ``name``.
        """
        if name not in self.columns:
            raise InvalidInput(
                f"{self.source_file} has no column {name!r}; it has "
                f"{', '.join(c for c in self.columns if c != 'file')}.",
                file=self.source_file,
                column=name,
            )
        return [self.rows[k][name] if k in self.rows else None for k in keys]


def read_labels(path: Path) -> Labels:
    """Read a labels CSV with a ``file`` column and one column per attribute.

    Raises:
        InvalidInput: if the file cannot be read or has no ``file`` column.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = tuple(reader.fieldnames or ())
            if "file" not in columns:
                raise InvalidInput(
                    f"{path}: a labels CSV needs a 'file' column (the photo's path relative to "
                    f"people/ or distractors/); found {', '.join(columns) or 'no header'}.",
                    file=str(path),
                )
            rows = {
                row["file"].strip(): {k: (v or "").strip() for k, v in row.items()}
                for row in reader
            }
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Cannot read labels CSV {path}: {exc}", file=str(path)) from exc
    return Labels(source_file=str(path), columns=columns, rows=rows)


def check_label_source(source: str | None) -> LabelSource:
    """Return ``source`` as a label source.

    Raises:
        InvalidInput: if it is missing or not one of self-reported, perceived, predicted.
    """
    for known in LABEL_SOURCES:
        if source == known:
            return known
    raise InvalidInput(
        "Demographic labels need a stated source: --label-source self-reported, perceived or "
        f"predicted (got {source!r}).",
        label_source=source,
    )


@dataclass(frozen=True)
class Comparisons:
    """Scored comparisons: distances and the two photos (indexes) of each."""

    distance: Floats
    x: Ints
    y: Ints


@dataclass(frozen=True)
class GroupRates:
    """One group's error rates at the operating threshold."""

    group: str
    subjects: int
    photos: int
    mated_pairs: int
    nonmated_pairs: int
    false_non_matches: int
    false_matches: int
    fnmr: float | None
    fnmr_ci: Interval | None
    fmr: float | None
    fmr_ci: Interval | None
    in_ratios: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values."""
        return {
            "group": self.group,
            "subjects": self.subjects,
            "photos": self.photos,
            "mated_pairs": self.mated_pairs,
            "nonmated_pairs": self.nonmated_pairs,
            "false_non_matches": self.false_non_matches,
            "false_matches": self.false_matches,
            "fnmr": self.fnmr,
            "fnmr_ci": None if self.fnmr_ci is None else self.fnmr_ci.to_list(),
            "fmr": self.fmr,
            "fmr_ci": None if self.fmr_ci is None else self.fmr_ci.to_list(),
            "in_ratios": self.in_ratios,
            "note": self.note,
        }


@dataclass(frozen=True)
class Ratio:
    """Worst-to-best ratio of one rate over the groups in the ratios, or why there is none."""

    value: float | None
    worst: str | None
    best: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values."""
        return {"value": self.value, "worst": self.worst, "best": self.best, "note": self.note}


@dataclass(frozen=True)
class ColumnDifferential:
    """Per-group rates and worst-to-best ratios for one label column."""

    column: str
    groups: tuple[GroupRates, ...]
    fmr_ratio: Ratio
    fnmr_ratio: Ratio

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values."""
        return {
            "column": self.column,
            "groups": [g.to_dict() for g in self.groups],
            "fmr_ratio": self.fmr_ratio.to_dict(),
            "fnmr_ratio": self.fnmr_ratio.to_dict(),
        }


@dataclass(frozen=True)
class Demographics:
    """Differentials for every chosen column, with the label source and the rules used."""

    label_source: LabelSource
    labels_file: str
    threshold: float
    threshold_source: str
    min_mated_pairs: int
    min_nonmated_pairs: int
    columns: tuple[ColumnDifferential, ...]

    @property
    def max_fmr_ratio(self) -> float | None:
        """The largest FMR ratio over the columns (None when no column has one)."""
        values = [c.fmr_ratio.value for c in self.columns if c.fmr_ratio.value is not None]
        return max(values) if values else None

    @property
    def max_fnmr_ratio(self) -> float | None:
        """The largest FNMR ratio over the columns (None when no column has one)."""
        values = [c.fnmr_ratio.value for c in self.columns if c.fnmr_ratio.value is not None]
        return max(values) if values else None

    def statement(self) -> str:
        """A sentence on what the labels are, for every report."""
        kind = {
            "self-reported": "self-reported by the subjects",
            "perceived": "perceived (assigned by annotators, not self-reported)",
            "predicted": "predicted by classifiers (perceived attributes, not self-reported)",
        }[self.label_source]
        return (
            f"Demographic labels from {self.labels_file} are {kind}. Differentials are "
            "computed from them as such."
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values, with the overall maximum ratios."""
        return {
            "label_source": self.label_source,
            "label_statement": self.statement(),
            "labels_file": self.labels_file,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "min_mated_pairs": self.min_mated_pairs,
            "min_nonmated_pairs": self.min_nonmated_pairs,
            "columns": {c.column: c.to_dict() for c in self.columns},
            "max_fmr_ratio": self.max_fmr_ratio,
            "max_fnmr_ratio": self.max_fnmr_ratio,
            "unbounded_ratios": self.unbounded_ratios(),
        }

    def unbounded_ratios(self) -> list[str]:
        """Ratios (``column:fmr`` / ``column:fnmr``) with a best group of zero errors: not in
        the maxima, and a gate should treat them as unknown, not as passing."""
        return [
            f"{c.column}:{rate}"
            for c in self.columns
            for rate, ratio in (("fmr", c.fmr_ratio), ("fnmr", c.fnmr_ratio))
            if "unbounded" in ratio.note
        ]


def _ratio(groups: Sequence[GroupRates], rate: str, min_expected: float) -> Ratio:
    pairs, errors = (
        ("nonmated_pairs", "false_matches")
        if rate == "fmr"
        else ("mated_pairs", "false_non_matches")
    )
    candidates = [g for g in groups if g.in_ratios and getattr(g, rate) is not None]
    total = sum(getattr(g, pairs) for g in candidates)
    pooled = sum(getattr(g, errors) for g in candidates) / total if total else 0.0
    measurable = [g for g in candidates if getattr(g, pairs) * pooled >= min_expected]
    left_out = [g.group for g in candidates if g not in measurable]
    aside = (
        f" Left out, too few comparisons to expect {min_expected:g} errors at the pooled "
        f"{rate.upper()} of {pooled:.3g}: {', '.join(left_out)}."
        if left_out
        else ""
    )
    eligible = [(float(getattr(g, rate)), g.group) for g in measurable]
    if len(eligible) < 2:
        return Ratio(None, None, None, "Fewer than two groups have enough comparisons." + aside)
    (high, worst), (low, best) = max(eligible), min(eligible)
    if high == 0:
        return Ratio(
            None, worst, best, f"No group has any errors: {rate.upper()} ratio undefined." + aside
        )
    if low == 0:
        return Ratio(
            None,
            worst,
            best,
            f"Group {best} has no errors at this threshold although its comparisons should show "
            f"about {min_expected:g} or more: the {rate.upper()} ratio is unbounded." + aside,
        )
    return Ratio(float(high / low), worst, best, aside.strip())


def _group_rates(
    group: str,
    members: np.ndarray[Any, np.dtype[np.bool_]],
    subjects: Ints,
    mated: Comparisons,
    nonmated: Comparisons,
    threshold: float,
    replicates: int,
    seed: int,
    min_mated: int,
    min_nonmated: int,
    unknown: bool,
) -> GroupRates:
    group_subjects = np.unique(subjects[members])
    local = np.full(subjects.max() + 1, -1, dtype=np.int64)
    local[group_subjects] = np.arange(group_subjects.size)
    weights = subject_weights(max(1, group_subjects.size), replicates, seed)
    ones = np.ones((1, weights.shape[1]))

    m_in = members[mated.x] & members[mated.y]
    m_miss = mated.distance[m_in] > threshold
    m_subject = local[subjects[mated.x[m_in]]]
    n_in = members[nonmated.x] & members[nonmated.y]
    n_hit = nonmated.distance[n_in] <= threshold
    n_a, n_b = local[subjects[nonmated.x[n_in]]], local[subjects[nonmated.y[n_in]]]

    fnmr = fnmr_ci = fmr = fmr_ci = None
    if m_miss.size:
        fnmr = float(subject_rate_replicates(m_miss, m_subject, ones)[0])
        fnmr_ci = percentile_interval(subject_rate_replicates(m_miss, m_subject, weights))
    if n_hit.size:
        fmr = float(pair_rate_replicates(n_hit, n_a, n_b, ones)[0])
        fmr_ci = percentile_interval(pair_rate_replicates(n_hit, n_a, n_b, weights))
    notes = []
    if not m_miss.size:
        notes.append("no mated comparisons: FNMR undefined")
    if not n_hit.size:
        notes.append("no non-mated comparisons: FMR undefined")
    if m_miss.size < min_mated or n_hit.size < min_nonmated:
        notes.append(
            f"too few comparisons for the ratios (need {min_mated} mated and {min_nonmated} "
            "non-mated)"
        )
    if unknown:
        notes.append("unknown label: left out of the ratios")
    return GroupRates(
        group=group,
        subjects=int(group_subjects.size),
        photos=int(members.sum()),
        mated_pairs=int(m_miss.size),
        nonmated_pairs=int(n_hit.size),
        false_non_matches=int(m_miss.sum()),
        false_matches=int(n_hit.sum()),
        fnmr=fnmr,
        fnmr_ci=fnmr_ci,
        fmr=fmr,
        fmr_ci=fmr_ci,
        in_ratios=not notes,
        note="; ".join(notes),
    )


def column_differential(
    column: str,
    labels: Sequence[str | None],
    subjects: Ints,
    mated: Comparisons,
    nonmated: Comparisons,
    threshold: float,
    replicates: int = 1000,
    seed: int = 0,
    min_mated_pairs: int = MIN_MATED_PAIRS,
    min_nonmated_pairs: int = MIN_NONMATED_PAIRS,
    min_expected_errors: float = MIN_EXPECTED_ERRORS,
) -> ColumnDifferential:
    """Per-group FMR/FNMR at ``threshold`` for one column of per-photo ``labels`` (None for an
    unlabelled photo), and the worst-to-best ratios."""
    values = np.array(["" if v is None else v for v in labels], dtype=object)
    labelled = np.array([v is not None for v in labels], dtype=bool)
    groups = []
    for i, group in enumerate(sorted({v for v in labels if v is not None})):
        groups.append(
            _group_rates(
                group,
                labelled & (values == group),
                subjects,
                mated,
                nonmated,
                threshold,
                replicates,
                seed + 7919 * (i + 1),
                min_mated_pairs,
                min_nonmated_pairs,
                group.strip().lower() in UNKNOWN_VALUES,
            )
        )
    return ColumnDifferential(
        column,
        tuple(groups),
        _ratio(groups, "fmr", min_expected_errors),
        _ratio(groups, "fnmr", min_expected_errors),
    )


def demographic_differentials(
    labels: Labels,
    label_source: str | None,
    columns: Sequence[str],
    photo_keys: Sequence[str],
    subjects: Ints,
    mated: Comparisons,
    nonmated: Comparisons,
    threshold: float,
    threshold_source: str,
    replicates: int = 1000,
    seed: int = 0,
    min_mated_pairs: int = MIN_MATED_PAIRS,
    min_nonmated_pairs: int = MIN_NONMATED_PAIRS,
    min_expected_errors: float = MIN_EXPECTED_ERRORS,
) -> Demographics:
    """Differentials for each of ``columns`` of ``labels`` over the scored comparisons.

    Raises:
        InvalidInput: if ``label_source`` is missing or unknown, no column is given, or a
            column is not in the labels table.
    """
    source = check_label_source(label_source)
    if not columns:
        raise InvalidInput("Name at least one label column (--group-columns).")
    per_column = {c: labels.column(c, photo_keys) for c in columns}  # checks every name first
    return Demographics(
        label_source=source,
        labels_file=labels.source_file,
        threshold=threshold,
        threshold_source=threshold_source,
        min_mated_pairs=min_mated_pairs,
        min_nonmated_pairs=min_nonmated_pairs,
        columns=tuple(
            column_differential(
                c,
                per_column[c],
                subjects,
                mated,
                nonmated,
                threshold,
                replicates,
                seed,
                min_mated_pairs,
                min_nonmated_pairs,
                min_expected_errors,
            )
            for c in columns
        ),
    )
