"""Login throttling on a real database (SQLite or PostgreSQL): backoff per account and per
address, ledgered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from faceledger.db import Database
from faceledger.errors import TooManyAttempts
from faceledger.governance.throttle import BackoffPolicy, LoginFailure
from faceledger.ledger import Ledger, generate_keys, load_signing_key
from faceledger.service.throttle import PRUNE_BATCH, THROTTLE_ACTOR, LoginThrottle
from tests.backends import database_url

T0 = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)
ALICE, BOB = "alice", "bob"
HOME, CAFE = "192.0.2.10", "198.51.100.7"

Fail = Callable[..., None]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A real database at the newest schema (a SQLite file migrated here, or a clone of the
    migrated PostgreSQL template)."""
    database = Database(database_url(tmp_path, "throttle.db", migrated=True))
    yield database
    database.dispose()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    keys = generate_keys(tmp_path / "keys")
    return Ledger(load_signing_key(keys.private_key_path), "test-log", 0, 0)


@pytest.fixture
def throttle(ledger: Ledger) -> LoginThrottle:
    return LoginThrottle(ledger)


@pytest.fixture
def fail(db: Database, throttle: LoginThrottle) -> Fail:
    """Record ``n`` failed logins, a second apart from ``at``, each in its own transaction."""

    def record(n: int, username: str, client: str | None, at: dt.datetime = T0) -> None:
        for i in range(n):
            with db.transaction() as session:
                throttle.record_failure(session, username, client, at + i * S)

    return record


def check(
    db: Database, throttle: LoginThrottle, username: str, client: str | None, now: dt.datetime
) -> None:
    with db.read() as session:
        throttle.check(session, username, client, now)


def refused(
    db: Database, throttle: LoginThrottle, username: str, client: str | None, now: dt.datetime
) -> TooManyAttempts:
    with pytest.raises(TooManyAttempts) as caught:
        check(db, throttle, username, client, now)
    return caught.value


def lockouts(db: Database, ledger: Ledger) -> list[dict[str, object]]:
    with db.read() as session:
        entries = ledger.query(session, action="auth.lockout")
    for entry in entries:
        assert entry.actor == THROTTLE_ACTOR
        assert entry.payload is not None
        assert entry.object_id == entry.payload["key"]
        assert (
            entry.object_type
            == {"account": "user", "client": "client"}[str(entry.payload["key_kind"])]
        )
    return [dict(e.payload or {}) for e in entries]


def stored(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(LoginFailure)) or 0)


def test_free_failures_do_not_lock(db: Database, throttle: LoginThrottle, fail: Fail) -> None:
    fail(5, ALICE, HOME)
    check(db, throttle, ALICE, HOME, T0 + 5 * S)
    assert stored(db) == 10  # one row per key per failure


def test_the_next_failure_locks_with_the_retry_time(
    db: Database, throttle: LoginThrottle, fail: Fail
) -> None:
    fail(6, ALICE, None)
    last = T0 + 5 * S
    error = refused(db, throttle, ALICE, None, last)
    assert error.status == 429
    assert error.message == "Too many failed logins for this account; try again in 30 s."
    assert error.retry_after_seconds == 30
    assert error.details == {"retry_after_seconds": 30, "key_kind": "account"}
    # Partial seconds round up, so a client that waits as told is never refused.
    assert refused(db, throttle, ALICE, None, last + 10.5 * S).retry_after_seconds == 20
    assert refused(db, throttle, ALICE, None, last + 29.9 * S).retry_after_seconds == 1


def test_lockout_expires(db: Database, throttle: LoginThrottle, fail: Fail) -> None:
    fail(6, ALICE, None)
    check(db, throttle, ALICE, None, T0 + 5 * S + 30 * S)


def test_account_key_ignores_case_and_spaces(
    db: Database, throttle: LoginThrottle, fail: Fail
) -> None:
    fail(3, "Alice", None)
    fail(3, " alice ", None, T0 + 3 * S)
    refused(db, throttle, "ALICE", None, T0 + 6 * S)
    check(db, throttle, BOB, None, T0 + 6 * S)


def test_backoff_doubles_then_stops_at_the_cap(db: Database, ledger: Ledger, fail: Fail) -> None:
    policy = BackoffPolicy(free_failures=1, base_seconds=30, max_seconds=100)
    throttle = LoginThrottle(ledger, policy)
    at = T0
    waits = []
    for failures in range(1, 6):
        # Each failure is made once the previous lockout is over, as a client would.
        check(db, throttle, ALICE, None, at)
        with db.transaction() as session:
            throttle.record_failure(session, ALICE, None, at)
        lockout = policy.lockout(failures)
        if lockout is None:
            check(db, throttle, ALICE, None, at)
            at += S
            continue
        waits.append(refused(db, throttle, ALICE, None, at).retry_after_seconds)
        at += lockout
    assert waits == [30, 60, 100, 100]
    assert [e["failures"] for e in lockouts(db, ledger)] == [2, 3, 4, 5]


def test_window_forgets_old_failures(db: Database, throttle: LoginThrottle, fail: Fail) -> None:
    fail(5, ALICE, None)
    later = T0 + dt.timedelta(hours=1) + 5 * S  # every earlier failure is out of the window
    fail(1, ALICE, None, later)
    check(db, throttle, ALICE, None, later)


@pytest.mark.parametrize(("age", "locked"), [(3600, False), (3599, True)])
def test_only_failures_inside_the_window_count(
    db: Database, throttle: LoginThrottle, age: int, locked: bool
) -> None:
    # Five failures ``age`` seconds before the last one, left unpruned (pruning lags behind).
    rows = [{"key_kind": "account", "key": ALICE, "failed_at": T0 - age * S} for _ in range(5)]
    rows.append({"key_kind": "account", "key": ALICE, "failed_at": T0})
    with db.transaction() as session:
        session.execute(insert(LoginFailure), rows)
    if locked:
        assert refused(db, throttle, ALICE, None, T0).retry_after_seconds == 30
    else:
        check(db, throttle, ALICE, None, T0)


def test_an_address_is_locked_across_usernames(
    db: Database, ledger: Ledger, throttle: LoginThrottle
) -> None:
    for i in range(6):
        with db.transaction() as session:
            throttle.record_failure(session, f"user{i}", HOME, T0 + i * S)
    error = refused(db, throttle, "someone-new", HOME, T0 + 6 * S)
    assert error.message == "Too many failed logins from this address; try again in 29 s."
    assert error.details["key_kind"] == "client"
    check(db, throttle, "someone-new", CAFE, T0 + 6 * S)
    check(db, throttle, "user0", None, T0 + 6 * S)  # each account failed only once
    assert lockouts(db, ledger) == [
        {
            "key_kind": "client",
            "key": HOME,
            "failures": 6,
            "locked_until": (T0 + 5 * S + 30 * S).isoformat(),
        }
    ]


def test_the_longer_wait_is_reported(db: Database, throttle: LoginThrottle, fail: Fail) -> None:
    fail(7, ALICE, CAFE)  # both keys locked for 60 s from T0 + 6 s
    fail(6, BOB, HOME, T0 + 10 * S)  # bob's account for 30 s from T0 + 15 s
    error = refused(db, throttle, BOB, CAFE, T0 + 20 * S)
    assert error.details == {"retry_after_seconds": 46, "key_kind": "client"}
    error = refused(db, throttle, ALICE, HOME, T0 + 20 * S)
    assert error.details == {"retry_after_seconds": 46, "key_kind": "account"}


def test_success_clears_the_account_but_not_the_address(
    db: Database, throttle: LoginThrottle, fail: Fail
) -> None:
    fail(6, ALICE, HOME)
    now = T0 + 6 * S
    with db.transaction() as session:
        throttle.record_success(session, ALICE, HOME)
    check(db, throttle, ALICE, CAFE, now)
    assert refused(db, throttle, BOB, HOME, now).details["key_kind"] == "client"
    assert refused(db, throttle, ALICE, HOME, now).details["key_kind"] == "client"
    # The account starts counting from nothing again.
    fail(5, ALICE, CAFE, now)
    check(db, throttle, ALICE, CAFE, now + 5 * S)


def test_success_leaves_other_accounts_alone(
    db: Database, throttle: LoginThrottle, fail: Fail
) -> None:
    fail(6, ALICE, None)
    with db.transaction() as session:
        throttle.record_success(session, BOB, None)
    refused(db, throttle, ALICE, None, T0 + 6 * S)


def test_one_ledger_entry_per_lockout(
    db: Database, ledger: Ledger, throttle: LoginThrottle, fail: Fail
) -> None:
    fail(5, ALICE, None)
    assert lockouts(db, ledger) == []
    fail(1, ALICE, None, T0 + 5 * S)
    assert lockouts(db, ledger) == [
        {
            "key_kind": "account",
            "key": ALICE,
            "failures": 6,
            "locked_until": (T0 + 35 * S).isoformat(),
        }
    ]
    # A caller that records failures while the key is locked adds rows but no new lockout.
    fail(2, ALICE, None, T0 + 10 * S)
    assert len(lockouts(db, ledger)) == 1
    # After the lockout, the next failure is a new lockout event.
    refused(db, throttle, ALICE, None, T0 + 100 * S)
    fail(1, ALICE, None, T0 + 131 * S)
    entries = lockouts(db, ledger)
    assert len(entries) == 2
    assert entries[1]["failures"] == 9
    assert entries[1]["locked_until"] == (T0 + 131 * S + 240 * S).isoformat()


def test_a_failure_that_locks_both_keys_writes_two_entries(
    db: Database, ledger: Ledger, fail: Fail
) -> None:
    fail(6, ALICE, HOME)
    assert [(e["key_kind"], e["key"]) for e in lockouts(db, ledger)] == [
        ("account", ALICE),
        ("client", HOME),
    ]
    with db.read() as session:
        assert ledger.count(session) == 2  # nothing else is written


def test_unknown_usernames_are_throttled_and_named_as_typed(
    db: Database, ledger: Ledger, throttle: LoginThrottle, fail: Fail
) -> None:
    fail(6, "No-Such-User", None)
    refused(db, throttle, "no-such-user", None, T0 + 6 * S)
    assert [e["key"] for e in lockouts(db, ledger)] == ["no-such-user"]


def test_empty_keys_are_not_throttled(
    db: Database, ledger: Ledger, throttle: LoginThrottle, fail: Fail
) -> None:
    fail(10, "  ", None)
    fail(10, "", "")
    check(db, throttle, "", None, T0 + 10 * S)
    assert stored(db) == 0
    assert lockouts(db, ledger) == []


def test_a_rolled_back_failure_leaves_nothing(
    db: Database, ledger: Ledger, throttle: LoginThrottle, fail: Fail
) -> None:
    fail(5, ALICE, None)
    with pytest.raises(RuntimeError), db.transaction() as session:
        throttle.record_failure(session, ALICE, None, T0 + 5 * S)
        raise RuntimeError("the login transaction failed")
    check(db, throttle, ALICE, None, T0 + 5 * S)
    assert lockouts(db, ledger) == []


def _add_old_rows(db: Database, n: int, at: dt.datetime) -> None:
    rows = [
        {"key_kind": "client", "key": f"203.0.113.{i % 250}", "failed_at": at} for i in range(n)
    ]
    with db.transaction() as session:
        session.execute(insert(LoginFailure), rows)


def test_failures_prune_expired_rows_a_batch_at_a_time(
    db: Database, throttle: LoginThrottle, fail: Fail
) -> None:
    window = throttle.policy.window
    _add_old_rows(db, PRUNE_BATCH + 5, T0 - window)  # exactly at the edge: expired
    fail(3, ALICE, None)  # recent rows are not pruned
    assert stored(db) == 3
    later = T0 + window + 10 * S
    fail(1, BOB, None, later)  # now alice's three are expired too
    assert stored(db) == 1


def test_pruning_is_bounded(db: Database, throttle: LoginThrottle, fail: Fail) -> None:
    _add_old_rows(db, 2 * PRUNE_BATCH + 1, T0 - dt.timedelta(days=30))
    fail(1, ALICE, None)
    assert stored(db) == PRUNE_BATCH + 1 + 1
    fail(1, ALICE, None, T0 + S)
    assert stored(db) == 1 + 2
    fail(1, ALICE, None, T0 + 2 * S)
    assert stored(db) == 3
