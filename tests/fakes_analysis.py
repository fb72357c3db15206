"""FAKE detectors for the tests of probe stalls (issue 13, item 2): one that counts its calls,
one that blocks until released. Both are fakes, labelled as such, behind the real
:class:`~faceledger.biometrics.detect.Detector` protocol; their faces mean nothing biometric.
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.pipeline import FacePipeline
from tests.fakes import FakeDetector, FakeEmbedder, fake_pipeline


class CountingDetector(FakeDetector):
    """FAKE: the fake detector's boxes, counting every call and the image sizes it was given;
    a single-colour image (no structure at all) has no face."""

    def __init__(self, faces: int = 1) -> None:
        super().__init__(faces)
        self.calls = 0
        self.shapes: list[tuple[int, int]] = []

    def detect(self, pixels: NDArray[np.uint8]) -> list[FaceBox]:
        self.calls += 1
        self.shapes.append((int(pixels.shape[1]), int(pixels.shape[0])))
        # JPEG leaves a solid colour within a level or two of itself.
        if int(np.ptp(pixels.reshape(-1, pixels.shape[-1]), axis=0).max()) <= 2:
            return []
        return super().detect(pixels)


class BlockingDetector(CountingDetector):
    """FAKE: a counting detector that, once armed, holds every call until :attr:`release` is
    set (at most ``hold_seconds``), signalling :attr:`entered` when a call starts: a slow
    detection, made to order."""

    def __init__(self, faces: int = 1, hold_seconds: float = 10.0) -> None:
        super().__init__(faces)
        self.hold_seconds = hold_seconds
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def detect(self, pixels: NDArray[np.uint8]) -> list[FaceBox]:
        if self.armed:
            self.entered.set()
            self.release.wait(self.hold_seconds)
        return super().detect(pixels)


def pipeline_with(detector: CountingDetector) -> FacePipeline:
    """A FAKE pipeline like :func:`tests.fakes.fake_pipeline` around ``detector``."""
    return FacePipeline(detector, FakeEmbedder(), fake_pipeline().thresholds)
