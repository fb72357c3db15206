"""Working size, coordinates and the time box (issue 13, item 2), without the real models.

Large probes are scaled down before detection (a JPEG decoded at reduced scale), the original's
hash and size are kept, and boxes come back in the original's coordinates. The pipeline's lock
wait and stages are bounded by a deadline, and each user by a number of analyses in flight.
"""

from __future__ import annotations

import hashlib
import io
import threading

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from faceledger.biometrics.deadline import Deadline
from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.image import decode_image, working_size
from faceledger.errors import AnalysisTimedOut, PipelineBusy, TooManyAnalyses
from faceledger.governance.accounts import LocalOperator
from faceledger.service.analysis_slots import AnalysisSlots
from tests.fakes_analysis import BlockingDetector, CountingDetector, pipeline_with

WORKING = 1_500_000


def jpeg(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, **params)
    return buffer.getvalue()


def gradient(width: int, height: int) -> Image.Image:
    """A cheap picture with structure (a single colour has no face, even for the fakes)."""
    x = np.linspace(0, 255, width, dtype=np.uint8)
    y = np.linspace(0, 255, height, dtype=np.uint8)
    rgb = np.stack(np.broadcast_arrays(x[None, :], y[:, None], x[None, :] // 2), axis=-1)
    return Image.fromarray(np.ascontiguousarray(rgb), "RGB")


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    return jpeg(gradient(8000, 5000))


def test_a_40_mp_jpeg_is_decoded_at_reduced_scale_and_keeps_its_hash(
    big_jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafted: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: object) -> object:
        result = original(self, mode, size)  # type: ignore[arg-type]
        drafted.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    image = decode_image(big_jpeg, working_pixels=WORKING)
    # libjpeg decoded at 1/4 scale: the full 8000x5000 was never in memory.
    assert drafted == [(2000, 1250)]
    assert image.pixels.shape[1] * image.pixels.shape[0] <= WORKING
    assert image.pixels.shape[:2] == (968, 1549)
    assert (image.width, image.height) == (8000, 5000)
    assert image.sha256 == hashlib.sha256(big_jpeg).hexdigest()
    assert image.downscaled


def test_an_image_within_the_working_size_is_left_alone() -> None:
    data = jpeg(gradient(1000, 1000))
    image = decode_image(data, working_pixels=WORKING)
    assert image.pixels.shape[:2] == (1000, 1000)
    assert image.original_size is None and not image.downscaled
    assert image.to_working(FaceBox(1, 2, 3, 4, 0.5)) == FaceBox(1, 2, 3, 4, 0.5)


def test_without_a_working_size_nothing_is_scaled(big_jpeg: bytes) -> None:
    assert decode_image(big_jpeg).pixels.shape[:2] == (5000, 8000)


def test_other_formats_are_scaled_after_decoding() -> None:
    buffer = io.BytesIO()
    gradient(3000, 2000).save(buffer, format="PNG")
    image = decode_image(buffer.getvalue(), working_pixels=WORKING)
    assert image.pixels.shape[:2] == (1000, 1500)
    assert (image.width, image.height) == (3000, 2000)


def test_exif_orientation_turns_the_original_size_too() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: a portrait stored on its side
    data = jpeg(gradient(4000, 3000), exif=exif.tobytes())
    image = decode_image(data, working_pixels=WORKING)
    assert (image.width, image.height) == (3000, 4000)
    height, width = image.pixels.shape[:2]
    assert height > width and width * height <= WORKING


def test_working_size_keeps_the_aspect_and_the_budget() -> None:
    assert working_size(800, 600, WORKING) == (800, 600)
    width, height = working_size(8000, 5000, WORKING)
    assert width * height <= WORKING
    assert abs(width / height - 1.6) < 0.01


def test_boxes_map_between_working_and_original_coordinates(big_jpeg: bytes) -> None:
    image = decode_image(big_jpeg, working_pixels=WORKING)
    working = FaceBox(100, 200, 300, 400, 0.9, ((150.0, 250.0),) * 5)
    original = image.to_original(working)
    assert original.left == round(100 * 8000 / 1549)
    assert original.landmarks is not None
    assert original.landmarks[0][1] == pytest.approx(250.0 * 5000 / 968)
    back = image.to_working(original)
    assert abs(back.left - working.left) <= 1 and abs(back.bottom - working.bottom) <= 1
    assert FaceBox.from_cache(original.to_cache()) == original
    assert FaceBox.from_cache(original.to_cache()).landmarks == original.landmarks


def test_the_pipeline_detects_on_working_pixels_and_answers_in_original_coordinates(
    big_jpeg: bytes,
) -> None:
    detector = CountingDetector()
    pipeline = pipeline_with(detector)
    image = decode_image(big_jpeg, working_pixels=WORKING)
    [box] = pipeline.detect(image)
    assert detector.shapes == [(1549, 968)]
    assert box == image.to_original(detector.detect(image.pixels)[0])
    face = pipeline.analyse_face(image, 0, boxes=[box])
    assert detector.calls == 2  # the call above and the one in this test: none for the face
    assert face.box == image.to_original(image.to_working(box))
    assert face.box.right > 1549  # original coordinates, not working ones


def test_a_single_colour_40_mp_jpeg_has_no_face_and_is_never_full_size() -> None:
    detector = CountingDetector()
    data = jpeg(Image.new("RGB", (8000, 5000), (96, 128, 160)))
    image = decode_image(data, working_pixels=WORKING)
    assert pipeline_with(detector).detect(image) == []
    assert detector.shapes == [(1549, 968)]


def test_a_busy_pipeline_answers_503_after_the_time_box() -> None:
    detector = BlockingDetector(hold_seconds=5.0)
    pipeline = pipeline_with(detector)
    image = decode_image(jpeg(gradient(400, 300)))
    detector.armed = True
    holder = threading.Thread(target=pipeline.detect, args=(image,))
    holder.start()
    try:
        assert detector.entered.wait(5.0)
        with pytest.raises(PipelineBusy) as caught:
            pipeline.detect(image, Deadline(0.2))
        assert caught.value.status == 503
        assert "busy" in caught.value.message and "try again" in caught.value.message.lower()
        assert caught.value.retry_after_seconds == 1
    finally:
        detector.release.set()
        holder.join()


def test_an_analysis_past_its_time_box_stops_before_the_next_stage() -> None:
    detector = BlockingDetector(hold_seconds=0.3)
    detector.armed = True
    pipeline = pipeline_with(detector)
    image = decode_image(jpeg(gradient(400, 300)))
    with pytest.raises(AnalysisTimedOut) as caught:
        pipeline.analyse(image, Deadline(0.1))
    assert caught.value.status == 503
    assert caught.value.details["stage"] == "aligning face 0"
    assert "longer than the 0.1 s allowed" in caught.value.message


def test_a_user_over_the_bound_gets_429_and_others_are_not_counted() -> None:
    slots = AnalysisSlots(limit=1, timeout_seconds=5.0)
    alice, bob = LocalOperator("alice"), LocalOperator("bob")
    with slots.hold(alice) as deadline:
        assert deadline.remaining() > 4.0
        with pytest.raises(TooManyAnalyses) as caught, slots.hold(alice):
            pass
        assert caught.value.status == 429
        assert "already have 1 face analysis running" in caught.value.message
        with slots.hold(bob):
            assert slots.running(bob) == 1
    assert slots.running(alice) == 0
    with slots.hold(alice):  # freed, even after the refusal
        pass


def test_a_slot_is_freed_when_the_analysis_fails() -> None:
    slots = AnalysisSlots(limit=1, timeout_seconds=5.0)
    alice = LocalOperator("alice")
    with pytest.raises(RuntimeError), slots.hold(alice):
        raise RuntimeError("the analysis failed")
    assert slots.running(alice) == 0
