"""Per-group FMR/FNMR and worst-to-best ratios on a labelled set worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceledger.errors import InvalidInput
from faceledger.reports.evaluation.demographics import (
    Comparisons,
    Labels,
    demographic_differentials,
    read_labels,
)

# Four subjects with two photos each: photo p shows subject p // 2.
# Subjects 0 and 1 (photos 0-3) are labelled F, subjects 2 and 3 (photos 4-7) M.
SUBJECTS = np.array([0, 0, 1, 1, 2, 2, 3, 3])
KEYS = [f"S{s}/S{s}_{p % 2 + 1:04d}.jpg" for p, s in enumerate(SUBJECTS)]
LABELS = Labels(
    source_file="labels.csv",
    columns=("file", "sex_id"),
    rows={k: {"file": k, "sex_id": "F" if i < 4 else "M"} for i, k in enumerate(KEYS)},
)
THRESHOLD = 0.5

# Mated: F pairs 0.2 (match) and 0.6 (miss) -> FNMR(F) = 1/2; M pairs 0.3, 0.35 -> FNMR(M) = 0.
MATED = Comparisons(
    distance=np.array([0.2, 0.6, 0.3, 0.35]),
    x=np.array([0, 2, 4, 6]),
    y=np.array([1, 3, 5, 7]),
)
# Non-mated within F (subject 0 x subject 1): 0.4 (false match), 0.7, 0.8, 0.9 -> FMR(F) = 1/4.
# Non-mated within M (subject 2 x subject 3): 0.45, 0.48 (false), 0.9, 1.0 -> FMR(M) = 2/4.
# Two cross-group pairs within threshold belong to neither group and must not count.
NONMATED = Comparisons(
    distance=np.array([0.4, 0.7, 0.8, 0.9, 0.45, 0.48, 0.9, 1.0, 0.3, 0.1]),
    x=np.array([0, 0, 1, 1, 4, 4, 5, 5, 0, 1]),
    y=np.array([2, 3, 2, 3, 6, 7, 6, 7, 4, 6]),
)


def _run(**overrides: object) -> object:
    arguments: dict[str, object] = {
        "labels": LABELS,
        "label_source": "perceived",
        "columns": ["sex_id"],
        "photo_keys": KEYS,
        "subjects": SUBJECTS,
        "mated": MATED,
        "nonmated": NONMATED,
        "threshold": THRESHOLD,
        "threshold_source": "test",
        "replicates": 200,
        "seed": 1,
        "min_mated_pairs": 1,
        "min_nonmated_pairs": 1,
        "min_expected_errors": 0,
    }
    arguments.update(overrides)
    return demographic_differentials(**arguments)  # type: ignore[arg-type]


def test_per_group_rates_by_hand() -> None:
    result = _run()
    column = result.columns[0]
    female, male = column.groups
    assert (female.group, male.group) == ("F", "M")
    assert (female.mated_pairs, female.false_non_matches, female.fnmr) == (2, 1, 0.5)
    assert (female.nonmated_pairs, female.false_matches, female.fmr) == (4, 1, 0.25)
    assert (male.mated_pairs, male.false_non_matches, male.fnmr) == (2, 0, 0.0)
    assert (male.nonmated_pairs, male.false_matches, male.fmr) == (4, 2, 0.5)
    for group in (female, male):
        assert group.fmr_ci is not None and group.fmr_ci.low <= group.fmr <= group.fmr_ci.high


def test_ratios_by_hand() -> None:
    result = _run()
    column = result.columns[0]
    # FMR: worst M (1/2) over best F (1/4) = 2.
    assert column.fmr_ratio.value == pytest.approx(2.0)
    assert (column.fmr_ratio.worst, column.fmr_ratio.best) == ("M", "F")
    # FNMR: M has no false non-matches: the ratio is unbounded, stated, not a number.
    assert column.fnmr_ratio.value is None
    assert "unbounded" in column.fnmr_ratio.note
    assert result.max_fmr_ratio == pytest.approx(2.0)
    assert result.max_fnmr_ratio is None
    summary = result.to_dict()
    assert summary["label_source"] == "perceived"
    assert "not self-reported" in summary["label_statement"]


def test_groups_below_the_minimum_are_flagged_and_left_out() -> None:
    result = _run(min_nonmated_pairs=5)
    column = result.columns[0]
    assert not any(g.in_ratios for g in column.groups)
    assert all("too few comparisons" in g.note for g in column.groups)
    assert column.fmr_ratio.value is None


def test_a_group_without_pairs_has_undefined_rates() -> None:
    rows = dict(LABELS.rows)
    rows[KEYS[7]] = {"file": KEYS[7], "sex_id": "X"}  # a lone photo: no pairs within group X
    result = _run(labels=Labels("labels.csv", LABELS.columns, rows))
    lone = next(g for g in result.columns[0].groups if g.group == "X")
    assert lone.fmr is None and lone.fnmr is None
    assert "undefined" in lone.note


@pytest.mark.parametrize("source", [None, "", "guessed"])
def test_label_source_is_required(source: str | None) -> None:
    with pytest.raises(InvalidInput, match="label-source"):
        _run(label_source=source)


def test_unknown_column_names_the_file_and_column() -> None:
    with pytest.raises(InvalidInput, match=r"labels\.csv has no column 'colour'"):
        _run(columns=["colour"])


def test_read_labels_needs_a_file_column(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("photo,sex\na.jpg,m\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="'file' column"):
        read_labels(path)
    path.write_text("file,sex\na/a_0001.jpg,m\n", encoding="utf-8")
    assert read_labels(path).column("sex", ["a/a_0001.jpg", "b.jpg"]) == ["m", None]


def test_a_group_too_small_to_expect_errors_is_left_out_of_the_ratio() -> None:
    # Pooled FMR over F and M is (1 + 2) / 8 = 0.375: each group of 4 non-mated pairs expects
    # 1.5 false matches, so with a minimum of 1 both count; with 2, neither does.
    kept = _run(min_expected_errors=1).columns[0]
    assert kept.fmr_ratio.value == pytest.approx(2.0)
    dropped = _run(min_expected_errors=2).columns[0]
    assert dropped.fmr_ratio.value is None
    assert "too few comparisons to expect 2 errors" in dropped.fmr_ratio.note
    assert "F, M" in dropped.fmr_ratio.note
    # FNMR pooled is 1/4: 2 mated pairs each expect 0.5 errors; at a minimum of 0.5 the male
    # group's zero still counts, and makes the ratio unbounded.
    assert "unbounded" in _run(min_expected_errors=0.5).columns[0].fnmr_ratio.note
