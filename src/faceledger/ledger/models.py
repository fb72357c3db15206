"""Ledger tables: entries, complete subtree hashes, checkpoints and the single state row.

The columns here are the schema; migration ``0002_ledger`` creates them (``0011_accountability``
adds ``ledger_entries.public``, ``0012_outsiders`` the version 3 envelope columns, redaction
and cosignatures), and
:mod:`faceledger.ledger.tables` names the same columns for readers that must not import the ORM.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from faceledger.db import Base, UTCDateTime
from faceledger.ledger.envelope import FIELD_LIMITS

__all__ = ["CheckpointRow", "CosignatureRow", "EntryRow", "NodeRow", "StateRow"]


class EntryRow(Base):
    """One appended entry. ``seq`` is the 0-based leaf index.

    Rows are never updated, except that a redaction sets ``payload`` to NULL and ``redacted_by``
    to the seq of the ``ledger.redact`` entry that did it; ``payload_sha256`` stays.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(FIELD_LIMITS["actor"]), index=True)
    action: Mapped[str] = mapped_column(String(FIELD_LIMITS["action"]), index=True)
    object_type: Mapped[str] = mapped_column(String(FIELD_LIMITS["object_type"]))
    object_id: Mapped[str] = mapped_column(String(FIELD_LIMITS["object_id"]))
    # The canonical JSON text, byte for byte what payload_sha256 covers; NULL once redacted.
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    # The public fields as canonical JSON text (envelope version 2), NULL when there are none.
    public: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)
    # Envelope version 3 (pseudonymous): the private part's random salt and the keyed-hash
    # pseudonyms of the actor and the object, all 32 hex digits; NULL for versions 1 and 2.
    salt: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)
    actor_ref: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)
    object_ref: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)
    # The seq of the ledger.redact entry that removed the payload, NULL while it is present.
    redacted_by: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)


class NodeRow(Base):
    """The hash of a complete subtree of height ``level`` >= 1 (leaf hashes live in entries)."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class CheckpointRow(Base):
    """A signed tree head; ``number`` counts checkpoints from 0."""

    __tablename__ = "ledger_checkpoints"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    log_id: Mapped[str] = mapped_column(String(200))
    tree_size: Mapped[int] = mapped_column(Integer, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class StateRow(Base):
    """The one row every append locks first, so appenders take turns.

    ``frontier`` holds the compact range of the whole tree (one 32-byte hash per set bit of
    ``tree_size``), so an append needs no other read; the last-checkpoint columns let it decide
    whether a checkpoint is due.
    """

    __tablename__ = "ledger_state"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(Integer)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    checkpoint_count: Mapped[int] = mapped_column(Integer)
    last_checkpoint_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_checkpoint_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CosignatureRow(Base):
    """A witness's C2SP ``cosignature/v1`` on one checkpoint, as received and checked.

    ``key_hash`` is the 4-byte C2SP key hash in hex, ``timestamp`` the cosignature's own time
    (seconds since the epoch, signed), ``signature`` the 64-byte Ed25519 signature.
    """

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (
        UniqueConstraint(
            "checkpoint_number", "witness_name", "key_hash", name="uq_cosignature_witness"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_number: Mapped[int] = mapped_column(Integer, index=True)
    witness_name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(8))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
