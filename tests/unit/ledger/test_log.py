"""The database-backed log: appends, checkpoints, proofs from stored subtrees, queries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select, text

from faceledger.db import Database
from faceledger.errors import ConfigError, InvalidInput, LedgerError, NotFound, VerificationFailed
from faceledger.gallery.models import Gallery
from faceledger.ledger import (
    Ledger,
    canonical_json,
    verify_consistency,
    verify_inclusion,
    verify_inclusion_bundle,
)
from faceledger.ledger.envelope import envelope_bytes, format_ts
from faceledger.ledger.merkle import leaf_hash
from faceledger.ledger.models import CheckpointRow, EntryRow, NodeRow, StateRow
from faceledger.ledger.proofs import build_inclusion_proof

from .conftest import AppendMany, FakeClock
from .reference import MemoryTree


def _count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_append_returns_the_stored_entry(db: Database, ledger: Ledger, clock: FakeClock) -> None:
    with db.transaction() as session:
        entry = ledger.append(
            session,
            actor="examiner:7",
            action="search.run",
            object_type="probe",
            object_id="abc",
            payload={"threshold_micro": 420000, "galleries": ["booking"]},
        )
    assert entry.seq == 0
    assert entry.ts == clock.now
    payload_bytes = b'{"galleries":["booking"],"threshold_micro":420000}'
    assert entry.payload_sha256 == hashlib.sha256(payload_bytes).hexdigest()
    envelope = envelope_bytes(
        seq=0,
        ts=format_ts(clock.now),
        actor="examiner:7",
        action="search.run",
        object_type="probe",
        object_id="abc",
        payload_sha256=entry.payload_sha256,
    )
    assert envelope == canonical_json(
        {
            "v": 1,
            "seq": 0,
            "ts": "2026-01-02T03:04:05.678901Z",
            "actor": "examiner:7",
            "action": "search.run",
            "object_type": "probe",
            "object_id": "abc",
            "payload_sha256": entry.payload_sha256,
        }
    )
    assert entry.leaf_hash == leaf_hash(envelope).hex()
    with db.read() as session:
        assert ledger.entry(session, 0) == entry
        assert ledger.tree_size(session) == 1
        assert ledger.root(session) == bytes.fromhex(entry.leaf_hash)
        stored = session.get(EntryRow, 0)
        assert stored is not None and stored.payload.encode() == payload_bytes


def test_seq_is_contiguous_across_transactions(append_many: AppendMany) -> None:
    first = append_many(3)
    second = append_many(4, start=3)
    assert [e.seq for e in first + second] == list(range(7))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"payload": {"score": 0.5}}, "Float"),
        ({"payload": {"when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}}, "datetime"),
        ({"payload": ["not", "an", "object"]}, "mapping"),
        ({"actor": ""}, "actor"),
        ({"object_id": "x" * 201}, "object_id"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(
    db: Database, ledger: Ledger, fields: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "actor": "a",
        "action": "b",
        "object_type": "c",
        "object_id": "d",
        "payload": {},
    }
    args.update(fields)
    with pytest.raises(LedgerError, match=message), db.transaction() as session:
        ledger.append(session, **args)  # type: ignore[arg-type]
    with db.read() as session:
        assert ledger.tree_size(session) == 0


def test_append_and_the_callers_change_commit_or_roll_back_together(
    db: Database, ledger: Ledger, append_many: AppendMany
) -> None:
    append_many(5, checkpoint=True)
    with db.read() as session:
        state_before = session.execute(select(StateRow.__table__)).one()
        nodes_before = session.execute(select(NodeRow.__table__).order_by("level", "idx")).all()
        root_before = ledger.root(session)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.transaction() as session:
        session.add(Gallery(name="booking-photos"))
        session.flush()
        entry = ledger.append(
            session,
            actor="admin",
            action="gallery.create",
            object_type="gallery",
            object_id="booking-photos",
            payload={"name": "booking-photos"},
        )
        assert entry.seq == 5  # it really was written inside the transaction
        raise Boom

    assert _count(db, Gallery) == 0
    assert _count(db, EntryRow) == 5
    with db.read() as session:
        assert session.execute(select(StateRow.__table__)).one() == state_before
        assert (
            session.execute(select(NodeRow.__table__).order_by("level", "idx")).all()
            == nodes_before
        )
        assert ledger.root(session) == root_before

    # And with no error both land.
    with db.transaction() as session:
        session.add(Gallery(name="booking-photos"))
        ledger.append(
            session,
            actor="admin",
            action="gallery.create",
            object_type="gallery",
            object_id="booking-photos",
            payload={"name": "booking-photos"},
        )
    assert _count(db, Gallery) == 1
    assert _count(db, EntryRow) == 6


def test_an_automatic_checkpoint_rolls_back_with_its_entries(
    db: Database, signing_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    ledger = Ledger(signing_key, "test-log", 2, 0, clock=clock)
    with pytest.raises(RuntimeError), db.transaction() as session:
        for i in range(3):
            ledger.append(
                session, actor="a", action="b", object_type="c", object_id=str(i), payload={}
            )
        raise RuntimeError
    assert _count(db, CheckpointRow) == 0


def test_stored_subtrees_give_the_same_roots_and_proofs_as_memory(
    db: Database, ledger: Ledger, append_many: AppendMany
) -> None:
    entries = append_many(70)
    tree = MemoryTree([bytes.fromhex(e.leaf_hash) for e in entries])
    sizes = [1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 32, 33, 64, 69, 70]
    with db.read() as session:
        for size in range(71):
            assert ledger.root(session, size) == tree.root(size), size
        for size in sizes:
            for seq in range(size):
                proof = ledger.inclusion_proof(session, seq, size)
                assert proof.hashes == tuple(tree_proof(tree, seq, size))
                verify_inclusion(seq, size, tree.leaves[seq], proof.hashes, tree.root(size))
            for old in range(size + 1):
                proof = ledger.consistency_proof(session, old, size)
                verify_consistency(old, size, proof.hashes, tree.root(old), tree.root(size))
        assert ledger.inclusion_proof(session, 3).tree_size == 70
        assert ledger.consistency_proof(session, 3).new_size == 70
    # One stored node per interior complete subtree, none for leaves (those are entry rows).
    assert _count(db, NodeRow) == sum(70 >> level for level in range(1, 7))


def tree_proof(tree: MemoryTree, seq: int, size: int) -> list[bytes]:
    return list(build_inclusion_proof(seq, size, tree.read).hashes)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("root", (11,)),
        ("root", (-1,)),
        ("inclusion_proof", (10,)),
        ("inclusion_proof", (3, 3)),
        ("inclusion_proof", (0, 11)),
        ("consistency_proof", (5, 4)),
        ("consistency_proof", (1, 11)),
        ("consistency_proof", (-1, 5)),
    ],
)
def test_proof_requests_outside_the_tree(
    db: Database, ledger: Ledger, append_many: AppendMany, call: str, args: tuple[int, ...]
) -> None:
    append_many(10)
    with db.read() as session, pytest.raises(InvalidInput):
        getattr(ledger, call)(session, *args)


def test_checkpoint_on_demand(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, append_many: AppendMany
) -> None:
    with db.transaction() as session:
        empty = ledger.checkpoint(session)
    assert (empty.number, empty.tree_size) == (0, 0)
    append_many(5)
    with db.transaction() as session:
        cp = ledger.checkpoint(session)
        again = ledger.checkpoint(session)
    assert (cp.number, cp.tree_size, again.number) == (1, 5, 2)
    with db.read() as session:
        assert cp.root_hash == ledger.root(session)
        assert ledger.latest_checkpoint(session) == again
        assert ledger.checkpoints(session) == [empty, cp, again]
        assert ledger.checkpoints(session, limit=1, offset=1) == [cp]
    cp.verify_signature(public_key)
    assert cp.log_id == "test-log"


def test_checkpoint_every_n_entries(
    db: Database, signing_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    ledger = Ledger(
        signing_key, "test-log", checkpoint_every_entries=4, checkpoint_every_minutes=0, clock=clock
    )
    for i in range(10):  # one transaction per append, as the service does
        with db.transaction() as session:
            ledger.append(
                session, actor="a", action="b", object_type="c", object_id=str(i), payload={}
            )
    with db.read() as session:
        assert [cp.tree_size for cp in ledger.checkpoints(session)] == [4, 8]


def test_checkpoint_every_t_minutes(
    db: Database, signing_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    ledger = Ledger(
        signing_key,
        "test-log",
        checkpoint_every_entries=0,
        checkpoint_every_minutes=10,
        clock=clock,
    )

    def append() -> None:
        with db.transaction() as session:
            ledger.append(
                session, actor="a", action="b", object_type="c", object_id="d", payload={}
            )

    append()  # the first entry is signed at once: a log is never long without a signed head
    clock.advance(minutes=5)
    append()
    clock.advance(minutes=4)
    append()
    clock.advance(minutes=1)
    append()
    with db.read() as session:
        assert [cp.tree_size for cp in ledger.checkpoints(session)] == [1, 4]
    # A quiet log gets its due checkpoint from a periodic job, and only when something is new.
    clock.advance(minutes=30)
    with db.transaction() as session:
        assert ledger.checkpoint_if_due(session) is None
    append()  # 30 minutes since the last checkpoint: this append signs size 5 itself
    append()  # ...and this one is not due
    clock.advance(minutes=10)
    with db.transaction() as session:
        due = ledger.checkpoint_if_due(session)
    assert due is not None and due.tree_size == 6
    with db.read() as session:
        assert [cp.tree_size for cp in ledger.checkpoints(session)] == [1, 4, 5, 6]


def test_without_a_signing_key(db: Database) -> None:
    with pytest.raises(LedgerError, match="log id"):
        Ledger(None, "")
    ledger = Ledger(None, "reader", checkpoint_every_entries=1, checkpoint_every_minutes=1)
    assert ledger.public_key is None
    with db.transaction() as session:
        ledger.append(session, actor="a", action="b", object_type="c", object_id="d", payload={})
        assert ledger.checkpoint_if_due(session) is None
        with pytest.raises(LedgerError, match="no signing key"):
            ledger.checkpoint(session)
    assert _count(db, CheckpointRow) == 0


def test_settings_validation(signing_key: Ed25519PrivateKey) -> None:
    with pytest.raises(ConfigError):
        Ledger(signing_key, "x", checkpoint_every_entries=-1)
    assert Ledger(signing_key, "").log_id.startswith("faceledger/")


def test_query_filters(db: Database, ledger: Ledger, append_many: AppendMany) -> None:
    entries = append_many(12)
    with db.read() as session:
        assert ledger.query(session) == entries
        assert [e.seq for e in ledger.query(session, actor="user1")] == [1, 4, 7, 10]
        assert [e.seq for e in ledger.query(session, action="search.run", actor="user0")] == [3, 9]
        assert [e.seq for e in ledger.query(session, object_type="gallery", limit=2)] == [0, 2]
        assert [e.seq for e in ledger.query(session, object_type="gallery", offset=5)] == [10]
        assert [e.seq for e in ledger.query(session, object_id="obj-7")] == [7]
        since, until = entries[3].ts, entries[6].ts
        assert [e.seq for e in ledger.query(session, since=since, until=until)] == [3, 4, 5]
        assert ledger.query(session, actor="nobody") == []
        with pytest.raises(InvalidInput):
            ledger.query(session, since=dt.datetime(2026, 1, 1))
        with pytest.raises(InvalidInput):
            ledger.query(session, limit=0)
        with pytest.raises(InvalidInput):
            ledger.query(session, offset=-1)
        with pytest.raises(NotFound):
            ledger.entry(session, 12)


def test_count_matches_query(db: Database, ledger: Ledger, append_many: AppendMany) -> None:
    entries = append_many(12)
    since, until = entries[3].ts, entries[6].ts
    with db.read() as session:
        assert ledger.count(session) == 12
        for filters in (
            {"actor": "user1"},
            {"action": "search.run", "actor": "user0"},
            {"object_type": "gallery"},
            {"since": since, "until": until},
            {"actor": "nobody"},
        ):
            assert ledger.count(session, **filters) == len(ledger.query(session, **filters))
        with pytest.raises(InvalidInput):
            ledger.count(session, until=dt.datetime(2026, 1, 1))


def test_concurrent_appenders_take_turns(db_url: str, db: Database, ledger: Ledger) -> None:
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        database = Database(db_url)
        try:
            for i in range(15):
                with database.transaction() as session:
                    ledger.append(
                        session,
                        actor=name,
                        action="t",
                        object_type="o",
                        object_id=str(i),
                        payload={},
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as session:
        entries = ledger.query(session, limit=100)
        assert [e.seq for e in entries] == list(range(45))
        tree = MemoryTree([bytes.fromhex(e.leaf_hash) for e in entries])
        assert ledger.root(session) == tree.root(45)


def test_inclusion_bundle_verifies_standalone(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, append_many: AppendMany
) -> None:
    append_many(9)
    with db.read() as session, pytest.raises(LedgerError, match="not covered"):
        ledger.inclusion_bundle(session, 2)
    with db.transaction() as session:
        ledger.checkpoint(session)
    append_many(3, start=9)
    with db.read() as session:
        bundle = ledger.inclusion_bundle(session, 4)
        public = ledger.inclusion_bundle(session, 4, include_payload=False)
        with pytest.raises(LedgerError, match="not covered"):
            ledger.inclusion_bundle(session, 10)
    text = json.dumps(bundle)
    verify_inclusion_bundle(text, public_key)
    verify_inclusion_bundle(public, public_key)
    assert "payload" not in public["entry"]
    assert bundle["proof"]["tree_size"] == bundle["checkpoint"]["tree_size"] == 9

    def damaged(path: list[str], value: object) -> dict[str, object]:
        copy = json.loads(text)
        target = copy
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return copy

    other_key = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(VerificationFailed, match="not signed"):
        verify_inclusion_bundle(bundle, other_key)
    cases = {
        "payload_hash_mismatch": damaged(["entry", "payload", "n"], 5),
        "leaf_hash_mismatch": damaged(["entry", "actor"], "mallory"),
        "proof_mismatch": damaged(["proof", "leaf_index"], 5),
        "root_mismatch": damaged(["proof", "hashes", 0], "00" * 32),
        "bad_signature": damaged(["checkpoint", "tree_size"], 12),
        "malformed": damaged(["format"], "something-else"),
    }
    for reason, case in cases.items():
        with pytest.raises(VerificationFailed) as info:
            verify_inclusion_bundle(case, public_key)
        assert info.value.details["reason"] == reason


def test_missing_state_row_is_reported(db: Database, ledger: Ledger) -> None:
    with db.transaction() as session:
        session.execute(text("DELETE FROM ledger_state"))
    with pytest.raises(LedgerError, match="state row is missing"), db.transaction() as session:
        ledger.append(session, actor="a", action="b", object_type="c", object_id="d", payload={})
