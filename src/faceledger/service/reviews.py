"""Review use cases: first review, blind peer review (R10), release with the caveat (R9),
closing with no lead, and recorded uses of a released lead (R11)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput
from faceledger.governance.accounts import UserInfo
from faceledger.governance.context import (
    Action,
    CandidateMark,
    LeadUse,
    LeadUseKind,
    Release,
    Review,
    ReviewOutcome,
    ReviewStage,
)
from faceledger.governance.forms import (
    enum_value,
)
from faceledger.governance.lifecycle import Event, State
from faceledger.governance.models import (
    LeadUseRow,
    RequestRow,
    ReviewRow,
)
from faceledger.service.request_core import RequestCore
from faceledger.service.request_views import RequestView


class ReviewUseCases(RequestCore):
    """From a candidate list to a released lead."""

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
