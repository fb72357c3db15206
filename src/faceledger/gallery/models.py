"""Gallery tables: galleries, subjects, photos, face templates, and the model evaluations and
activations that let a gallery be searched (the deployment gate, R15, R16)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from faceledger.at_rest.sealing import SealedBytes
from faceledger.db import Base, UTCDateTime, utcnow

MODEL_VERSION_LENGTH = 300
"""Longest model version string stored (the SFace one names its runtime and aligner)."""


class Gallery(Base):
    """A named collection of enrolled subjects, e.g. ``booking-photos``."""

    __tablename__ = "galleries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped in the same transaction as every template change; the vector index file records
    # the generation it was built from, so a stale index is detected and rebuilt.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # The embedding model every template of the gallery comes from (set by the first
    # enrolment; changed only by a re-embedding). A probe from another model is refused.
    model_name: Mapped[str | None] = mapped_column(String(100), nullable=True, default=None)
    model_version: Mapped[str | None] = mapped_column(
        String(MODEL_VERSION_LENGTH), nullable=True, default=None
    )
    model_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    # The deployment gate's current activation (model, evaluation, operating point), if any.
    activation_id: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)

    subjects: Mapped[list[Subject]] = relationship(
        back_populates="gallery", cascade="all, delete-orphan", passive_deletes=True
    )


class Subject(Base):
    """A person in a gallery, known by an external id (e.g. a booking number)."""

    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("gallery_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gallery_id: Mapped[int] = mapped_column(ForeignKey("galleries.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    gallery: Mapped[Gallery] = relationship(back_populates="subjects")
    photos: Mapped[list[Photo]] = relationship(
        back_populates="subject", cascade="all, delete-orphan", passive_deletes=True
    )


class Photo(Base):
    """One enrolled image of a subject, identified by the SHA-256 of its original bytes."""

    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("gallery_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gallery_id: Mapped[int] = mapped_column(ForeignKey("galleries.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    source_uri: Mapped[str] = mapped_column(String(2000))
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    image_format: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Which face of the photo was enrolled and why (the largest-face rule), when it showed
    # several; None for a photo of one face.
    face_choice: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=None)

    subject: Mapped[Subject] = relationship(back_populates="photos")
    templates: Mapped[list[Template]] = relationship(
        back_populates="photo", cascade="all, delete-orphan", passive_deletes=True
    )


class Template(Base):
    """A face descriptor computed from a photo, with its quality and the model that made it."""

    __tablename__ = "templates"
    # Ids are never reused (SQLite would otherwise reuse the highest after a delete): past
    # candidate lists refer to templates by id.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gallery_id: Mapped[int] = mapped_column(
        ForeignKey("galleries.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), index=True
    )
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    # Sealed at rest (faceledger.at_rest.sealing); the index files hold a derived copy.
    embedding: Mapped[bytes] = mapped_column(SealedBytes("templates.embedding"))
    box_left: Mapped[int] = mapped_column(Integer)
    box_top: Mapped[int] = mapped_column(Integer)
    box_right: Mapped[int] = mapped_column(Integer)
    box_bottom: Mapped[int] = mapped_column(Integer)
    eye_distance_px: Mapped[float] = mapped_column(Float)
    sharpness: Mapped[float] = mapped_column(Float)
    yaw_degrees: Mapped[float] = mapped_column(Float)
    brightness: Mapped[float] = mapped_column(Float)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(MODEL_VERSION_LENGTH))
    model_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The aligned 150x150 face chip as JPEG, for reviewers' side-by-side view (a few KB).
    chip_jpeg: Mapped[bytes | None] = mapped_column(
        SealedBytes("templates.chip_jpeg"), nullable=True, default=None
    )

    photo: Mapped[Photo] = relationship(back_populates="templates")


class Evaluation(Base):
    """A stored accuracy evaluation of a face model (``faceledger eval --store``, R15, R16).

    ``summary`` is the evaluation's JSON summary (figures, intervals, the impostor distance
    distribution used for calibration); ``summary_sha256`` is its canonical hash, recorded in
    the ledger entry, so the stored figures can be checked against the ledger.
    """

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(MODEL_VERSION_LENGTH))
    model_sha256: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(200))
    dataset_fingerprint: Mapped[str] = mapped_column(String(64))
    # A few hundred KB (the impostor distribution): loaded only when read.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    summary_sha256: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(Integer, default=-1)


class Activation(Base):
    """A model and operating point activated for a gallery after the deployment gate passed.

    The threshold is calibrated from the evaluation for ``target_fpir`` at the gallery's size;
    searches recompute it at the size of the day and record it (R12).
    """

    __tablename__ = "activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gallery_id: Mapped[int] = mapped_column(
        ForeignKey("galleries.id", ondelete="CASCADE"), index=True
    )
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"))
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(MODEL_VERSION_LENGTH))
    model_sha256: Mapped[str] = mapped_column(String(64))
    target_fpir: Mapped[float] = mapped_column(Float)
    gallery_size: Mapped[int] = mapped_column(Integer)  # templates when activated
    threshold: Mapped[float] = mapped_column(Float)  # at that size
    within_measured_range: Mapped[bool] = mapped_column(Boolean)
    profile_sha256: Mapped[str] = mapped_column(String(64))
    activated_by: Mapped[str] = mapped_column(String(200))
    activated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(Integer, default=-1)
