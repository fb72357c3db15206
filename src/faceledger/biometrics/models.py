"""The model files behind the face pipeline: where they are, what they are, loaded lazily.

Weights come from the ``face_recognition_models`` package (installed from the package index);
nothing is downloaded at run time. Each model is identified by name, version and the SHA-256
of its weight files, and that identity travels with every template it produces.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from faceledger.errors import ConfigError

WEIGHTS_PACKAGE = "face_recognition_models"
HOG_DETECTOR = "dlib_hog_frontal_face_detector"
CNN_DETECTOR_FILE = "mmod_human_face_detector.dat"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"


@dataclass(frozen=True)
class ModelInfo:
    """Identity of a model: what produced a detection or a template."""

    name: str
    version: str
    sha256: str  # over the weight files (hex); for code-only models, over name and version

    def to_dict(self) -> dict[str, str]:
        """Return the identity as plain strings (for storage and the ledger)."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


def weights_dir() -> Path:
    """Return the folder holding the dlib weight files.

    Raises:
        ConfigError: if the ``face_recognition_models`` package is not installed.
    """
    try:
        files = metadata.files(WEIGHTS_PACKAGE.replace("_", "-")) or []
    except metadata.PackageNotFoundError:
        raise ConfigError(
            "The face model weights are missing: install the 'face_recognition_models' package."
        ) from None
    for file in files:
        if file.name == RESNET_FILE:
            return Path(str(file.locate())).parent
    raise ConfigError(f"The 'face_recognition_models' package has no {RESNET_FILE}.")


def weight_path(file_name: str) -> Path:
    """Return the path of one weight file, checking that it exists."""
    path = weights_dir() / file_name
    if not path.is_file():
        raise ConfigError(f"Model weight file {path} is missing.")
    return path


@functools.cache
def file_sha256(path: Path) -> str:
    """Return the SHA-256 (hex) of a file, computed once per process."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def combined_sha256(*paths: Path) -> str:
    """Return one SHA-256 over several weight files (over their names and digests, in order)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.name}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


@functools.cache
def dlib_version() -> str:
    """Return the installed dlib version and the weights package version."""
    import dlib

    weights = metadata.version(WEIGHTS_PACKAGE.replace("_", "-"))
    return f"dlib-{dlib.__version__}+face_recognition_models-{weights}"


@functools.cache
def load_dlib(kind: str) -> Any:
    """Load one dlib model once per process: 'hog', 'cnn', 'landmarks' or 'resnet'."""
    import dlib

    if kind == "hog":
        return dlib.get_frontal_face_detector()
    if kind == "cnn":
        return dlib.cnn_face_detection_model_v1(str(weight_path(CNN_DETECTOR_FILE)))
    if kind == "landmarks":
        return dlib.shape_predictor(str(weight_path(LANDMARKS_FILE)))
    if kind == "resnet":
        return dlib.face_recognition_model_v1(str(weight_path(RESNET_FILE)))
    raise ConfigError(f"Unknown dlib model kind {kind!r}.")
