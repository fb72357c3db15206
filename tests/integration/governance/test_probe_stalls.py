"""Probes cannot stall the service (issue 13, item 2): the attack cases, through the service.

The attack: a 626 KB solid-colour 8000x5000 JPEG held the pipeline's single lock for 25 s;
two of them delayed another officer's filing by 37 s; every fetch of ``faces/0/crop.jpg``
ran detection again. The face pipeline here is a labelled FAKE (tests/fakes_analysis.py) that
counts its detections, or blocks on demand, so the tests are about the service's bounds; the
real models' side is in tests/unit/biometrics/test_working_size_real.py.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from PIL import Image

from faceledger.errors import (
    AnalysisTimedOut,
    FaceLedgerError,
    NoFaceFound,
    PipelineBusy,
    TooManyAnalyses,
)
from faceledger.governance.models import ProbeImage, RequestRow
from tests.conftest import make_settings
from tests.factories import FastFaceLedger
from tests.fakes_analysis import BlockingDetector, CountingDetector, pipeline_with
from tests.integration.governance.conftest import Governed, form


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def picture(width: int, height: int) -> bytes:
    """A JPEG with structure (the FAKE detector finds its face in the middle)."""
    x = np.linspace(0, 255, width, dtype=np.uint8)
    y = np.linspace(0, 255, height, dtype=np.uint8)
    rgb = np.stack(np.broadcast_arrays(x[None, :], y[:, None], x[None, :] // 2), axis=-1)
    return jpeg(Image.fromarray(np.ascontiguousarray(rgb), "RGB"))


@pytest.fixture(scope="module")
def solid_40mp() -> bytes:
    """The attack's probe: one colour, 8000x5000, about 600 KB."""
    return jpeg(Image.new("RGB", (8000, 5000), (96, 128, 160)))


@dataclass
class Stalls:
    """The governed unit reopened around one FAKE detector, with some settings changed."""

    g: Governed
    detector: CountingDetector

    def file(self, who: str, probe: bytes, case: str) -> Any:
        return self.g.service.requests.submit_request(
            self.g.who(who), form(case_number=case), probe, "probe.jpg"
        )


def _reopen(governed: Governed, detector: CountingDetector, **settings: Any) -> Governed:
    data_dir = governed.service.settings.data_dir
    governed.service.close()
    service = FastFaceLedger(make_settings(data_dir, **settings), pipeline=pipeline_with(detector))
    return Governed(service, governed.people, governed.requests, governed.probe)


@pytest.fixture
def counting(governed: Governed) -> Iterator[Stalls]:
    detector = CountingDetector()
    g = _reopen(governed, detector)
    try:
        yield Stalls(g, detector)
    finally:
        g.service.close()


@pytest.fixture
def blocking(governed: Governed) -> Iterator[Stalls]:
    detector = BlockingDetector(hold_seconds=10.0)
    g = _reopen(governed, detector, analysis_timeout_seconds=0.5, max_concurrent_analyses=1)
    try:
        yield Stalls(g, detector)
    finally:
        detector.release.set()
        g.service.close()


def test_the_solid_40mp_jpeg_is_refused_quickly_and_nothing_is_written(
    counting: Stalls, solid_40mp: bytes
) -> None:
    before = counting.g.counts()
    started = time.monotonic()
    with pytest.raises(NoFaceFound) as caught:
        counting.file("req_a", solid_40mp, "STALL-1")
    assert time.monotonic() - started < 10.0  # was 25 s of the pipeline's lock
    assert caught.value.status == 422
    assert caught.value.message == "probe.jpg: no face was found in the image."
    # Detected once, at the working size, never at 8000x5000.
    assert counting.detector.shapes == [(1549, 968)]
    assert counting.g.counts() == before


def test_a_downscaled_probe_keeps_its_original_bytes_hash_and_size(counting: Stalls) -> None:
    probe = picture(8000, 5000)
    view = counting.file("req_a", probe, "STALL-2")
    digest = hashlib.sha256(probe).hexdigest()
    assert counting.detector.shapes == [(1549, 968)]
    with counting.g.service.context.db.read() as session:
        row = session.get(RequestRow, view.id)
        stored = session.get(ProbeImage, digest)
        assert row is not None and stored is not None
        assert row.probe_sha256 == digest
        assert stored.data == probe
        assert (stored.width, stored.height) == (8000, 5000)
        # The faces kept at filing, in the original's coordinates.
        assert stored.faces is not None and len(stored.faces) == 1
        assert stored.faces[0]["right"] > 1549 and stored.faces[0]["detector"]
    [entry] = [e for e in counting.g.entries_of("request.submit") if e.object_id == str(view.id)]
    assert entry.payload["probe"]["sha256"] == digest


def test_crops_and_the_search_never_detect_again_after_filing(counting: Stalls) -> None:
    g, detector = counting.g, counting.detector
    view = counting.file("req_a", picture(3000, 2000), "STALL-3")
    assert detector.calls == 1  # filing detected once
    examiner = g.who("ex1")
    crops = [g.service.images.probe_face_crop(examiner, view.id, 0) for _ in range(5)]
    assert all(c.startswith(b"\xff\xd8") for c in crops)
    assert detector.calls == 1
    g.service.requests.run_request_search(examiner, view.id)
    g.service.images.probe_face_crop(examiner, view.id, 0)
    assert detector.calls == 1
    with pytest.raises(FaceLedgerError) as caught:
        g.service.images.probe_face_crop(examiner, view.id, 1)
    assert caught.value.status == 404
    assert detector.calls == 1


def test_a_probe_filed_before_faces_were_kept_is_detected_by_a_read_but_not_stored(
    counting: Stalls,
) -> None:
    g, detector = counting.g, counting.detector
    request_id = g.requests["approved"]
    with g.service.context.db.transaction() as session:
        row = session.get(RequestRow, request_id)
        assert row is not None
        stored = session.get(ProbeImage, row.probe_sha256)
        assert stored is not None and stored.faces is not None  # kept when the template filed
        stored.faces = None  # as a probe filed before migration 0014
        digest = row.probe_sha256
    before = g.counts()
    examiner = g.who("ex1")
    g.service.images.probe_face_crop(examiner, request_id, 0)
    g.service.images.probe_face_crop(examiner, request_id, 0)
    assert detector.calls == 2  # a GET may detect, but stores nothing
    assert g.counts() == before
    with g.service.context.db.read() as session:
        assert session.get(ProbeImage, digest).faces is None  # type: ignore[union-attr]
    g.service.requests.run_request_search(examiner, request_id)  # a write: keeps them
    assert detector.calls == 3
    with g.service.context.db.read() as session:
        assert session.get(ProbeImage, digest).faces is not None  # type: ignore[union-attr]
    g.service.images.probe_face_crop(examiner, request_id, 0)
    assert detector.calls == 3


def test_a_user_over_the_bound_gets_429_and_another_user_waits_only_the_time_box(
    blocking: Stalls,
) -> None:
    g, detector = blocking.g, blocking.detector
    before = g.counts()
    outcome: dict[str, BaseException] = {}

    def first() -> None:
        try:
            blocking.file("req_a", picture(640, 480), "STALL-A")
        except BaseException as exc:
            outcome["first"] = exc

    detector.armed = True
    holder = threading.Thread(target=first)
    holder.start()
    try:
        assert detector.entered.wait(5.0)
        # 1. The same officer again: refused at once, before any decoding.
        started = time.monotonic()
        with pytest.raises(TooManyAnalyses) as again:
            blocking.file("req_a", picture(640, 480), "STALL-A2")
        assert time.monotonic() - started < 0.4
        assert again.value.status == 429
        assert "already have 1 face analysis running" in again.value.message
        assert "Nothing was recorded" in again.value.message
        # 2. Another officer: waits for the pipeline only as long as their own time box.
        started = time.monotonic()
        with pytest.raises(PipelineBusy) as busy:
            blocking.file("req_b", picture(640, 480), "STALL-B")
        waited = time.monotonic() - started
        assert 0.4 <= waited < 2.0
        assert busy.value.status == 503
        assert "face pipeline is busy" in busy.value.message
        assert "try again" in busy.value.message.lower()
    finally:
        detector.release.set()
        holder.join(10.0)
    # 3. The slow analysis itself ran past its box: stopped before its next stage.
    timed_out = outcome.get("first")
    assert isinstance(timed_out, AnalysisTimedOut), timed_out
    assert timed_out.status == 503
    assert timed_out.details["stage"] == "aligning face 0"
    assert g.counts() == before
    # Every slot was freed: the officer may file again.
    detector.armed = False
    assert blocking.file("req_a", picture(640, 480), "STALL-A3").id
