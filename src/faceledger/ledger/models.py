"""Ledger tables: entries, complete subtree hashes, checkpoints and the single state row.

The columns here are the schema; migration ``0002_ledger`` creates them (``0011_accountability``
adds ``ledger_entries.public``), and
:mod:`faceledger.ledger.tables` names the same columns for readers that must not import the ORM.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from faceledger.db import Base, UTCDateTime
from faceledger.ledger.envelope import FIELD_LIMITS

__all__ = ["CheckpointRow", "EntryRow", "NodeRow", "StateRow"]


class EntryRow(Base):
    """One appended entry. ``seq`` is the 0-based leaf index; rows are never updated."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(FIELD_LIMITS["actor"]), index=True)
    action: Mapped[str] = mapped_column(String(FIELD_LIMITS["action"]), index=True)
    object_type: Mapped[str] = mapped_column(String(FIELD_LIMITS["object_type"]))
    object_id: Mapped[str] = mapped_column(String(FIELD_LIMITS["object_id"]))
    # The canonical JSON text, byte for byte what payload_sha256 covers.
    payload: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    # The public fields as canonical JSON text (envelope version 2), NULL when there are none.
    public: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)


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
