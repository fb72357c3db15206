"""Login throttling: how long to back off after failed logins, and the failures remembered.

Failures are counted per key: the account (the username as typed, normalised by
:func:`account_key`) and the client address (:func:`client_key`), each inside a sliding window.
After ``free_failures`` of them a key is locked out for a time that doubles with every further
failure, up to a cap. :class:`BackoffPolicy` is the arithmetic alone; the service keeps the
:class:`LoginFailure` rows and asks the policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from faceledger.db import Base, UTCDateTime
from faceledger.errors import ConfigError
from faceledger.ledger.envelope import FIELD_LIMITS

__all__ = [
    "KEY_MAX",
    "BackoffPolicy",
    "KeyKind",
    "LoginFailure",
    "account_key",
    "client_key",
]

KEY_MAX = 255
"""Width of the ``key`` column."""
# A key also names the ledger entry of its lockout, so it must fit the entry's object_id.
_KEY_KEPT = min(KEY_MAX, FIELD_LIMITS["object_id"])


class KeyKind(StrEnum):
    """What a throttle key counts failures of."""

    ACCOUNT = "account"
    CLIENT = "client"


_KIND_VALUES = ", ".join(f"'{k.value}'" for k in KeyKind)


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff after failed logins.

    ``free_failures`` failures inside ``window`` cost nothing; the next one locks the key for
    ``base_seconds``, and each further one doubles that, never beyond ``max_seconds``.
    """

    free_failures: int = 5
    base_seconds: int = 30
    max_seconds: int = 3600
    window: dt.timedelta = dt.timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.free_failures < 0:
            raise ConfigError("free_failures must be 0 or more.", free_failures=self.free_failures)
        if not 0 < self.base_seconds <= self.max_seconds:
            raise ConfigError(
                "Backoff needs 0 < base_seconds <= max_seconds.",
                base_seconds=self.base_seconds,
                max_seconds=self.max_seconds,
            )
        if self.window <= dt.timedelta(0):
            raise ConfigError("The failure window must be positive.", window=str(self.window))

    def lockout(self, failures: int) -> dt.timedelta | None:
        """Return how long ``failures`` failures inside the window lock a key, or None if not."""
        extra = failures - self.free_failures - 1
        if extra < 0:
            return None
        # Past this exponent the cap applies anyway; stop before 2**extra gets huge.
        if extra >= self.max_seconds.bit_length():
            return dt.timedelta(seconds=self.max_seconds)
        return dt.timedelta(seconds=min(self.base_seconds * 2**extra, self.max_seconds))


def account_key(username: str) -> str:
    """Return the throttle key of a username as typed (stripped, lower-cased, bounded)."""
    return username.strip().lower()[:_KEY_KEPT]


def client_key(client: str) -> str:
    """Return the throttle key of a client address (stripped, lower-cased, bounded)."""
    return client.strip().lower()[:_KEY_KEPT]


class LoginFailure(Base):
    """One failed login, remembered under one key until it falls out of the window."""

    __tablename__ = "login_failures"
    __table_args__ = (
        CheckConstraint(f"key_kind IN ({_KIND_VALUES})", name="key_kind"),
        Index("ix_login_failures_key", "key_kind", "key", "failed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(KEY_MAX))
    # Indexed on its own too, so pruning old rows never scans the table.
    failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
