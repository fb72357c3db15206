"""The ledger log: appending entries, signing checkpoints, answering proofs and queries.

Every write happens in the caller's session and transaction: statements are executed (flushed)
but never committed, so an entry and the state change it records commit together or not at all.
Appenders take turns on the single ``ledger_state`` row: its UPDATE is the first ledger
statement of an append, which takes the row lock on PostgreSQL and the write lock on SQLite
before anything is read.

The key that signs checkpoints is the one the log itself names: the key announced by the
newest ``ledger.key_rotate`` entry (:mod:`faceledger.ledger.rotation`), or the ledger's first
key if it was never rotated. It is looked up under that lock each time a checkpoint is signed,
so a process that did not rotate the key itself picks the new one up (from its key loader)
instead of signing with a retired key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Select, Table, func, insert, select, update
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import ConfigError, InvalidInput, LedgerError, NotFound
from faceledger.ledger.bundle import make_inclusion_bundle
from faceledger.ledger.canonical import parse_json
from faceledger.ledger.checkpoint import Checkpoint, sign_checkpoint, validate_log_id
from faceledger.ledger.commitments import check_new_reveals
from faceledger.ledger.envelope import EntryDraft, LedgerEntry
from faceledger.ledger.export import read_state, write_export
from faceledger.ledger.keys import default_log_id, key_id
from faceledger.ledger.merkle import CompactRange, fold_subtrees, perfect_subtrees
from faceledger.ledger.models import CheckpointRow, EntryRow, NodeRow, StateRow
from faceledger.ledger.proofs import (
    ConsistencyProof,
    InclusionProof,
    NodeReader,
    build_consistency_proof,
    build_inclusion_proof,
)
from faceledger.ledger.records import EntryRecord, ExportHeader
from faceledger.ledger.rotation import (
    KEY_OBJECT_TYPE,
    KEY_ROTATE_ACTION,
    raw_key_b64,
    rotation_public,
)
from faceledger.ledger.tables import read_nodes

__all__ = ["MAX_QUERY_LIMIT", "Ledger"]

MAX_QUERY_LIMIT = 10_000

_ENTRIES = cast(Table, EntryRow.__table__)
_NODES = cast(Table, NodeRow.__table__)
_CHECKPOINTS = cast(Table, CheckpointRow.__table__)
_STATE = cast(Table, StateRow.__table__)

# Statements built once: values go in as parameters, so SQLAlchemy reuses the compiled SQL on
# every append instead of rebuilding it (most of an append's cost otherwise).
_STATE_COLUMNS = (
    _STATE.c.tree_size,
    _STATE.c.frontier,
    _STATE.c.checkpoint_count,
    _STATE.c.last_checkpoint_size,
    _STATE.c.last_checkpoint_at,
)
# A no-op UPDATE first: it serialises appenders before they read the state.
_LOCK_STATE = update(_STATE).where(_STATE.c.id == 1).values(tree_size=_STATE.c.tree_size)
_LOCK_AND_READ_STATE = _LOCK_STATE.returning(*_STATE_COLUMNS)
_READ_STATE = select(*_STATE_COLUMNS).where(_STATE.c.id == 1)
_UPDATE_STATE = update(_STATE).where(_STATE.c.id == 1)  # SET from the parameters given
_INSERT_ENTRY = insert(_ENTRIES)
_INSERT_NODES = insert(_NODES)
_INSERT_CHECKPOINT = insert(_CHECKPOINTS)
# The key id the newest rotation announced (the ``action`` column is indexed).
_ROTATED_KEY_ID = (
    select(_ENTRIES.c.object_id)
    .where(_ENTRIES.c.action == KEY_ROTATE_ACTION)
    .order_by(_ENTRIES.c.seq.desc())
    .limit(1)
)
_FIRST_LOG_ID = select(_CHECKPOINTS.c.log_id).order_by(_CHECKPOINTS.c.number).limit(1)


@dataclass(frozen=True)
class _State:
    tree_size: int
    frontier: bytes
    checkpoint_count: int
    last_checkpoint_size: int | None
    last_checkpoint_at: dt.datetime | None


class Ledger:
    """The tamper-evident log of every state change, stored in the application database.

    ``signing_key`` signs checkpoints; without one the ledger still appends and answers proofs
    but :meth:`checkpoint` raises and no checkpoint is made automatically. After an append, a
    checkpoint is signed in the same transaction when ``checkpoint_every_entries`` entries have
    been added since the last one, or the last one is ``checkpoint_every_minutes`` old (or there
    is none yet); 0 disables either rule. An empty ``log_id`` means :func:`default_log_id` of the
    key: once the key was rotated, pass the log's id instead (see :meth:`stored_log_id`), since
    it never changes.

    With ``pseudonym_key`` (32 bytes) new entries are envelope version 3, naming their actor and
    object by pseudonym (see :mod:`faceledger.ledger.envelope`); without it, versions 1 and 2.
    ``key_loader`` returns the private keys this process can get at now (the data directory's
    key in force and a staged one): it is asked when the log names a signing key the ledger does
    not hold, because another process rotated it.
    """

    def __init__(
        self,
        signing_key: Ed25519PrivateKey | None,
        log_id: str,
        checkpoint_every_entries: int = 1000,
        checkpoint_every_minutes: int = 60,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        pseudonym_key: bytes | None = None,
        key_loader: Callable[[], Iterable[Ed25519PrivateKey]] | None = None,
    ) -> None:
        if not log_id and signing_key is not None:
            log_id = default_log_id(signing_key)
        self.log_id = validate_log_id(log_id)
        if checkpoint_every_entries < 0 or checkpoint_every_minutes < 0:
            raise ConfigError("Checkpoint intervals must be 0 (never) or positive.")
        if pseudonym_key is not None and len(pseudonym_key) != 32:
            raise ConfigError("The ledger pseudonym key must be 32 bytes.")
        # The key given signs while the log names no rotation; every key met since is kept by
        # id, so a rotation rolled back leaves the log's own choice in force.
        self._first_key = signing_key
        self._key = signing_key
        self._keys: dict[str, Ed25519PrivateKey] = {}
        if signing_key is not None:
            self._keys[key_id(signing_key)] = signing_key
        self._key_loader = key_loader
        self._pseudonym_key = pseudonym_key
        self.checkpoint_every_entries = checkpoint_every_entries
        self.checkpoint_every_minutes = checkpoint_every_minutes
        self._clock = clock

    @property
    def public_key(self) -> Ed25519PublicKey | None:
        """The public half of the key this ledger signed its latest checkpoint with (at first
        the key it was given; None without a signing key)."""
        return None if self._key is None else self._key.public_key()

    @property
    def pseudonymous(self) -> bool:
        """Whether new entries are envelope version 3 (the ledger has a pseudonym key)."""
        return self._pseudonym_key is not None

    # -- writing ---------------------------------------------------------------------------

    def append(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        payload: Mapping[str, Any],
        public: Mapping[str, Any] | None = None,
    ) -> LedgerEntry:
        """Append one entry in the session's transaction (flushed, not committed) and return it.

        ``public`` holds the entry's public fields: a small JSON object of non-personal facts
        (for transparency reports) committed in the envelope, so every export carries it, the
        payload-less public export included (see :mod:`faceledger.ledger.envelope`). None or an
        empty mapping means none.

        Raises:
            LedgerError: for an invalid field, payload or public fields (a float, an unsupported
                type: see :mod:`faceledger.ledger.canonical`; public fields that are not a
                mapping or are over 2,000 bytes), malformed ``commitments`` or a reveal that
                does not open its commitment (see :mod:`faceledger.ledger.commitments`; details
                carry the verifier's ``reason``), or a ledger whose state row is missing.
        """
        # Check everything before taking the lock, so bad input never makes others wait.
        draft = EntryDraft.new(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            public=public,
            pseudonym_key=self._pseudonym_key,
        )
        # Entries never change, so earlier ones can be read before the lock. A bad reveal would
        # make the log fail verification for good.
        check_new_reveals(draft.payload_bytes, lambda seq: _stored_payload(session, seq))
        state = self._lock(session)
        now = self._clock()
        entry = draft.at(state.tree_size, now)
        tree = CompactRange.from_bytes(state.tree_size, state.frontier)
        completed = tree.append(bytes.fromhex(entry.leaf_hash))
        session.execute(
            _INSERT_ENTRY,
            {
                "seq": entry.seq,
                "ts": entry.ts,
                "actor": entry.actor,
                "action": entry.action,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "payload": draft.payload_bytes.decode("utf-8"),
                "payload_sha256": entry.payload_sha256,
                "leaf_hash": entry.leaf_hash,
                "public": None if draft.public_bytes is None else draft.public_bytes.decode(),
                "salt": entry.salt,
                "actor_ref": entry.actor_ref,
                "object_ref": entry.object_ref,
            },
        )
        if completed:
            session.execute(
                _INSERT_NODES, [{"level": lv, "idx": i, "hash": h} for lv, i, h in completed]
            )
        changes: dict[str, Any] = {"tree_size": tree.size, "frontier": tree.to_bytes()}
        if self._due(state, tree.size, now):
            key = self._key_in_force(session)
            # None: the log names a key this process cannot get at; the automatic checkpoint
            # waits (rather than failing every write) and an explicit one says why.
            if key is not None:
                changes.update(self._sign(session, state, tree, now, key)[1])
        session.execute(_UPDATE_STATE, changes)
        return entry

    def rotate_key(
        self, session: Session, new_key: Ed25519PrivateKey, *, actor: str
    ) -> tuple[LedgerEntry, Checkpoint]:
        """Announce ``new_key`` in the log and sign a checkpoint covering it with that key.

        Both happen in the session's transaction (flushed, not committed); from then on this
        ledger signs every checkpoint with ``new_key`` (see :mod:`faceledger.ledger.rotation`
        for the entry and its checks). If the transaction is rolled back, the key the log names
        stays in force. The log id does not change. The caller keeps ``new_key`` safe before
        committing: the log will need it for every later checkpoint.

        Returns the rotation entry and the checkpoint.

        Raises:
            LedgerError: if this ledger has no signing key, does not hold the key the log names
                (rotated elsewhere), or ``new_key`` is already that key.
        """
        if self._key is None:
            raise LedgerError("This ledger has no signing key, so it cannot rotate one.")
        self._lock(session)  # one rotation at a time, and no checkpoint signed meanwhile
        old_key = self._require_key_in_force(session)
        new_id, old_id = key_id(new_key), key_id(old_key)
        if new_id == old_id:
            raise LedgerError(f"Key {new_id} already signs this ledger; rotate to a new key.")
        self._keys[new_id] = new_key
        entry = self.append(
            session,
            actor=actor,
            action=KEY_ROTATE_ACTION,
            object_type=KEY_OBJECT_TYPE,
            object_id=new_id,
            payload={"old_key_id": old_id, "new_key_id": new_id, "new_key": raw_key_b64(new_key)},
            public=rotation_public(old_key, new_key, self.log_id),
        )
        # The append may have signed one already (a checkpoint was due), with the new key.
        latest = self.latest_checkpoint(session)
        if latest is not None and latest.tree_size == entry.seq + 1:
            return entry, latest
        return entry, self._checkpoint(session, self._lock(session), self._clock(), new_key)

    def signing_key_id(self, session: Session) -> str | None:
        """Return the id of the key that signs the log's checkpoints now: the one its newest
        rotation announced, else this ledger's first key (None without a key)."""
        rotated = self.announced_key_id(session)
        if rotated is not None:
            return rotated
        return None if self._first_key is None else key_id(self._first_key)

    @staticmethod
    def announced_key_id(session: Session) -> str | None:
        """Return the key id the newest key rotation announced, or None if there was none."""
        found = session.execute(_ROTATED_KEY_ID).scalar_one_or_none()
        return None if found is None else str(found)

    @staticmethod
    def stored_log_id(session: Session) -> str | None:
        """Return the log id of the first stored checkpoint, or None if none was signed yet."""
        found = session.execute(_FIRST_LOG_ID).scalar_one_or_none()
        return None if found is None else str(found)

    def checkpoint(self, session: Session) -> Checkpoint:
        """Sign the current tree head now, in the session's transaction, and return it.

        Raises:
            LedgerError: if the ledger has no signing key.
        """
        if self._key is None:
            raise LedgerError("This ledger has no signing key, so it cannot sign checkpoints.")
        state = self._lock(session)
        return self._checkpoint(session, state, self._clock(), self._require_key_in_force(session))

    def checkpoint_if_due(self, session: Session) -> Checkpoint | None:
        """Sign a checkpoint if the entry or time rule calls for one (for a periodic job).

        Returns the new checkpoint, or None if none was due (or there is no signing key).
        """
        if self._key is None:
            return None
        state, now = self._lock(session), self._clock()
        if not self._due(state, state.tree_size, now):
            return None
        return self._checkpoint(session, state, now, self._require_key_in_force(session))

    def _checkpoint(
        self, session: Session, state: _State, now: dt.datetime, key: Ed25519PrivateKey
    ) -> Checkpoint:
        tree = CompactRange.from_bytes(state.tree_size, state.frontier)
        cp, changes = self._sign(session, state, tree, now, key)
        session.execute(_UPDATE_STATE, changes)
        return cp

    def _key_in_force(self, session: Session) -> Ed25519PrivateKey | None:
        """Return the private key the log names for its checkpoints now, if this process holds
        or can load it (call under the state lock)."""
        rotated = self.announced_key_id(session)
        if rotated is None:
            key = self._first_key
        else:
            key = self._keys.get(rotated)
            if key is None and self._key_loader is not None:
                for loaded in self._key_loader():
                    self._keys[key_id(loaded)] = loaded
                key = self._keys.get(rotated)
        if key is not None:
            self._key = key
        return key

    def _require_key_in_force(self, session: Session) -> Ed25519PrivateKey:
        key = self._key_in_force(session)
        if key is None:
            wanted = self.announced_key_id(session)
            raise LedgerError(
                f"The ledger's checkpoints must now be signed with key {wanted}, announced by "
                "its latest key rotation, and this process does not hold that key. Restart "
                "faceledger so that it loads the data directory's key in force.",
                key_id=wanted,
            )
        return key

    def _lock(self, session: Session) -> _State:
        if session.get_bind().dialect.update_returning:
            row = session.execute(_LOCK_AND_READ_STATE).one_or_none()
        else:
            session.execute(_LOCK_STATE)
            row = session.execute(_READ_STATE).one_or_none()
        if row is None:
            raise LedgerError(
                "The ledger state row is missing; the database is not initialised or was damaged."
            )
        return _State(
            int(row.tree_size),
            bytes(row.frontier),
            int(row.checkpoint_count),
            row.last_checkpoint_size,
            row.last_checkpoint_at,
        )

    def _due(self, state: _State, size: int, now: dt.datetime) -> bool:
        if self._key is None:
            return False
        last_size = state.last_checkpoint_size
        if last_size is not None and size == last_size:
            return False  # nothing new to sign
        every = self.checkpoint_every_entries
        if every and size - (last_size or 0) >= every:
            return True
        minutes = self.checkpoint_every_minutes
        if minutes and size > 0:
            last_at = state.last_checkpoint_at
            return last_at is None or now - last_at >= dt.timedelta(minutes=minutes)
        return False

    def _sign(
        self,
        session: Session,
        state: _State,
        tree: CompactRange,
        now: dt.datetime,
        key: Ed25519PrivateKey,
    ) -> tuple[Checkpoint, dict[str, Any]]:
        cp = sign_checkpoint(
            key,
            number=state.checkpoint_count,
            log_id=self.log_id,
            tree_size=tree.size,
            root_hash=tree.root(),
            timestamp=now,
        )
        session.execute(
            _INSERT_CHECKPOINT,
            {
                "number": cp.number,
                "log_id": cp.log_id,
                "tree_size": cp.tree_size,
                "root_hash": cp.root_hash.hex(),
                "ts": cp.timestamp,
                "signature": cp.signature,
            },
        )
        return cp, {
            "checkpoint_count": cp.number + 1,
            "last_checkpoint_size": cp.tree_size,
            "last_checkpoint_at": cp.timestamp,
        }

    # -- reading ---------------------------------------------------------------------------

    def tree_size(self, session: Session) -> int:
        """Return the number of entries."""
        return read_state(session.connection()).tree_size

    def root(self, session: Session, size: int | None = None) -> bytes:
        """Return the Merkle root of the first ``size`` entries (default: all of them).

        Raises:
            InvalidInput: if ``size`` is negative or beyond the tree.
        """
        snapshot = read_state(session.connection())
        if size is None or size == snapshot.tree_size:
            return CompactRange.from_bytes(snapshot.tree_size, snapshot.frontier).root()
        self._check_size(size, snapshot.tree_size, "size")
        ids = perfect_subtrees(0, size)
        found = self._reader(session)(ids)
        return fold_subtrees([found[node] for node in ids])

    def inclusion_proof(
        self, session: Session, seq: int, tree_size: int | None = None
    ) -> InclusionProof:
        """Return the proof that entry ``seq`` is in the tree of ``tree_size`` (default: now).

        Raises:
            InvalidInput: unless 0 <= seq < tree_size <= the current size.
        """
        current = self.tree_size(session)
        size = current if tree_size is None else tree_size
        self._check_size(size, current, "tree_size")
        if not 0 <= seq < size:
            raise InvalidInput(
                f"Entry {seq} is not in a tree of size {size}.", seq=seq, tree_size=size
            )
        return build_inclusion_proof(seq, size, self._reader(session))

    def consistency_proof(
        self, session: Session, old_size: int, new_size: int | None = None
    ) -> ConsistencyProof:
        """Return the proof that the tree of ``old_size`` is a prefix of that of ``new_size``.

        Raises:
            InvalidInput: unless 0 <= old_size <= new_size <= the current size.
        """
        current = self.tree_size(session)
        size = current if new_size is None else new_size
        self._check_size(size, current, "new_size")
        if not 0 <= old_size <= size:
            raise InvalidInput(
                f"No consistency proof from size {old_size} to size {size}.",
                old_size=old_size,
                new_size=size,
            )
        return build_consistency_proof(old_size, size, self._reader(session))

    def entry(self, session: Session, seq: int) -> LedgerEntry:
        """Return entry ``seq``.

        Raises:
            NotFound: if there is no such entry.
        """
        row = session.get(EntryRow, seq)
        if row is None:
            raise NotFound(f"Ledger entry {seq} does not exist.", seq=seq)
        return _to_entry(row)

    def latest_checkpoint(self, session: Session) -> Checkpoint | None:
        """Return the newest checkpoint, or None if none was signed yet."""
        row = session.scalars(
            select(CheckpointRow).order_by(CheckpointRow.number.desc()).limit(1)
        ).first()
        return None if row is None else _to_checkpoint(row)

    def checkpoints(
        self, session: Session, *, limit: int = 100, offset: int = 0
    ) -> list[Checkpoint]:
        """Return checkpoints oldest first, ``limit`` at a time."""
        _check_page(limit, offset)
        rows = session.scalars(
            select(CheckpointRow).order_by(CheckpointRow.number).limit(limit).offset(offset)
        )
        return [_to_checkpoint(row) for row in rows]

    def query(
        self,
        session: Session,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[LedgerEntry]:
        """Return entries matching every given filter, in ``seq`` order.

        ``since`` is inclusive and ``until`` exclusive; both must be timezone-aware.

        Raises:
            InvalidInput: for a naive datetime, a negative offset, or a limit outside
                1..10,000.
        """
        _check_page(limit, offset)
        query = _filtered(
            select(EntryRow).order_by(EntryRow.seq),
            actor,
            action,
            object_type,
            object_id,
            since,
            until,
        )
        rows = session.scalars(query.limit(limit).offset(offset))
        return [_to_entry(row) for row in rows]

    def count(
        self,
        session: Session,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> int:
        """Return how many entries :meth:`query` would find with the same filters.

        Raises:
            InvalidInput: for a naive datetime.
        """
        query = _filtered(
            select(func.count()).select_from(EntryRow),
            actor,
            action,
            object_type,
            object_id,
            since,
            until,
        )
        return int(session.scalar(query) or 0)

    # -- handing out evidence --------------------------------------------------------------

    def inclusion_bundle(
        self,
        session: Session,
        seq: int,
        *,
        checkpoint: Checkpoint | None = None,
        include_payload: bool = True,
    ) -> dict[str, Any]:
        """Return a self-contained inclusion proof of entry ``seq`` (see :mod:`.bundle`).

        It is proven against ``checkpoint`` (default: the latest one).

        Raises:
            NotFound: if the entry does not exist.
            LedgerError: if no checkpoint covers the entry yet (sign one first).
        """
        entry = self.entry(session, seq)
        cp = checkpoint or self.latest_checkpoint(session)
        if cp is None or seq >= cp.tree_size:
            raise LedgerError(
                f"Entry {seq} is not covered by a signed checkpoint yet; sign one first.",
                seq=seq,
            )
        proof = self.inclusion_proof(session, seq, cp.tree_size)
        return make_inclusion_bundle(EntryRecord.from_entry(entry, include_payload), proof, cp)

    def export(self, session: Session, out: TextIO, include_payloads: bool = True) -> ExportHeader:
        """Write the whole ledger to ``out`` as JSON Lines (see :mod:`.records`).

        ``include_payloads=False`` writes a public export: payloads left out, public fields kept,
        everything still verifiable.
        """
        return write_export(session.connection(), out, include_payloads=include_payloads)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _reader(session: Session) -> NodeReader:
        conn = session.connection()
        return lambda ids: read_nodes(conn, ids)

    @staticmethod
    def _check_size(size: int, current: int, name: str) -> None:
        if not 0 <= size <= current:
            raise InvalidInput(
                f"{name} {size} is outside the ledger's 0..{current} entries.",
                **{name: size, "current_size": current},
            )


def _filtered(
    query: Select[Any],
    actor: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Select[Any]:
    """Add the query filters shared by :meth:`Ledger.query` and :meth:`Ledger.count`."""
    for column, value in (
        (EntryRow.actor, actor),
        (EntryRow.action, action),
        (EntryRow.object_type, object_type),
        (EntryRow.object_id, object_id),
    ):
        if value is not None:
            query = query.where(column == value)
    for name, bound in (("since", since), ("until", until)):
        if bound is not None and bound.tzinfo is None:
            raise InvalidInput(f"{name} must be a timezone-aware datetime.", field=name)
    if since is not None:
        query = query.where(EntryRow.ts >= since)
    if until is not None:
        query = query.where(EntryRow.ts < until)
    return query


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_QUERY_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_QUERY_LIMIT}.", limit=limit)
    if offset < 0:
        raise InvalidInput("offset must not be negative.", offset=offset)


def _stored_payload(session: Session, seq: int) -> bytes | None:
    row = session.get(EntryRow, seq)
    if row is None:
        return None
    if row.payload is None:
        raise LedgerError(
            f"A reveal names entry {seq}, whose payload was redacted from the ledger: its "
            "commitment can no longer be opened, so nothing may reveal against it.",
            reason="reveal_commitment_redacted",
            commitment_seq=seq,
            redacted_by=row.redacted_by,
        )
    return row.payload.encode("utf-8")


def _to_entry(row: EntryRow) -> LedgerEntry:
    return LedgerEntry(
        seq=row.seq,
        ts=row.ts,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        # NULL once redacted: the entry stays, with its payload hash.
        payload=None if row.payload is None else cast(Mapping[str, Any], parse_json(row.payload)),
        payload_sha256=row.payload_sha256,
        leaf_hash=row.leaf_hash,
        public=None if row.public is None else cast(Mapping[str, Any], parse_json(row.public)),
        actor_ref=row.actor_ref,
        object_ref=row.object_ref,
        salt=row.salt,
    )


def _to_checkpoint(row: CheckpointRow) -> Checkpoint:
    return Checkpoint(
        number=row.number,
        log_id=row.log_id,
        tree_size=row.tree_size,
        root_hash=bytes.fromhex(row.root_hash),
        timestamp=row.ts,
        signature=row.signature,
    )
