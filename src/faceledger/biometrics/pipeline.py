"""The face pipeline: decoded image -> faces with landmarks, quality and descriptors.

Pure biometrics: it knows nothing of galleries, cases or people. Two pipelines are known by
name (:func:`pipeline_names`): ``sface`` (the default: YuNet detector, ArcFace-template
alignment, SFace descriptor, all ONNX) and ``dlib`` (HOG or CNN detector, dlib's 5-point
alignment, dlib's ResNet descriptor).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.align import Aligner, DlibAligner, Landmarks
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

    def analyse(self, image: DecodedImage) -> list[Face]:
        """Return every face in ``image``, largest first; empty when there is none."""
        with self._lock:
            return self._analyse(image)

    def detect(self, image: DecodedImage) -> list[FaceBox]:
        """Return the box of every face in ``image``, in the order :meth:`analyse` numbers
        them; nothing is embedded."""
        with self._lock:
            return list(self.detector.detect(image.pixels))

    def analyse_face(self, image: DecodedImage, index: int) -> Face:
        """Return face ``index`` of ``image`` (numbered as by :meth:`analyse`), embedding that
        face alone: the others in the photo are bystanders and are never embedded.

        Raises:
            IndexError: if the image has no face ``index``.
        """
        with self._lock:
            boxes = self.detector.detect(image.pixels)
            if not 0 <= index < len(boxes):
                raise IndexError(index)
            return self._faces_of(image, [(index, boxes[index])])[0]

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _analyse(self, image: DecodedImage) -> list[Face]:
        return self._faces_of(image, list(enumerate(self.detector.detect(image.pixels))))

    def _faces_of(self, image: DecodedImage, boxes: list[tuple[int, FaceBox]]) -> list[Face]:
        pixels = image.pixels
        staged = []
        for index, box in boxes:
            landmarks, chip = self.aligner.align(pixels, box)
            staged.append((index, box, landmarks, chip))
        embeddings = self.embedder.embed([chip for _, _, _, chip in staged])
        faces = []
        for (index, box, landmarks, chip), embedding in zip(staged, embeddings, strict=True):
            quality = measure(box, landmarks, chip)
            faces.append(
                Face(
                    index=index,
                    box=box,
                    landmarks=landmarks,
                    quality=quality,
                    problems=tuple(self.thresholds.problems(quality)),
                    chip=chip,
                    embedding=embedding,
                )
            )
        return faces


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
