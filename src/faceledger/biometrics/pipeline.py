"""The face pipeline: decoded image -> faces with landmarks, quality and descriptors.

Pure biometrics: it knows nothing of galleries, cases or people. Two pipelines are known by
name (:func:`pipeline_names`): ``sface`` (the default: YuNet detector, ArcFace-template
alignment, SFace descriptor, all ONNX) and ``dlib`` (HOG or CNN detector, dlib's 5-point
alignment, dlib's ResNet descriptor).

The pipeline works on the image's working pixels (:mod:`faceledger.biometrics.image` scales a
large photo down first) and reports boxes and landmarks in the original's coordinates. One
analysis runs at a time per pipeline; given a :class:`~faceledger.biometrics.deadline.Deadline`,
the wait for that lock and every stage (detection, each face's alignment and embedding) are
bounded by it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.align import Aligner, DlibAligner, Landmarks
from faceledger.biometrics.deadline import Deadline
from faceledger.biometrics.detect import Detector, FaceBox, make_detector
from faceledger.biometrics.embed import DlibResNetEmbedder, Embedder
from faceledger.biometrics.image import DecodedImage
from faceledger.biometrics.models import ModelInfo
from faceledger.biometrics.quality import FaceQuality, QualityThresholds, measure
from faceledger.biometrics.sface import SFaceAligner, SFaceEmbedder
from faceledger.biometrics.yunet import YuNetDetector
from faceledger.config import Settings
from faceledger.errors import ConfigError


def normalise(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Return ``vectors`` scaled to unit length (rows)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit: NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


@dataclass(frozen=True)
class Face:
    """One face found in an image."""

    index: int  # position in the image's face list (largest face first)
    box: FaceBox
    landmarks: Landmarks
    quality: FaceQuality
    problems: tuple[str, ...]  # quality thresholds missed; empty means usable
    chip: NDArray[np.uint8] = field(repr=False)
    embedding: NDArray[np.float32] = field(repr=False)  # as the model produced it

    @property
    def usable(self) -> bool:
        """True when the face meets every quality threshold."""
        return not self.problems

    @property
    def unit_embedding(self) -> NDArray[np.float32]:
        """The descriptor scaled to unit length, as stored in the vector index."""
        return normalise(self.embedding)


class FacePipeline:
    """Detect, align, measure and embed every face in an image."""

    def __init__(
        self,
        detector: Detector,
        embedder: Embedder,
        thresholds: QualityThresholds | None = None,
        aligner: Aligner | None = None,
    ) -> None:
        """Compose a pipeline. Without ``aligner``, the SFace embedder gets the ArcFace-template
        aligner and every other embedder dlib's 5-point aligner."""
        self.detector = detector
        self.embedder = embedder
        self.thresholds = thresholds or QualityThresholds()
        self.aligner: Aligner = aligner or (
            SFaceAligner() if isinstance(embedder, SFaceEmbedder) else DlibAligner()
        )
        # dlib's networks keep working buffers: one analysis at a time per pipeline.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> FacePipeline:
        """Build the pipeline named by ``settings.pipeline`` (models load on first use).

        Raises:
            ConfigError: if a model file is missing or not the pinned one.
        """
        return pipeline_for(settings, settings.pipeline)

    @property
    def models(self) -> dict[str, ModelInfo]:
        """Identities of the detector and the embedding model."""
        return {"detector": self.detector.model, "embedder": self.embedder.model}

    def analyse(self, image: DecodedImage, deadline: Deadline | None = None) -> list[Face]:
        """Return every face in ``image``, largest first; empty when there is none.

        Raises:
            PipelineBusy, AnalysisTimedOut: if ``deadline`` passes first (503).
        """
        with self._hold(deadline):
            found = self._detect(image, deadline)
            return self._faces_of(image, list(enumerate(found)), deadline)

    def detect(self, image: DecodedImage, deadline: Deadline | None = None) -> list[FaceBox]:
        """Return the box of every face in ``image`` (original coordinates), in the order
        :meth:`analyse` numbers them; nothing is embedded.

        Raises:
            PipelineBusy, AnalysisTimedOut: if ``deadline`` passes first (503).
        """
        with self._hold(deadline):
            return [image.to_original(b) for b in self._detect(image, deadline)]

    def analyse_face(
        self,
        image: DecodedImage,
        index: int,
        deadline: Deadline | None = None,
        boxes: Sequence[FaceBox] | None = None,
    ) -> Face:
        """Return face ``index`` of ``image`` (numbered as by :meth:`analyse`), embedding that
        face alone: the others in the photo are bystanders and are never embedded.

        ``boxes`` are the faces already found in this image (original coordinates, as
        :meth:`detect` returns them, e.g. cached at filing); given them, nothing is detected.

        Raises:
            IndexError: if the image has no face ``index``.
            PipelineBusy, AnalysisTimedOut: if ``deadline`` passes first (503).
        """
        with self._hold(deadline):
            if boxes is None:
                working = self._detect(image, deadline)
            else:
                working = [image.to_working(b) for b in boxes]
            if not 0 <= index < len(working):
                raise IndexError(index)
            return self._faces_of(image, [(index, working[index])], deadline)[0]

    @contextmanager
    def _hold(self, deadline: Deadline | None) -> Iterator[None]:
        # One analysis at a time; a time-boxed caller waits only for what is left of its box.
        if deadline is None:
            self._lock.acquire()
        elif not self._lock.acquire(timeout=deadline.remaining()):
            raise deadline.busy()
        try:
            yield
        finally:
            self._lock.release()

    def _detect(self, image: DecodedImage, deadline: Deadline | None) -> list[FaceBox]:
        # Boxes in working coordinates: callers map them (see faceledger.biometrics.image).
        if deadline is not None:
            deadline.check("face detection")
        return list(self.detector.detect(image.pixels))

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _faces_of(
        self,
        image: DecodedImage,
        boxes: list[tuple[int, FaceBox]],
        deadline: Deadline | None,
    ) -> list[Face]:
        # ``boxes`` are in working coordinates; quality is measured there (what the descriptor
        # saw), while the face's box and landmarks are reported in the original's.
        pixels = image.pixels
        faces = []
        for index, box in boxes:
            if deadline is not None:
                deadline.check(f"aligning face {index}")
            landmarks, chip = self.aligner.align(pixels, box)
            if deadline is not None:
                deadline.check(f"embedding face {index}")
            [embedding] = self.embedder.embed([chip])
            quality = measure(box, landmarks, chip)
            faces.append(
                Face(
                    index=index,
                    box=image.to_original(box),
                    landmarks=_landmarks_in_original(image, landmarks),
                    quality=quality,
                    problems=tuple(self.thresholds.problems(quality)),
                    chip=chip,
                    embedding=embedding,
                )
            )
        return faces


def _landmarks_in_original(image: DecodedImage, landmarks: Landmarks) -> Landmarks:
    if not image.downscaled:
        return landmarks
    height, width = image.pixels.shape[:2]
    factors = np.array([image.width / width, image.height / height], dtype=np.float64)
    return Landmarks(landmarks.points * factors, landmarks.scheme)


def _thresholds(settings: Settings) -> QualityThresholds:
    return QualityThresholds(
        min_eye_distance_px=settings.min_eye_distance_px,
        min_sharpness=settings.min_sharpness,
        max_yaw_degrees=settings.max_yaw_degrees,
        min_brightness=settings.min_brightness,
        max_brightness=settings.max_brightness,
    )


def _sface(settings: Settings) -> FacePipeline:
    return FacePipeline(
        YuNetDetector(threads=settings.model_threads),
        SFaceEmbedder(threads=settings.model_threads),
        _thresholds(settings),
        SFaceAligner(),
    )


def _dlib(settings: Settings) -> FacePipeline:
    return FacePipeline(
        make_detector(settings.detector, settings.upsample),
        DlibResNetEmbedder(),
        _thresholds(settings),
        DlibAligner(),
    )


_PIPELINES: dict[str, Callable[[Settings], FacePipeline]] = {"sface": _sface, "dlib": _dlib}


def pipeline_names() -> tuple[str, ...]:
    """Return the names of the known pipelines, the default (``sface``) first."""
    return tuple(_PIPELINES)


def pipeline_for(settings: Settings, name: str) -> FacePipeline:
    """Build the pipeline called ``name`` with the thresholds (and, for ``dlib``, the detector
    and upsampling) of ``settings``; models load on first use.

    Raises:
        ConfigError: if ``name`` is not a known pipeline, or a model file is missing or not the
            pinned one.
    """
    build = _PIPELINES.get(name)
    if build is None:
        raise ConfigError(
            f"Unknown face pipeline {name!r}; choose one of {', '.join(_PIPELINES)}.",
            known=list(_PIPELINES),
        )
    return build(settings)
