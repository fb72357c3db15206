"""Which face of a photo is evaluated, and how a photo without one becomes a failure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from faceledger.biometrics.detect import FaceBox
from faceledger.config import load_settings
from faceledger.reports.evaluation.embedding import choose_face, embed_photo


def box(left: int, top: int, right: int, bottom: int) -> FaceBox:
    return FaceBox(left, top, right, bottom, 1.0)


# Largest first, as the pipeline returns them. The image is 250 x 250: centre pixel (125, 125).
BIG_OFF_CENTRE = box(0, 0, 120, 120)
SMALL_ON_CENTRE = box(100, 100, 150, 150)
WIDE_ON_CENTRE = box(60, 90, 200, 160)  # holds (125,125); its centre (130,125) is 5 px away
EDGE = box(125, 125, 170, 170)  # left/top edges are inclusive: holds (125,125)
BEFORE_EDGE = box(80, 80, 125, 125)  # right/bottom are exclusive: does not


@pytest.mark.parametrize(
    ("boxes", "choice", "expected"),
    [
        ([BIG_OFF_CENTRE, SMALL_ON_CENTRE], "largest", 0),
        ([BIG_OFF_CENTRE, SMALL_ON_CENTRE], "centre", 1),
        ([WIDE_ON_CENTRE, SMALL_ON_CENTRE], "centre", 1),  # both hold it; (125,125) is nearer
        ([BIG_OFF_CENTRE], "centre", None),
        ([BEFORE_EDGE, EDGE], "centre", 1),
        ([], "largest", None),
        ([], "centre", None),
    ],
)
def test_choose_face(boxes: list[FaceBox], choice: Any, expected: int | None) -> None:
    assert choose_face(boxes, 250, 250, choice) == expected


@dataclass
class FakeFace:
    box: FaceBox
    problems: tuple[str, ...] = ()

    @property
    def unit_embedding(self) -> np.ndarray:
        vector = np.zeros(128, dtype=np.float32)
        vector[self.box.left % 128] = 1
        return vector


class FakePipeline:
    def __init__(self, faces: list[FakeFace]) -> None:
        self.faces = faces

    def analyse(self, image: Any) -> list[FakeFace]:
        return self.faces


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "p.png"
    Image.new("RGB", (250, 250), (90, 90, 90)).save(path)
    return path


@pytest.mark.parametrize(
    ("faces", "choice", "failure"),
    [
        ([], "largest", "no_face"),
        ([FakeFace(BIG_OFF_CENTRE)], "centre", "no_centre_face"),
        ([FakeFace(SMALL_ON_CENTRE, ("too small",))], "centre", "poor_quality"),
        ([FakeFace(BIG_OFF_CENTRE), FakeFace(SMALL_ON_CENTRE)], "centre", None),
    ],
)
def test_embed_photo_failures_are_data(
    photo: Path, faces: list[FakeFace], choice: Any, failure: str | None
) -> None:
    settings = load_settings({}, environ={})
    result = embed_photo(photo, FakePipeline(faces), settings, choice)  # type: ignore[arg-type]
    assert result.failure == failure
    assert (result.vector is None) == (failure is not None)
    if failure is None:
        assert result.vector is not None and result.vector[SMALL_ON_CENTRE.left] == 1


def test_an_unreadable_file_is_a_failure_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff truncated")
    result = embed_photo(path, FakePipeline([]), load_settings({}, environ={}), "largest")  # type: ignore[arg-type]
    assert result.failure == "unreadable"
