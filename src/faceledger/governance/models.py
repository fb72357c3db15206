"""Tables of the search lifecycle: requests, probe images, search runs, candidates, reviews,
lead uses, violations, and the active policy profile.

Every row here is written by the service layer in the same transaction as its ledger entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from faceledger.at_rest.sealing import SealedBytes, SealedJSON, SealedText
from faceledger.db import Base, UTCDateTime, utcnow


class PolicyState(Base):
    """The active policy profile (one row)."""

    __tablename__ = "policy_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_name: Mapped[str] = mapped_column(String(100))
    profile_sha256: Mapped[str] = mapped_column(String(64))
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where a custom profile file is (None: a shipped profile, loaded by name); its content
    # must still hash to profile_sha256 when it is loaded again.
    profile_ref: Mapped[str | None] = mapped_column(String(1000), default=None)


class PolicyProposal(Base):
    """A profile change one admin proposed; a different admin must approve it."""

    __tablename__ = "policy_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_name: Mapped[str] = mapped_column(String(100))
    profile_sha256: Mapped[str] = mapped_column(String(64))
    profile_ref: Mapped[str | None] = mapped_column(String(1000), default=None)
    unsafe: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # pending, approved, withdrawn or superseded
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class ProbeImage(Base):
    """A probe photo as uploaded (deleted when its request is sealed or retention ends)."""

    __tablename__ = "probe_images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Sealed at rest (faceledger.at_rest.sealing), as are the other Sealed* columns below.
    data: Mapped[bytes | None] = mapped_column(SealedBytes("probe_images.data"), nullable=True)
    image_format: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # The faces detected once at filing, in the original's pixel coordinates, so no read
    # detects again (None for probes filed before 0014, and after deletion).
    faces: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RequestRow(Base):
    """A search request and where it is in the lifecycle."""

    __tablename__ = "search_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    case_number: Mapped[str] = mapped_column(String(100), index=True)
    offence_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    offence_name: Mapped[str] = mapped_column(String(300), default="")
    offence_severity: Mapped[str] = mapped_column(String(50), default="")
    narrative: Mapped[str] = mapped_column(SealedText("search_requests.narrative"))
    legal_basis_kind: Mapped[str] = mapped_column(String(50))
    # The court order, or an emergency's facts, or a description (case facts): sealed.
    legal_basis: Mapped[dict[str, Any]] = mapped_column(SealedJSON("search_requests.legal_basis"))
    probe_sha256: Mapped[str] = mapped_column(ForeignKey("probe_images.sha256"))
    probe_source: Mapped[str] = mapped_column(String(50))
    attestation: Mapped[dict[str, Any]] = mapped_column(JSON)
    galleries: Mapped[list[str]] = mapped_column(JSON)
    max_candidates: Mapped[int] = mapped_column(Integer)
    # The one face of the probe photo to search (its detection index); the others are
    # bystanders and are never embedded or searched.
    face_index: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(30), index=True)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    profile_name: Mapped[str] = mapped_column(String(100))
    profile_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Emergency follow-up (R4).
    approving_supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )
    filing_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    filed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    filing_reference: Mapped[str] = mapped_column(String(300), default="")
    court_refused: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    # Release (R9) and closure.
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_candidate_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    caveat: Mapped[str] = mapped_column(Text, default="")
    closed_reason: Mapped[str] = mapped_column(Text, default="")
    sealed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sealed_reason: Mapped[str] = mapped_column(Text, default="")
    # Outcome and disclosure (R12, R17): kept as the case moves on (governance.context.Outcome).
    outcome: Mapped[str] = mapped_column(String(30), default="pending", index=True)
    disclosure_status: Mapped[str] = mapped_column(String(30), default="not_disclosed")
    # The requester's description of the unknown person (MA-BILL); "" when not given. Never
    # inferred from the photo (R8).
    described_sex: Mapped[str] = mapped_column(String(30), default="")
    described_race: Mapped[str] = mapped_column(String(50), default="")
    # Retention (R13): when the probe, candidates and results were purged, and when the
    # payloads of the request's ledger entries were redacted; NULL until then.
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ledger_redacted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    run: Mapped[SearchRun | None] = relationship(back_populates="request", uselist=False)
    reviews: Mapped[list[ReviewRow]] = relationship(
        back_populates="request", order_by="ReviewRow.id"
    )
    lead_uses: Mapped[list[LeadUseRow]] = relationship(
        back_populates="request", order_by="LeadUseRow.id"
    )


class SearchRun(Base):
    """The search of an approved request: everything R12 asks to keep."""

    __tablename__ = "search_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_requests.id"), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    probe_sha256: Mapped[str] = mapped_column(String(64))
    galleries: Mapped[list[str]] = mapped_column(JSON)
    models: Mapped[dict[str, Any]] = mapped_column(JSON)
    threshold_micro: Mapped[int] = mapped_column(Integer)  # the strictest of ``thresholds``
    # Each gallery's operating threshold and where it came from (R12; see
    # faceledger.gallery.thresholds.OperatingThreshold.to_record).
    thresholds: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Which vector index answered for each gallery and whether it was approximate (R12):
    # [{"gallery", "backend", "approximate", ...}]; empty for runs before migration 0013.
    indexes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    max_candidates: Mapped[int] = mapped_column(Integer)
    faces: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # The searched face's embedding (float32 bytes, the galleries' model), kept with the
    # probe for the misuse analytics' near-duplicate probe rule (R18); None when purged.
    probe_embedding: Mapped[bytes | None] = mapped_column(
        SealedBytes("search_runs.probe_embedding"), nullable=True
    )
    ledger_seq: Mapped[int] = mapped_column(Integer, default=-1)

    request: Mapped[RequestRow] = relationship(back_populates="run")
    candidates: Mapped[list[CandidateRow]] = relationship(
        back_populates="run",
        order_by="(CandidateRow.face_index, CandidateRow.rank)",
        cascade="all, delete-orphan",
    )


class CandidateRow(Base):
    """One ranked candidate of a search run (copied, so later gallery deletes keep history)."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("search_runs.id"), index=True)
    face_index: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    gallery: Mapped[str] = mapped_column(String(100))
    subject_id: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[int] = mapped_column(Integer)
    photo_id: Mapped[int] = mapped_column(Integer)
    photo_sha256: Mapped[str] = mapped_column(String(64))
    distance_micro: Mapped[int] = mapped_column(Integer)
    similarity_micro: Mapped[int] = mapped_column(Integer)
    # The distance is at most the gallery's operating threshold: flagged for attention, never
    # a "match" (R9).
    within_threshold: Mapped[bool] = mapped_column(Boolean)

    run: Mapped[SearchRun] = relationship(back_populates="candidates")


class ReviewRow(Base):
    """A reviewer's marks on every candidate (first review or blind peer review)."""

    __tablename__ = "reviews"
    # One review per request and stage: a second submission of the same stage loses the race.
    __table_args__ = (UniqueConstraint("request_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_requests.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(20))
    marks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The salt of the ledger's commitment to these marks (first review), revealed by the
    # peer review's entry so that the ledger cannot leak the marks before it (R10).
    commitment_salt: Mapped[str | None] = mapped_column(String(64), default=None)

    request: Mapped[RequestRow] = relationship(back_populates="reviews")


class LeadUseRow(Base):
    """A released lead used for further action, with its corroboration (R11)."""

    __tablename__ = "lead_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_requests.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(Integer)
    use: Mapped[str] = mapped_column(String(50))
    corroboration_ref: Mapped[str] = mapped_column(
        SealedText("lead_uses.corroboration_ref"), default=""
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[RequestRow] = relationship(back_populates="lead_uses")


class ViolationRow(Base):
    """An attempted forbidden action or a missed obligation (R18)."""

    __tablename__ = "violations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    requirements: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("search_requests.id"), nullable=True, index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(Integer, default=-1)
