"""Review use cases: first review, blind peer review (R10), release with the caveat (R9),
closing with no lead, and recorded uses of a released lead (R11).

The blind peer review stays blind in the ledger too: the first review's entry holds only a
salted commitment to its marks (:mod:`faceledger.ledger.commitments`), and the peer review's
entry reveals them; the verifier checks that the reveal matches the commitment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput
from faceledger.governance import outcomes
from faceledger.governance.accounts import Principal
from faceledger.governance.context import (
    Action,
    LeadUse,
    LeadUseKind,
    Outcome,
    Release,
    ReviewOutcome,
    ReviewStage,
)
from faceledger.governance.forms import (
    enum_value,
)
from faceledger.governance.inputs import check_text
from faceledger.governance.lifecycle import Event, State
from faceledger.governance.models import (
    LeadUseRow,
    RequestRow,
    ReviewRow,
)
from faceledger.ledger.commitments import commit, make_reveal
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.request_core import RequestSteps, agreed_candidates
from faceledger.service.request_views import RequestView

_MARKS = "marks"


def _review_record(marks: list[dict[str, Any]]) -> dict[str, Any]:
    """What the ledger records of a review: every mark, and the candidates marked leads."""
    leads = [m["candidate_id"] for m in marks if m["outcome"] == ReviewOutcome.POSSIBLE_LEAD]
    return {"marks": marks, "possible_leads": leads}


class ReviewUseCases:
    """From a candidate list to a released lead."""

    def __init__(self, steps: RequestSteps) -> None:
        self._steps = steps

    def submit_review(
        self,
        acting: Principal,
        request_id: int,
        marks: Sequence[dict[str, Any]],
        stage: ReviewStage | None = None,
    ) -> RequestView:
        """Record a review: the first by an examiner of the unit, then a blind peer review by
        a second person (R10); requester, operator and both reviewers are four people.

        ``marks``: one ``{"candidate_id", "outcome", "note"}`` per candidate of the run.
        ``stage`` is the review the caller means to give; interfaces pass the one they showed,
        so that a first review that lost a race answers 409 instead of being taken for a peer
        review. Left out, it follows the request's state as the step's transaction reads it.

        Raises:
            NotFound: for a request outside the caller's sight.
            PermissionDenied, PolicyDenied: when the registry or the policy refuses (recorded).
            Conflict: if the request is not awaiting this review, or another review of the
                same stage won the race (409, nothing written).
            InvalidInput: for marks that do not cover the candidate list exactly.
        """
        now, steps = utcnow(), self._steps

        def meant(row: RequestRow) -> ReviewStage:
            if stage is not None:
                return stage
            return ReviewStage.PEER if row.state == State.REVIEWED.value else ReviewStage.FIRST

        def name_of(row: RequestRow) -> str:
            return f"request.review.{meant(row).value}"

        with steps.step(acting, name_of, request_id) as (session, me, row):
            given = meant(row)
            first = given is ReviewStage.FIRST
            wanted = State.SEARCHED if first else State.REVIEWED
            steps.require_state(row, (wanted,), f"give the {given.value} review")
            action = Action.FIRST_REVIEW if first else Action.PEER_REVIEW
            assert row.run is not None
            known = {c.id for c in row.run.candidates}
            cleaned = self._clean_marks(marks, known)
            decision = steps.decide(session, me, action, row, now)
            record = _review_record(cleaned)
            review = ReviewRow(
                request_id=row.id,
                reviewer_id=me.id,
                stage=given.value,
                marks=cleaned,
                submitted_at=now,
            )
            payload: dict[str, Any] = {"reviewer": me.username}
            if first:
                sealed = commit(record)
                review.commitment_salt = sealed.salt
                payload["candidate_count"] = len(cleaned)
                payload["commitments"] = {_MARKS: sealed.digest}
            else:
                payload.update(record)
                payload["reveals"] = [self._reveal_first(session, row)]
            session.add(review)
            try:
                session.flush()
            except IntegrityError:  # a second review of this stage lost the race
                # The failed flush rolled the transaction back and expired ``row``: name the
                # request from the argument, not from the row.
                raise Conflict(
                    f"Request {request_id} already has its {given.value} review.",
                    request_id=request_id,
                ) from None
            steps.move(session, row, Event.FIRST_REVIEW if first else Event.PEER_REVIEW, now)
            steps.log(
                session,
                me,
                LedgerAction.REQUEST_REVIEW_FIRST if first else LedgerAction.REQUEST_REVIEW_PEER,
                row,
                payload,
                decision,
            )
        return steps.view_of(me, request_id)

    def _reveal_first(self, session: Session, row: RequestRow) -> dict[str, Any]:
        """The reveal of the first review's committed marks, for the peer review's entry."""
        [first] = [r for r in row.reviews if r.stage == ReviewStage.FIRST.value]
        [entry] = self._steps.ctx.ledger.query(
            session,
            action=LedgerAction.REQUEST_REVIEW_FIRST,
            object_type="request",
            object_id=str(row.id),
            limit=1,
        )
        return make_reveal(
            entry.seq, _MARKS, first.commitment_salt or "", _review_record(first.marks)
        )

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
                "note": check_text(str(mark.get("note", "")).strip(), "note", multiline=True),
            }
        missing = sorted(known - set(cleaned))
        if missing:
            raise InvalidInput(
                f"Mark every candidate; missing: {', '.join(map(str, missing))}.",
                missing=missing,
            )
        return [cleaned[c] for c in sorted(cleaned)]

    def release_request(self, acting: Principal, request_id: int) -> RequestView:
        """Release to the requester the candidates every reviewer marked possible_lead, with the
        profile's caveat (R9, R10)."""
        steps = self._steps
        with steps.step(acting, "request.release", request_id) as (session, me, row):
            # The time of the step is read once the write lock is held, so steps' times
            # follow the order in which they took effect.
            now = utcnow()
            steps.require_state(row, (State.PEER_REVIEWED,), "release the results")
            agreed = agreed_candidates(row)
            if not agreed:
                raise Conflict(
                    f"No candidate of request {row.id} was marked possible_lead by every "
                    "reviewer; close it as no_lead instead.",
                    request_id=row.id,
                )
            profile = steps.policy.profile(session)
            release = Release(
                tuple(str(c) for c in agreed),
                profile.results.caveat,
                (profile.unsafe_banner,) if profile.unsafe else (),
            )
            decision = steps.decide(session, me, Action.RELEASE, row, now, release=release)
            row.released_by_id, row.released_at = me.id, now
            row.released_candidate_ids, row.caveat = agreed, release.caveat
            steps.move(session, row, Event.RELEASE, now)
            steps.log(
                session,
                me,
                LedgerAction.REQUEST_RELEASE,
                row,
                {"released_candidate_ids": agreed, "caveat": release.caveat},
                decision,
                public={"released": len(agreed)},
            )
        return steps.view_of(me, request_id)

    def close_no_lead(self, acting: Principal, request_id: int, reason: str) -> RequestView:
        """Close a searched request with nothing released."""
        steps = self._steps
        if not reason.strip():
            raise InvalidInput("Give the reason for closing with no lead.", field="reason")
        check_text(reason, "reason", multiline=True)
        with steps.step(acting, "request.close", request_id) as (session, me, row):
            now = utcnow()  # with the write lock held, as release_request reads it
            steps.require_state(
                row, (State.SEARCHED, State.REVIEWED, State.PEER_REVIEWED), "close with no lead"
            )
            decision = steps.decide(session, me, Action.CLOSE_NO_LEAD, row, now)
            row.closed_reason = reason.strip()
            steps.move(session, row, Event.CLOSE_NO_LEAD, now)
            steps.log(
                session,
                me,
                LedgerAction.REQUEST_CLOSE_NO_LEAD,
                row,
                {"reason": row.closed_reason},
                decision,
            )
        return steps.view_of(me, request_id)

    def record_lead_use(
        self,
        acting: Principal,
        request_id: int,
        candidate_id: int,
        use: str,
        corroboration_ref: str = "",
    ) -> RequestView:
        """Record that a released lead was used; arrest, warrant and photo lineup need a
        reference to independent corroborating evidence (R11). Only officers of the requesting
        agency record uses of its leads."""
        now, steps = utcnow(), self._steps
        kind = enum_value(LeadUseKind, use, "use")
        check_text(corroboration_ref, "corroboration_ref")
        with steps.step(acting, "request.lead_use", request_id) as (session, me, row):
            steps.require_state(row, (State.RELEASED,), "record a use of the lead")
            if candidate_id not in row.released_candidate_ids:
                raise InvalidInput(
                    f"Candidate {candidate_id} was not released for request {row.id}.",
                    candidate_id=candidate_id,
                )
            lead = LeadUse(str(candidate_id), kind, corroboration_ref.strip())
            decision = steps.decide(session, me, Action.USE_LEAD, row, now, lead_use=lead)
            session.add(
                LeadUseRow(
                    request_id=row.id,
                    candidate_id=candidate_id,
                    use=kind.value,
                    corroboration_ref=lead.corroboration_ref,
                    recorded_by_id=me.id,
                    recorded_at=now,
                )
            )
            row.updated_at = now
            row.outcome = outcomes.after_use(Outcome(row.outcome), kind).value
            steps.log(
                session,
                me,
                LedgerAction.REQUEST_LEAD_USE,
                row,
                {
                    "candidate_id": candidate_id,
                    "use": kind.value,
                    "corroboration_ref": lead.corroboration_ref,
                    "outcome": row.outcome,
                },
                decision,
                public={"use": kind.value, "corroborated": bool(lead.corroboration_ref)},
            )
            session.flush()
        return steps.view_of(me, request_id)
