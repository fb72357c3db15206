"""Face descriptors: an aligned chip in, a fixed-length vector out.

:class:`Embedder` is the seam for other models (an ONNX ArcFace-class model later); the dlib
ResNet from ``face_recognition_models`` is the default. Vectors are returned as produced by the
model; the gallery L2-normalises them for the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.models import (
    LANDMARKS_FILE,
    RESNET_FILE,
    ModelInfo,
    combined_sha256,
    dlib_version,
    load_dlib,
    weight_path,
)


class Embedder(Protocol):
    """Maps aligned face chips to descriptors."""

    @property
    def model(self) -> ModelInfo:
        """Identity of the model (name, version, weights SHA-256)."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every descriptor."""
        ...

    def embed(self, chips: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """Return one descriptor per chip, shape (len(chips), dimension)."""
        ...


class DlibResNetEmbedder:
    """dlib's 128-d ResNet face descriptor (99.38% on LFW), on 150x150 chips."""

    def __init__(self) -> None:
        # The template depends on the aligner as well as the network, so both are in the hash.
        self._model = ModelInfo(
            "dlib_face_recognition_resnet_model_v1",
            dlib_version(),
            combined_sha256(weight_path(LANDMARKS_FILE), weight_path(RESNET_FILE)),
        )

    @property
    def model(self) -> ModelInfo:
        """Identity of the model (name, version, weights SHA-256)."""
        return self._model

    @property
    def dimension(self) -> int:
        """Length of every descriptor."""
        return 128

    def embed(self, chips: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """Return one descriptor per chip, shape (len(chips), 128)."""
        if not chips:
            return np.zeros((0, self.dimension), dtype=np.float32)
        descriptors = load_dlib("resnet").compute_face_descriptor(list(chips))
        return np.array([np.asarray(d) for d in descriptors], dtype=np.float32)
