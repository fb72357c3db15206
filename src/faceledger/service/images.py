"""Images for people with a right to see them: probe face crops and candidate face chips.

Never from a public path: every image goes through the access registry here
(``request.probe``, ``request.candidates``), so an image is shown exactly to those who may see
that request's probe or candidates; nothing is shown of a sealed request, and a request outside
the caller's sight answers 404.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.biometrics.crops import face_crop
from faceledger.biometrics.detect import FaceBox
from faceledger.errors import NotFound, PermissionDenied
from faceledger.gallery.models import Template
from faceledger.governance.accounts import Principal
from faceledger.governance.lifecycle import State
from faceledger.governance.models import CandidateRow, ProbeImage, RequestRow
from faceledger.service.access import Refused
from faceledger.service.request_core import RequestSteps
from faceledger.service.searches import Matcher


class ImageUseCases:
    """Face crops, each behind the registry."""

    def __init__(self, steps: RequestSteps, matcher: Matcher) -> None:
        self._steps, self._matcher = steps, matcher

    def probe_face_crop(self, acting: Principal, request_id: int, face_index: int) -> bytes:
        """JPEG crop of one face of a request's probe, for those who may see the probe.

        The face's box comes from the faces kept at filing (``probe_images.faces``), else from
        the search run's record; nothing is detected again. Only a probe filed before faces
        were kept, and never searched, is detected here, without storing the result: a read
        changes nothing.

        Raises:
            NotFound: for an unknown, hidden or sealed request, or an unknown face.
            TooManyAnalyses, PipelineBusy, AnalysisTimedOut: only for such an old probe, when
                it must be detected (429, 503).
        """
        with self._steps.step(acting, "request.probe", request_id, write=False) as (s, _, row):
            data = _probe_data(s, row)
            probe = s.get(ProbeImage, row.probe_sha256)
            boxes = self._matcher.cached_boxes(probe.faces if probe is not None else None)
            faces = list(row.run.faces) if row.run is not None else []
        name = f"probe of request {request_id}"
        missing = NotFound(f"The probe of request {request_id} has no face {face_index}.")
        if boxes is None:
            match = [f for f in faces if f["index"] == face_index]
            if match:
                b = match[0]["box"]
                boxes = [FaceBox(b["left"], b["top"], b["right"], b["bottom"], 0.0)]
                face_index = 0
        if boxes is None:
            with self._matcher.slots.hold(acting) as deadline:
                image = self._matcher.decode(data, name)
                boxes = self._matcher.pipeline.detect(image, deadline)
        else:
            image = self._matcher.decode(data, name)
        if not 0 <= face_index < len(boxes):
            raise missing
        return face_crop(image.pixels, image.to_working(boxes[face_index]))

    def candidate_chip(self, acting: Principal, request_id: int, candidate_id: int) -> bytes:
        """JPEG of a candidate's aligned gallery face: those who may see the candidate list see
        every candidate; the requester only the released ones.

        Raises:
            NotFound: for an unknown, hidden or sealed request or candidate, or a gallery
                photo deleted since the search.
            PermissionDenied: for a requester asking for a candidate that was not released.
        """
        steps = self._steps
        with steps.step(acting, "request.read", request_id, write=False) as (session, me, row):
            _not_sealed(row)
            staff = steps.access.may(session, me, "request.candidates", row)
            if not staff and candidate_id not in (row.released_candidate_ids or []):
                raise Refused(
                    "request.candidates",
                    PermissionDenied(
                        "Only released candidates are shown to the requester.",
                        requirements=["R9"],
                    ),
                    ["R9", "R18"],
                    request_id=request_id,
                )
            candidate = session.get(CandidateRow, candidate_id)
            if candidate is None or candidate.run.request_id != request_id:
                raise NotFound(f"Request {request_id} has no candidate {candidate_id}.")
            chip = session.scalar(
                select(Template.chip_jpeg).where(Template.id == candidate.template_id)
            )
        if chip is None:
            raise NotFound(
                f"The gallery face of candidate {candidate_id} is no longer stored (deleted "
                "from the gallery since the search)."
            )
        return chip

    def probe_bytes(self, acting: Principal, request_id: int) -> bytes:
        """The probe photo of a request, for those who may see it (not after sealing)."""
        with self._steps.step(acting, "request.probe", request_id, write=False) as (s, _, row):
            return _probe_data(s, row)


def _not_sealed(row: RequestRow) -> None:
    if row.state == State.SEALED.value:
        raise NotFound(f"Request {row.id} is sealed; its images were deleted.")


def _probe_data(session: Session, row: RequestRow) -> bytes:
    _not_sealed(row)
    probe = session.get(ProbeImage, row.probe_sha256)
    if probe is None or probe.data is None:
        raise NotFound(f"The probe photo of request {row.id} has been deleted.")
    return probe.data
