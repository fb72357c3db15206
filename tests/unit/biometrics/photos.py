"""Test helpers shared by the pipeline tests: the people photos, and pixels as an image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceledger.biometrics.image import DecodedImage


def people_photos(faces_dir: Path) -> list[Path]:
    """Every photo under ``people/``, in a fixed order."""
    return sorted(p for p in (faces_dir / "people").glob("*/*") if p.is_file())


def image_of(pixels: np.ndarray) -> DecodedImage:
    """An RGB pixel array as a decoded image (its hash is a placeholder)."""
    return DecodedImage(
        pixels=np.ascontiguousarray(pixels, dtype=np.uint8),
        sha256="0" * 64,
        format="png",
        original_mode="RGB",
    )
