"""Tables of the accountability outputs: disclosure packets produced (R14) and misuse findings
(R18). Each row is written by the service in the same transaction as its ledger entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from faceledger.db import Base, UTCDateTime, utcnow


class DisclosureRow(Base):
    """One disclosure packet produced for a request: who, when, for whom (R12, R14)."""

    __tablename__ = "disclosures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_requests.id"), index=True)
    produced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    produced_by: Mapped[str] = mapped_column(String(200))  # the ledger actor
    produced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipient: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text, default="")
    packet_sha256: Mapped[str] = mapped_column(String(64))
    checkpoint_size: Mapped[int] = mapped_column(Integer)
    fact_count: Mapped[int] = mapped_column(Integer)
    ledger_seq: Mapped[int] = mapped_column(Integer, default=-1)


class MisuseFindingRow(Base):
    """A misuse finding (R18): the rule, an explanation and the records behind it.

    ``fingerprint`` names the finding by its rule and records, so a later scan that finds the
    same pattern again does not store (or alert) it twice."""

    __tablename__ = "misuse_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(50), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    explanation: Mapped[str] = mapped_column(Text)
    request_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_seq: Mapped[int] = mapped_column(Integer, default=-1)
