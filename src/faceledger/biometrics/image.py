"""Safe image decoding: bytes in, an RGB array and its provenance out.

Only still-image formats are accepted (JPEG, PNG, WebP, BMP, TIFF). The pixel limit is checked
from the header, before any pixel data is decoded, so a small file that claims a huge canvas
(a decompression bomb) is refused without allocating it. EXIF orientation is applied, and every
pixel mode (greyscale, palette, RGBA, 16-bit) becomes 8-bit RGB.

Refusals are in our own words, one per cause (``details['cause']``); what Pillow said goes to
the log only, since its wording is an internal detail that changes between versions.

Working size. Given ``working_pixels``, an image larger than that is scaled down (aspect kept)
before it reaches the face pipeline, so a 40 MP probe costs about what a 2 MP one does. A JPEG
is decoded through Pillow's ``draft()``, which lets libjpeg decode at 1/2, 1/4 or 1/8 scale, so
it is never decoded at full size; other formats are decoded, then scaled. The original bytes
are untouched: :attr:`DecodedImage.sha256` is always the hash of the bytes given, and
:attr:`DecodedImage.width` and :attr:`DecodedImage.height` are the original's (after EXIF
orientation).

Coordinates. Everything outside the pipeline speaks in the original's pixel coordinates: face
boxes and landmarks in results, the ledger, ``probe_images.faces`` and the request's records
locate the face in the photo whose hash is recorded, whatever the working size was at the time
(so a changed setting never invalidates a stored box). Only the pipeline and the crop code see
the working pixels; they map with :meth:`DecodedImage.to_working` and
:meth:`DecodedImage.to_original`. Quality measures (eye distance, face width) are of the face
as analysed, in working pixels: what the descriptor actually saw.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from faceledger.biometrics.detect import FaceBox
from faceledger.errors import InvalidImage

log = logging.getLogger(__name__)

# PIL's own bomb guard would fire at a fixed size; ours is configurable and checked first.
Image.MAX_IMAGE_PIXELS = None

SUPPORTED_FORMATS = {
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tiff",
}
DEFAULT_MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class DecodedImage:
    """An image ready for the face pipeline: its working pixels and the original's facts."""

    pixels: NDArray[np.uint8]  # height x width x 3, RGB, C-contiguous; at the working size
    sha256: str  # of the original bytes, hex
    format: str  # 'jpeg', 'png', 'webp', 'bmp' or 'tiff'
    original_mode: str  # PIL mode before conversion, e.g. 'RGBA', 'I;16', 'P'
    # (width, height) of the original after EXIF orientation; None when ``pixels`` is the
    # original size (nothing was scaled down).
    original_size: tuple[int, int] | None = None

    @property
    def width(self) -> int:
        """Width of the original in pixels, after EXIF orientation."""
        return self.original_size[0] if self.original_size else int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height of the original in pixels, after EXIF orientation."""
        return self.original_size[1] if self.original_size else int(self.pixels.shape[0])

    @property
    def downscaled(self) -> bool:
        """True when ``pixels`` is smaller than the original."""
        return self.original_size is not None and self.original_size != (
            int(self.pixels.shape[1]),
            int(self.pixels.shape[0]),
        )

    def to_working(self, box: FaceBox) -> FaceBox:
        """Return ``box`` (original coordinates) in the coordinates of :attr:`pixels`."""
        if not self.downscaled:
            return box
        return box.scaled(self.pixels.shape[1] / self.width, self.pixels.shape[0] / self.height)

    def to_original(self, box: FaceBox) -> FaceBox:
        """Return ``box`` (coordinates of :attr:`pixels`) in the original's coordinates."""
        if not self.downscaled:
            return box
        return box.scaled(self.width / self.pixels.shape[1], self.height / self.pixels.shape[0])


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def read_image_file(
    path: Path,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int | None = None,
    working_pixels: int | None = None,
) -> DecodedImage:
    """Read and decode the image file at ``path`` (scaled down to ``working_pixels``, if
    given and the image is larger).

    Raises:
        InvalidImage: if the file cannot be read, is too large, or is not a supported image.
    """
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise InvalidImage(
                f"{path.name}: file is {size} bytes, over the limit of {max_bytes} bytes.",
                source=str(path),
                size=size,
                limit=max_bytes,
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidImage(f"{path}: cannot read file ({exc.strerror}).", source=str(path)) from exc
    return decode_image(data, max_pixels=max_pixels, name=path.name, working_pixels=working_pixels)


def decode_image(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str = "image",
    working_pixels: int | None = None,
) -> DecodedImage:
    """Decode ``data`` into 8-bit RGB pixels with EXIF orientation applied; with
    ``working_pixels``, an image of more pixels is scaled down to about that many (a JPEG is
    decoded at a reduced scale, never at full size). ``sha256``, ``width`` and ``height`` are
    always the original's.

    Raises:
        InvalidImage: for empty, truncated, oversized, non-image or unsupported data; the
            message names the cause.
    """
    if not data:
        raise InvalidImage(f"{name}: the file is empty (0 bytes).", source=name, cause="empty")
    digest = sha256_hex(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL warns on odd EXIF; the checks below decide
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        claimed = _claimed_format(data)
        if claimed:
            raise InvalidImage(
                f"{name}: starts like a {claimed} file but its header is corrupt.",
                source=name,
                cause="bad_header",
            ) from None
        raise InvalidImage(
            f"{name}: not a recognised image (supported: JPEG, PNG, WebP, BMP, TIFF).",
            source=name,
            cause="not_an_image",
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        log.debug("%s: Pillow could not open the image: %r", name, exc)
        raise InvalidImage(
            f"{name}: the image header cannot be read; the file is damaged or not a complete "
            "image.",
            source=name,
            cause="bad_header",
        ) from None
    with image:
        fmt = SUPPORTED_FORMATS.get(image.format or "")
        if fmt is None:
            raise InvalidImage(
                f"{name}: {image.format} images are not accepted; use a still photo in JPEG, "
                "PNG, WebP, BMP or TIFF.",
                source=name,
                cause="unsupported_format",
                format=image.format,
            )
        width, height = image.size
        if width <= 0 or height <= 0:
            raise InvalidImage(
                f"{name}: image has no pixels ({width}x{height}).",
                source=name,
                cause="empty_canvas",
            )
        if width * height > max_pixels:
            raise InvalidImage(
                f"{name}: image is {width}x{height} = {width * height:,} pixels, over the limit "
                f"of {max_pixels:,} pixels.",
                source=name,
                cause="too_many_pixels",
                width=width,
                height=height,
                limit=max_pixels,
            )
        frames = int(getattr(image, "n_frames", 1))
        if frames > 1 and fmt != "jpeg":
            raise InvalidImage(
                f"{name}: image has {frames} frames; only still images are accepted.",
                source=name,
                cause="multiple_frames",
            )
        original_mode = image.mode
        target = _working_target(width, height, working_pixels)
        original_size = None
        if target is not None:
            original_size = (height, width) if _swaps_axes(image) else (width, height)
            if fmt == "jpeg":
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale, the smallest still >= target.
                image.draft(None, target)
        # Truncated data must be refused, never padded: a library that sets Pillow's global
        # LOAD_TRUNCATED_IMAGES (WeasyPrint does, on import) must not change what we accept.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image.load()
                oriented = ImageOps.exif_transpose(image)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            log.debug("%s: Pillow could not decode the image: %r", name, exc)
            cause = "truncated" if "truncated" in str(exc).lower() else "corrupt"
            raise InvalidImage(
                _DECODE_FAILED[cause].format(name=name), source=name, cause=cause
            ) from None
        try:
            pixels = _to_rgb8(oriented)
        except (OSError, ValueError) as exc:
            log.debug("%s: Pillow could not convert mode %s: %r", name, oriented.mode, exc)
            raise InvalidImage(
                f"{name}: its pixel mode {original_mode} cannot be converted to RGB; save it as "
                "an ordinary colour or greyscale photo.",
                source=name,
                cause="unsupported_mode",
                mode=original_mode,
            ) from None
    if original_size is not None:
        pixels = _shrink(pixels, original_size, working_pixels or 0)
    return DecodedImage(
        pixels=pixels,
        sha256=digest,
        format=fmt,
        original_mode=original_mode,
        original_size=original_size,
    )


def working_size(width: int, height: int, working_pixels: int) -> tuple[int, int]:
    """Return the size an image of ``width`` x ``height`` is analysed at: itself when it has
    at most ``working_pixels`` pixels, else scaled down (aspect kept) to at most that many."""
    if width * height <= working_pixels:
        return width, height
    factor = math.sqrt(working_pixels / (width * height))
    return max(1, math.floor(width * factor)), max(1, math.floor(height * factor))


def _working_target(width: int, height: int, working_pixels: int | None) -> tuple[int, int] | None:
    if working_pixels is None or width * height <= working_pixels:
        return None
    return working_size(width, height, working_pixels)


def _swaps_axes(image: Image.Image) -> bool:
    # EXIF orientations 5-8 are quarter turns: exif_transpose swaps width and height.
    try:
        return image.getexif().get(0x0112) in (5, 6, 7, 8)
    except (OSError, ValueError, SyntaxError):
        return False


def _shrink(
    pixels: NDArray[np.uint8], original: tuple[int, int], working_pixels: int
) -> NDArray[np.uint8]:
    """Scale RGB ``pixels`` (perhaps already reduced by draft) to the working size of an
    image of ``original`` size."""
    import cv2  # OpenCV's resize is several times faster than Pillow's here

    size = working_size(*original, working_pixels)
    if (pixels.shape[1], pixels.shape[0]) == size:
        return pixels
    # After a JPEG draft the step left is at most 2x, where bilinear does not alias; a larger
    # step (other formats) needs area averaging.
    step = size[0] / pixels.shape[1]
    method = cv2.INTER_LINEAR if step >= 0.5 else cv2.INTER_AREA
    small = cv2.resize(pixels, size, interpolation=method)
    return np.ascontiguousarray(np.asarray(small, dtype=np.uint8))


_DECODE_FAILED = {
    "truncated": (
        "{name}: the image data is truncated: the file ends before the picture does, as after "
        "an interrupted upload or copy. Send the complete file."
    ),
    "corrupt": "{name}: the image data is corrupt and cannot be decoded.",
}

_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def _claimed_format(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((fmt for magic, fmt in _SIGNATURES.items() if data.startswith(magic)), None)


def _to_rgb8(image: Image.Image) -> NDArray[np.uint8]:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit greyscale: scale the used range into 8 bits instead of clipping.
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or values.max() > 255 else 255.0
        grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        grey = ((values - low) * scale).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        # Transparent areas become white rather than whatever colour hides under alpha 0.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    rgb = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
