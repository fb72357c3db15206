"""How a search request looks to each caller: frozen view types, built in one place.

One function decides what a caller sees, asking the access model: a requester sees their
agency's request and, once released, only the released candidates with the caveat; those the
registry lets see candidates (``request.candidates``) see the list; nobody who could still
peer-review the request sees the first review before the peer review is in (R10); nobody sees
the candidates or probe of a sealed request (R4). The view lists the actions the caller may
take next, so an interface offers exactly those. The REST API's response schema is derived
from these types.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from faceledger.gallery.thresholds import OperatingThreshold
from faceledger.governance.accounts import Agency, Principal, User
from faceledger.governance.lifecycle import State
from faceledger.governance.models import CandidateRow, RequestRow, ReviewRow
from faceledger.governance.profiles import Profile

if TYPE_CHECKING:
    from faceledger.service.access import Access


@dataclass(frozen=True)
class OffenceView:
    """The offence a request names (R6)."""

    code: str | None
    name: str
    severity: str


@dataclass(frozen=True)
class ProbeView:
    """The probe photo: its hash, declared source, the face to search, and whether its bytes
    are still kept (not after sealing)."""

    sha256: str
    source: str
    available: bool


@dataclass(frozen=True)
class DescribedPersonView:
    """The requester's description of the unknown person (optional; never inferred, R8)."""

    sex: str | None
    race: str | None


@dataclass(frozen=True)
class ProfileRef:
    """The profile a request was decided under."""

    name: str
    sha256: str


@dataclass(frozen=True)
class DecisionView:
    """The policy decision on filing: allowed, and every reason and requirement if not."""

    allowed: bool | None
    reasons: tuple[str, ...]
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class EmergencyView:
    """An emergency's approval and court filing (R4)."""

    approving_supervisor: str | None
    filing_deadline: str | None
    filed_at: str | None
    filing_reference: str | None
    court_refused: bool


@dataclass(frozen=True)
class CandidateView:
    """One ranked candidate (R9): a rescaled distance, never a "match"."""

    id: int
    face_index: int
    rank: int
    gallery: str
    subject_id: int
    external_id: str
    display_name: str
    photo_id: int
    photo_sha256: str
    distance: float
    similarity: float
    within_threshold: bool


@dataclass(frozen=True)
class RunView:
    """What the search stored (R12)."""

    operator: str | None
    started_at: str | None
    finished_at: str | None
    galleries: tuple[str, ...]
    models: dict[str, Any]
    threshold: float  # the strictest gallery's
    thresholds: tuple[dict[str, Any], ...]  # each gallery's, with where it came from (R12)
    max_candidates: int
    faces: tuple[dict[str, Any], ...]
    candidates: tuple[CandidateView, ...]


@dataclass(frozen=True)
class ReviewView:
    """One review and its marks."""

    reviewer: str | None
    stage: str
    submitted_at: str | None
    marks: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ReleaseView:
    """What was released to the requester, with the caveat (R9)."""

    at: str | None
    by: str | None
    candidate_ids: tuple[int, ...]
    caveat: str


@dataclass(frozen=True)
class LeadUseView:
    """A recorded use of a released lead (R11)."""

    candidate_id: int
    use: str
    corroboration_ref: str
    recorded_at: str | None


@dataclass(frozen=True)
class SealedView:
    """When and why a request was sealed (R4)."""

    at: str | None
    reason: str


@dataclass(frozen=True)
class RequestView:
    """A search request as one caller may see it."""

    id: int
    state: str
    case_number: str
    offence: OffenceView
    narrative: str
    legal_basis: dict[str, Any]
    probe: ProbeView
    face_index: int
    attestation: dict[str, Any]
    galleries: tuple[str, ...]
    max_candidates: int
    requester: str | None
    agency: str | None
    created_at: str | None
    updated_at: str | None
    profile: ProfileRef
    decision: DecisionView
    emergency: EmergencyView | None
    run: RunView | None
    reviews: tuple[ReviewView, ...]
    release: ReleaseView | None
    lead_uses: tuple[LeadUseView, ...]
    closed_reason: str | None
    sealed: SealedView | None
    outcome: str
    """Where the case stands (governance.context.Outcome), kept as it moves on (R12)."""
    disclosure_status: str
    """Whether a disclosure packet has gone out (R12, R14)."""
    described_person: DescribedPersonView
    notices: tuple[str, ...]
    allowed_actions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the view as JSON-ready data (tuples as lists)."""
        data: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return data

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """The candidates the caller may see (released ones only, for a requester)."""
        return (
            []
            if self.run is None
            else [_jsonable(dataclasses.asdict(c)) for c in self.run.candidates]
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def username_of(session: Session, user_id: int | None) -> str | None:
    """Return the username of account ``user_id`` (None for None or a missing account)."""
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return None if user is None else user.username


def _candidate(c: CandidateRow) -> CandidateView:
    return CandidateView(
        id=c.id,
        face_index=c.face_index,
        rank=c.rank,
        gallery=c.gallery,
        subject_id=c.subject_id,
        external_id=c.external_id,
        display_name=c.display_name,
        photo_id=c.photo_id,
        photo_sha256=c.photo_sha256,
        distance=c.distance_micro / 1_000_000,
        similarity=c.similarity_micro / 1_000_000,
        within_threshold=c.within_threshold,
    )


def _run(session: Session, row: RequestRow, staff: bool, sealed: bool) -> RunView | None:
    run = row.run
    if run is None:
        return None
    released = set(row.released_candidate_ids or [])
    visible = [] if sealed else [c for c in run.candidates if staff or c.id in released]
    return RunView(
        operator=username_of(session, run.operator_id),
        started_at=_iso(run.started_at),
        finished_at=_iso(run.finished_at),
        galleries=tuple(run.galleries),
        models=run.models,
        threshold=run.threshold_micro / 1_000_000,
        thresholds=tuple(OperatingThreshold.from_record(t).to_dict() for t in run.thresholds),
        max_candidates=run.max_candidates,
        faces=tuple(run.faces) if staff else (),
        candidates=tuple(_candidate(c) for c in visible),
    )


def _review(session: Session, r: ReviewRow) -> ReviewView:
    return ReviewView(
        username_of(session, r.reviewer_id), r.stage, _iso(r.submitted_at), tuple(r.marks)
    )


def request_view(
    session: Session,
    acting: Principal,
    row: RequestRow,
    profile: Profile,
    access: Access,
    allowed: tuple[str, ...] = (),
) -> RequestView:
    """Build the view of ``row`` for ``acting`` under the active ``profile``; ``allowed`` are
    the actions the caller may take next."""
    staff = access.may(session, acting, "request.candidates", row)
    agency = session.get(Agency, row.agency_id)
    sealed = row.state == State.SEALED.value
    notices: list[str] = [profile.unsafe_banner] if profile.unsafe else []
    decision = row.decision or {}
    failures = decision.get("failures", [])
    reviews: tuple[ReviewView, ...] = ()
    if staff:
        # Until the peer review is in, whoever could still do it must not see the first.
        blind = row.state == State.REVIEWED.value and access.may(
            session, acting, "request.review.peer", row
        )
        if blind:
            notices.append(
                "The first review is hidden until you submit your own (blind peer review)."
            )
        else:
            reviews = tuple(_review(session, r) for r in row.reviews)
    emergency = None
    if row.legal_basis_kind == "emergency":
        emergency = EmergencyView(
            approving_supervisor=username_of(session, row.approving_supervisor_id),
            filing_deadline=_iso(row.filing_deadline),
            filed_at=_iso(row.filed_at),
            filing_reference=row.filing_reference or None,
            court_refused=row.court_refused,
        )
    release = None
    if row.released_at is not None:
        release = ReleaseView(
            at=_iso(row.released_at),
            by=username_of(session, row.released_by_id),
            candidate_ids=tuple(sorted(row.released_candidate_ids or [])),
            caveat=row.caveat,
        )
    return RequestView(
        id=row.id,
        state=row.state,
        case_number=row.case_number,
        offence=OffenceView(row.offence_code, row.offence_name, row.offence_severity),
        narrative=row.narrative,
        legal_basis={"kind": row.legal_basis_kind, **row.legal_basis},
        probe=ProbeView(row.probe_sha256, row.probe_source, not sealed),
        face_index=row.face_index,
        attestation=row.attestation,
        galleries=tuple(row.galleries),
        max_candidates=row.max_candidates,
        requester=username_of(session, row.requester_id),
        agency=agency.slug if agency else None,
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
        profile=ProfileRef(row.profile_name, row.profile_sha256),
        decision=DecisionView(
            decision.get("allowed"),
            tuple(f["reason"] for f in failures),
            tuple(sorted({f["requirement"] for f in failures if f.get("requirement")})),
        ),
        emergency=emergency,
        run=_run(session, row, staff, sealed),
        reviews=reviews,
        release=release,
        lead_uses=tuple(
            LeadUseView(u.candidate_id, u.use, u.corroboration_ref, _iso(u.recorded_at))
            for u in row.lead_uses
        ),
        closed_reason=row.closed_reason or None,
        sealed=SealedView(_iso(row.sealed_at), row.sealed_reason) if sealed else None,
        outcome=row.outcome,
        disclosure_status=row.disclosure_status,
        described_person=DescribedPersonView(row.described_sex or None, row.described_race or None),
        notices=tuple(notices),
        allowed_actions=allowed,
    )
