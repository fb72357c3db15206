"""Which face of a gallery photo to enrol: the largest-face rule.

A gallery photo is meant to show one person. When it shows several faces, the largest is
taken only if it clearly dominates: its box area is at least ``ratio`` times the next one's
(setting ``enrol_dominance_ratio``). Otherwise the photo is refused with the reason, since
enrolling a bystander under the subject's name would put a stranger in the gallery. The choice
is recorded with the photo (:attr:`FaceChoice.record`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from faceledger.biometrics.pipeline import Face


@dataclass(frozen=True)
class FaceChoice:
    """The outcome of the rule for one photo: a face, or the reason there is none."""

    face: Face | None
    refusal: str | None  # why no face was taken
    multiple: bool  # the photo showed several faces
    record: dict[str, Any] | None  # what is stored with the photo (None for a one-face photo)


def _area(face: Face) -> int:
    return face.box.width * face.box.height


def choose_face(faces: Sequence[Face], ratio: float) -> FaceChoice:
    """Apply the largest-face rule to a photo's faces (largest first, as the pipeline orders).

    ``ratio`` 0 refuses every photo with several faces.
    """
    if not faces:
        return FaceChoice(None, "no face was found", multiple=False, record=None)
    ordered = sorted(faces, key=_area, reverse=True)
    largest = ordered[0]
    if len(ordered) == 1:
        return _usable(largest, multiple=False, record=None)
    second = max(1, _area(ordered[1]))
    dominance = _area(largest) / second
    if ratio <= 0 or dominance < ratio:
        rule = (
            "photos with several faces are refused (enrol_dominance_ratio is 0)"
            if ratio <= 0
            else f"the largest is {dominance:.2f}x the next face's area, and the rule needs "
            f"{ratio:g}x"
        )
        return FaceChoice(None, f"{len(faces)} faces: {rule}", multiple=True, record=None)
    record = {
        "rule": "largest_face",
        "faces": len(faces),
        "chosen_index": largest.index,
        "chosen_box": largest.box.to_dict(),
        "area_ratio_centi": round(dominance * 100),
        "required_ratio_centi": round(ratio * 100),
    }
    return _usable(largest, multiple=True, record=record)


def _usable(face: Face, multiple: bool, record: dict[str, Any] | None) -> FaceChoice:
    if face.problems:
        return FaceChoice(None, "; ".join(face.problems), multiple=multiple, record=record)
    return FaceChoice(face, None, multiple=multiple, record=record)
