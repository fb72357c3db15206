"""Rebuilding the report's facts from a ledger export alone, so that anyone can reproduce the
public counts (``faceledger report transparency --from-export FILE``).

Only the entries' *public fields* are read (the schema is the docstring of
``faceledger.service.public_record``), so the payload-less public export is enough. Given the
ledger's public key, the export is verified in the same pass (every leaf hash, checkpoint
signature and consistency proof, see :mod:`faceledger.ledger.verify`) and refused at the first
failure, before any count is returned.

An entry is recognised by its public fields, which say what they are, rather than by its action
name (this domain module cannot read the service's catalogue of actions):

* ``legal_basis`` — the request's filing (``request.submit``): agency, legal basis, offence
  class, emergency, state after filing, denied rule ids, the requester's description;
* ``outcome`` — any request step: the latest one (highest ``seq``) is the case's outcome;
* ``candidates`` — the search (``request.search``): its time and the list's length;
* ``use`` — a lead use (``request.lead_use``) and whether it cited corroboration;
* ``filing`` — an emergency's court filing (``request.emergency_filed``): on time or late;
* ``violation`` — a refusal or a violation found by a check (``access.denied``,
  ``violation.recorded``): its kind and agency; on a request, an overdue-filing violation marks
  the emergency as overdue.

Entries of one request share ``object_type`` ``request`` and its ``object_id``, or, in a public
export of ledger envelope version 3 (where the id is private), its ``object_ref``: a pseudonym,
the same for every step of the request. A request's facts carry that id or reference as their
``request_id``. A request whose filing entry has no public fields (written before ledger
envelope version 2) cannot be counted from an export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import VerificationFailed
from faceledger.governance.violations import ViolationKind
from faceledger.ledger.records import EntryRecord, ExportHeader, Record, parse_line
from faceledger.ledger.verify import VerifyReport, verify_records
from faceledger.reports.transparency.facts import (
    LeadUseFacts,
    RequestFacts,
    ViolationFacts,
    filing_status,
)

_REQUEST = "request"
_OVERDUE = str(ViolationKind.OVERDUE_EMERGENCY_FILING)


@dataclass(frozen=True)
class ExportFacts:
    """The facts of an export: its requests and violations, how many entries it held, and the
    verifier's report (None when no public key was given, so nothing was verified)."""

    requests: tuple[RequestFacts, ...]
    violations: tuple[ViolationFacts, ...]
    entries: int
    verified: VerifyReport | None


@dataclass
class _Request:
    """What the export has said so far about one request."""

    filed: Mapping[str, Any] | None = None
    filed_at: dt.datetime | None = None
    outcome: tuple[int, str] | None = None
    searched_at: dt.datetime | None = None
    candidates: int = 0
    uses: list[LeadUseFacts] = field(default_factory=list)
    filing: str = ""
    overdue: bool = False


class _Collector:
    """Reads entry records one by one and keeps what the facts need."""

    def __init__(self) -> None:
        self.requests: dict[str, _Request] = {}
        self.violations: list[ViolationFacts] = []
        self.entries = 0

    def add(self, entry: EntryRecord) -> None:
        self.entries += 1
        public = entry.public
        if not public:
            return
        if "violation" in public:
            kind, ts = _text(public, "violation"), _time(entry.ts)
            self.violations.append(ViolationFacts(kind, _text(public, "agency"), ts))
            if entry.object_type == _REQUEST and kind == _OVERDUE:
                self._request(entry).overdue = True
            return
        if entry.object_type != _REQUEST:
            return
        request = self._request(entry)
        if "legal_basis" in public:
            request.filed, request.filed_at = public, _time(entry.ts)
        if "outcome" in public and (request.outcome is None or request.outcome[0] < entry.seq):
            request.outcome = (entry.seq, _text(public, "outcome"))
        if "candidates" in public:
            request.searched_at = _time(entry.ts)
            request.candidates = _count(public, "candidates")
        if "use" in public:
            request.uses.append(
                LeadUseFacts(_text(public, "use"), public.get("corroborated") is True)
            )
        if "filing" in public:
            request.filing = _text(public, "filing")

    def _request(self, entry: EntryRecord) -> _Request:
        # The id whenever the record has it, so that a request filed before the log moved to
        # version 3 keeps its later steps in a full export; a public version 3 record has only
        # the pseudonym.
        ref = entry.object_id if entry.object_id is not None else entry.object_ref
        return self.requests.setdefault(ref or "", _Request())

    def facts(self) -> tuple[RequestFacts, ...]:
        found = []
        for request_id, r in self.requests.items():
            if r.filed is None or r.filed_at is None:
                continue  # filed before public fields existed, or outside this export
            filed = r.filed
            emergency = filed.get("emergency") is True
            denied = filed.get("state") == "denied"
            rules = filed.get("denied_rules") or ()
            found.append(
                RequestFacts(
                    request_id=request_id,
                    agency=_text(filed, "agency"),
                    filed_at=r.filed_at,
                    legal_basis=_text(filed, "legal_basis"),
                    offence_class=_text(filed, "offence_class"),
                    emergency=emergency,
                    denied=denied,
                    denied_rules=tuple(str(rule) for rule in rules),
                    outcome=r.outcome[1] if r.outcome else _text(filed, "outcome") or "pending",
                    uses=tuple(r.uses),
                    filing=filing_status(emergency, denied, r.filing, r.overdue),
                    described_sex=_text(filed, "described_sex"),
                    described_race=_text(filed, "described_race"),
                    searched_at=r.searched_at,
                    candidates=r.candidates,
                )
            )
        return tuple(found)


def _time(ts: str) -> dt.datetime:
    # parse_line already checked the exact envelope form (YYYY-MM-DDTHH:MM:SS.ffffffZ).
    return dt.datetime.fromisoformat(ts)


def _text(public: Mapping[str, Any], name: str) -> str:
    value = public.get(name, "")
    return value if isinstance(value, str) else str(value)


def _count(public: Mapping[str, Any], name: str) -> int:
    value = public.get(name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def read_export(lines: Iterable[str], public_key: Ed25519PublicKey | None = None) -> ExportFacts:
    """Return the facts of a JSON Lines ledger export (for example an open file).

    With ``public_key`` the export is verified as it is read, and nothing is returned unless
    all of it verifies. Without one, every line must still be a well-formed export record.

    Raises:
        VerificationFailed: for a malformed line, or (with a key) at the first entry or
            checkpoint that fails verification.
    """
    collector = _Collector()
    records = _collecting(_parse(lines), collector)
    report: VerifyReport | None = None
    if public_key is not None:
        report = verify_records(records, public_key)
    else:
        _require_header(records)
    return ExportFacts(
        requests=collector.facts(),
        violations=tuple(collector.violations),
        entries=collector.entries,
        verified=report,
    )


def _parse(lines: Iterable[str]) -> Iterator[Record]:
    for line_no, line in enumerate(lines, start=1):
        if line.strip():
            yield parse_line(line, line_no)


def _collecting(records: Iterator[Record], collector: _Collector) -> Iterator[Record]:
    for record in records:
        if isinstance(record, EntryRecord):
            collector.add(record)
        yield record


def _require_header(records: Iterator[Record]) -> None:
    first = next(records, None)
    if not isinstance(first, ExportHeader):
        raise VerificationFailed(
            "This is not a faceledger ledger export: it does not start with a header line.",
            kind="log",
            reason="malformed",
        )
    for _ in records:
        pass
