"""Rotating the data keys that seal biometrics at rest (``keys.rotate_data_key``, admins and the
local operator).

:meth:`DataKeyUseCases.rotate` makes a new data key and re-seals every sealed value with it, in
batches (:func:`faceledger.at_rest.keyring.reseal_column`); the older keys are retired, in the
transaction of the ledger entry, only once every value is re-sealed, so a rotation that stops
half-way leaves every value readable and is resumed by running it again (it goes on with the
newest key). :meth:`DataKeyUseCases.rewrap` keeps the data keys and wraps them under a new KEK.
The ledger entries record key ids, KEK fingerprints and counts, never key material.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from faceledger.at_rest.kek import (
    LocalKek,
    create_kek_file,
    kek_file_path,
    kek_from_settings,
    load_kek_file,
    staged_kek_path,
)
from faceledger.at_rest.keyring import (
    ColumnTally,
    Progress,
    add_data_key,
    reseal_column,
    retire_others,
    rewrap_keys,
)
from faceledger.at_rest.models import DataKeyRow
from faceledger.at_rest.sealing import SEALED_COLUMNS
from faceledger.errors import InvalidInput
from faceledger.governance.accounts import Principal
from faceledger.ledger.keys import sync_directory
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction

ACTION = "keys.rotate_data_key"


def _quiet(_what: str, _done: int, _total: int) -> None:
    pass


@dataclass(frozen=True)
class DataKeyRotation:
    """A rotation done: the new key, the keys retired and what each column re-sealed."""

    key_id: int
    retired: list[int]
    columns: list[ColumnTally] = field(default_factory=list)
    ledger_seq: int = -1


@dataclass(frozen=True)
class KekRewrap:
    """A re-wrap done: the data keys re-wrapped, the old and new KEK fingerprints, and where
    the new KEK is."""

    key_ids: list[int]
    old_fingerprint: str
    new_fingerprint: str
    kek_file: Path
    ledger_seq: int = -1


class DataKeyUseCases:
    """The data keys' life: rotation by re-encryption, and re-wrapping under a new KEK."""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._ctx, self._access = ctx, access

    def rotate(self, acting: Principal, progress: Progress = _quiet) -> DataKeyRotation:
        """Seal every sealed value (legacy plaintext ones too) with a new data key.

        A rotation already under way (more than one key not retired: one stopped half-way)
        goes on with its newest key instead of making another.

        Raises:
            PermissionDenied: without ``keys.rotate_data_key`` (recorded).
            SealingError: if a stored value does not open (altered or damaged); the values
                re-sealed so far stay so, and every value still opens.
        """
        db = self._ctx.db
        sealer = db.sealer
        assert sealer is not None  # the service attaches it when it opens
        kek = kek_from_settings(self._ctx.settings)
        with self._access.transaction(acting, ACTION) as (session, _me):
            live = session.scalars(
                select(DataKeyRow.id).where(DataKeyRow.retired_at.is_(None))
            ).all()
            key_id = max(live) if len(live) > 1 else add_data_key(session, kek)
        sealer.use(key_id)  # reloads the keys: the new one is committed
        tallies = [reseal_column(db, column, progress) for column in SEALED_COLUMNS]
        with self._access.transaction(acting, ACTION) as (session, me):
            retired = retire_others(session, key_id)
            entry = self._ctx.ledger.append(
                session,
                actor=me.ledger_actor,
                action=LedgerAction.DATA_KEY_ROTATE,
                object_type="data_key",
                object_id=str(key_id),
                payload={
                    "mode": "reencrypt",
                    "key_id": key_id,
                    "retired_key_ids": retired,
                    "columns": {
                        t.column: {"resealed": t.resealed, "kept": t.kept, "total": t.total}
                        for t in tallies
                    },
                },
            )
        return DataKeyRotation(key_id, retired, tallies, entry.seq)

    def rewrap(
        self, acting: Principal, new_kek_file: Path | None = None, progress: Progress = _quiet
    ) -> KekRewrap:
        """Wrap every data key under a new KEK; the data keys and sealed values stay as they are.

        With ``new_kek_file``, the new KEK is that file (made with a new random key if it does
        not exist); point ``data_kek_file`` at it afterwards. Without it, the KEK file in use is
        replaced by a new one, which waits as ``<file>.next`` until the change is committed.

        Raises:
            PermissionDenied: without ``keys.rotate_data_key`` (recorded).
            InvalidInput: without ``new_kek_file`` when the KEK is not a file, or if the new KEK
                is the one in use.
            ConfigError: if the KEK in use does not unwrap the data keys, or the new KEK file is
                loose or malformed.
        """
        settings = self._ctx.settings
        old = kek_from_settings(settings)
        current_file = kek_file_path(settings)
        in_place = new_kek_file is None
        if in_place and (settings.data_kek or settings.data_kek_command):
            raise InvalidInput(
                "The key-encryption key in use is not a file (data_kek or data_kek_command is "
                "set): give --new-kek-file for the new one."
            )
        target = staged_kek_path(current_file) if new_kek_file is None else new_kek_file
        with self._access.transaction(acting, ACTION) as (session, me):
            new = load_kek_file(target) if target.exists() else create_kek_file(target)
            if new.fingerprint == old.fingerprint:
                raise InvalidInput(
                    f"{target} holds the key-encryption key in use; give a new one.",
                    path=str(target),
                )
            key_ids = rewrap_keys(session, old, new, progress)
            entry = self._ctx.ledger.append(
                session,
                actor=me.ledger_actor,
                action=LedgerAction.DATA_KEY_ROTATE,
                object_type="data_key",
                object_id="kek",
                payload={
                    "mode": "rewrap",
                    "key_ids": key_ids,
                    "old_kek": old.fingerprint,
                    "new_kek": new.fingerprint,
                },
            )
        final = target
        if in_place:
            # Committed: the data keys now open only with the new KEK; move it into place (a
            # crash before this is finished at the next start, faceledger.at_rest.keyring).
            os.replace(target, current_file)
            sync_directory(current_file.parent)
            final = current_file
        self._reload(LocalKek(new.key, f"file {final}"))
        return KekRewrap(key_ids, old.fingerprint, new.fingerprint, final, entry.seq)

    def _reload(self, kek: LocalKek) -> None:
        """Open this process's sealer with the new KEK from now on (when the settings name it:
        with another file they must be changed, and the next start reads it)."""
        from faceledger.at_rest.keyring import open_sealer

        self._ctx.db.attach_sealer(open_sealer(self._ctx.db, kek))
