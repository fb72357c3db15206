"""Bounds on what a person may type: ids, text and dates, checked once for every interface.

Pure functions raising :class:`~faceledger.errors.InvalidInput` with a message that names the
field (and, for a refused character, its code point). The CLI, the API and the web pages all
reach them through the request form and the service, so each interface refuses the same input
the same way.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from faceledger.errors import InvalidInput

__all__ = [
    "EARLIEST_DATE",
    "EMERGENCY_PAST_DAYS",
    "MAX_ID",
    "MAX_ORDER_YEARS",
    "MAX_TRAINING_YEARS",
    "REQUEST_TEXT_LIMITS",
    "check_candidate_cap",
    "check_emergency_time",
    "check_id",
    "check_order_dates",
    "check_text",
    "check_training_end",
    "refused_character",
]

MAX_ID = 2**31 - 1
"""The largest id, entry number, offset or count any interface takes: the largest value of an
``INTEGER`` column on PostgreSQL, where ids and entry numbers are stored (a larger number made
the database refuse the query, and the route answer 500; the API fuzz found it). Nothing stored
comes near it, and the OpenAPI document, whose bounds FastAPI writes as floating-point numbers,
states it exactly."""

EARLIEST_DATE = dt.date(2000, 1, 1)
"""No court order, emergency or certificate that faceledger handles is older than this."""

MAX_ORDER_YEARS = 5
"""A court order runs at most this many years from its issue (no profile sets a maximum)."""

EMERGENCY_PAST_DAYS = 30
"""An emergency is filed within this many days of being declared."""

MAX_TRAINING_YEARS = 5
"""A training certificate runs at most this many years ahead (less if the profile says so)."""

REQUEST_TEXT_LIMITS = {
    "case_number": 100,
    "offence_code": 100,
    "narrative": 10_000,
    "attestation_text": 2_000,
    "court": 300,
    "order_id": 300,
    "judge": 300,
    "authority": 300,
    "issued_on": 10,
    "expires_on": 10,
    "facts": 10_000,
    "declared_at": 40,
    "description": 10_000,
    "galleries": 300,
}
"""The most characters each text of a request form takes, in every interface (the API's form
schema states the same bounds)."""

_BIDI = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)  # ALM, LRM/RLM, the embeddings and overrides, the isolates
_MULTILINE_ALLOWED = frozenset("\n\t")
_CR = "\r"


def check_id(value: int, field: str, *, minimum: int = 1) -> int:
    """Return ``value`` if it is a whole number from ``minimum`` to :data:`MAX_ID`.

    Raises:
        InvalidInput: naming the field and the range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_ID:
        raise InvalidInput(
            f"{field} must be a whole number from {minimum} to {MAX_ID}; got {value!r}.",
            field=field,
        )
    return value


def refused_character(value: str, *, multiline: bool = False) -> str | None:
    """Return the first character of ``value`` a text field refuses, or None.

    Refused: NUL and every other C0/C1 control character (a multi-line field keeps newline and
    tab; a carriage return is taken as part of a line break), and the bidirectional marks,
    embeddings, overrides and isolates that make text display in another order than stored.
    """
    for ch in value:
        if ch in _BIDI:
            return ch
        if unicodedata.category(ch) == "Cc":
            if multiline and (ch in _MULTILINE_ALLOWED or ch == _CR):
                continue
            return ch
    return None


def check_text(
    value: str, field: str, *, multiline: bool = False, max_length: int | None = None
) -> str:
    """Return ``value`` unchanged if it holds no refused character (:func:`refused_character`)
    and, given ``max_length``, has at most that many characters.

    Raises:
        InvalidInput: naming the field and the limit, or the character's code point and its
            position.
    """
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(
            f"{field} is {len(value)} characters long; at most {max_length} are taken.",
            field=field,
            max_length=max_length,
        )
    ch = refused_character(value, multiline=multiline)
    if ch is None:
        return value
    code_point = f"U+{ord(ch):04X}"
    name = unicodedata.name(ch, "")
    label = f"{code_point} ({name})" if name else code_point
    kind = "a bidirectional-text control" if ch in _BIDI else "a control character"
    allowed = "; line breaks and tabs are the only controls allowed here" if multiline else ""
    raise InvalidInput(
        f"{field} must be printable text: it holds {label}, {kind}, at position "
        f"{value.index(ch)}{allowed}.",
        field=field,
        code_point=code_point,
    )


def _in_range(value: dt.date, field: str, earliest: dt.date, latest: dt.date) -> None:
    if value < earliest:
        raise InvalidInput(
            f"{field} {value.isoformat()} is before {earliest.isoformat()}, the earliest "
            "date taken.",
            field=field,
        )
    if value > latest:
        raise InvalidInput(
            f"{field} {value.isoformat()} is after {latest.isoformat()}, the latest date taken.",
            field=field,
        )


def check_order_dates(issued: dt.date, expires: dt.date, today: dt.date) -> None:
    """Return None if a court order's dates make sense: issued from :data:`EARLIEST_DATE` to
    tomorrow (a day's slack for time zones), expiring on or after its issue and within
    :data:`MAX_ORDER_YEARS` of it. Whether the order is in force today is the policy's to
    decide (an expired order is a recorded denial, not an input error).

    Raises:
        InvalidInput: naming ``legal_basis.issued_on`` or ``legal_basis.expires_on``.
    """
    _in_range(issued, "legal_basis.issued_on", EARLIEST_DATE, today + dt.timedelta(days=1))
    if expires < issued:
        raise InvalidInput(
            f"Court order: expires_on {expires.isoformat()} is before issued_on "
            f"{issued.isoformat()}.",
            field="legal_basis.expires_on",
        )
    latest = _years_after(issued, MAX_ORDER_YEARS)
    if expires > latest:
        raise InvalidInput(
            f"Court order: expires_on {expires.isoformat()} is more than {MAX_ORDER_YEARS} "
            f"years after issued_on {issued.isoformat()} (at most {latest.isoformat()}).",
            field="legal_basis.expires_on",
        )


def check_emergency_time(declared: dt.datetime, now: dt.datetime) -> dt.datetime:
    """Return ``declared`` if an emergency declared then may be filed ``now``: at most five
    minutes ahead (clock skew) and at most :data:`EMERGENCY_PAST_DAYS` days ago.

    Raises:
        InvalidInput: naming ``legal_basis.declared_at``.
    """
    field = "legal_basis.declared_at"
    if declared > now + dt.timedelta(minutes=5):
        raise InvalidInput(
            f"Emergency: declared_at {declared.isoformat()} is in the future.", field=field
        )
    if declared < now - dt.timedelta(days=EMERGENCY_PAST_DAYS):
        raise InvalidInput(
            f"Emergency: declared_at {declared.isoformat()} is more than "
            f"{EMERGENCY_PAST_DAYS} days ago; an emergency is filed while it lasts.",
            field=field,
        )
    return declared


def check_training_end(until: dt.date, today: dt.date, validity_days: int | None) -> dt.date:
    """Return ``until`` if a training certificate may run to it from ``today``: not in the past,
    and no further ahead than the profile's ``training_validity_days`` (if it has one) or
    :data:`MAX_TRAINING_YEARS` years. A longer certificate would be refused by the policy at
    every search (rule ``training_current``), locking its holder out.

    Raises:
        InvalidInput: naming ``certified_until`` and the latest date allowed.
    """
    field = "certified_until"
    if until < today:
        raise InvalidInput(
            f"The training end {until.isoformat()} is in the past (today is {today.isoformat()}).",
            field=field,
        )
    latest = _years_after(today, MAX_TRAINING_YEARS)
    why = f"{MAX_TRAINING_YEARS} years ahead"
    if validity_days is not None and today + dt.timedelta(days=validity_days) < latest:
        latest = today + dt.timedelta(days=validity_days)
        why = f"the {validity_days} days the active profile allows"
    if until > latest:
        raise InvalidInput(
            f"The training end {until.isoformat()} is too far ahead: at most {why}, "
            f"{latest.isoformat()}.",
            field=field,
            latest=latest.isoformat(),
        )
    return until


def check_candidate_cap(wanted: int, cap: int, profile: str) -> int:
    """Return ``wanted`` if a request may ask for that many candidates under the profile's cap.

    Raises:
        InvalidInput: naming ``max_candidates`` and the cap.
    """
    if not 1 <= wanted <= cap:
        raise InvalidInput(
            f"max_candidates must be from 1 to {cap}, the {profile} profile's cap; got {wanted}.",
            field="max_candidates",
            cap=cap,
        )
    return wanted


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
