"""Ledger use cases: checkpoints, queries, exports and inclusion proofs for auditors."""

from __future__ import annotations

import datetime as dt
from typing import Any, TextIO

from faceledger.errors import Conflict
from faceledger.governance.accounts import Principal
from faceledger.ledger import Checkpoint, ExportHeader, LedgerEntry
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext


class AuditUseCases:
    """Reading and attesting the ledger (``ledger.read``, ``ledger.checkpoint``). Verification
    itself lives in faceledger.ledger.verify, which an auditor runs without this layer.

    Nothing here can break the blind peer review: the first review's marks are in the ledger
    only as a salted commitment until the peer review reveals them.
    """

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._access, self.db, self.ledger = access, ctx.db, ctx.ledger

    def sign_checkpoint(self, acting: Principal) -> Checkpoint:
        """Sign a checkpoint of the ledger as it stands now.

        Raises:
            PermissionDenied: without ``ledger.checkpoint`` (recorded).
        """
        with self._access.transaction(acting, "ledger.checkpoint") as (session, _):
            return self.ledger.checkpoint(session)

    def sign_checkpoint_if_due(self, acting: Principal) -> Checkpoint | None:
        """Sign a checkpoint if the entry or time rule of the ledger calls for one (a due job:
        a quiet log still gets a fresh signed head every ``checkpoint_every_minutes``).

        Returns the new checkpoint, or None if none was due.

        Raises:
            PermissionDenied: without ``ledger.checkpoint`` (recorded).
        """
        with self._access.transaction(acting, "ledger.checkpoint") as (session, _):
            return self.ledger.checkpoint_if_due(session)

    def latest_checkpoint(self) -> Checkpoint | None:
        """Return the newest signed checkpoint, if any (public: anyone may check it)."""
        with self.db.read() as session:
            return self.ledger.latest_checkpoint(session)

    def ledger_entries(
        self,
        acting: Principal,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[LedgerEntry]:
        """Return ledger entries matching every given filter, oldest first.

        Raises:
            PermissionDenied: without ``ledger.read`` (recorded).
        """
        with self._access.transaction(acting, "ledger.read", write=False) as (session, _):
            return self.ledger.query(
                session,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                since=since,
                until=until,
                limit=limit,
                offset=offset,
            )

    def count_ledger_entries(
        self,
        acting: Principal,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> int:
        """Return how many ledger entries match every given filter (``ledger.read``)."""
        with self._access.transaction(acting, "ledger.read", write=False) as (session, _):
            return self.ledger.count(
                session,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                since=since,
                until=until,
            )

    def export_ledger(
        self, acting: Principal, out: TextIO, include_payloads: bool = True
    ) -> ExportHeader:
        """Write the ledger as JSON Lines; without payloads it is fit for public release.

        Raises:
            PermissionDenied: without ``ledger.read`` (recorded).
        """
        with self._access.transaction(acting, "ledger.read", write=False) as (session, _):
            return self.ledger.export(session, out, include_payloads=include_payloads)

    def prove_entry(
        self, acting: Principal, seq: int, include_payload: bool = True
    ) -> dict[str, Any]:
        """Return a self-contained inclusion proof of entry ``seq`` against the latest signed
        checkpoint. Reading a proof never signs one (a GET changes nothing): an entry newer
        than the latest checkpoint is proved once a checkpoint covers it, signed by an auditor
        (:meth:`sign_checkpoint`) or by the due jobs every ``checkpoint_every_minutes``.

        Raises:
            PermissionDenied: without ``ledger.read`` (recorded).
            NotFound: for an entry that does not exist.
            Conflict: for an entry no signed checkpoint covers yet (409), naming the latest
                checkpoint's size.
        """
        with self._access.transaction(acting, "ledger.read", write=False) as (session, _):
            latest = self.ledger.latest_checkpoint(session)
            if latest is None or latest.tree_size <= seq:
                self.ledger.entry(session, seq)  # NotFound for an entry that does not exist
                covered = (
                    "no checkpoint has been signed yet"
                    if latest is None
                    else f"the latest signed checkpoint covers entries 0 to {latest.tree_size - 1}"
                )
                raise Conflict(
                    f"Entry {seq} is not yet in a signed checkpoint ({covered}); try again "
                    "after the next checkpoint, or sign one first (POST /ledger/checkpoints, "
                    "`faceledger ledger checkpoint`, or 'Sign a checkpoint now' on the audit "
                    "ledger page).",
                    seq=seq,
                    signed_size=0 if latest is None else latest.tree_size,
                )
            return self.ledger.inclusion_bundle(session, seq, include_payload=include_payload)
