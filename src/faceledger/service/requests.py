"""Search-request use cases: file, approve, search, review, release, close, use, seal.

Each step asks the policy engine first, inside the transaction that makes the change, and
writes the decision and the change to the ledger together. A denied step changes nothing but
is itself recorded, as a violation where R18 says so, before the error reaches the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceledger.biometrics.crops import face_crop
from faceledger.biometrics.detect import FaceBox
from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput
from faceledger.gallery import store
from faceledger.gallery.thresholds import strictest
from faceledger.governance.accounts import Principal
from faceledger.governance.context import Action, DisclosureStatus, Outcome, ProbeSource
from faceledger.governance.forms import (
    RequestForm,
    attestation_record,
    enum_value,
    parse_legal_basis,
    parse_time,
)
from faceledger.governance.inputs import check_candidate_cap
from faceledger.governance.lifecycle import Event, State
from faceledger.governance.models import (
    CandidateRow,
    ProbeImage,
    RequestRow,
    SearchRun,
)
from faceledger.governance.policy import Decision
from faceledger.governance.violations import ViolationKind
from faceledger.service import public_record
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.paging import check_page
from faceledger.service.request_core import RequestSteps
from faceledger.service.request_views import RequestView
from faceledger.service.searches import Matcher


@dataclass(frozen=True)
class ProbeFaceChoice:
    """One face detected in a probe photo: its index (what ``face_index`` names), its box
    and a JPEG crop to show."""

    index: int
    box: FaceBox
    crop_jpeg: bytes = field(repr=False)


class RequestUseCases:
    """Filing, approving, searching and reading requests."""

    def __init__(self, steps: RequestSteps, matcher: Matcher) -> None:
        self._steps, self._matcher = steps, matcher
        self._access, self._policy, self._ctx = steps.access, steps.policy, steps.ctx

    # -- filing ----------------------------------------------------------------------------

    def probe_faces(
        self, acting: Principal, probe: bytes, probe_name: str = "probe"
    ) -> list[ProbeFaceChoice]:
        """The faces detected in a probe photo, for the requester to name the one to search
        (each with a JPEG crop); nothing is embedded or stored.

        Raises:
            PermissionDenied: without ``request.faces`` (requesters; recorded).
            InvalidImage, NoFaceFound: for an unusable photo.
            TooManyAnalyses: if the caller already has their analyses running (429).
            PipelineBusy, AnalysisTimedOut: past the time box (503).
        """
        self._access.check(acting, "request.faces")
        with self._matcher.slots.hold(acting) as time_box:
            image = self._matcher.decode(probe, probe_name)
            boxes = self._matcher.probe_boxes(image, probe_name, time_box)
        return [
            ProbeFaceChoice(i, b, face_crop(image.pixels, image.to_working(b)))
            for i, b in enumerate(boxes)
        ]

    def submit_request(
        self, acting: Principal, form: RequestForm, probe: bytes, probe_name: str = "probe"
    ) -> RequestView:
        """File a request; the policy decides at once (approved, denied, or awaiting a
        supervisor for an emergency).

        The probe's faces are detected here and stored with it (``probe_images.faces``,
        original coordinates), so no later read detects them again.

        Raises:
            InvalidImage, NoFaceFound, PoorQuality: for an unusable probe (nothing written).
            InvalidInput: for a malformed form, or a photo of several faces without the
                ``face_index`` of the one to search (nothing written).
            TooManyAnalyses: if the caller already has their analyses running (429; nothing
                written).
            PipelineBusy, AnalysisTimedOut: past the time box (503; nothing written).
            PolicyDenied: when the policy refuses; the refused request is kept as ``denied``.
        """
        now = utcnow()
        with self._matcher.slots.hold(acting) as time_box:
            image = self._matcher.decode(probe, probe_name)
            boxes = self._matcher.probe_boxes(image, probe_name, time_box)
            face_index = self._matcher.chosen_face(
                image, probe_name, form.face_index, time_box, boxes
            )
        faces_record = self._matcher.faces_record(boxes)
        kind, basis = parse_legal_basis(form.legal_basis_kind, form.legal_basis, now)
        attestation = attestation_record(form)
        source = enum_value(ProbeSource, form.probe_source, "probe_source")
        case_number, narrative = form.case_number.strip(), form.narrative.strip()
        if not case_number:
            raise InvalidInput("case_number is required.", field="case_number")
        galleries = tuple(dict.fromkeys(g.strip() for g in form.galleries if g.strip()))
        denied: list[Decision] = []

        with self._access.transaction(acting, "request.submit") as (session, fresh):
            profile = self._policy.profile(session)
            chosen = [g.name for g in self._gallery_rows(session, galleries)]
            cap = profile.results.max_candidates
            wanted = cap if form.max_candidates is None else form.max_candidates
            check_candidate_cap(wanted, cap, profile.name)
            offence_name, severity = "", ""
            if form.offence_code:
                offence = profile.offences.get(form.offence_code)
                offence_name, severity = offence.name, str(offence.severity)
            user = self._access.user_row(session, fresh)
            deadline = None
            if kind.value == "emergency":
                deadline = profile.emergency_filing_deadline(
                    parse_time(basis["declared_at"], "declared_at")
                )
            stored = session.get(ProbeImage, image.sha256)
            if stored is None:
                session.add(
                    ProbeImage(
                        sha256=image.sha256,
                        data=probe,
                        width=image.width,
                        image_format=image.format,
                        height=image.height,
                        faces=faces_record,
                    )
                )
            elif stored.data is not None and stored.faces != faces_record:
                # Filed before faces were kept, or under another detector: keep this filing's,
                # which its face_index numbers.
                stored.faces = faces_record
            row = RequestRow(
                requester_id=user.id,
                agency_id=user.agency_id,
                case_number=case_number,
                offence_code=form.offence_code or None,
                offence_name=offence_name,
                offence_severity=severity,
                narrative=narrative,
                legal_basis_kind=kind.value,
                legal_basis=basis,
                probe_sha256=image.sha256,
                probe_source=source.value,
                attestation=attestation,
                galleries=chosen,
                max_candidates=wanted,
                face_index=face_index,
                state=State.DRAFT.value,
                profile_name=profile.name,
                profile_sha256=profile.sha256,
                filing_deadline=deadline,
                described_sex=form.described_sex.value if form.described_sex else "",
                described_race=form.described_race.value if form.described_race else "",
                outcome=Outcome.PENDING.value,
                disclosure_status=DisclosureStatus.NOT_DISCLOSED.value,
            )
            session.add(row)
            session.flush()
            steps = self._steps
            steps.move(session, row, Event.SUBMIT, now)
            decision = steps.evaluate(
                session, fresh, Action.SUBMIT, steps.context_request(session, row), now
            )
            row.decision = decision.to_dict()
            if not decision.allowed:
                steps.move(session, row, Event.DENY, now)
                denied.append(decision)
            elif kind.value != "emergency":
                steps.move(session, row, Event.APPROVE, now)
            steps.log(
                session,
                fresh,
                LedgerAction.REQUEST_SUBMIT,
                row,
                {
                    "requester": acting.username,
                    "agency": acting.agency,
                    "offence": {"code": row.offence_code, "severity": severity},
                    "legal_basis": {"kind": kind.value, **basis},
                    "probe": {
                        "sha256": image.sha256,
                        "source": source.value,
                        "face_index": face_index,
                    },
                    "attestation": attestation,
                    "galleries": chosen,
                    "max_candidates": wanted,
                    "filing_deadline": deadline.isoformat() if deadline else None,
                    "described_person": {"sex": row.described_sex, "race": row.described_race},
                },
                decision,
                public=public_record.request_filed(row, acting.agency or ""),
            )
            filed = row.id
        if denied:
            # The denied request is kept (R17 counts it); one that asked for a forbidden input
            # or purpose is also a refused attempt, recorded as one (R18).
            refusal = steps.refusal(denied[0], filed)
            if refusal.kind is ViolationKind.FORBIDDEN_ATTEMPT:
                self._access.refuse(acting, refusal)
            raise refusal.error
        return steps.view_of(fresh, filed)

    @staticmethod
    def _gallery_rows(session: Session, names: Sequence[str]) -> list[Any]:
        if not names:
            raise InvalidInput("Name at least one gallery to search.", field="galleries")
        return [store.get_gallery(session, n) for n in names]

    def approve_emergency(self, acting: Principal, request_id: int) -> RequestView:
        """A supervisor of the unit approves an emergency request (R4); the court-filing clock
        runs."""
        now = utcnow()
        steps = self._steps
        with steps.step(acting, "request.approve_emergency", request_id) as (session, me, row):
            steps.require_state(row, (State.SUBMITTED,), "approve an emergency request")
            row.approving_supervisor_id = me.id
            session.flush()
            decision = steps.decide(session, me, Action.APPROVE_EMERGENCY, row, now)
            steps.move(session, row, Event.APPROVE_EMERGENCY, now)
            steps.log(
                session,
                me,
                LedgerAction.REQUEST_APPROVE_EMERGENCY,
                row,
                {
                    "filing_deadline": row.filing_deadline.isoformat()
                    if row.filing_deadline
                    else None
                },
                decision,
                public=public_record.emergency_approved(row),
            )
        return steps.view_of(me, request_id)

    # -- searching -------------------------------------------------------------------------

    def run_request_search(self, acting: Principal, request_id: int) -> RequestView:
        """An examiner of the unit runs the search of an approved request: the one face the
        request names is embedded and searched, the cap applies to the whole list, and R12's
        record is kept.

        Raises:
            NotFound: for a request outside the caller's sight.
            PermissionDenied, PolicyDenied: when the registry or the policy refuses (recorded).
            Conflict: if the request is not approved, or another search won the race (409).
            TooManyAnalyses: if the caller already has their analyses running (429).
            PipelineBusy, AnalysisTimedOut: past the time box (503; nothing written).
        """
        started = utcnow()
        steps, searchable = self._steps, (State.APPROVED, State.APPROVED_EMERGENCY)
        with steps.step(acting, "request.search", request_id, write=False) as (session, me, row):
            steps.require_state(row, searchable, "run the search")
            probe = session.get(ProbeImage, row.probe_sha256)
            if probe is None or probe.data is None:
                raise Conflict(f"The probe of request {request_id} has been deleted.")
            # R9: the request's list length, within the profile's and the settings' caps.
            profile_cap = self._policy.profile(session).results.max_candidates
            cap = min(row.max_candidates, profile_cap, self._ctx.settings.max_top_k)
            # Check the policy before touching the biometrics.
            steps.decide(session, me, Action.RUN_SEARCH, row, started)
            targets = self._matcher.targets(session, list(row.galleries))
            # The model check and the deployment gate, before the biometrics (R15, R16).
            points = self._matcher.points.for_targets(session, targets)
            data, face_index = probe.data, row.face_index
            boxes = self._matcher.cached_boxes(probe.faces)
        name = f"probe of request {request_id}"
        detected: list[FaceBox] | None = None
        with self._matcher.slots.hold(acting) as time_box:
            image = self._matcher.decode(data, name)
            if boxes is None or not 0 <= face_index < len(boxes):
                # Filed before faces were kept (or they do not number this face): detect once
                # and keep them below.
                boxes = detected = self._matcher.probe_boxes(image, name, time_box)
            face = self._matcher.face(image, name, face_index, time_box, boxes)
        hits, indexes = self._matcher.nearest([face], targets, cap)

        with steps.step(acting, "request.search", request_id) as (session, me, row):
            steps.require_state(row, searchable, "run the search")
            decision = steps.decide(session, me, Action.RUN_SEARCH, row, utcnow())
            stored = session.get(ProbeImage, row.probe_sha256)
            if detected is not None and stored is not None and stored.data is not None:
                stored.faces = self._matcher.faces_record(detected)
            [ranked] = self._matcher.rank(session, [face], hits, cap, points)
            finished = utcnow()
            models = {k: m.to_dict() for k, m in self._ctx.pipeline.models.items()}
            threshold = round(strictest(points.values()) * 1_000_000)
            thresholds = [p.to_record() for p in points.values()]
            run = SearchRun(
                request_id=row.id,
                operator_id=me.id,
                started_at=started,
                finished_at=finished,
                probe_sha256=row.probe_sha256,
                galleries=[t[2] for t in targets],
                models=models,
                threshold_micro=threshold,
                thresholds=thresholds,
                indexes=indexes,
                max_candidates=cap,
                probe_embedding=np.asarray(face.embedding, dtype=np.float32).tobytes(),
                faces=[
                    {
                        "index": ranked.index,
                        "box": ranked.box.to_dict(),
                        "quality": ranked.quality.to_dict(),
                        "problems": list(ranked.problems),
                    }
                ],
            )
            session.add(run)
            session.flush()
            for c in ranked.candidates:
                session.add(
                    CandidateRow(
                        run_id=run.id,
                        face_index=ranked.index,
                        rank=c.rank,
                        gallery=c.gallery,
                        subject_id=c.subject_id,
                        external_id=c.external_id,
                        display_name=c.display_name,
                        template_id=c.template_id,
                        photo_id=c.photo_id,
                        photo_sha256=c.photo_sha256,
                        distance_micro=round(c.distance * 1_000_000),
                        similarity_micro=round(c.similarity * 1_000_000),
                        within_threshold=c.within_threshold,
                    )
                )
            session.flush()
            steps.move(session, row, Event.RUN_SEARCH, finished)
            run.ledger_seq = steps.log(
                session,
                me,
                LedgerAction.REQUEST_SEARCH,
                row,
                {
                    "operator": me.username,
                    "started_at": started.isoformat(),
                    "finished_at": finished.isoformat(),
                    "galleries": run.galleries,
                    "probe_sha256": row.probe_sha256,
                    "face_index": ranked.index,
                    "models": models,
                    "threshold_micro": threshold,
                    "thresholds": thresholds,
                    "indexes": indexes,
                    "max_candidates": cap,
                    "candidate_count": len(ranked.candidates),
                    "candidates": [c.to_record() for c in ranked.candidates],
                },
                decision,
                public={"candidates": len(ranked.candidates)},
            )
        return steps.view_of(me, request_id)

    # -- reading ---------------------------------------------------------------------------

    def list_requests(
        self, acting: Principal, state: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[RequestView], int]:
        """Requests the caller may see, newest first, and their total: a requester their
        agency's; examiners and reviewers of the unit those past approval; supervisors of the
        unit and auditors every one (the registry's ``request.read`` scope).

        Raises:
            PermissionDenied: for roles that may read no request (recorded).
            InvalidInput: for a limit outside 1-500, a negative offset or an unknown state.
        """
        check_page(limit, offset, 500)
        with self._access.transaction(acting, "request.read", write=False) as (session, me):
            query = select(RequestRow).where(self._access.visible_filter(session, me))
            if state:
                query = query.where(RequestRow.state == enum_value(State, state, "state").value)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(RequestRow.id.desc()).limit(limit).offset(offset)
            ).all()
            return [self._steps.view(session, me, r) for r in rows], total

    def get_request(self, acting: Principal, request_id: int) -> RequestView:
        """One request as the caller may see it (blind peer review, release-only for the
        requester, nothing of a sealed result), with the actions they may take next.

        Raises:
            NotFound: for an unknown request, or one outside the caller's sight.
        """
        with self._steps.step(acting, "request.read", request_id, write=False) as (s, me, row):
            return self._steps.view(s, me, row)
