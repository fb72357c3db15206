"""Search-request use cases: file, approve, search, review, release, close, use, seal.

Each step asks the policy engine first, inside the transaction that makes the change, and
writes the decision and the change to the ledger together. A denied step changes nothing but
is itself recorded, as a violation where R18 says so, before the error reaches the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from faceledger.governance.accounts import Agency, User, UserInfo
from faceledger.governance.context import (
    Action,
    Actor,
    CandidateMark,
    LeadUse,
    LeadUseKind,
    PolicyContext,
    ProbeSource,
    Release,
    Review,
    ReviewOutcome,
    ReviewStage,
    Role,
    SearchRequest,
)
from faceledger.governance.forms import (
    EmergencyState,
    RequestForm,
    attestation_of,
    attestation_record,
    enum_value,
    legal_basis_of,
    parse_legal_basis,
    parse_time,
)
from faceledger.governance.lifecycle import Event, State, transition
from faceledger.governance.models import (
    CandidateRow,
    LeadUseRow,
    ProbeImage,
    RequestRow,
    ReviewRow,
    SearchRun,
)
from faceledger.governance.policy import Decision
from faceledger.governance.rules import violation_from_decision
from faceledger.service.policy import PolicyUseCases
from faceledger.service.request_views import STAFF, RequestView, request_view
from faceledger.service.searches import SearchUseCases

T = TypeVar("T")


class _Denied(Exception):
    def __init__(self, decision: Decision, request_id: int | None) -> None:
        super().__init__(decision.reasons)
        self.decision = decision
        self.request_id = request_id


def _actor_name(acting: UserInfo) -> str:
    return f"user:{acting.username}"


class RequestUseCases(SearchUseCases, PolicyUseCases):
    """The search lifecycle of DESIGN.md, one transaction per step."""

    # -- plumbing ---------------------------------------------------------------------------

    def _guarded(self, acting: UserInfo, request_id: int | None, step: Callable[[Session], T]) -> T:
        """Run ``step`` in one transaction; a policy denial rolls it back and is recorded."""
        try:
            with self.db.transaction() as session:
                return step(session)
        except _Denied as denied:
            self._record_denial(acting, denied.decision, denied.request_id)
            denied.decision.raise_for_denial()
            raise  # unreachable: raise_for_denial raises for a denied decision

    def _record_denial(self, acting: UserInfo, decision: Decision, request_id: int | None) -> None:
        with self.db.transaction() as session:
            payload = {"decision": decision.to_dict(), "request_id": request_id}
            self.ledger.append(
                session,
                actor=_actor_name(acting),
                action="policy.denied",
                object_type="request",
                object_id=str(request_id or "new"),
                payload=payload,
            )
            violation = violation_from_decision(decision)
            if violation is not None:
                self.add_violation(
                    session,
                    kind=str(violation.kind),
                    reason=violation.reason,
                    requirements=violation.requirements,
                    actor=_actor_name(acting),
                    request_id=request_id,
                    details={"action": str(decision.action)},
                )
            if request_id is not None and decision.action is Action.SUBMIT:
                row = self._row(session, request_id)
                row.decision = decision.to_dict()

    def _decide(
        self,
        session: Session,
        acting: UserInfo,
        action: Action,
        request: SearchRequest,
        now: dt.datetime,
        *,
        request_id: int | None,
        release: Release | None = None,
        lead_use: LeadUse | None = None,
    ) -> Decision:
        ctx = PolicyContext(
            action=action,
            actor=self._fresh_actor(session, acting),
            request=request,
            now=now,
            release=release,
            lead_use=lead_use,
        )
        decision = self.engine(session).evaluate(ctx)
        if not decision.allowed:
            raise _Denied(decision, request_id)
        return decision

    @staticmethod
    def _fresh_actor(session: Session, acting: UserInfo) -> Actor:
        # Decide on the account as it is now (disabled, training lapsed), not as logged in.
        user = session.get(User, acting.id)
        if user is None:
            raise NotFound(f"There is no user {acting.username!r}.")
        return UserInfo.of(user).actor()

    def _row(self, session: Session, request_id: int) -> RequestRow:
        row = session.get(RequestRow, request_id)
        if row is None:
            raise NotFound(f"There is no search request {request_id}.", request_id=request_id)
        return row

    def _username(self, session: Session, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        user = session.get(User, user_id)
        return None if user is None else user.username

    def _context_request(self, session: Session, row: RequestRow) -> SearchRequest:
        agency = session.get(Agency, row.agency_id)
        emergency = EmergencyState(
            self._username(session, row.approving_supervisor_id),
            row.filing_deadline,
            row.filed_at,
            row.court_refused,
        )
        reviews = tuple(
            Review(
                self._username(session, r.reviewer_id) or "",
                ReviewStage(r.stage),
                tuple(
                    CandidateMark(
                        str(m["candidate_id"]), ReviewOutcome(m["outcome"]), m.get("note", "")
                    )
                    for m in r.marks
                ),
            )
            for r in row.reviews
        )
        return SearchRequest(
            request_id=str(row.id),
            requester_id=self._username(session, row.requester_id) or "",
            requesting_agency_id=agency.slug if agency else "",
            case_number=row.case_number,
            offence_code=row.offence_code,
            narrative=row.narrative,
            legal_basis=legal_basis_of(row.legal_basis_kind, row.legal_basis, emergency),
            probe_source=ProbeSource(row.probe_source),
            attestation=attestation_of(row.attestation),
            galleries=tuple(row.galleries),
            max_candidates=row.max_candidates,
            operator_id=self._username(session, row.run.operator_id) if row.run else None,
            reviews=reviews,
        )

    def _move(self, session: Session, row: RequestRow, event: Event, now: dt.datetime) -> str:
        before = row.state
        row.state = transition(State(row.state), event).value
        row.updated_at = now
        session.flush()
        return before

    def _log(
        self,
        session: Session,
        acting: UserInfo,
        action: str,
        row: RequestRow,
        payload: dict[str, Any],
        decision: Decision | None = None,
    ) -> int:
        body = {
            "request_id": row.id,
            "case_number": row.case_number,
            "state": row.state,
            "profile": self.profile_notice(session),
            **payload,
        }
        if decision is not None:
            body["decision"] = decision.to_dict()
        entry = self.ledger.append(
            session,
            actor=_actor_name(acting),
            action=action,
            object_type="request",
            object_id=str(row.id),
            payload=body,
        )
        return entry.seq

    def _view(self, session: Session, acting: UserInfo, row: RequestRow) -> RequestView:
        return request_view(session, acting, row, self.engine(session).profile)

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
                violation = violation_from_decision(decision)
                if violation is not None:
                    self.add_violation(
                        session,
                        kind=str(violation.kind),
                        reason=violation.reason,
                        requirements=violation.requirements,
                        actor=_actor_name(acting),
                        request_id=row.id,
                        details={"action": "submit"},
                    )
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

    @staticmethod
    def _require_state(row: RequestRow, wanted: Sequence[State], doing: str) -> None:
        """Refuse a step the request's state does not allow, naming both."""
        if State(row.state) not in wanted:
            raise Conflict(
                f"Cannot {doing}: request {row.id} is {row.state}, not "
                f"{' or '.join(s.value for s in wanted)}.",
                request_id=row.id,
                state=row.state,
            )

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
            galleries, cap = list(row.galleries), row.max_candidates
            # Check the policy before touching the biometrics.
            self._decide_readonly(session, acting, Action.RUN_SEARCH, row, started)
            targets = self._targets(session, galleries)
            data = probe.data
        cap = min(cap, self.engine_profile_cap())
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

    def engine_profile_cap(self) -> int:
        """The active profile's cap on candidate list length (R9), within the settings' cap."""
        return min(self.active_profile().results.max_candidates, self.settings.max_top_k)

    def _decide_readonly(
        self, session: Session, acting: UserInfo, action: Action, row: RequestRow, now: dt.datetime
    ) -> None:
        try:
            self._decide(
                session, acting, action, self._context_request(session, row), now, request_id=row.id
            )
        except _Denied as denied:
            self._record_denial(acting, denied.decision, row.id)
            denied.decision.raise_for_denial()

    # -- review and release ----------------------------------------------------------------

    def submit_review(
        self, acting: UserInfo, request_id: int, marks: Sequence[dict[str, Any]]
    ) -> RequestView:
        """Record a review: the first by an examiner, then a blind peer review (R10).

        ``marks``: one ``{"candidate_id", "outcome", "note"}`` per candidate of the run.
        """
        now = utcnow()

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            self._require_state(row, (State.SEARCHED, State.REVIEWED), "review the candidates")
            first = State(row.state) is State.SEARCHED
            action = Action.FIRST_REVIEW if first else Action.PEER_REVIEW
            stage = ReviewStage.FIRST if first else ReviewStage.PEER
            assert row.run is not None
            known = {c.id for c in row.run.candidates}
            cleaned = self._clean_marks(marks, known)
            pending = Review(
                acting.username,
                stage,
                tuple(
                    CandidateMark(str(m["candidate_id"]), ReviewOutcome(m["outcome"]), m["note"])
                    for m in cleaned
                ),
            )
            request = self._context_request(session, row)
            decision = self._decide(session, acting, action, request, now, request_id=row.id)
            session.add(
                ReviewRow(
                    request_id=row.id,
                    reviewer_id=acting.id,
                    stage=stage.value,
                    marks=cleaned,
                    submitted_at=now,
                )
            )
            self._move(session, row, Event.FIRST_REVIEW if first else Event.PEER_REVIEW, now)
            self._log(
                session,
                acting,
                f"request.review.{stage.value}",
                row,
                {
                    "reviewer": acting.username,
                    "marks": cleaned,
                    "possible_leads": [
                        m.candidate_id
                        for m in pending.marks
                        if m.outcome is ReviewOutcome.POSSIBLE_LEAD
                    ],
                },
                decision,
            )
            session.refresh(row)
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    @staticmethod
    def _clean_marks(marks: Sequence[dict[str, Any]], known: set[int]) -> list[dict[str, Any]]:
        cleaned: dict[int, dict[str, Any]] = {}
        for mark in marks:
            try:
                candidate = int(mark["candidate_id"])
            except (KeyError, TypeError, ValueError):
                raise InvalidInput("Each mark needs a numeric candidate_id.") from None
            if candidate not in known:
                raise InvalidInput(f"Candidate {candidate} is not in this request's list.")
            outcome = enum_value(ReviewOutcome, mark.get("outcome"), "outcome")
            cleaned[candidate] = {
                "candidate_id": candidate,
                "outcome": outcome.value,
                "note": str(mark.get("note", "")).strip(),
            }
        missing = sorted(known - set(cleaned))
        if missing:
            raise InvalidInput(
                f"Mark every candidate; missing: {', '.join(map(str, missing))}.",
                missing=missing,
            )
        return [cleaned[c] for c in sorted(cleaned)]

    def release_request(self, acting: UserInfo, request_id: int) -> RequestView:
        """Release to the requester the candidates every reviewer marked possible_lead, with the
        profile's caveat (R9, R10)."""
        now = utcnow()

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            self._require_state(row, (State.PEER_REVIEWED,), "release the results")
            agreed = self._agreed(row)
            if not agreed:
                raise Conflict(
                    f"No candidate of request {row.id} was marked possible_lead by every "
                    "reviewer; close it as no_lead instead.",
                    request_id=row.id,
                )
            profile = self.engine(session).profile
            release = Release(
                tuple(str(c) for c in agreed),
                profile.results.caveat,
                (profile.unsafe_banner,) if profile.unsafe else (),
            )
            decision = self._decide(
                session,
                acting,
                Action.RELEASE,
                self._context_request(session, row),
                now,
                request_id=row.id,
                release=release,
            )
            row.released_by_id, row.released_at = acting.id, now
            row.released_candidate_ids, row.caveat = agreed, release.caveat
            self._move(session, row, Event.RELEASE, now)
            self._log(
                session,
                acting,
                "request.release",
                row,
                {"released_candidate_ids": agreed, "caveat": release.caveat},
                decision,
            )
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    @staticmethod
    def _agreed(row: RequestRow) -> list[int]:
        if not row.reviews:
            return []
        leads = [
            {m["candidate_id"] for m in r.marks if m["outcome"] == "possible_lead"}
            for r in row.reviews
        ]
        return sorted(set.intersection(*leads))

    def close_no_lead(self, acting: UserInfo, request_id: int, reason: str) -> RequestView:
        """Close a searched request with nothing released."""
        now = utcnow()
        if not reason.strip():
            raise InvalidInput("Give the reason for closing with no lead.", field="reason")

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            self._require_state(
                row, (State.SEARCHED, State.REVIEWED, State.PEER_REVIEWED), "close with no lead"
            )
            decision = self._decide(
                session,
                acting,
                Action.CLOSE_NO_LEAD,
                self._context_request(session, row),
                now,
                request_id=row.id,
            )
            row.closed_reason = reason.strip()
            self._move(session, row, Event.CLOSE_NO_LEAD, now)
            self._log(
                session,
                acting,
                "request.close_no_lead",
                row,
                {"reason": row.closed_reason},
                decision,
            )
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    def record_lead_use(
        self,
        acting: UserInfo,
        request_id: int,
        candidate_id: int,
        use: str,
        corroboration_ref: str = "",
    ) -> RequestView:
        """Record that a released lead was used; arrest, warrant and photo lineup need a
        reference to independent corroborating evidence (R11)."""
        now = utcnow()
        kind = enum_value(LeadUseKind, use, "use")

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            self._require_state(row, (State.RELEASED,), "record a use of the lead")
            if candidate_id not in row.released_candidate_ids:
                raise InvalidInput(
                    f"Candidate {candidate_id} was not released for request {row.id}.",
                    candidate_id=candidate_id,
                )
            lead = LeadUse(str(candidate_id), kind, corroboration_ref.strip())
            decision = self._decide(
                session,
                acting,
                Action.USE_LEAD,
                self._context_request(session, row),
                now,
                request_id=row.id,
                lead_use=lead,
            )
            session.add(
                LeadUseRow(
                    request_id=row.id,
                    candidate_id=candidate_id,
                    use=kind.value,
                    corroboration_ref=lead.corroboration_ref,
                    recorded_by_id=acting.id,
                    recorded_at=now,
                )
            )
            row.updated_at = now
            self._log(
                session,
                acting,
                "request.lead_use",
                row,
                {
                    "candidate_id": candidate_id,
                    "use": kind.value,
                    "corroboration_ref": lead.corroboration_ref,
                },
                decision,
            )
            session.flush()
            session.refresh(row)
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    # -- emergency follow-up ---------------------------------------------------------------

    def file_emergency_statement(
        self, acting: UserInfo, request_id: int, reference: str, filed_at: dt.datetime | None = None
    ) -> RequestView:
        """Record the sworn statement filed with the court for an emergency (R4)."""
        now = utcnow()
        when = filed_at or now
        if when.tzinfo is None or when > now + dt.timedelta(minutes=5):
            raise InvalidInput("filed_at must be a time with zone, not in the future.")
        if not reference.strip():
            raise InvalidInput("Give the court's filing reference.", field="reference")

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            if row.legal_basis_kind != "emergency":
                raise Conflict(f"Request {row.id} is not an emergency request.")
            if row.filed_at is not None:
                raise Conflict(f"The statement for request {row.id} was already filed.")
            decision = self._decide(
                session,
                acting,
                Action.FILE_EMERGENCY_STATEMENT,
                self._context_request(session, row),
                now,
                request_id=row.id,
            )
            row.filed_at, row.filing_reference = when, reference.strip()
            row.updated_at = now
            deadline = row.filing_deadline
            late = deadline is not None and when > deadline
            due = deadline.isoformat() if deadline else ""
            self._log(
                session,
                acting,
                "request.emergency_filed",
                row,
                {"filed_at": when.isoformat(), "reference": row.filing_reference, "late": late},
                decision,
            )
            if late:
                self.add_violation(
                    session,
                    kind="late_emergency_filing",
                    requirements=["R4", "R18"],
                    reason=f"The court filing for emergency request {row.id} was made at "
                    f"{when.isoformat()}, after its deadline {due}.",
                    actor=_actor_name(acting),
                    request_id=row.id,
                )
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    def record_court_refusal(
        self, acting: UserInfo, request_id: int, note: str = ""
    ) -> RequestView:
        """The court refused the emergency filing: seal the results and delete linked data."""
        now = utcnow()

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            if row.legal_basis_kind != "emergency":
                raise Conflict(f"Request {row.id} is not an emergency request.")
            row.court_refused = True
            session.flush()
            decision = self._decide(
                session,
                acting,
                Action.SEAL,
                self._context_request(session, row),
                now,
                request_id=row.id,
            )
            self._seal(session, row, now, "The court refused the emergency filing. " + note)
            self._log(
                session, acting, "request.sealed", row, {"reason": row.sealed_reason}, decision
            )
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    def _seal(self, session: Session, row: RequestRow, now: dt.datetime, reason: str) -> None:
        self._move(session, row, Event.SEAL, now)
        row.sealed_at, row.sealed_reason = now, reason.strip()
        # Linked data is deleted: the candidate list and the probe bytes. Their hashes stay in
        # the ledger, so the deletion itself is provable.
        if row.run is not None:
            for candidate in list(row.run.candidates):
                session.delete(candidate)
        probe = session.get(ProbeImage, row.probe_sha256)
        others = session.scalar(
            select(RequestRow.id)
            .where(
                RequestRow.probe_sha256 == row.probe_sha256,
                RequestRow.id != row.id,
                RequestRow.sealed_at.is_(None),
            )
            .limit(1)
        )
        if probe is not None and others is None:
            probe.data, probe.deleted_at = None, now
        session.flush()

    def flag_overdue_emergencies(self, acting: UserInfo | None = None) -> list[int]:
        """Record a violation for each emergency whose court filing is overdue (R4, R18);
        each request is flagged once. Returns the request ids flagged now.

        ``acting`` is the supervisor or admin who runs the check; None for the scheduler.

        Raises:
            PermissionDenied: for any other role.
        """
        now = utcnow()
        actor = "system:scheduler"
        if acting is not None:
            if not acting.roles & {Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR}:
                raise PermissionDenied(
                    "Only supervisors, auditors and admins may run the overdue-filing check."
                )
            actor = _actor_name(acting)
        flagged = []
        with self.db.transaction() as session:
            rows = session.scalars(
                select(RequestRow).where(
                    RequestRow.legal_basis_kind == "emergency",
                    RequestRow.filed_at.is_(None),
                    RequestRow.filing_deadline.is_not(None),
                    RequestRow.filing_deadline < now,
                    RequestRow.overdue_flagged.is_(False),
                    RequestRow.state.not_in([State.DENIED.value, State.SUBMITTED.value]),
                )
            )
            for row in rows:
                row.overdue_flagged = True
                assert row.filing_deadline is not None
                self.add_violation(
                    session,
                    kind="overdue_emergency_filing",
                    requirements=["R4", "R18"],
                    reason=f"The court filing for emergency request {row.id} (case "
                    f"{row.case_number}) was due at {row.filing_deadline.isoformat()} and has "
                    "not been made.",
                    actor=actor,
                    request_id=row.id,
                )
                flagged.append(row.id)
        return flagged

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
