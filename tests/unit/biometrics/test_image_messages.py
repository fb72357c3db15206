"""Refusals of unusable images are in our own words, one message per cause; what Pillow said
goes to the log only. Every bad file is built here at run time."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from faceledger.biometrics.image import decode_image
from faceledger.errors import InvalidImage

PILLOW_WORDS = ("bytes not processed", "image file is truncated", "cannot identify", "PIL", "(")
"""Pillow's phrasing (and the parentheses its text used to be quoted in)."""


def jpeg() -> bytes:
    """A 320x240 JPEG of noise (large enough that half of it is past the header)."""
    noise = np.random.default_rng(3).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="JPEG", quality=90)
    return out.getvalue()


CASES: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("zero-bytes", lambda: b"", "empty", "photo.jpg: the file is empty (0 bytes)."),
    (
        "truncated-jpeg",
        lambda: jpeg()[: len(jpeg()) // 2],
        "truncated",
        "photo.jpg: the image data is truncated: the file ends before the picture does, as "
        "after an interrupted upload or copy. Send the complete file.",
    ),
    (
        "text-file-named-jpg",
        lambda: b"Dear officer, this is a letter, not a photo.\n" * 20,
        "not_an_image",
        "photo.jpg: not a recognised image (supported: JPEG, PNG, WebP, BMP, TIFF).",
    ),
    (
        "jpeg-cut-in-its-header",
        lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "bad_header",
        "photo.jpg: the image header cannot be read; the file is damaged or not a complete image.",
    ),
]


@pytest.mark.parametrize(
    ("make", "cause", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_cause_has_our_own_message(
    make: Callable[[], bytes], cause: str, message: str
) -> None:
    with pytest.raises(InvalidImage) as info:
        decode_image(make(), name="photo.jpg")
    assert info.value.details["cause"] == cause
    assert info.value.message == message
    assert info.value.status == 422 and info.value.code == "invalid_image"


@pytest.mark.parametrize("make", [c[1] for c in CASES[1:]], ids=[c[0] for c in CASES[1:]])
def test_no_pillow_text_reaches_the_message(make: Callable[[], bytes]) -> None:
    with pytest.raises(InvalidImage) as info:
        decode_image(make(), name="photo.jpg")
    shown = info.value.message.removesuffix("(supported: JPEG, PNG, WebP, BMP, TIFF).")
    for words in PILLOW_WORDS:
        assert words not in shown, info.value.message


def test_pillows_text_goes_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    data = jpeg()
    with (
        caplog.at_level(logging.DEBUG, logger="faceledger.biometrics.image"),
        pytest.raises(InvalidImage) as info,
    ):
        decode_image(data[: len(data) // 2], name="photo.jpg")
    assert "truncated" in caplog.text and "photo.jpg" in caplog.text
    assert "bytes not processed" in caplog.text
    assert "bytes not processed" not in info.value.message
