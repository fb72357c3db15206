"""What the policy rules see: plain frozen records, no ORM, no clock.

The service layer builds a :class:`PolicyContext` from its database rows and hands it to the
policy engine. Rules read only this record, so a decision can be replayed from the ledger: the
time of the decision is ``PolicyContext.now`` (tz-aware, passed in), never the wall clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from faceledger.errors import InvalidInput


class Action(StrEnum):
    """A step that asks the policy engine first."""

    SUBMIT = "submit"
    APPROVE_EMERGENCY = "approve_emergency"
    RUN_SEARCH = "run_search"
    FIRST_REVIEW = "first_review"
    PEER_REVIEW = "peer_review"
    RELEASE = "release"
    CLOSE_NO_LEAD = "close_no_lead"
    USE_LEAD = "use_lead"
    FILE_EMERGENCY_STATEMENT = "file_emergency_statement"
    SEAL = "seal"


class Role(StrEnum):
    """The roles of DESIGN.md "People who use it"."""

    REQUESTER = "requester"
    EXAMINER = "examiner"
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


class AgencyKind(StrEnum):
    """An operating unit runs searches; a requesting agency only files requests (R1)."""

    OPERATING_UNIT = "operating_unit"
    REQUESTING_AGENCY = "requesting_agency"


class LegalBasisKind(StrEnum):
    """The kinds of legal basis a request can carry (R3, R4, R5)."""

    COURT_ORDER = "court_order"
    EMERGENCY = "emergency"
    DECEASED_OR_INCAPACITATED = "deceased_or_incapacitated"
    # An open criminal investigation of a listed offence, with no court order: the Maryland
    # regime (Crim Proc §2-503) needs no warrant, only a listed offence.
    INVESTIGATION = "investigation"


class AuthorityKind(StrEnum):
    """Who issued an order: a court, or (EU AI Act Art 26(10)) a binding administrative body."""

    JUDICIAL = "judicial"
    ADMINISTRATIVE = "administrative"


class ProbeSource(StrEnum):
    """Where the probe image came from (R7)."""

    STILL_PHOTO = "still_photo"
    VIDEO_FRAME = "video_frame"
    LIVE_STREAM = "live_stream"
    SKETCH = "sketch"
    COMPOSITE = "composite"


class Purpose(StrEnum):
    """The purpose the requester declares in the protected-activity attestation (R8)."""

    CRIMINAL_INVESTIGATION = "criminal_investigation"
    IDENTIFY_DECEASED_OR_INCAPACITATED = "identify_deceased_or_incapacitated"
    MISSING_PERSON = "missing_person"
    RESEARCH = "research"
    IMMIGRATION_ENFORCEMENT = "immigration_enforcement"
    PROTECTED_ACTIVITY_MONITORING = "protected_activity_monitoring"
    ONGOING_SURVEILLANCE = "ongoing_surveillance"
    EMOTION_INFERENCE = "emotion_inference"
    ATTRIBUTE_INFERENCE = "attribute_inference"


class ReviewStage(StrEnum):
    """First review by the examiner, then a blind peer review by a second person (R10)."""

    FIRST = "first"
    PEER = "peer"


class ReviewOutcome(StrEnum):
    """A reviewer's mark on one candidate."""

    POSSIBLE_LEAD = "possible_lead"
    NOT_MATCH = "not_match"
    INCONCLUSIVE = "inconclusive"


class LeadUseKind(StrEnum):
    """What a released lead is used for (R11)."""

    FURTHER_INVESTIGATION = "further_investigation"
    ARREST = "arrest"
    WARRANT = "warrant"
    PHOTO_LINEUP = "photo_lineup"


class Outcome(StrEnum):
    """Where a request's case stands, kept on the request as it moves on (R12, R17).

    Set by the service: ``pending`` until the request is decided; ``denied``; ``no_lead`` when it
    closes with nothing released or is sealed; ``lead`` once leads are released; then the
    furthest use recorded of a released lead (R11): ``further_investigation``, then
    ``photo_lineup``, ``warrant``, ``arrest``."""

    PENDING = "pending"
    DENIED = "denied"
    NO_LEAD = "no_lead"
    LEAD = "lead"
    FURTHER_INVESTIGATION = "further_investigation"
    PHOTO_LINEUP = "photo_lineup"
    WARRANT = "warrant"
    ARREST = "arrest"


OUTCOME_ORDER: tuple[Outcome, ...] = tuple(Outcome)
"""Outcomes from least to furthest along; a request's outcome only moves forward in it."""


class DisclosureStatus(StrEnum):
    """Whether a request's disclosure packet has gone out (R12, R14)."""

    NOT_DISCLOSED = "not_disclosed"
    DISCLOSED = "disclosed"


class DescribedSex(StrEnum):
    """The requester's description of the unknown person's sex (MA-BILL; never inferred, R8)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class DescribedRace(StrEnum):
    """The requester's description of the unknown person's race (MA-BILL; never inferred, R8).

    The categories of the U.S. federal standard, plus ``other`` and ``unknown``."""

    AMERICAN_INDIAN_OR_ALASKA_NATIVE = "american_indian_or_alaska_native"
    ASIAN = "asian"
    BLACK_OR_AFRICAN_AMERICAN = "black_or_african_american"
    HISPANIC_OR_LATINO = "hispanic_or_latino"
    MIDDLE_EASTERN_OR_NORTH_AFRICAN = "middle_eastern_or_north_african"
    NATIVE_HAWAIIAN_OR_PACIFIC_ISLANDER = "native_hawaiian_or_pacific_islander"
    WHITE = "white"
    OTHER = "other"
    UNKNOWN = "unknown"


class FilingStatus(StrEnum):
    """Where an emergency's court filing stands at a given time (R4, R17, R18)."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    OVERDUE = "overdue"
    ON_TIME = "on_time"
    LATE = "late"


def _require_aware(value: dt.datetime | None, name: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {value.isoformat()}.")


@dataclass(frozen=True)
class Actor:
    """The authenticated person attempting the action."""

    user_id: str
    roles: frozenset[Role]
    agency_id: str
    agency_kind: AgencyKind
    account_approved: bool
    active: bool
    training_certified_until: dt.date | None = None


@dataclass(frozen=True)
class CourtOrder:
    """A court order or warrant (R3); EU profiles also accept a binding administrative order."""

    court: str
    order_id: str
    judge: str
    issued_on: dt.date
    expires_on: dt.date
    authority: AuthorityKind = AuthorityKind.JUDICIAL

    @property
    def kind(self) -> LegalBasisKind:
        """Always :attr:`LegalBasisKind.COURT_ORDER`."""
        return LegalBasisKind.COURT_ORDER


@dataclass(frozen=True)
class Emergency:
    """An emergency declaration (R4) and the state of its court filing.

    ``filing_deadline`` is fixed when the request is submitted (see
    :meth:`faceledger.governance.profiles.Profile.emergency_filing_deadline`) so a later profile
    change does not move it; ``None`` where the profile requires no filing.
    """

    facts: str
    declared_at: dt.datetime
    approving_supervisor_id: str | None = None
    filing_deadline: dt.datetime | None = None
    filed_at: dt.datetime | None = None
    court_refused: bool = False

    def __post_init__(self) -> None:
        _require_aware(self.declared_at, "Emergency.declared_at")
        _require_aware(self.filing_deadline, "Emergency.filing_deadline")
        _require_aware(self.filed_at, "Emergency.filed_at")

    @property
    def kind(self) -> LegalBasisKind:
        """Always :attr:`LegalBasisKind.EMERGENCY`."""
        return LegalBasisKind.EMERGENCY

    def filing_status(self, now: dt.datetime) -> FilingStatus:
        """Return the state of the court filing at ``now``."""
        deadline, filed = self.filing_deadline, self.filed_at
        if deadline is None:
            return FilingStatus.NOT_REQUIRED
        if filed is None:
            return FilingStatus.OVERDUE if now > deadline else FilingStatus.PENDING
        return FilingStatus.LATE if filed > deadline else FilingStatus.ON_TIME

    def sealing_reason(self, now: dt.datetime) -> str | None:
        """Return why the results must be sealed at ``now`` (refused, overdue or late filing)."""
        deadline, filed = self.filing_deadline, self.filed_at
        if self.court_refused:
            return "The court refused the emergency filing, so its results are sealed"
        if deadline is not None and filed is None and now > deadline:
            return (
                f"The court filing for this emergency was due at {deadline.isoformat()} "
                "and has not been made"
            )
        if deadline is not None and filed is not None and filed > deadline:
            return (
                f"The court filing for this emergency was made late, at {filed.isoformat()}, "
                f"after the deadline {deadline.isoformat()}"
            )
        return None


@dataclass(frozen=True)
class DeceasedOrIncapacitated:
    """Identifying a deceased or incapacitated person who cannot identify themselves (R5)."""

    description: str

    @property
    def kind(self) -> LegalBasisKind:
        """Always :attr:`LegalBasisKind.DECEASED_OR_INCAPACITATED`."""
        return LegalBasisKind.DECEASED_OR_INCAPACITATED


@dataclass(frozen=True)
class Investigation:
    """An open investigation of a listed offence with no court order (profiles that allow it)."""

    @property
    def kind(self) -> LegalBasisKind:
        """Always :attr:`LegalBasisKind.INVESTIGATION`."""
        return LegalBasisKind.INVESTIGATION


LegalBasis = CourtOrder | Emergency | DeceasedOrIncapacitated | Investigation


@dataclass(frozen=True)
class Attestation:
    """The requester's statement that the subject is not targeted for protected activity (R8)."""

    attested: bool
    text: str
    purpose: Purpose


@dataclass(frozen=True)
class CandidateMark:
    """One reviewer's outcome for one candidate."""

    candidate_id: str
    outcome: ReviewOutcome
    note: str = ""


@dataclass(frozen=True)
class Review:
    """A finished review of the candidate list by one named person (R10)."""

    reviewer_id: str
    stage: ReviewStage
    marks: tuple[CandidateMark, ...] = ()


@dataclass(frozen=True)
class SearchRequest:
    """The request as filed, plus what happened to it so far (operator, reviews)."""

    request_id: str
    requester_id: str
    requesting_agency_id: str
    case_number: str
    offence_code: str | None
    narrative: str
    legal_basis: LegalBasis | None
    probe_source: ProbeSource
    attestation: Attestation
    galleries: tuple[str, ...]
    max_candidates: int
    operator_id: str | None = None
    reviews: tuple[Review, ...] = ()


@dataclass(frozen=True)
class Release:
    """What the requester is about to be shown (R9, R10)."""

    candidate_ids: tuple[str, ...]
    caveat: str
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadUse:
    """A released candidate about to be used beyond the lead stage (R11)."""

    candidate_id: str
    use: LeadUseKind
    corroboration_ref: str = ""


@dataclass(frozen=True)
class PolicyContext:
    """Everything one policy decision depends on.

    Raises:
        InvalidInput: if ``now`` (or a datetime inside the legal basis) is naive.
    """

    action: Action
    actor: Actor
    request: SearchRequest
    now: dt.datetime
    release: Release | None = None
    lead_use: LeadUse | None = None

    def __post_init__(self) -> None:
        _require_aware(self.now, "PolicyContext.now")
