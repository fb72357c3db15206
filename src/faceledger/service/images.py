"""Images for people with a right to see them: probe face crops and candidate face chips.

Never from a public path: every image goes through a role check here (issue: images served
only to roles allowed to see them). Nothing is shown of a sealed request.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.biometrics.crops import face_crop
from faceledger.biometrics.detect import FaceBox
from faceledger.errors import NotFound, PermissionDenied
from faceledger.gallery.models import Template
from faceledger.governance.accounts import UserInfo
from faceledger.governance.context import Role
from faceledger.governance.lifecycle import State
from faceledger.governance.models import CandidateRow, ProbeImage, RequestRow
from faceledger.service.searches import SearchUseCases

PROBE_VIEWERS = frozenset({Role.EXAMINER, Role.REVIEWER, Role.SUPERVISOR})
CANDIDATE_VIEWERS = frozenset({Role.EXAMINER, Role.REVIEWER, Role.SUPERVISOR})


class ImageUseCases(SearchUseCases):
    """Face crops, each behind a role check."""

    @staticmethod
    def _visible_request(
        session: Session, acting: UserInfo, request_id: int, staff: frozenset[Role]
    ) -> RequestRow:
        """Return the request if ``acting`` may see its images (staff, or its requester)."""
        row = session.get(RequestRow, request_id)
        if row is None or (not acting.roles & staff and row.requester_id != acting.id):
            raise NotFound(f"There is no search request {request_id}.")
        if row.state == State.SEALED.value:
            raise NotFound(f"Request {request_id} is sealed; its images were deleted.")
        return row

    def probe_face_crop(self, acting: UserInfo, request_id: int, face_index: int) -> bytes:
        """JPEG crop of one face of a request's probe (its requester, examiners, reviewers,
        supervisors).

        Raises:
            NotFound: for an unknown, hidden or sealed request, or an unknown face.
        """
        with self.db.read() as session:
            row = self._visible_request(session, acting, request_id, PROBE_VIEWERS)
            data = self._probe_data(session, row)
            faces = list(row.run.faces) if row.run is not None else []
        image = self.decode(data, f"probe of request {request_id}")
        if faces:
            match = [f for f in faces if f["index"] == face_index]
            if not match:
                raise NotFound(f"The probe of request {request_id} has no face {face_index}.")
            b = match[0]["box"]
            box = FaceBox(b["left"], b["top"], b["right"], b["bottom"], 0.0)
        else:
            found = self.pipeline.analyse(image)
            if not 0 <= face_index < len(found):
                raise NotFound(f"The probe of request {request_id} has no face {face_index}.")
            box = found[face_index].box
        return face_crop(image.pixels, box)

    def candidate_chip(self, acting: UserInfo, request_id: int, candidate_id: int) -> bytes:
        """JPEG of a candidate's aligned gallery face: staff see every candidate; the
        requester only the released ones.

        Raises:
            NotFound: for an unknown, hidden or sealed request or candidate, or a gallery
                photo deleted since the search.
            PermissionDenied: for a requester asking for a candidate that was not released.
        """
        with self.db.read() as session:
            viewers = CANDIDATE_VIEWERS | {Role.AUDITOR}
            row = self._visible_request(session, acting, request_id, viewers)
            staff = acting.roles & viewers
            if not staff and candidate_id not in (row.released_candidate_ids or []):
                raise PermissionDenied("Only released candidates are shown to the requester.")
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

    def probe_bytes(self, acting: UserInfo, request_id: int) -> bytes:
        """The probe photo of a request, for those allowed to see it (not after sealing)."""
        with self.db.read() as session:
            row = self._visible_request(session, acting, request_id, PROBE_VIEWERS)
            return self._probe_data(session, row)

    @staticmethod
    def _probe_data(session: Session, row: RequestRow) -> bytes:
        probe = session.get(ProbeImage, row.probe_sha256)
        if probe is None or probe.data is None:
            raise NotFound(f"The probe photo of request {row.id} has been deleted.")
        return probe.data
