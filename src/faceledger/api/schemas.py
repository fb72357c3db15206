"""The request and response bodies of the API, as pydantic models (and so in OpenAPI).

Request bodies forbid unknown fields, so a misspelt field is a 422 naming it rather than a
silently ignored value. Times are ISO 8601 with zone. Search requests are returned as the
service's request view (a JSON object whose fields depend on who asks; see
``faceledger.service.request_views``), so their model is an open object.

Every id, entry number and count a route takes is bounded here once (1 or 0 to
:data:`~faceledger.governance.inputs.MAX_ID`), so an out-of-range number is a 422 naming the
field, never a database overflow. Free text in JSON bodies refuses control and
bidirectional-text characters (:func:`~faceledger.governance.inputs.check_text`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)

from faceledger.api.pagination import Page
from faceledger.errors import InvalidInput
from faceledger.governance.context import AgencyKind, LeadUseKind, ReviewOutcome, ReviewStage, Role
from faceledger.governance.inputs import MAX_ID, check_text
from faceledger.governance.tokens import MAX_TOKEN_DAYS

_NAME = Field(min_length=1, max_length=200)


def id_path(description: str, *, minimum: int = 1) -> Any:
    """A path parameter naming a stored number: ``minimum`` (1 for ids, 0 for ledger entry
    numbers and face indexes) to MAX_ID; anything else is a 422."""
    return Path(ge=minimum, le=MAX_ID, description=description)


RequestId = Annotated[int, id_path("Request number.")]
"""The ``request_id`` path parameter of every request route."""

BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id in a JSON body (1 to MAX_ID)."""


def _checked(value: str, info: ValidationInfo, multiline: bool) -> str:
    try:
        return check_text(value, info.field_name or "text", multiline=multiline)
    except InvalidInput as exc:  # pydantic answers a ValueError with a 422 naming the field
        raise ValueError(exc.message) from None


def _plain(value: str, info: ValidationInfo) -> str:
    return _checked(value, info, multiline=False)


def _lines(value: str, info: ValidationInfo) -> str:
    return _checked(value, info, multiline=True)


PlainText = Annotated[str, AfterValidator(_plain)]
"""One line of free text: no control or bidirectional-text characters."""

LinesText = Annotated[str, AfterValidator(_lines)]
"""Free text that may hold line breaks and tabs, but no other control character."""

_NUMBER = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")


def _iso_text(value: object) -> object:
    # pydantic reads a bare number (or a string of digits) as seconds since 1970; a time
    # given so is a mistake far more often than a choice, and the schema says ISO 8601.
    if isinstance(value, dt.date) or (isinstance(value, str) and not _NUMBER.fullmatch(value)):
        return value
    raise ValueError("give an ISO 8601 date or time (e.g. 2026-01-31 or 2026-01-31T09:00:00Z)")


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
"""An ISO 8601 time with zone (never a bare number of seconds)."""

Day = Annotated[dt.date, BeforeValidator(_iso_text)]
"""An ISO 8601 date (never a bare number)."""


class Input(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# -- errors ----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description="Stable machine code, e.g. policy_denied, not_found.")
    message: str = Field(description="What went wrong, written for a person.")
    details: dict[str, Any] = Field(
        description="Particulars: e.g. `reasons` and `requirements` of a policy denial, "
        "`fields` of a validation error."
    )


class ErrorBody(BaseModel):
    """The one error shape of every route."""

    error: ErrorDetail


# -- system ----------------------------------------------------------------------------------


class Health(BaseModel):
    """The API is up."""

    status: Literal["ok"]
    version: str


class LoginIn(Input):
    """A username and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    """A session token: send it as ``Authorization: Bearer <token>``."""

    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the session ends.")


# -- accounts --------------------------------------------------------------------------------


class AgencyOut(BaseModel):
    """An agency."""

    id: int
    slug: str
    name: str
    kind: AgencyKind
    jurisdiction: str
    created_at: dt.datetime


class AgencyIn(Input):
    """A new agency."""

    slug: str = Field(min_length=1, max_length=64, examples=["boston-pd"])
    name: PlainText = _NAME
    kind: AgencyKind
    jurisdiction: PlainText = Field(default="", max_length=200)


class UserOut(BaseModel):
    """An account (never its password)."""

    id: int
    username: str
    display_name: str
    agency: str
    agency_kind: AgencyKind
    roles: list[Role]
    approved: bool
    approved_by: str | None
    approved_at: dt.datetime | None
    active: bool
    training_certified_until: dt.date | None


class UserIn(Input):
    """A new account; it may act once a supervisor approves it (R2)."""

    username: str = Field(min_length=2, max_length=64)
    display_name: str = _NAME
    agency: str = Field(min_length=1, max_length=64, description="Agency slug.")
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=1, max_length=1024)


class CertifyIn(Input):
    """Training valid through this date (R2)."""

    certified_until: Day


class PasswordIn(Input):
    """A new password: at least 12 characters, not containing the username, not a common
    password and not easily guessed (zxcvbn score 3 or more); one's own needs the current
    password as well."""

    password: str = Field(min_length=1, max_length=1024)
    current_password: str | None = Field(
        None, max_length=1024, description="Required to change one's own password."
    )


# -- API tokens ------------------------------------------------------------------------------


class TokenIn(Input):
    """A new API token acting as ``username``."""

    username: str = Field(min_length=1, max_length=64)
    name: PlainText = Field(min_length=1, max_length=200, examples=["records-system sync"])
    expires_days: int | None = Field(
        default=None, ge=1, le=MAX_TOKEN_DAYS, description="Lifetime in days; none: until revoked."
    )


class TokenOut(BaseModel):
    """An API token (never the token itself)."""

    id: int
    username: str
    name: str
    created_by: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenOut):
    """A new API token; ``token`` is shown only this once."""

    token: str


# -- policy ----------------------------------------------------------------------------------


class ProfileChange(BaseModel):
    """A change of the active profile, as the ledger records it."""

    seq: int
    ts: str
    actor: str
    object_id: str


class PolicyOut(BaseModel):
    """The active policy profile."""

    name: str
    title: str
    jurisdiction: str
    sha256: str
    unsafe: bool
    banner: str = Field(description="What every output shows while an unsafe profile is active.")
    rules: list[str]
    parameters: dict[str, Any] = Field(
        description="The profile's sections: access, legal_basis, request, results, retention."
    )
    history: list[ProfileChange]
    available: list[str] = Field(description="Profiles shipped with faceledger.")


class PolicyIn(Input):
    """The shipped profile to make active (a name; files on the server are not reachable)."""

    profile: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", examples=["massachusetts"])
    confirm: str | None = Field(
        None, max_length=100, description="For an unsafe profile: its name, typed to confirm."
    )


class ConfirmIn(Input):
    """The typed confirmation an unsafe profile needs (its name); empty otherwise."""

    confirm: str | None = Field(None, max_length=100)


class ProposalOut(BaseModel):
    """A proposed profile change; a different admin must approve it."""

    id: int
    profile: str
    sha256: str
    source: str | None
    unsafe: bool
    banner: str | None
    status: str = Field(description="pending, approved or superseded.")
    proposed_by: str
    proposed_at: str
    decided_by: str | None
    decided_at: str | None


class OffenceOut(BaseModel):
    """An offence of the active profile's catalogue."""

    code: str
    name: str
    severity: str
    citation: str


# -- search requests -------------------------------------------------------------------------


class MarkIn(Input):
    """A reviewer's mark on one candidate."""

    candidate_id: BodyId
    outcome: ReviewOutcome
    note: LinesText = Field(default="", max_length=2000)


class ReviewIn(Input):
    """A review: one mark per candidate of the search."""

    marks: list[MarkIn] = Field(description="Every candidate of the search, each once.")
    stage: ReviewStage | None = Field(
        None,
        description="The review meant (first or peer): a first review that lost a race then "
        "answers 409 instead of being taken for a peer review. Left out, the request's state "
        "decides.",
    )


class CloseIn(Input):
    """Why nothing is released."""

    reason: LinesText = Field(min_length=1, max_length=2000)


class LeadUseIn(Input):
    """A released lead used for further action (R11)."""

    candidate_id: BodyId
    use: LeadUseKind
    corroboration_ref: PlainText = Field(
        default="",
        max_length=500,
        description="Independent corroborating evidence; required for arrest, warrant and "
        "photo lineup.",
    )


class FilingIn(Input):
    """The sworn statement filed with the court after an emergency (R4)."""

    reference: PlainText = Field(min_length=1, max_length=300)
    filed_at: Timestamp | None = Field(default=None, description="Default: now.")


class CourtRefusalIn(Input):
    """The court refused the emergency filing."""

    note: LinesText = Field(default="", max_length=2000)


class ProbeFaceOut(BaseModel):
    """One face of a probe photo: the index a request's ``face_index`` names, and its box."""

    index: int
    box: dict[str, int]


class ProbeFacesOut(BaseModel):
    """The faces of a probe photo, numbered as ``face_index`` names them."""

    faces: list[ProbeFaceOut]


class OverdueOut(BaseModel):
    """Emergency requests flagged now as overdue (each once), and those sealed now."""

    flagged: list[int]
    sealed: list[int] = []


# -- violations and galleries ----------------------------------------------------------------


class ViolationOut(BaseModel):
    """An attempted forbidden action or a missed obligation (R18)."""

    id: int
    kind: str
    requirements: list[str]
    reason: str
    actor: str
    request_id: int | None
    created_at: dt.datetime
    ledger_seq: int
    details: dict[str, Any]


class GalleryOut(BaseModel):
    """A gallery and its counts."""

    id: int
    name: str
    description: str
    subjects: int
    photos: int
    templates: int
    model: str | None = Field(
        default=None, description="The embedding model of every template (null while empty)."
    )
    activation_id: int | None = Field(
        default=None, description="The deployment gate's current activation (null: none)."
    )


class PhotoOut(BaseModel):
    """An enrolled photo."""

    photo_id: int
    sha256: str
    source_uri: str
    enrolled_at: dt.datetime


class SubjectOut(BaseModel):
    """A gallery subject and their photos."""

    subject_id: int
    external_id: str
    display_name: str
    photos: list[PhotoOut]


class GalleryDetail(BaseModel):
    """A gallery with one page of its subjects."""

    gallery: GalleryOut
    subjects: Page[SubjectOut]


class SubjectDeleted(BaseModel):
    """What deleting a subject removed."""

    gallery: str
    subject: str
    photos: int
    templates: int


class PhotoDeleted(BaseModel):
    """What deleting a photo removed."""

    gallery: str
    photo_id: int
    templates: int


# -- ledger ----------------------------------------------------------------------------------


class EntryOut(BaseModel):
    """A ledger entry; ``ts`` is exactly as hashed into the leaf."""

    seq: int
    ts: str
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any] | None
    payload_sha256: str
    leaf_hash: str
    public: dict[str, Any] | None = Field(
        default=None,
        description="The entry's public fields, committed in its envelope (version 2): "
        "non-personal facts such as agency, legal-basis kind and outcome (see the README).",
    )
    version: int = Field(default=1, description="The envelope version (1, 2 or 3).")
    actor_ref: str | None = Field(
        default=None,
        description="Version 3: the actor's keyed-hash pseudonym, as in the public export.",
    )
    object_ref: str | None = Field(
        default=None, description="Version 3: the object's keyed-hash pseudonym."
    )
    salt: str | None = Field(
        default=None, description="Version 3: the random salt of the entry's private part."
    )
    private_sha256: str | None = Field(
        default=None,
        description="Version 3: SHA-256 of the private part (actor, object id, payload hash, "
        "salt) that the envelope commits to.",
    )


class CheckpointOut(BaseModel):
    """A signed checkpoint (tree head); ``timestamp`` is exactly as signed."""

    number: int
    log_id: str
    tree_size: int
    root_hash: str = Field(description="Hex.")
    timestamp: str
    signature: str = Field(description="Ed25519, base64.")


class VerifyOut(BaseModel):
    """What a successful verification of the whole ledger covered."""

    ok: Literal[True] = True
    summary: str
    log_id: str | None
    tree_size: int
    root_hash: str
    checkpoints: int
    payloads_checked: int
    payloads_redacted: int
    latest_checkpoint: int | None
    signed_size: int
    unsigned_entries: int
    commitments: int = Field(description="Salted commitments seen (first reviews).")
    reveals_checked: int = Field(description="Reveals checked against their commitment.")
    reveals_unchecked: int = Field(description="Reveals whose commitment was redacted.")


# -- models: evaluations and the deployment gate ---------------------------------------------


class GateFiguresOut(BaseModel):
    """The figures of an evaluation the deployment gate reads (null: not reported)."""

    rank1: float | None
    fnir_at_fpir_0_003: float | None = Field(alias="fnir_at_fpir_0.003")
    fte: float | None
    label_source: str | None
    max_fmr_ratio: float | None
    max_fnmr_ratio: float | None
    unbounded_ratios: list[str] = Field(
        default_factory=list, description="Ratios whose best group had no errors (refused)."
    )
    unmeasured_ratios: list[str] = Field(
        default_factory=list,
        description="Ratios the set was too small to measure (recorded, not counted).",
    )

    model_config = ConfigDict(populate_by_name=True)


class EvaluationOut(BaseModel):
    """A stored model evaluation (R15, R16); its full summary is at /evaluations/{id}."""

    id: int
    model: dict[str, str]
    dataset: str
    dataset_fingerprint: str
    summary_sha256: str
    figures: GateFiguresOut
    recorded_by: str
    recorded_at: str
    ledger_seq: int


class EvaluationIn(Input):
    """An evaluation summary as `faceledger eval` writes it (evaluation.json's `summary`)."""

    summary: dict[str, Any]


class ActivationIn(Input):
    """Activate the gallery's model with a stored evaluation through the deployment gate."""

    evaluation_id: int = Field(ge=1, le=MAX_ID)
    target_fpir: float | None = Field(
        default=None, gt=0, le=0.5, description="FPIR to calibrate for; default the profile's."
    )


class ActivationOut(BaseModel):
    """A model and operating point activated for a gallery."""

    id: int
    gallery: str
    evaluation_id: int
    model: dict[str, str]
    target_fpir: float
    gallery_size: int
    threshold: float
    within_measured_range: bool
    profile_sha256: str
    activated_by: str
    activated_at: str
    ledger_seq: int


class GalleryActivation(BaseModel):
    """A gallery's current activation (null: none; searches are refused under a profile with
    the deployment gate)."""

    gallery: str
    activation: ActivationOut | None
