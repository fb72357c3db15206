"""The data keys in the database (wrapped under the KEK), and the mechanics of rotating them.

Rotation by re-encryption (:func:`reseal_column`) re-seals one sealed column in batches, each
batch its own transaction, with the data key the sealer uses now; values already under that key
are skipped, so a rotation that stopped half-way is resumed by running it again. Until the end
every older key stays in ``data_keys`` unretired, so every value opens at every moment; only
then does the caller retire them (:func:`retire_others`).

Re-wrapping (:func:`rewrap_keys`) keeps the data keys and wraps each under a new KEK, in one
transaction. A KEK file re-wrapped in place waits as ``<file>.next`` until the transaction is
committed, and is then moved over the file; :func:`open_sealer` finishes that move if the
process stopped between the two.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, Table, Text, bindparam, cast, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import type_coerce

from faceledger.at_rest.kek import Kek, LocalKek, load_kek_file, staged_kek_path
from faceledger.at_rest.models import DataKeyRow
from faceledger.at_rest.sealing import (
    DATA_KEY_BYTES,
    MAGIC,
    TEXT_PREFIX,
    SealedColumn,
    Sealer,
    envelope_key_id,
)
from faceledger.db import Base, Database, utcnow
from faceledger.errors import ConfigError
from faceledger.ledger.keys import sync_directory

__all__ = [
    "ColumnTally",
    "Progress",
    "add_data_key",
    "key_id_of_raw",
    "open_sealer",
    "raw_values",
    "reseal_column",
    "retire_others",
    "rewrap_keys",
    "unwrap_all",
]

Progress = Callable[[str, int, int], None]
"""Told ``(what, done, total)`` after each batch (the CLI prints them)."""
BATCH = 200


def _quiet(_what: str, _done: int, _total: int) -> None:
    pass


def add_data_key(session: Session, kek: Kek) -> int:
    """Make a new random data key, store it wrapped under ``kek`` and return its id."""
    row = DataKeyRow(
        wrapped_key=kek.wrap(os.urandom(DATA_KEY_BYTES)),
        kek_fingerprint=kek.fingerprint,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row.id


def unwrap_all(session: Session, kek: Kek) -> tuple[dict[int, bytes], int]:
    """Return every data key unwrapped, by id, and the id new values use (the newest one not
    retired).

    Raises:
        ConfigError: if there is none, or ``kek`` does not unwrap one (naming the KEK's source,
            both fingerprints and the fix).
    """
    rows = session.scalars(select(DataKeyRow).order_by(DataKeyRow.id)).all()
    if not rows:
        raise ConfigError("The database has no data keys; run `faceledger init`.")
    keys: dict[int, bytes] = {}
    for row in rows:
        try:
            if isinstance(kek, LocalKek) and row.kek_fingerprint != kek.fingerprint:
                raise ConfigError("fingerprints differ")
            key = kek.unwrap(row.wrapped_key)
        except ConfigError as exc:
            raise ConfigError(
                f"The key-encryption key from {kek.source} (fingerprint {kek.fingerprint}) "
                f"cannot unwrap data key {row.id}, which was wrapped under the KEK with "
                f"fingerprint {row.kek_fingerprint}. Give faceledger that KEK (data_kek_file, "
                "FACELEDGER_DATA_KEK or data_kek_command); nothing sealed opens without it."
                + ("" if isinstance(kek, LocalKek) else f" The hook said: {exc.message}"),
                source=kek.source,
                expected=row.kek_fingerprint,
                actual=kek.fingerprint,
                reason=exc.message,
            ) from None
        if len(key) != DATA_KEY_BYTES:
            raise ConfigError(f"Data key {row.id} unwrapped to {len(key)} bytes, not 32.")
        keys[row.id] = key
    live = [row.id for row in rows if row.retired_at is None]
    return keys, max(live) if live else rows[-1].id


def open_sealer(db: Database, kek: Kek, kek_file: Path | None = None) -> Sealer:
    """Return the sealer of ``db``'s data keys, making the first data key if there is none.

    ``kek_file`` is the KEK file ``kek`` came from, if it did: a re-wrap interrupted after its
    commit left the new KEK as ``<file>.next``, which is then moved in here.

    Raises:
        ConfigError: as :func:`unwrap_all`.
    """
    with db.read() as session:
        count = session.scalar(select(func.count()).select_from(DataKeyRow))
    if not count:
        with db.transaction() as session:
            if not session.scalar(select(func.count()).select_from(DataKeyRow)):
                add_data_key(session, kek)

    def reload() -> tuple[dict[int, bytes], int]:
        with db.read() as session:
            return unwrap_all(session, kek)

    try:
        keys, current = reload()
    except ConfigError:
        if kek_file is None or not staged_kek_path(kek_file).is_file():
            raise
        staged = staged_kek_path(kek_file)
        kek = load_kek_file(staged)  # reload() reads this name: it opens with the new KEK
        keys, current = reload()  # it does: the re-wrap was committed, finish its move
        os.replace(staged, kek_file)
        sync_directory(kek_file.parent)
    return Sealer(keys, current, reload)


def _table(column: SealedColumn) -> Table:
    table = Base.metadata.tables[column.table]
    assert isinstance(table, Table)
    return table


def raw_values(column: SealedColumn) -> Any:
    """The column as stored (sealed or legacy plaintext), bypassing its sealed type."""
    col = _table(column).c[column.column]
    if column.kind == "bytes":
        return type_coerce(col, LargeBinary)
    if column.kind == "text":
        return type_coerce(col, Text)
    return cast(col, Text)  # a JSON document's text (PostgreSQL would parse it otherwise)


def key_id_of_raw(raw: Any) -> int | None:
    """The data key id a stored value is sealed with, or None if it is legacy plaintext.

    Raises:
        ConfigError: never; a damaged sealed header reads as key id -1.
    """
    if isinstance(raw, bytes | memoryview):
        data = bytes(raw)
        return envelope_key_id(data) if data.startswith(MAGIC) else None
    if not isinstance(raw, str):
        return None
    text = raw[1:] if raw.startswith('"') else raw
    if not text.startswith(TEXT_PREFIX):
        return None
    head = text[len(TEXT_PREFIX) : len(TEXT_PREFIX) + 16]  # 12 bytes: magic and key id
    try:
        decoded = base64.b64decode(head, validate=True)
    except (binascii.Error, ValueError):
        return -1
    return envelope_key_id(decoded) if decoded.startswith(MAGIC) else -1


@dataclass(frozen=True)
class ColumnTally:
    """What a re-seal did to one column: values re-sealed, already under the key, in all."""

    column: str
    resealed: int
    kept: int
    total: int


def reseal_column(
    db: Database, column: SealedColumn, progress: Progress = _quiet, batch: int = BATCH
) -> ColumnTally:
    """Re-seal every value of ``column`` not yet under the sealer's current key (legacy
    plaintext values included), ``batch`` rows per transaction.

    Raises:
        SealingError: if a value does not open (altered or damaged); the batches before it are
            committed, and every value still opens under the key it names.
    """
    sealer = db.sealer
    if sealer is None:
        raise ConfigError("Re-sealing needs the database's data keys attached.")
    table = _table(column)
    pk, col = table.c[column.primary_key], table.c[column.column]
    with db.read() as session:
        total = int(
            session.scalar(select(func.count()).select_from(table).where(col.is_not(None))) or 0
        )
    done = resealed = 0
    last: Any = None
    write = (
        update(table)
        .where(pk == bindparam("_pk"))
        .values({column.column: bindparam("_value", type_=col.type)})
    )
    progress(column.name, 0, total)
    while True:
        with db.transaction() as session:
            query = select(pk, raw_values(column).label("raw")).where(col.is_not(None))
            if last is not None:
                query = query.where(pk > last)
            found = session.execute(query.order_by(pk).limit(batch)).all()
            if not found:
                break
            stale = [row[0] for row in found if key_id_of_raw(row[1]) != sealer.current_key_id]
            if stale:
                values = session.execute(select(pk, col).where(pk.in_(stale))).all()
                session.execute(write, [{"_pk": key, "_value": value} for key, value in values])
            last = found[-1][0]
        done += len(found)
        resealed += len(stale)
        progress(column.name, done, total)
    return ColumnTally(column.name, resealed, done - resealed, done)


def retire_others(session: Session, key_id: int) -> list[int]:
    """Mark every data key but ``key_id`` retired (the end of a rotation); return their ids."""
    ids = list(
        session.scalars(
            select(DataKeyRow.id).where(DataKeyRow.id != key_id, DataKeyRow.retired_at.is_(None))
        )
    )
    if ids:
        session.execute(
            update(DataKeyRow).where(DataKeyRow.id.in_(ids)).values(retired_at=utcnow())
        )
    return ids


def rewrap_keys(session: Session, old: Kek, new: Kek, progress: Progress = _quiet) -> list[int]:
    """Wrap every data key (retired ones too) under ``new`` instead of ``old``; return the ids.

    Raises:
        ConfigError: if ``old`` does not unwrap one of them (nothing is changed then).
    """
    keys, _ = unwrap_all(session, old)
    for n, (key_id, key) in enumerate(sorted(keys.items()), start=1):
        session.execute(
            update(DataKeyRow)
            .where(DataKeyRow.id == key_id)
            .values(wrapped_key=new.wrap(key), kek_fingerprint=new.fingerprint)
        )
        progress("data keys", n, len(keys))
    return sorted(keys)
