"""Face crops for people to look at: JPEG encoding and a padded crop around a face box."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from faceledger.biometrics.detect import FaceBox

CROP_MARGIN = 0.4
CROP_MAX_SIDE = 200


def jpeg(pixels: NDArray[np.uint8], quality: int = 85) -> bytes:
    """Return RGB ``pixels`` encoded as a JPEG."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def face_crop(pixels: NDArray[np.uint8], box: FaceBox) -> bytes:
    """Return a JPEG of the face in ``box`` with a margin, at most 200 px on a side."""
    height, width = pixels.shape[:2]
    pad_x, pad_y = round(box.width * CROP_MARGIN), round(box.height * CROP_MARGIN)
    left, top = max(0, box.left - pad_x), max(0, box.top - pad_y)
    right, bottom = min(width, box.right + pad_x), min(height, box.bottom + pad_y)
    image = Image.fromarray(np.ascontiguousarray(pixels[top:bottom, left:right]), mode="RGB")
    image.thumbnail((CROP_MAX_SIDE, CROP_MAX_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
