"""The working size with the real default pipeline (sface): no face lost on the shared photos,
the attack's solid 40 MP JPEG analysed quickly, and a 40 MP face found where the 1 MP one is."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceledger.biometrics.image import decode_image, read_image_file
from faceledger.biometrics.pipeline import FacePipeline
from faceledger.config import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("working"))


@pytest.fixture(scope="module")
def pipeline(settings: Settings) -> FacePipeline:
    return FacePipeline.from_settings(settings)


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_no_face_of_the_shared_photos_is_lost_at_the_default_working_size(
    faces_dir: Path, pipeline: FacePipeline, settings: Settings
) -> None:
    photos = sorted(p for p in faces_dir.glob("*/**/*") if p.suffix in (".jpg", ".png"))
    scaled = 0
    for path in photos:
        full = pipeline.analyse(read_image_file(path))
        working = read_image_file(path, working_pixels=settings.probe_working_pixels)
        scaled += working.downscaled
        found = pipeline.analyse(working)
        assert len(found) == len(full), path.name
        assert sum(f.usable for f in found) == sum(f.usable for f in full), path.name
        for face in found:  # each box, in original coordinates, is one found at full size
            assert max(face.box.overlap(f.box) for f in full) > 0.7, path.name
    assert scaled == 4  # obama3, obama_and_biden, biden1 and alex2 are over 1.5 MP


def test_the_solid_40mp_jpeg_is_analysed_in_a_fraction_of_a_second(
    pipeline: FacePipeline, settings: Settings
) -> None:
    data = jpeg(Image.new("RGB", (8000, 5000), (96, 128, 160)))
    pipeline.analyse(decode_image(jpeg(Image.new("RGB", (64, 64)))))  # models loaded
    started = time.monotonic()
    image = decode_image(data, working_pixels=settings.probe_working_pixels)
    assert pipeline.analyse(image) == []
    assert time.monotonic() - started < 5.0  # was 25 s


def test_a_40mp_probe_finds_the_face_the_1mp_one_does(
    faces_dir: Path, pipeline: FacePipeline, settings: Settings
) -> None:
    face = Image.open(faces_dir / "people" / "obama" / "obama1.jpg").convert("RGB")
    # The same picture at 1 MP (the same aspect, so the same face geometry) and at 40 MP.
    small = decode_image(jpeg(face.resize((1265, 791))), working_pixels=10**9)
    big = decode_image(
        jpeg(face.resize((8000, 5000))), working_pixels=settings.probe_working_pixels
    )
    [one] = pipeline.analyse(small)
    [forty] = pipeline.analyse(big)
    assert forty.usable and one.usable
    # The same face: its 40 MP box, scaled to 1 MP, lands on the 1 MP box.
    assert forty.box.scaled(1265 / 8000, 791 / 5000).overlap(one.box) > 0.8
    assert float(np.dot(forty.unit_embedding, one.unit_embedding)) > 0.9
