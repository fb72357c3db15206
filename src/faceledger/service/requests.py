"""Search-request use cases: file, approve, search, review, release, close, use, seal.

Each step asks the policy engine first, inside the transaction that makes the change, and
writes the decision and the change to the ledger together. A denied step changes nothing but
is itself recorded, as a violation where R18 says so, before the error reaches the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from faceledger.governance.accounts import User, UserInfo
from faceledger.governance.context import (
    Action,
    PolicyContext,
    ProbeSource,
    Role,
)
from faceledger.governance.forms import (
    RequestForm,
    attestation_record,
    enum_value,
    parse_legal_basis,
    parse_time,
)
from faceledger.governance.lifecycle import Event, State
from faceledger.governance.models import (
    CandidateRow,
    ProbeImage,
    RequestRow,
    SearchRun,
)
from faceledger.governance.policy import Decision
from faceledger.service.request_core import RequestCore
from faceledger.service.request_views import STAFF, RequestView


class RequestUseCases(RequestCore):
    """Filing, approving, searching and reading requests."""

    # -- filing ----------------------------------------------------------------------------

    def submit_request(
        self, acting: UserInfo, form: RequestForm, probe: bytes, probe_name: str = "probe"
    ) -> RequestView:
        """File a request; the policy decides at once (approved, denied, or awaiting a
        supervisor for an emergency).

        Raises:
            InvalidImage, NoFaceFound, PoorQuality: for an unusable probe (nothing written).
            InvalidInput: for a malformed form (nothing written).
            PolicyDenied: when the policy refuses; the refused request is kept as ``denied``.
        """
        now = utcnow()
        image = self.decode(probe, probe_name)
        self._faces(image, probe_name)  # refuse a probe with no usable face before filing
        kind, basis = parse_legal_basis(form.legal_basis_kind, form.legal_basis, now)
        attestation = attestation_record(form)
        source = enum_value(ProbeSource, form.probe_source, "probe_source")
        case_number, narrative = form.case_number.strip(), form.narrative.strip()
        if not case_number:
            raise InvalidInput("case_number is required.", field="case_number")
        galleries = tuple(dict.fromkeys(g.strip() for g in form.galleries if g.strip()))
        denied: list[Decision] = []

        def step(session: Session) -> RequestView:
            profile = self.engine(session).profile
            chosen = [g.name for g in self._gallery_rows(session, galleries)]
            cap = profile.results.max_candidates
            wanted = cap if form.max_candidates is None else form.max_candidates
            if wanted < 1:
                raise InvalidInput("max_candidates must be at least 1.", field="max_candidates")
            offence_name, severity = "", ""
            if form.offence_code:
                offence = profile.offences.get(form.offence_code)
                offence_name, severity = offence.name, str(offence.severity)
            user = session.get(User, acting.id)
            if user is None:
                raise NotFound(f"There is no user {acting.username!r}.")
            deadline = None
            if kind.value == "emergency":
                deadline = profile.emergency_filing_deadline(
                    parse_time(basis["declared_at"], "declared_at")
                )
            if session.get(ProbeImage, image.sha256) is None:
                session.add(
                    ProbeImage(
                        sha256=image.sha256,
                        data=probe,
                        width=image.width,
                        image_format=image.format,
                        height=image.height,
                    )
                )
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
                state=State.DRAFT.value,
                profile_name=profile.name,
                profile_sha256=profile.sha256,
                filing_deadline=deadline,
            )
            session.add(row)
            session.flush()
            self._move(session, row, Event.SUBMIT, now)
            decision = self.engine(session).evaluate(
                PolicyContext(
                    action=Action.SUBMIT,
                    actor=self._fresh_actor(session, acting),
                    request=self._context_request(session, row),
                    now=now,
                )
            )
            row.decision = decision.to_dict()
            if not decision.allowed:
                self._move(session, row, Event.DENY, now)
                denied.append(decision)
            elif kind.value != "emergency":
                self._move(session, row, Event.APPROVE, now)
            self._log(
                session,
                acting,
                "request.submit",
                row,
                {
                    "requester": acting.username,
                    "agency": acting.agency,
                    "offence": {"code": row.offence_code, "severity": severity},
                    "legal_basis": {"kind": kind.value, **basis},
                    "probe": {"sha256": image.sha256, "source": source.value},
                    "attestation": attestation,
                    "galleries": chosen,
                    "max_candidates": wanted,
                    "filing_deadline": deadline.isoformat() if deadline else None,
                },
                decision,
            )
            if not decision.allowed:
                self._violation_of(session, acting, decision, row.id)
            return self._view(session, acting, row)

        with self.db.transaction() as session:
            view = step(session)
        if denied:
            # The denied request is kept (R17 counts it); the caller still gets the reasons.
            denied[0].raise_for_denial()
        return view

    def _gallery_rows(self, session: Session, names: Sequence[str]) -> list[Any]:
        from faceledger.gallery import store

        if not names:
            raise InvalidInput("Name at least one gallery to search.", field="galleries")
        return [store.get_gallery(session, n) for n in names]

    def approve_emergency(self, acting: UserInfo, request_id: int) -> RequestView:
        """A supervisor approves an emergency request (R4); the court-filing clock runs."""
        now = utcnow()

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            self._require_state(row, (State.SUBMITTED,), "approve an emergency request")
            row.approving_supervisor_id = acting.id
            session.flush()
            decision = self._decide(
                session,
                acting,
                Action.APPROVE_EMERGENCY,
                self._context_request(session, row),
                now,
                request_id=row.id,
            )
            self._move(session, row, Event.APPROVE_EMERGENCY, now)
            self._log(
                session,
                acting,
                "request.approve_emergency",
                row,
                {
                    "filing_deadline": row.filing_deadline.isoformat()
                    if row.filing_deadline
                    else None
                },
                decision,
            )
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    # -- searching -------------------------------------------------------------------------

    def run_request_search(self, acting: UserInfo, request_id: int) -> RequestView:
        """An examiner runs the search of an approved request; R12's record is kept."""
        started = utcnow()
        with self.db.read() as session:
            row = self._row(session, request_id)
            self._require_state(row, (State.APPROVED, State.APPROVED_EMERGENCY), "run the search")
            probe = session.get(ProbeImage, row.probe_sha256)
            if probe is None or probe.data is None:
                raise Conflict(f"The probe of request {request_id} has been deleted.")
            galleries = list(row.galleries)
            # R9: the request's list length, within the profile's and the settings' caps.
            profile_cap = self.engine(session).profile.results.max_candidates
            cap = min(row.max_candidates, profile_cap, self.settings.max_top_k)
            # Check the policy before touching the biometrics.
            self._decide_readonly(session, acting, Action.RUN_SEARCH, row, started)
            targets = self._targets(session, galleries)
            data = probe.data
        image = self.decode(data, f"probe of request {request_id}")
        faces = self._faces(image, f"probe of request {request_id}")
        hits = self._nearest(faces, targets, cap)

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            self._require_state(row, (State.APPROVED, State.APPROVED_EMERGENCY), "run the search")
            decision = self._decide(
                session,
                acting,
                Action.RUN_SEARCH,
                self._context_request(session, row),
                utcnow(),
                request_id=row.id,
            )
            probe_faces = self._rank(session, faces, hits, cap)
            finished = utcnow()
            models = {k: m.to_dict() for k, m in self.pipeline.models.items()}
            threshold = round(self.settings.match_threshold * 1_000_000)
            run = SearchRun(
                request_id=row.id,
                operator_id=acting.id,
                started_at=started,
                finished_at=finished,
                probe_sha256=image.sha256,
                galleries=[t[2] for t in targets],
                models=models,
                threshold_micro=threshold,
                max_candidates=cap,
                faces=[
                    {
                        "index": f.index,
                        "box": f.box.to_dict(),
                        "quality": f.quality.to_dict(),
                        "problems": list(f.problems),
                    }
                    for f in probe_faces
                ],
            )
            session.add(run)
            session.flush()
            for face in probe_faces:
                for c in face.candidates:
                    session.add(
                        CandidateRow(
                            run_id=run.id,
                            face_index=face.index,
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
                            above_threshold=c.above_threshold,
                        )
                    )
            session.flush()
            self._move(session, row, Event.RUN_SEARCH, finished)
            run.ledger_seq = self._log(
                session,
                acting,
                "request.search",
                row,
                {
                    "operator": acting.username,
                    "started_at": started.isoformat(),
                    "finished_at": finished.isoformat(),
                    "galleries": run.galleries,
                    "probe_sha256": image.sha256,
                    "models": models,
                    "threshold_micro": threshold,
                    "max_candidates": cap,
                    "candidate_count": sum(len(f.candidates) for f in probe_faces),
                    "faces": [
                        {
                            "index": f.index,
                            "problems": list(f.problems),
                            "candidates": [c.to_record() for c in f.candidates],
                        }
                        for f in probe_faces
                    ],
                },
                decision,
            )
            session.refresh(row)
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    # -- reading ---------------------------------------------------------------------------

    def list_requests(
        self, acting: UserInfo, state: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[RequestView], int]:
        """Requests the caller may see, newest first, and their total: a requester sees their
        own; examiners and reviewers the ones past approval; supervisors, auditors and admins
        all."""
        from sqlalchemy import func

        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput("limit must be 1-500 and offset not negative.")
        with self.db.read() as session:
            query = select(RequestRow)
            roles = acting.roles
            if not roles & {Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN}:
                if roles & {Role.EXAMINER, Role.REVIEWER}:
                    query = query.where(
                        RequestRow.state.not_in(
                            [State.DRAFT.value, State.SUBMITTED.value, State.DENIED.value]
                        )
                    )
                    if Role.REQUESTER in roles:
                        query = select(RequestRow)  # also their own, in any state
                elif Role.REQUESTER in roles:
                    query = query.where(RequestRow.requester_id == acting.id)
                else:
                    raise PermissionDenied("Your roles may not see search requests.")
            if state:
                query = query.where(RequestRow.state == enum_value(State, state, "state").value)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(RequestRow.id.desc()).limit(limit).offset(offset)
            ).all()
            return [self._view(session, acting, r) for r in rows], total

    def get_request(self, acting: UserInfo, request_id: int) -> RequestView:
        """One request as the caller may see it (blind peer review, release-only for the
        requester, nothing of a sealed result).

        Raises:
            NotFound: for an unknown request, or one the caller may not see.
        """
        with self.db.read() as session:
            row = self._row(session, request_id)
            if not (acting.roles & STAFF) and row.requester_id != acting.id:
                raise NotFound(f"There is no search request {request_id}.")
            return self._view(session, acting, row)
