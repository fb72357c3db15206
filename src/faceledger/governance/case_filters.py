"""What a case query asks (R12, R13): a :class:`CaseFilter` over requests and their searches.

One spec for every interface: the web form, the API's query parameters and the CLI's options
all hand :meth:`CaseFilter.parse` the same field names (:data:`FIELDS`), and the filter is
handed back as a query string (:meth:`CaseFilter.to_query`) for paging links and CSV exports.
Every value is checked against its enum or format; a bad one raises :class:`InvalidFilter`
naming the field and what it allows. "All searches linked to arrest warrants since
2026-01-01" is ``CaseFilter.parse({"lead_use": "warrant", "searched_since": "2026-01-01"})``.

Dates are UTC calendar days and both ends are inclusive: ``filed_*`` compares the day a request
was filed (its ``created_at``), ``searched_*`` the day its search finished.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, TypeVar

from faceledger.errors import InvalidInput
from faceledger.governance.accounts import check_slug, check_username
from faceledger.governance.context import DisclosureStatus, LeadUseKind, LegalBasisKind, Outcome
from faceledger.governance.lifecycle import State
from faceledger.governance.offences import SeverityClass

_E = TypeVar("_E", bound=StrEnum)

MAX_VALUES = 50
"""The most values one list filter takes (a query stays a handful of IN lists)."""
_OFFENCE_CODE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CASE_MAX = 100


class InvalidFilter(InvalidInput):
    """A case-query filter is not valid (unknown value, bad date, a range that ends before it
    starts): 422, nothing recorded."""

    status = 422


FIELDS: Mapping[str, str] = {
    "state": "request state",
    "agency": "requesting agency (slug)",
    "offence": "offence code",
    "offence_class": "offence severity class",
    "basis": "legal basis kind",
    "lead_use": "a lead used for",
    "outcome": "outcome",
    "filed_since": "filed on or after (YYYY-MM-DD, UTC)",
    "filed_until": "filed on or before (YYYY-MM-DD, UTC)",
    "searched_since": "searched on or after (YYYY-MM-DD, UTC)",
    "searched_until": "searched on or before (YYYY-MM-DD, UTC)",
    "examiner": "examiner who ran the search (username)",
    "reviewer": "first or peer reviewer (username)",
    "requester": "requester (username)",
    "case": "case number (exact)",
    "disclosure": "disclosure status",
}
"""Every filter field as interfaces name it, with what it means."""

LIST_FIELDS = frozenset(
    {"state", "agency", "offence", "offence_class", "basis", "lead_use", "outcome"}
)
"""Fields that take several values (a request matches any of them)."""

CHOICES: Mapping[str, tuple[str, ...]] = {
    "state": tuple(s.value for s in State),
    "offence_class": tuple(s.value for s in SeverityClass),
    "basis": tuple(k.value for k in LegalBasisKind),
    "lead_use": tuple(k.value for k in LeadUseKind),
    "outcome": tuple(o.value for o in Outcome),
    "disclosure": tuple(d.value for d in DisclosureStatus),
}
"""The allowed values of the enum fields (what a form offers in its selects)."""


@dataclass(frozen=True)
class CaseFilter:
    """Which requests a case query asks for; every field optional (empty: no condition).

    Lists match any of their values; a request matches ``lead_uses`` if any of its recorded
    lead uses is of one of those kinds. Date ranges are inclusive UTC days.
    """

    states: tuple[State, ...] = ()
    agencies: tuple[str, ...] = ()
    offence_codes: tuple[str, ...] = ()
    offence_classes: tuple[SeverityClass, ...] = ()
    bases: tuple[LegalBasisKind, ...] = ()
    lead_uses: tuple[LeadUseKind, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    filed_from: dt.date | None = None
    filed_to: dt.date | None = None
    searched_from: dt.date | None = None
    searched_to: dt.date | None = None
    examiner: str | None = None
    reviewer: str | None = None
    requester: str | None = None
    case_number: str | None = None
    disclosure: DisclosureStatus | None = None

    def __post_init__(self) -> None:
        _check_range(self.filed_from, self.filed_to, "filed")
        _check_range(self.searched_from, self.searched_to, "searched")

    @classmethod
    def parse(cls, values: Mapping[str, object]) -> CaseFilter:
        """Build a filter from what an interface received: field names of :data:`FIELDS`,
        each a string or a list of strings (repeated parameters); empty values are left out.

        Raises:
            InvalidFilter: for an unknown field, a value outside its enum or format, several
                values for a one-value field, or a date range that ends before it starts.
        """
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise InvalidFilter(
                f"Unknown filter {', '.join(unknown)}; the filters are {', '.join(FIELDS)}.",
                field=unknown[0],
                allowed=list(FIELDS),
            )
        given = {name: _texts(name, value) for name, value in values.items()}
        given = {name: texts for name, texts in given.items() if texts}
        for name, texts in given.items():
            if name not in LIST_FIELDS and len(texts) > 1:
                raise InvalidFilter(
                    f"{name} takes one value; got {len(texts)}: {', '.join(texts)}.", field=name
                )

        def many(name: str) -> tuple[str, ...]:
            return given.get(name, ())

        def one(name: str) -> str | None:
            texts = given.get(name, ())
            return texts[0] if texts else None

        return cls(
            states=_enums(State, "state", many("state")),
            agencies=tuple(_agency(v) for v in many("agency")),
            offence_codes=tuple(_offence(v) for v in many("offence")),
            offence_classes=_enums(SeverityClass, "offence_class", many("offence_class")),
            bases=_enums(LegalBasisKind, "basis", many("basis")),
            lead_uses=_enums(LeadUseKind, "lead_use", many("lead_use")),
            outcomes=_enums(Outcome, "outcome", many("outcome")),
            filed_from=_date(one("filed_since"), "filed_since"),
            filed_to=_date(one("filed_until"), "filed_until"),
            searched_from=_date(one("searched_since"), "searched_since"),
            searched_to=_date(one("searched_until"), "searched_until"),
            examiner=_username(one("examiner"), "examiner"),
            reviewer=_username(one("reviewer"), "reviewer"),
            requester=_username(one("requester"), "requester"),
            case_number=_case(one("case")),
            disclosure=next(iter(_enums(DisclosureStatus, "disclosure", many("disclosure"))), None),
        )

    @property
    def is_empty(self) -> bool:
        """Whether the filter asks for nothing in particular (every request in sight)."""
        return all(not getattr(self, f.name) for f in fields(self))

    def to_query(self) -> list[tuple[str, str]]:
        """The filter as query parameters (repeated for lists), the inverse of :meth:`parse`."""
        pairs: list[tuple[str, str]] = []
        for name, values in (
            ("state", self.states),
            ("agency", self.agencies),
            ("offence", self.offence_codes),
            ("offence_class", self.offence_classes),
            ("basis", self.bases),
            ("lead_use", self.lead_uses),
            ("outcome", self.outcomes),
        ):
            pairs += [(name, str(v)) for v in values]
        for name, value in (
            ("filed_since", self.filed_from),
            ("filed_until", self.filed_to),
            ("searched_since", self.searched_from),
            ("searched_until", self.searched_to),
            ("examiner", self.examiner),
            ("reviewer", self.reviewer),
            ("requester", self.requester),
            ("case", self.case_number),
            ("disclosure", self.disclosure),
        ):
            if value is not None:
                pairs.append((name, value.isoformat() if isinstance(value, dt.date) else value))
        return pairs

    def values(self) -> dict[str, list[str]]:
        """The filter as field name to its values (every field present, [] if not set): what
        a form shows filled in."""
        shown: dict[str, list[str]] = {name: [] for name in FIELDS}
        for name, value in self.to_query():
            shown[name].append(value)
        return shown

    def describe(self) -> str:
        """What the filter asks, as a sentence fragment: "requests with a lead used for
        warrant, filed since 2026-01-01"."""
        parts = [
            _any("in state", [_words(s) for s in self.states]),
            _any("of", list(self.agencies)),
            f"filed by {self.requester}" if self.requester else "",
            f"of case {self.case_number}" if self.case_number else "",
            _any("for offence", list(self.offence_codes)),
            _any("for an offence of class", [_words(c) for c in self.offence_classes]),
            _any("on a legal basis of", [_words(b) for b in self.bases]),
            f"searched by {self.examiner}" if self.examiner else "",
            f"reviewed by {self.reviewer}" if self.reviewer else "",
            _any("with a lead used for", [_words(u) for u in self.lead_uses]),
            _any("with outcome", [_words(o) for o in self.outcomes]),
            _words(self.disclosure) if self.disclosure else "",
            _span("filed", self.filed_from, self.filed_to),
            _span("searched", self.searched_from, self.searched_to),
        ]
        chosen = [p for p in parts if p]
        return "requests " + ", ".join(chosen) if chosen else "all requests"


def _texts(name: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items: Sequence[Any] = (
        [value] if isinstance(value, str | dt.date) or not isinstance(value, Sequence) else value
    )
    texts = []
    for item in items:
        text = item.isoformat() if isinstance(item, dt.date) else str(item).strip()
        if text and text not in texts:
            texts.append(text)
    if len(texts) > MAX_VALUES:
        raise InvalidFilter(f"{name} takes at most {MAX_VALUES} values.", field=name)
    return tuple(texts)


def _enums(kind: type[_E], name: str, texts: Sequence[str]) -> tuple[_E, ...]:
    found = []
    for text in texts:
        try:
            found.append(kind(text))
        except ValueError:
            allowed = [m.value for m in kind]
            raise InvalidFilter(
                f"{name} must be one of {', '.join(allowed)}; got {text!r}.",
                field=name,
                allowed=allowed,
            ) from None
    return tuple(found)


def _agency(text: str) -> str:
    try:
        return check_slug(text)
    except InvalidInput as exc:
        raise InvalidFilter(f"agency: {exc.message}", field="agency") from None


def _username(text: str | None, name: str) -> str | None:
    if text is None:
        return None
    try:
        return check_username(text)
    except InvalidInput as exc:
        raise InvalidFilter(f"{name}: {exc.message}", field=name) from None


def _offence(text: str) -> str:
    if not _OFFENCE_CODE.fullmatch(text):
        raise InvalidFilter(
            f"offence: {text!r} is not an offence code (lowercase letters, digits, '_', '.' "
            "or '-'; see `faceledger policy offences`).",
            field="offence",
        )
    return text


def _case(text: str | None) -> str | None:
    if text is not None and len(text) > _CASE_MAX:
        raise InvalidFilter(f"case takes at most {_CASE_MAX} characters.", field="case")
    return text


def _date(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidFilter(
            f"{name} must be a date (YYYY-MM-DD); got {text!r}.", field=name
        ) from None


def _check_range(start: dt.date | None, end: dt.date | None, what: str) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidFilter(
            f"{what}_until ({end.isoformat()}) is before {what}_since ({start.isoformat()}).",
            field=f"{what}_until",
        )


def _words(value: str) -> str:
    return value.replace("_", " ")


def _any(lead: str, values: list[str]) -> str:
    if not values:
        return ""
    listed = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
    return f"{lead} {listed}"


def _span(what: str, start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        if start == end:
            return f"{what} on {start.isoformat()}"
        return f"{what} from {start.isoformat()} to {end.isoformat()}"
    if start:
        return f"{what} since {start.isoformat()}"
    if end:
        return f"{what} until {end.isoformat()}"
    return ""
