"""FAKE face pipeline parts, for tests of governance, access and pages only.

These sit behind the real :class:`~faceledger.biometrics.detect.Detector` and
:class:`~faceledger.biometrics.embed.Embedder` protocols. They are fakes, labelled as such:
their "faces" and "descriptors" mean nothing biometric. Accuracy and biometric paths are
tested with the real models elsewhere (``-m slow`` and the face tests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.models import ModelInfo
from faceledger.biometrics.pipeline import FacePipeline
from faceledger.biometrics.quality import QualityThresholds

FAKE_DETECTOR = ModelInfo("FAKE-detector-for-tests", "0", "0" * 64)
FAKE_EMBEDDER = ModelInfo("FAKE-embedder-for-tests", "0", "1" * 64)


class FakeDetector:
    """FAKE: ``faces`` square boxes side by side across the middle of the image, and none in
    an image of one flat colour (as the real detectors find none there)."""

    def __init__(self, faces: int = 1) -> None:
        self.faces = faces

    @property
    def model(self) -> ModelInfo:
        return FAKE_DETECTOR

    def detect(self, pixels: NDArray[np.uint8]) -> list[FaceBox]:
        if pixels.size == 0 or int(pixels.max()) == int(pixels.min()):
            return []
        height, width = pixels.shape[:2]
        side = max(8, min(height // 2, width // (self.faces + 1)))
        top = (height - side) // 2
        step = width // (self.faces + 1)
        return [
            FaceBox(step * (i + 1) - side // 2, top, step * (i + 1) + side // 2, top + side, 1.0)
            for i in range(self.faces)
        ]


class FakeEmbedder:
    """FAKE: a unit vector drawn from a hash of the chip, 128-d like the real model."""

    dimension = 128

    @property
    def model(self) -> ModelInfo:
        return FAKE_EMBEDDER

    def embed(self, chips: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
        rows = []
        for chip in chips:
            seed = int.from_bytes(hashlib.sha256(chip.tobytes()).digest()[:8], "big")
            vector = np.random.default_rng(seed).standard_normal(self.dimension)
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, dtype=np.float32).reshape(len(chips), self.dimension)


OTHER_FAKE_EMBEDDER = ModelInfo("FAKE-embedder-for-tests", "1", "2" * 64)


class OtherFakeEmbedder(FakeEmbedder):
    """FAKE: the fake embedder under another model identity (another version), for tests of
    the one-model-per-gallery rule and of re-embedding."""

    @property
    def model(self) -> ModelInfo:
        return OTHER_FAKE_EMBEDDER


def other_fake_pipeline(faces: int = 1) -> FacePipeline:
    """A FAKE pipeline like :func:`fake_pipeline` whose embedder is another model."""
    pipeline = fake_pipeline(faces)
    return FacePipeline(pipeline.detector, OtherFakeEmbedder(), pipeline.thresholds)


def fake_pipeline(faces: int = 1) -> FacePipeline:
    """A FAKE pipeline: fake detector and embedder, real alignment, no quality limits."""
    return FacePipeline(
        FakeDetector(faces),
        FakeEmbedder(),
        QualityThresholds(
            min_eye_distance_px=0.0,
            min_sharpness=0.0,
            max_yaw_degrees=180.0,
            min_brightness=0.0,
            max_brightness=255.0,
        ),
    )


def fake_evaluation_summary(pipeline: FacePipeline, seed: int = 7) -> dict[str, object]:
    """A FAKE evaluation summary of ``pipeline``'s models that meets the shipped profiles'
    accuracy bounds, for tests of governance, access and pages behind the deployment gate.

    Its figures were measured on nothing. Its impostor distances are drawn around sqrt(2), where
    random unit vectors like the fake embedder's fall, so calibrated thresholds are plausible.
    The gate itself is tested on real evaluations (tests/integration/test_real_gate.py).
    """
    from faceledger.reports.evaluation.calibration import ImpostorDistribution

    distances = np.random.default_rng(seed).normal(np.sqrt(2), 0.09, 200_000).clip(0, 2)
    return {
        "version": 1,
        "model": {k: m.to_dict() for k, m in pipeline.models.items()},
        "dataset": {"name": "FAKE-evaluation-for-tests", "fingerprint": "f" * 64},
        "fte": {"photos": 1000, "failed": 0, "rate": 0.0},
        "one_to_n": {
            "rank1": 0.99,
            "fnir_at_fpir": {"0.003": {"fnir": 0.05, "threshold": 1.0}},
        },
        "demographics": {
            "label_source": "predicted",
            "max_fmr_ratio": 2.0,
            "max_fnmr_ratio": 1.5,
            "unbounded_ratios": [],
        },
        "impostor": ImpostorDistribution.from_distances(distances).to_summary(),
        "notes": ["FAKE: for tests of governance only; measured on nothing"],
    }
