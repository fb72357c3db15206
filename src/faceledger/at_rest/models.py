"""The data keys table: each data key wrapped under the key-encryption key (never in clear)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from faceledger.db import Base, UTCDateTime, utcnow


class DataKeyRow(Base):
    """A data key: sealed values name it by ``id``. New values use the newest one not retired;
    a retired key is kept, as values a rotation missed (a stale process) may still name it."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Which KEK wrapped it (a public label, see faceledger.at_rest.kek), to name a wrong one.
    kek_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
