"""``faceledger eval`` end to end with the real models on a small slice of lfw-dev."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceledger.cli import app


@pytest.fixture(scope="module")
def lfw_dev(lfw_dir: Path) -> Path:
    """lfw-dev (tests/conftest.py skips when it is missing)."""
    return lfw_dir


@pytest.mark.slow
def test_eval_on_20_identities_and_20_distractors(lfw_dev: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            str(lfw_dev),
            "--limit-identities",
            "20",
            "--face",
            "centre",
            "--labels",
            str(lfw_dev / "labels.csv"),
            "--label-source",
            "predicted",
            "--group-columns",
            "sex_id,race_id",
            "--bootstrap",
            "200",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    for name in (
        "report.html",
        "evaluation.json",
        "roc.csv",
        "cmc.csv",
        "fnir_at_fpir.csv",
        "demographics.csv",
        "roc.png",
        "roc.svg",
        "det.png",
        "cmc.svg",
        "scores.png",
        "demographics_sex_id.png",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))["summary"]
    assert summary["dataset"]["gallery_size"] == 20
    assert summary["dataset"]["nonmated_probes"] == 20
    assert summary["one_to_n"]["rank1"] >= 0.9
    assert summary["fte"]["rate"] <= 0.05
    assert summary["demographics"]["label_source"] == "predicted"
    assert "predicted" in (out / "report.html").read_text(encoding="utf-8")


def test_unknown_label_column_is_a_readable_error(lfw_dev: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            str(lfw_dev),
            "--labels",
            str(lfw_dev / "labels.csv"),
            "--label-source",
            "perceived",
            "--group-columns",
            "shoe_size",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "no column 'shoe_size'" in result.stderr


def test_missing_folder_and_missing_label_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    (tmp_path / "people").mkdir()
    labels = tmp_path / "labels.csv"
    labels.write_text("file,sex\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--labels", str(labels)])
    assert result.exit_code == 2 and "--label-source" in result.stderr
