"""Safe decoding: every accepted format and mode, every refusal with its cause."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceledger.biometrics.image import decode_image, read_image_file
from faceledger.errors import InvalidImage


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photo(faces_dir: Path) -> Image.Image:
    return Image.open(faces_dir / "people" / "obama" / "obama_small.jpg").convert("RGB")


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tiff")],
)
def test_supported_formats_decode_to_rgb8(photo: Image.Image, fmt: str, expected: str) -> None:
    data = encode(photo, fmt)
    decoded = decode_image(data)
    assert decoded.format == expected
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == (photo.height, photo.width, 3)
    assert decoded.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "I;16", "I", "CMYK", "1"])
def test_every_pixel_mode_becomes_rgb8(photo: Image.Image, mode: str) -> None:
    converted = photo.convert(mode) if mode != "I;16" else photo.convert("L").convert("I;16")
    fmt = "TIFF" if mode in ("CMYK", "I") else "PNG"
    decoded = decode_image(encode(converted, fmt))
    assert decoded.pixels.shape == (photo.height, photo.width, 3)
    assert decoded.pixels.dtype == np.uint8
    assert decoded.original_mode == converted.mode


def test_sixteen_bit_greyscale_keeps_its_range() -> None:
    ramp = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (8, 1))
    decoded = decode_image(encode(Image.fromarray(ramp), "PNG"))
    grey = decoded.pixels[..., 0]
    assert grey.min() == 0
    assert grey.max() == 255  # scaled into 8 bits, not clipped to 255 everywhere


def test_transparent_pixels_become_white() -> None:
    rgba = Image.new("RGBA", (4, 4), (10, 20, 30, 0))
    decoded = decode_image(encode(rgba, "PNG"))
    assert (decoded.pixels == 255).all()


def test_exif_orientation_is_applied(photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(photo, "JPEG", exif=exif.tobytes())
    decoded = decode_image(data)
    assert decoded.pixels.shape[:2] == (photo.width, photo.height)


def test_rgba_png_from_shared_edge_cases(faces_dir: Path) -> None:
    decoded = read_image_file(faces_dir / "edge" / "rgba_32bit.png")
    assert decoded.original_mode == "RGBA"
    assert decoded.pixels.shape[2] == 3


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def truncated_jpeg(photo: Image.Image) -> bytes:
    data = encode(photo, "JPEG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("make", "cause", "words"),
    [
        (lambda p: b"", "empty", "empty"),
        (truncated_jpeg, "truncated", "truncated"),
        (lambda p: b"this is a text file, not a photo\n", "not_an_image", "not a recognised image"),
        (lambda p: png_claiming(50000, 50000), "too_many_pixels", "2,500,000,000 pixels"),
        (lambda p: encode(p, "GIF"), "unsupported_format", "GIF images are not accepted"),
        (
            lambda p: b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
            "bad_header",
            "starts like a PNG file but its header is corrupt",
        ),
    ],
    ids=["zero-bytes", "truncated-jpeg", "text-file", "png-bomb", "gif", "broken-png-header"],
)
def test_bad_input_is_refused_with_its_cause(
    photo: Image.Image, make: object, cause: str, words: str
) -> None:
    data = make(photo)  # type: ignore[operator]
    with pytest.raises(InvalidImage) as info:
        decode_image(data, name="probe.jpg")
    assert info.value.details["cause"] == cause
    assert words in info.value.message
    assert info.value.message.startswith("probe.jpg:")
    assert info.value.status == 422


def test_pixel_limit_is_configurable(photo: Image.Image) -> None:
    data = encode(photo, "PNG")
    limit = photo.width * photo.height - 1
    with pytest.raises(InvalidImage, match="over the limit"):
        decode_image(data, max_pixels=limit)
    assert decode_image(data, max_pixels=limit + 1).width == photo.width


def test_file_size_limit_and_missing_file(tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "p.png"
    path.write_bytes(encode(photo, "PNG"))
    with pytest.raises(InvalidImage, match="bytes, over the limit"):
        read_image_file(path, max_bytes=10)
    with pytest.raises(InvalidImage, match="cannot read file"):
        read_image_file(tmp_path / "missing.jpg")


def test_animated_image_is_refused(photo: Image.Image) -> None:
    frames = [photo, photo.rotate(10)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidImage, match="2 frames"):
        decode_image(buffer.getvalue())


def test_a_truncated_photo_is_refused_after_a_pdf_library_loosened_pillow(
    photo: Image.Image,
) -> None:
    # WeasyPrint (disclosure packets) sets Pillow's global LOAD_TRUNCATED_IMAGES on import;
    # probe photos must still be refused when truncated, in the same process.
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with pytest.raises(InvalidImage) as info:
            decode_image(truncated_jpeg(photo), name="probe.jpg")
        assert info.value.details["cause"] == "truncated"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
