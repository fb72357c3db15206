"""The largest-face rule for enrolment photos that show several faces."""

from __future__ import annotations

import numpy as np

from faceledger.biometrics.align import Landmarks
from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.pipeline import Face
from faceledger.biometrics.quality import FaceQuality
from faceledger.gallery.face_choice import choose_face


def face(index: int, side: int, problems: tuple[str, ...] = ()) -> Face:
    """A face with a square box of ``side`` pixels (nothing else about it matters here)."""
    return Face(
        index=index,
        box=FaceBox(0, 0, side, side, 1.0),
        landmarks=Landmarks(np.zeros((5, 2))),
        quality=FaceQuality(side, 10.0, 100.0, 0.0, 120.0),
        problems=problems,
        chip=np.zeros((2, 2, 3), dtype=np.uint8),
        embedding=np.zeros(4, dtype=np.float32),
    )


def test_a_photo_of_one_usable_face_needs_no_choice() -> None:
    choice = choose_face([face(0, 100)], 2.0)
    assert choice.face is not None and choice.record is None and not choice.multiple


def test_a_clearly_dominant_face_is_taken_and_the_choice_recorded() -> None:
    # Areas 100x100 and 70x70: ratio 2.04, just above 2.
    choice = choose_face([face(0, 100), face(1, 70)], 2.0)
    assert choice.face is not None and choice.face.index == 0
    assert choice.record == {
        "rule": "largest_face",
        "faces": 2,
        "chosen_index": 0,
        "chosen_box": {"left": 0, "top": 0, "right": 100, "bottom": 100},
        "area_ratio_centi": 204,
        "required_ratio_centi": 200,
    }


def test_faces_of_similar_size_are_refused_with_the_ratio() -> None:
    # Areas 100x100 and 72x72: ratio 1.93 < 2.
    choice = choose_face([face(0, 100), face(1, 72), face(2, 10)], 2.0)
    assert choice.face is None and choice.multiple and choice.record is None
    assert choice.refusal == (
        "3 faces: the largest is 1.93x the next face's area, and the rule needs 2x"
    )


def test_the_order_of_the_faces_does_not_matter() -> None:
    choice = choose_face([face(0, 30), face(1, 100)], 2.0)
    assert choice.face is not None and choice.face.index == 1


def test_ratio_zero_refuses_every_photo_of_several_faces() -> None:
    choice = choose_face([face(0, 500), face(1, 10)], 0.0)
    assert choice.face is None
    assert choice.refusal is not None and "enrol_dominance_ratio is 0" in choice.refusal


def test_a_dominant_face_that_is_unusable_is_refused_with_its_quality_reasons() -> None:
    choice = choose_face([face(0, 100, ("face too small",)), face(1, 10)], 2.0)
    assert choice.face is None and choice.refusal == "face too small"
    assert choice.record is not None  # the rule did choose it; quality refused it


def test_no_face() -> None:
    choice = choose_face([], 2.0)
    assert choice.face is None and choice.refusal == "no face was found"
