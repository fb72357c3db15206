"""The whole evaluation on synthetic embeddings (no models): split, FTE, summary, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceledger.errors import InvalidInput
from faceledger.reports.evaluation import (
    EvaluationOptions,
    ImpostorDistribution,
    evaluate_embeddings,
    load_folder,
    threshold_for_fpir,
    write_report,
)
from faceledger.reports.evaluation.dataset import Dataset, fingerprint
from faceledger.reports.evaluation.demographics import Labels
from faceledger.reports.evaluation.embedding import Embeddings, PhotoEmbedding

PEOPLE = {"Ann": 3, "Bob": 2, "Cid": 2, "Dee": 2}
DISTRACTORS = ("Eve", "Fay")
MODELS = {"embedder": {"name": "fake", "version": "1", "sha256": "0" * 64}}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for part, names in (("people", PEOPLE), ("distractors", dict.fromkeys(DISTRACTORS, 1))):
        for name, count in names.items():
            folder = tmp_path / "set" / part / name
            folder.mkdir(parents=True)
            for i in range(count):
                shade = (len(name) * 40 + i * 7) % 255
                Image.new("RGB", (8, 8), (shade, i, 3)).save(folder / f"{name}_{i + 1:04d}.png")
    return tmp_path / "set"


def embeddings_for(dataset: Dataset, failed: set[str]) -> Embeddings:
    """Identity i gets direction e_i plus a little noise; photos named in ``failed`` fail."""
    rng = np.random.default_rng(0)
    results = []
    for photo in dataset.photos:
        if photo.relative in failed:
            results.append(PhotoEmbedding(None, 0, "no_face"))
            continue
        vector = np.zeros(128)
        vector[dataset.identities.index(photo.identity)] = 1.0
        vector += rng.normal(0, 0.05, 128)
        results.append(PhotoEmbedding((vector / np.linalg.norm(vector)).astype(np.float32), 1))
    return Embeddings.from_photos(results)


def test_split_fte_and_summary(root: Path, tmp_path: Path) -> None:
    dataset = load_folder(root)
    assert dataset.identities == ("Ann", "Bob", "Cid", "Dee", "Eve", "Fay")
    # Ann's first photo fails: her gallery photo becomes the second; Bob's probe fails: a miss.
    failed = {"people/Ann/Ann_0001.png", "people/Bob/Bob_0002.png"}
    report = evaluate_embeddings(
        dataset, embeddings_for(dataset, failed), MODELS, EvaluationOptions(replicates=50)
    )
    s = json.loads(json.dumps(report.to_summary()))
    assert s["model"] == MODELS
    assert s["dataset"]["fingerprint"] == dataset.fingerprint
    assert (s["dataset"]["photos"], s["dataset"]["identities"]) == (11, 6)
    # Gallery: one photo per people identity; mated probes: 11 - 2 distractors - 4 gallery.
    assert (s["dataset"]["gallery_size"], s["dataset"]["mated_probes"]) == (4, 5)
    assert s["dataset"]["nonmated_probes"] == 2
    assert s["fte"]["failed"] == 2 and s["fte"]["rate"] == pytest.approx(2 / 11, abs=1e-6)
    # Well separated identities: every usable mated probe is found at rank 1; Ann's failed
    # first photo is a probe too and, like Bob's failed probe, a miss: rank-1 = 3/5.
    assert s["one_to_n"]["rank1"] == pytest.approx(3 / 5)
    assert s["one_to_n"]["cmc"][-1] == pytest.approx(3 / 5)
    assert set(s["one_to_n"]["fnir_at_fpir"]) == {"0.001", "0.003", "0.01", "0.1"}
    # Mated pairs: Ann 3, Bob 1, Cid 1, Dee 1; a failed photo's pairs stay in and miss.
    assert s["one_to_one"]["mated_pairs"] == 6
    assert s["one_to_one"]["nonmated_pairs"] == 11 * 10 // 2 - 6
    assert s["demographics"] is None
    impostor = ImpostorDistribution.from_summary(s["impostor"])
    assert impostor.count == s["one_to_one"]["nonmated_pairs"]
    assert threshold_for_fpir(impostor, 0.5, 4).threshold > 0

    written = write_report(report, tmp_path / "out")
    names = {p.name for p in written.files}
    for name in (
        "report.html",
        "evaluation.json",
        "roc.csv",
        "cmc.csv",
        "fnir_at_fpir.csv",
        "demographics.csv",
        "roc.png",
        "det.svg",
        "cmc.png",
        "scores.svg",
    ):
        assert name in names
    html = written.html.read_text(encoding="utf-8")
    assert "<script" not in html and "http" not in html
    assert "failures to enrol" in html


def test_labels_and_escaping(root: Path, tmp_path: Path) -> None:
    dataset = load_folder(root)
    rows = {
        p.label_key: {"file": p.label_key, "grp": "<b>" if p.identity < "C" else "z"}
        for p in dataset.photos
    }
    options = EvaluationOptions(
        replicates=20,
        labels=Labels("labels.csv", ("file", "grp"), rows),
        label_source="self-reported",
        group_columns=("grp",),
        threshold=0.5,
    )
    report = evaluate_embeddings(dataset, embeddings_for(dataset, set()), MODELS, options)
    demo = report.to_summary()["demographics"]
    assert demo["label_source"] == "self-reported" and demo["threshold"] == 0.5
    assert [g["group"] for g in demo["columns"]["grp"]["groups"]] == ["<b>", "z"]
    html = write_report(report, tmp_path / "out").html.read_text(encoding="utf-8")
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_fingerprint_is_stable_and_sees_content(root: Path) -> None:
    first = load_folder(root)
    assert load_folder(root).fingerprint == first.fingerprint == fingerprint(first.photos)
    photo = root / "people" / "Bob" / "Bob_0001.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(photo)
    assert load_folder(root).fingerprint != first.fingerprint


def test_limit_identities_and_pairs(root: Path) -> None:
    pairs = root / "pairs.csv"
    pairs.write_text(
        "file_x,file_y,same\nAnn/Ann_0001.png,Ann/Ann_0002.png,1\n"
        "Ann/Ann_0001.png,Dee/Dee_0001.png,0\n",
        encoding="utf-8",
    )
    dataset = load_folder(root, pairs, limit_identities=2)
    assert dataset.identities == ("Ann", "Bob", "Eve", "Fay")
    assert dataset.pairs is not None and len(dataset.pairs) == 1  # the Dee pair is cut


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,same\nx,y,1\n", "missing column"),
        ("file_x,file_y,same\nAnn/Ann_0001.png,Bob/Bob_0001.png,maybe\n", "'same' must be"),
        ("file_x,file_y,same\nAnn/Ann_0001.png,Nobody/N.png,0\n", "was not found"),
        ("file_x,file_y,same\nAnn/Ann_0001.png,Bob/Bob_0001.png,1\n", "disagree"),
    ],
)
def test_bad_pairs_csv_is_named(root: Path, text: str, message: str) -> None:
    pairs = root / "pairs.csv"
    pairs.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message) as caught:
        load_folder(root, pairs)
    assert "pairs.csv" in caught.value.message


def test_a_folder_without_people_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="people"):
        load_folder(tmp_path)
