"""Login throttling: refuse attempts on a locked-out account or address, and record failures.

:class:`LoginThrottle` is a collaborator of the login use case, not a use case of its own:
every method works in the caller's session and transaction, so a failure row, the lockout it
causes and the login's own ledger entry commit together or not at all. Each lockout is written
to the ledger as ``auth.lockout`` by ``system:throttle``.

Failures are kept per account key and per client key (see
:mod:`faceledger.governance.throttle`); an empty key (no username, no address) is not
throttled. Rows that fell out of the window are deleted a batch at a time on every failure, so
the table holds little more than one window's failures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from faceledger.errors import TooManyAttempts
from faceledger.governance.throttle import (
    BackoffPolicy,
    KeyKind,
    LoginFailure,
    account_key,
    client_key,
)
from faceledger.ledger.log import Ledger
from faceledger.service.ledger_actions import LedgerAction

__all__ = ["DEFAULT_POLICY", "PRUNE_BATCH", "THROTTLE_ACTOR", "LoginThrottle"]

DEFAULT_POLICY = BackoffPolicy()
PRUNE_BATCH = 100
"""Most expired rows one failure deletes: more than it adds, so the table cannot keep growing."""
THROTTLE_ACTOR = "system:throttle"

_OBJECT_TYPES = {KeyKind.ACCOUNT: "user", KeyKind.CLIENT: "client"}
_WHERE = {KeyKind.ACCOUNT: "for this account", KeyKind.CLIENT: "from this address"}
_SECOND = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class _Failures:
    """The failures of one key inside the window: how many, and the last one."""

    kind: KeyKind
    key: str
    count: int
    last: dt.datetime | None


class LoginThrottle:
    """Backs off per account and per client address after failed logins (``policy``)."""

    def __init__(self, ledger: Ledger, policy: BackoffPolicy = DEFAULT_POLICY) -> None:
        self.ledger = ledger
        self.policy = policy

    def check(self, session: Session, username: str, client: str | None, now: dt.datetime) -> None:
        """Return None if a login attempt for ``username`` from ``client`` may be made at ``now``.

        Raises:
            TooManyAttempts: if the account or the address is locked out; the message and
                ``retry_after_seconds`` name the longer of the two waits.
        """
        worst: tuple[dt.datetime, KeyKind] | None = None
        for kind, key in _keys(username, client):
            until = self._locked_until(self._failures(session, kind, key, now))
            if until is not None and now < until and (worst is None or until > worst[0]):
                worst = (until, kind)
        if worst is not None:
            until, kind = worst
            wait = -((now - until) // _SECOND)  # whole seconds, rounded up
            raise TooManyAttempts(
                f"Too many failed logins {_WHERE[kind]}; try again in {wait} s.",
                retry_after_seconds=wait,
                key_kind=kind.value,
            )

    def record_failure(
        self, session: Session, username: str, client: str | None, now: dt.datetime
    ) -> None:
        """Remember a failed login at ``now`` under the account and the client key.

        A key this failure locks out that was not locked already gets one ``auth.lockout``
        ledger entry (payload: ``key_kind``, ``key``, ``failures``, ``locked_until``).
        Expired rows are pruned, at most PRUNE_BATCH of them.
        """
        self._prune(session, now)
        for kind, key in _keys(username, client):
            before = self._failures(session, kind, key, now)
            was_until = self._locked_until(before)
            session.add(LoginFailure(key_kind=kind.value, key=key, failed_at=now))
            after = _Failures(
                kind, key, before.count + 1, now if before.last is None else max(before.last, now)
            )
            until = self._locked_until(after)
            if until is None or (was_until is not None and now < was_until):
                continue
            self.ledger.append(
                session,
                actor=THROTTLE_ACTOR,
                action=LedgerAction.AUTH_LOCKOUT,
                object_type=_OBJECT_TYPES[kind],
                object_id=key,
                payload={
                    "key_kind": kind.value,
                    "key": key,
                    "failures": after.count,
                    "locked_until": until.astimezone(dt.UTC).isoformat(),
                },
            )
        session.flush()

    def record_success(self, session: Session, username: str, client: str | None) -> None:
        """Forget the account's failures after a successful login.

        The client's failures stay (``client`` is taken so every method is called alike): one
        good password from an address must not wipe out its record of guessing at other
        accounts.
        """
        key = account_key(username)
        if key:
            session.execute(
                delete(LoginFailure).where(
                    LoginFailure.key_kind == KeyKind.ACCOUNT.value, LoginFailure.key == key
                )
            )

    def _failures(self, session: Session, kind: KeyKind, key: str, now: dt.datetime) -> _Failures:
        count, last = session.execute(
            select(func.count(), func.max(LoginFailure.failed_at)).where(
                LoginFailure.key_kind == kind.value,
                LoginFailure.key == key,
                # No upper bound: a failure stamped by a worker whose clock runs ahead counts.
                LoginFailure.failed_at > now - self.policy.window,
            )
        ).one()
        return _Failures(kind, key, int(count), last)

    def _locked_until(self, failures: _Failures) -> dt.datetime | None:
        lockout = self.policy.lockout(failures.count)
        if lockout is None or failures.last is None:
            return None
        return failures.last + lockout

    def _prune(self, session: Session, now: dt.datetime) -> None:
        cutoff = now - self.policy.window
        ids = session.scalars(
            select(LoginFailure.id).where(LoginFailure.failed_at <= cutoff).limit(PRUNE_BATCH)
        ).all()
        if ids:
            session.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))


def _keys(username: str, client: str | None) -> Iterator[tuple[KeyKind, str]]:
    """Yield the non-empty throttle keys of an attempt: the account's, then the client's."""
    key = account_key(username)
    if key:
        yield KeyKind.ACCOUNT, key
    key = "" if client is None else client_key(client)
    if key:
        yield KeyKind.CLIENT, key
