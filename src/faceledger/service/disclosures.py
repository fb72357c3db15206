"""Disclosure packets (R14): built, recorded and listed.

Producing a packet is an action on the request (``report.disclosure``: supervisors of the unit
and auditors), in one write transaction: a checkpoint is signed so that it covers every entry
used; the request's entries, the deployment gate's entries behind each gallery's threshold and
the stored evaluation summaries are read with their inclusion proofs; the packet is built
(:mod:`faceledger.reports.disclosure`); a :class:`DisclosureRow` is stored, the request's
disclosure status becomes ``disclosed`` (R12), and a ``report.disclosure`` entry records who,
when, for whom and the packet's SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger import __version__
from faceledger.db import utcnow
from faceledger.errors import InvalidInput
from faceledger.gallery.models import Activation, Evaluation
from faceledger.governance.accounts import LocalOperator, Principal
from faceledger.governance.actions import ACTIONS
from faceledger.governance.context import DisclosureStatus
from faceledger.governance.models import RequestRow
from faceledger.ledger import Checkpoint, LedgerEntry
from faceledger.ledger.envelope import format_ts
from faceledger.ledger.records import EntryRecord
from faceledger.reports.disclosure import (
    ActionNames,
    Document,
    Packet,
    PacketHeader,
    build_packet,
    evaluation_document,
    summary_text,
)
from faceledger.reports.disclosure.packet import CAVEAT
from faceledger.reports.models import DisclosureRow
from faceledger.service.access import Access, Refused, no_such_request
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction

__all__ = ["ACTION_NAMES", "DisclosureUseCases", "DisclosureView"]

ACTION_NAMES = ActionNames(
    submit=LedgerAction.REQUEST_SUBMIT,
    search=LedgerAction.REQUEST_SEARCH,
    review_first=LedgerAction.REQUEST_REVIEW_FIRST,
    review_peer=LedgerAction.REQUEST_REVIEW_PEER,
    release=LedgerAction.REQUEST_RELEASE,
    close_no_lead=LedgerAction.REQUEST_CLOSE_NO_LEAD,
    lead_use=LedgerAction.REQUEST_LEAD_USE,
    approve_emergency=LedgerAction.REQUEST_APPROVE_EMERGENCY,
    emergency_filed=LedgerAction.REQUEST_EMERGENCY_FILED,
    sealed=LedgerAction.REQUEST_SEALED,
    access_denied=LedgerAction.ACCESS_DENIED,
    violation=LedgerAction.VIOLATION_RECORDED,
    disclosure=LedgerAction.REPORT_DISCLOSURE,
    model_evaluation=LedgerAction.MODEL_EVALUATION,
    model_activate=LedgerAction.MODEL_ACTIVATE,
)
"""The ledger actions a packet reads, from the catalogue (the checker needs them too)."""

_ACTION = "report.disclosure"
MAX_RECIPIENT = 300
MAX_PURPOSE = 2000
_PAGE = 1000

_SEALED_RESULTS = frozenset(
    {
        LedgerAction.REQUEST_SEARCH,
        LedgerAction.REQUEST_REVIEW_FIRST,
        LedgerAction.REQUEST_REVIEW_PEER,
        LedgerAction.REQUEST_RELEASE,
    }
)
"""Entries whose payloads hold a sealed request's results: proven, but left without payload."""

_NOTE_SEALED = (
    "This request is sealed (R4): its results are not disclosed. The entries of its search, "
    "reviews and release are proven (their time, actor and action) without their payloads."
)
_NOTE_NOT_SEARCHED = "No face search was run for this request."
_NOTE_UNSAFE = (
    "The request was handled under an UNSAFE policy profile ({name}), meant for research only."
)
_NOTE_SUMMARY_MISMATCH = (
    "The stored summary of evaluation {id} does not match the SHA-256 its ledger entry "
    "records, so it is left out; the figures that entry records stand."
)


@dataclass(frozen=True)
class DisclosureView:
    """A packet produced for a request: who, when, for whom, and its SHA-256."""

    id: int
    request_id: int
    produced_by: str
    produced_at: str
    recipient: str
    purpose: str
    packet_sha256: str
    checkpoint_size: int
    fact_count: int
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready data."""
        return dict(self.__dict__)


def _view(row: DisclosureRow) -> DisclosureView:
    return DisclosureView(
        id=row.id,
        request_id=row.request_id,
        produced_by=row.produced_by,
        produced_at=row.produced_at.isoformat(),
        recipient=row.recipient,
        purpose=row.purpose,
        packet_sha256=row.packet_sha256,
        checkpoint_size=row.checkpoint_size,
        fact_count=row.fact_count,
        ledger_seq=row.ledger_seq,
    )


def _clean(recipient: str, purpose: str) -> tuple[str, str]:
    who, why = " ".join(recipient.split()), purpose.strip()
    if not who:
        raise InvalidInput(
            "Name the recipient of the disclosure packet, e.g. 'Defence counsel for R. v. Doe, "
            "docket 24-123'.",
            field="recipient",
        )
    if len(who) > MAX_RECIPIENT:
        raise InvalidInput(
            f"The recipient may be at most {MAX_RECIPIENT} characters; it has {len(who)}.",
            field="recipient",
        )
    if len(why) > MAX_PURPOSE:
        raise InvalidInput(
            f"The purpose may be at most {MAX_PURPOSE} characters; it has {len(why)}.",
            field="purpose",
        )
    return who, why


class DisclosureUseCases:
    """Disclosure packets (R14): produced as a recorded action, and listed."""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._ctx, self._access = ctx, access

    def produce(
        self, acting: Principal, request_id: int, recipient: str, purpose: str = ""
    ) -> Packet:
        """Produce request ``request_id``'s disclosure packet for ``recipient``.

        Raises:
            InvalidInput: for an empty or over-long recipient or purpose (nothing written).
            NotFound: for a request that does not exist or is outside the caller's sight (the
                latter recorded).
            PermissionDenied: without ``report.disclosure`` (recorded).
        """
        who, why = _clean(recipient, purpose)
        ledger = self._ctx.ledger
        with self._access.transaction(acting, write=True) as (session, fresh):
            row = session.get(RequestRow, request_id)
            if row is None:
                raise no_such_request(request_id)
            me = self._require(session, fresh, row)
            checkpoint, now = ledger.checkpoint(session), utcnow()
            packet = self._build(session, row, checkpoint, me, who, why, now)
            record = DisclosureRow(
                request_id=row.id,
                produced_by_id=None if isinstance(me, LocalOperator) else me.id,
                produced_by=me.ledger_actor,
                produced_at=now,
                recipient=who,
                purpose=why,
                packet_sha256=packet.sha256,
                checkpoint_size=checkpoint.tree_size,
                fact_count=packet.fact_count,
            )
            session.add(record)
            session.flush()
            row.disclosure_status = DisclosureStatus.DISCLOSED.value
            record.ledger_seq = ledger.append(
                session,
                actor=me.ledger_actor,
                action=LedgerAction.REPORT_DISCLOSURE,
                object_type="request",
                object_id=str(row.id),
                payload={
                    "request_id": row.id,
                    "disclosure_id": record.id,
                    "recipient": who,
                    "purpose": why,
                    "packet_sha256": packet.sha256,
                    "checkpoint_size": checkpoint.tree_size,
                    "fact_count": packet.fact_count,
                    "produced_by": me.ledger_actor,
                },
            ).seq
        return packet

    def list_disclosures(self, acting: Principal, request_id: int) -> list[DisclosureView]:
        """Return the packets produced for request ``request_id``, oldest first.

        Raises:
            NotFound: for a request that does not exist or is outside the caller's sight.
            PermissionDenied: without ``report.disclosure`` (recorded).
        """
        with self._access.transaction(acting, write=False) as (session, fresh):
            row = session.get(RequestRow, request_id)
            if row is None:
                raise no_such_request(request_id)
            self._require(session, fresh, row)
            rows = session.scalars(
                select(DisclosureRow)
                .where(DisclosureRow.request_id == row.id)
                .order_by(DisclosureRow.id)
            )
            return [_view(r) for r in rows]

    def _require(self, session: Session, acting: Principal, row: RequestRow) -> Principal:
        """Allow ``report.disclosure`` on ``row``: a request outside a person's sight answers
        404 whatever their roles (no refusal tells them it exists), then the registry decides
        (403); both refusals are recorded."""
        if not acting.is_local and not self._access.sees(session, acting, row):
            raise Refused(
                _ACTION, no_such_request(row.id), [ACTIONS[_ACTION].requirement], request_id=row.id
            )
        return self._access.require_request(session, acting, _ACTION, row)

    # -- building --------------------------------------------------------------------------

    def _build(
        self,
        session: Session,
        row: RequestRow,
        checkpoint: Checkpoint,
        me: Principal,
        recipient: str,
        purpose: str,
        now: dt.datetime,
    ) -> Packet:
        ledger, size = self._ctx.ledger, checkpoint.tree_size
        sealed = row.sealed_at is not None
        mine = list(self._request_entries(session, row.id, size))
        searches = [e for e in mine if e.action == LedgerAction.REQUEST_SEARCH]
        notes: list[str] = []
        if sealed:
            notes.append(_NOTE_SEALED)
        elif not searches:
            notes.append(_NOTE_NOT_SEARCHED)
        # Every record names its actor and request (envelope version 3 private fields too): the
        # packet is about this request and goes to its parties; sealed results lose the payload.
        records = [
            EntryRecord.from_entry(
                e,
                include_payload=not (sealed and e.action in _SEALED_RESULTS),
                include_private=True,
            )
            for e in mine
        ]
        documents: list[Document] = []
        if not sealed:
            for search in searches:
                gate, found = self._gate(session, search, size, notes)
                records += [EntryRecord.from_entry(e) for e in gate]
                documents += found
        unique = {r.seq: r for r in records}
        unsafe = _unsafe_profile(mine)
        if unsafe:
            notes.append(_NOTE_UNSAFE.format(name=unsafe))
        proven = [
            (record, ledger.inclusion_proof(session, seq, size))
            for seq, record in sorted(unique.items())
        ]
        header = PacketHeader(
            request_id=row.id,
            case_number=row.case_number,
            produced_at=format_ts(now),
            produced_by=me.ledger_actor,
            recipient=recipient,
            purpose=purpose,
            system_name="faceledger",
            system_version=__version__,
            log_id=ledger.log_id,
            caveat=CAVEAT,
            notes=tuple(notes),
        )
        names = _candidate_records(row, searches[0]) if searches and not sealed else []
        return build_packet(header, checkpoint, proven, documents, ACTION_NAMES, names)

    def _request_entries(
        self, session: Session, request_id: int, size: int
    ) -> Iterator[LedgerEntry]:
        """Every entry filed under the request, up to the checkpoint's tree size."""
        offset = 0
        while True:
            page = self._ctx.ledger.query(
                session,
                object_type="request",
                object_id=str(request_id),
                limit=_PAGE,
                offset=offset,
            )
            yield from (e for e in page if e.seq < size)
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def _gate(
        self, session: Session, search: LedgerEntry, size: int, notes: list[str]
    ) -> tuple[list[LedgerEntry], list[Document]]:
        """The activation and evaluation entries behind each calibrated threshold of the
        search, and each evaluation's stored summary as a document (when it still hashes to
        what its entry records)."""
        ledger = self._ctx.ledger
        entries: list[LedgerEntry] = []
        documents: dict[int, Document] = {}
        for threshold in (search.payload or {}).get("thresholds") or []:
            if threshold.get("calibrated") is not True:
                continue
            activation = session.get(Activation, threshold.get("activation_id") or -1)
            if activation is not None and 0 <= activation.ledger_seq < size:
                entries.append(ledger.entry(session, activation.ledger_seq))
            evaluation = session.get(Evaluation, threshold.get("evaluation_id") or -1)
            if evaluation is None or not 0 <= evaluation.ledger_seq < size:
                continue
            entry = ledger.entry(session, evaluation.ledger_seq)
            entries.append(entry)
            if evaluation.id in documents:
                continue
            document = evaluation_document(
                entry.seq, entry.payload or {}, summary_text(evaluation.summary)
            )
            recorded = str((entry.payload or {}).get("summary_sha256", ""))
            if hmac.compare_digest(document.sha256, recorded):
                documents[evaluation.id] = document
            elif (note := _NOTE_SUMMARY_MISMATCH.format(id=evaluation.id)) not in notes:
                notes.append(note)
        return entries, list(documents.values())


def _unsafe_profile(entries: Sequence[LedgerEntry]) -> str | None:
    """The name of the unsafe profile a request's entries were made under, if any."""
    for entry in entries:
        profile = (entry.payload or {}).get("profile")
        if isinstance(profile, dict) and profile.get("unsafe"):
            return str(profile.get("name", ""))
    return None


def _candidate_records(row: RequestRow, search: LedgerEntry) -> list[dict[str, Any]]:
    """The database's names for the search's candidates (not in the ledger), matched to the
    candidate facts (``candidate.<i>``, the search entry's list) by gallery, rank, template."""
    if row.run is None:
        return []
    by_key = {(c.gallery, c.rank, c.template_id): c for c in row.run.candidates}
    records = []
    for i, listed in enumerate((search.payload or {}).get("candidates") or []):
        found = by_key.get((listed.get("gallery"), listed.get("rank"), listed.get("template_id")))
        if found is not None:
            records.append(
                {
                    "fact": f"candidate.{i}",
                    "candidate_id": found.id,
                    "rank": found.rank,
                    "gallery": found.gallery,
                    "external_id": found.external_id,
                    "display_name": found.display_name,
                }
            )
    return records
