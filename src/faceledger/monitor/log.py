"""The public log as the monitor replays it: entries, who and what they name, and each
request's steps.

An entry of envelope version 3 names its actor and object only by keyed-hash pseudonyms
(``actor_ref``, ``object_ref``); an entry of version 1 or 2 names them in clear (``actor``,
``object_type:object_id``). The two kinds of name cannot be joined: whether a pseudonym and a
clear name are the same person is unknowable from the public log, so :meth:`Ident.same` says
so (None) and the rules report "cannot check" rather than guess.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faceledger.ledger.envelope import parse_ts
from faceledger.ledger.records import EntryRecord
from faceledger.monitor import names

__all__ = ["Entry", "Ident", "PublicLog", "RequestHistory", "public_time"]


@dataclass(frozen=True)
class Ident:
    """A person or an object as the public log names it."""

    value: str
    pseudonymous: bool

    def same(self, other: Ident) -> bool | None:
        """Whether both name the same one; None when one is a pseudonym and the other is not
        (the public log cannot tell)."""
        if self.pseudonymous != other.pseudonymous:
            return None
        return self.value == other.value

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Entry:
    """One entry's public facts."""

    seq: int
    ts: dt.datetime
    action: str
    object_type: str
    obj: Ident
    actor: Ident
    public: Mapping[str, Any]

    @property
    def pseudonymous(self) -> bool:
        """True for an entry of envelope version 3 (names nobody in clear)."""
        return self.actor.pseudonymous

    @classmethod
    def from_record(cls, record: EntryRecord) -> Entry:
        """The public facts of an export record (payload and private fields ignored)."""
        # Version 3 records carry actor_ref/object_ref (and a public one nothing else);
        # versions 1 and 2 only the clear names.
        if record.actor_ref is not None:
            actor = Ident(record.actor_ref, True)
        else:
            actor = Ident(record.actor or "", False)
        if record.object_ref is not None:
            obj = Ident(record.object_ref, True)
        else:
            obj = Ident(f"{record.object_type}:{record.object_id}", False)
        return cls(
            seq=record.seq,
            ts=parse_ts(record.ts),
            action=record.action,
            object_type=record.object_type,
            obj=obj,
            actor=actor,
            public=record.public or {},
        )


def public_time(public: Mapping[str, Any], name: str) -> dt.datetime | None:
    """The time in public field ``name``, or None if it is absent or not an ISO time with a
    zone."""
    value = public.get(name)
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass
class RequestHistory:
    """Every entry filed under one request, in ``seq`` order."""

    ident: Ident
    entries: list[Entry] = field(default_factory=list)

    def of(self, *actions: str, before: int | None = None) -> list[Entry]:
        """The entries of ``actions`` (all when none given), those before seq ``before`` only
        if given."""
        return [
            e
            for e in self.entries
            if (not actions or e.action in actions) and (before is None or e.seq < before)
        ]

    def first(self, action: str, before: int | None = None) -> Entry | None:
        """The first entry of ``action`` (before seq ``before`` if given), or None."""
        found = self.of(action, before=before)
        return found[0] if found else None

    @property
    def submit(self) -> Entry | None:
        """The filing entry, or None if it is not in this log under this name."""
        return self.first(names.SUBMIT)

    @property
    def legal_basis(self) -> str | None:
        """The legal-basis kind the filing names, or None if unknown."""
        submit = self.submit
        kind = submit.public.get("legal_basis") if submit else None
        return kind if isinstance(kind, str) else None

    @property
    def emergency(self) -> bool:
        """Whether this is an emergency request (filed as one, or approved as one)."""
        return self.legal_basis == names.EMERGENCY or bool(self.of(names.APPROVE_EMERGENCY))

    def approvals(self, before: int | None = None) -> list[Entry]:
        """The entries that approved this request: its filing when the policy approved it at
        once (a court order, public state ``approved``), or a supervisor's emergency
        approval."""
        return [
            e
            for e in self.of(names.SUBMIT, names.APPROVE_EMERGENCY, before=before)
            if e.action == names.APPROVE_EMERGENCY or e.public.get("state") == "approved"
        ]

    def sealed_at(self) -> Entry | None:
        """The sealing entry, or None if the request was not sealed in this log."""
        return self.first(names.SEALED)


@dataclass
class PublicLog:
    """A verified public log, replayed: its entries and each request's history."""

    entries: list[Entry]
    requests: dict[Ident, RequestHistory]

    @classmethod
    def replay(cls, records: Iterable[EntryRecord]) -> PublicLog:
        """Replay the entry records of an export (in ``seq`` order, as the verifier checked)."""
        entries = [Entry.from_record(r) for r in records]
        requests: dict[Ident, RequestHistory] = {}
        for entry in entries:
            if entry.object_type == names.REQUEST:
                requests.setdefault(entry.obj, RequestHistory(entry.obj)).entries.append(entry)
        return cls(entries, requests)

    @property
    def last_ts(self) -> dt.datetime | None:
        """The time of the last entry: the monitor's "now" (None for an empty log)."""
        return self.entries[-1].ts if self.entries else None

    def named(self) -> list[Entry]:
        """The entries written before envelope version 3: they name people and objects in
        clear."""
        return [e for e in self.entries if not e.pseudonymous]

    def split(self) -> bool:
        """Whether requests are named both in clear and by pseudonym (the log crossed to
        envelope version 3): one request's steps may then be filed under two names that cannot
        be joined, so a step missing under one name may be under the other."""
        return len({ident.pseudonymous for ident in self.requests}) > 1

    def of(self, action: str) -> list[Entry]:
        """Every entry of ``action``, in ``seq`` order."""
        return [e for e in self.entries if e.action == action]
