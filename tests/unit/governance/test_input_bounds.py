"""The bounds on typed input (faceledger.governance.inputs) and the request form that applies
them: text refuses control and bidirectional-text characters naming the code point; dates are
bounded by sense and by the profile; ids and counts by MAX_ID."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from faceledger.errors import InvalidInput
from faceledger.governance.accounts import check_display_name
from faceledger.governance.forms import RequestForm, parse_legal_basis
from faceledger.governance.inputs import (
    MAX_ID,
    check_candidate_cap,
    check_emergency_time,
    check_id,
    check_order_dates,
    check_text,
    check_training_end,
    refused_character,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()

REFUSED = [
    ("\x00", "U+0000"),
    ("\x07", "U+0007"),
    ("\x1b", "U+001B"),
    ("\x7f", "U+007F"),
    ("\x85", "U+0085"),
    ("\x9b", "U+009B"),
    ("\u061c", "U+061C"),
    ("\u200e", "U+200E"),
    ("\u200f", "U+200F"),
    ("\u202a", "U+202A"),
    ("\u202b", "U+202B"),
    ("\u202c", "U+202C"),
    ("\u202d", "U+202D"),
    ("\u202e", "U+202E"),
    ("\u2066", "U+2066"),
    ("\u2067", "U+2067"),
    ("\u2068", "U+2068"),
    ("\u2069", "U+2069"),
]


@pytest.mark.parametrize(("ch", "code_point"), REFUSED, ids=[c for _, c in REFUSED])
@pytest.mark.parametrize("multiline", [False, True], ids=["one-line", "multi-line"])
def test_check_text_refuses_control_and_bidi_characters(
    ch: str, code_point: str, multiline: bool
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_text(f"case {ch}42", "case_number", multiline=multiline)
    assert caught.value.details == {"field": "case_number", "code_point": code_point}
    message = caught.value.message
    assert message.startswith(f"case_number must be printable text: it holds {code_point}")
    assert "at position 5" in message


@pytest.mark.parametrize("ch", ["\n", "\t", "\r"], ids=["LF", "TAB", "CR"])
def test_line_breaks_and_tabs_only_in_multi_line_fields(ch: str) -> None:
    assert check_text(f"one{ch}two", "narrative", multiline=True) == f"one{ch}two"
    with pytest.raises(InvalidInput, match="case_number must be printable text: it holds U\\+000"):
        check_text(f"one{ch}two", "case_number")


def test_check_text_keeps_ordinary_unicode() -> None:
    text = "Zoë O'Brien — 東京 — مرحبا — 👮"
    assert check_text(text, "narrative") == text
    assert refused_character(text) is None


def test_display_names_use_the_same_check() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_display_name("Det. \u202eSmith", "display_name")
    assert caught.value.details["code_point"] == "U+202E"
    assert check_display_name("  Det. Smith ", "display_name") == "Det. Smith"


def _form(**changes: Any) -> RequestForm:
    fields: dict[str, Any] = {
        "case_number": "BPD-1",
        "narrative": "A narrative.",
        "legal_basis_kind": "court_order",
        "court": "Suffolk",
        "order_id": "O-1",
        "judge": "J",
        "issued_on": "2026-05-30",
        "expires_on": "2026-06-30",
        "attestation_text": "Not protected activity.",
        **changes,
    }
    return RequestForm.parse(fields, ["people"], attested=True)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("case_number", "BPD\x00-1", "case_number"),
        ("narrative", "A narrative\u202e.", "narrative"),
        ("attestation_text", "Not \x1b protected.", "attestation_text"),
        ("offence_code", "armed\u200frobbery", "offence_code"),
        ("court", "Suffolk\nSuperior", "legal_basis.court"),
        ("judge", "J\x85", "legal_basis.judge"),
    ],
)
def test_the_request_form_refuses_them_in_every_text(field: str, value: str, named: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _form(**{field: value})
    assert caught.value.details["field"] == named


def test_the_request_form_keeps_line_breaks_in_the_narrative() -> None:
    assert _form(narrative="Line one.\nLine two.\tTabbed.").narrative.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0", True),
        (str(MAX_ID), True),
        (str(MAX_ID + 1), False),
        ("-1", False),
        ("9" * 5000, False),
    ],
)
def test_form_numbers_are_bounded(text: str, ok: bool) -> None:
    if ok:
        assert _form(face_index=text).face_index == int(text)
    else:
        with pytest.raises(InvalidInput, match="face_index must be a whole number"):
            _form(face_index=text)


def test_check_id() -> None:
    assert check_id(MAX_ID, "seq") == MAX_ID
    assert check_id(0, "seq", minimum=0) == 0
    for bad in (0, MAX_ID + 1, 2**63, -1, True):
        with pytest.raises(InvalidInput, match="seq must be a whole number"):
            check_id(bad, "seq")


# -- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued", "expires", "field", "words"),
    [
        (dt.date(1, 1, 1), dt.date(2026, 7, 1), "legal_basis.issued_on", "before 2000-01-01"),
        (dt.date(1999, 12, 31), dt.date(2026, 7, 1), "legal_basis.issued_on", "before"),
        (dt.date(9999, 12, 31), dt.date(9999, 12, 31), "legal_basis.issued_on", "after"),
        (dt.date(2026, 6, 3), dt.date(2026, 7, 1), "legal_basis.issued_on", "after 2026-06-02"),
        (dt.date(2026, 5, 1), dt.date(2026, 4, 30), "legal_basis.expires_on", "before issued_on"),
        (dt.date(2026, 5, 1), dt.date(9999, 12, 31), "legal_basis.expires_on", "5 years"),
        (dt.date(2024, 2, 29), dt.date(2029, 3, 1), "legal_basis.expires_on", "2029-02-28"),
    ],
)
def test_court_order_dates_out_of_range(
    issued: dt.date, expires: dt.date, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_order_dates(issued, expires, TODAY)
    assert caught.value.details["field"] == field
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("issued", "expires"),
    [
        (dt.date(2000, 1, 1), dt.date(2000, 1, 1)),
        (TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=30)),  # a time zone ahead
        (dt.date(2025, 1, 1), dt.date(2026, 1, 1)),  # expired: the policy's to deny, recorded
        (dt.date(2024, 2, 29), dt.date(2029, 2, 28)),
    ],
)
def test_court_order_dates_in_range(issued: dt.date, expires: dt.date) -> None:
    check_order_dates(issued, expires, TODAY)


def test_parse_legal_basis_applies_the_order_bounds() -> None:
    order = {"court": "C", "order_id": "O", "judge": "J", "issued_on": "0001-01-01"}
    with pytest.raises(InvalidInput) as caught:
        parse_legal_basis("court_order", {**order, "expires_on": "2026-07-01"}, NOW)
    assert caught.value.details["field"] == "legal_basis.issued_on"


@pytest.mark.parametrize(
    ("declared", "words"),
    [
        (dt.datetime(1, 1, 1, tzinfo=dt.UTC), "more than 30 days ago"),
        (NOW - dt.timedelta(days=30, seconds=1), "more than 30 days ago"),
        (NOW + dt.timedelta(minutes=6), "in the future"),
        (dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "future"),
    ],
)
def test_emergency_times_out_of_range(declared: dt.datetime, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_emergency_time(declared, NOW)
    assert caught.value.details["field"] == "legal_basis.declared_at"
    assert words in caught.value.message


def test_emergency_times_in_range_and_through_the_form() -> None:
    for declared in (NOW - dt.timedelta(days=29), NOW, NOW + dt.timedelta(minutes=4)):
        assert check_emergency_time(declared, NOW) == declared
    data = {"facts": "Child missing.", "declared_at": "0001-01-01T00:00:00+00:00"}
    with pytest.raises(InvalidInput, match="more than 30 days ago"):
        parse_legal_basis("emergency", data, NOW)


@pytest.mark.parametrize(
    ("until", "validity", "words"),
    [
        (dt.date(9999, 12, 31), 365, "the 365 days the active profile allows, 2027-06-01"),
        (TODAY + dt.timedelta(days=366), 365, "2027-06-01"),
        (dt.date(9999, 12, 31), None, "5 years ahead, 2031-06-01"),
        (dt.date(2031, 6, 2), 10_000, "5 years ahead"),
        (TODAY - dt.timedelta(days=1), 365, "in the past"),
    ],
)
def test_training_end_out_of_range(until: dt.date, validity: int | None, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_training_end(until, TODAY, validity)
    assert caught.value.details["field"] == "certified_until"
    assert words in caught.value.message


def test_training_end_in_range() -> None:
    assert check_training_end(TODAY, TODAY, 365) == TODAY
    assert check_training_end(dt.date(2027, 6, 1), TODAY, 365) == dt.date(2027, 6, 1)
    assert check_training_end(dt.date(2031, 6, 1), TODAY, None) == dt.date(2031, 6, 1)


@pytest.mark.parametrize("wanted", [0, 11, MAX_ID])
def test_candidate_cap(wanted: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_candidate_cap(wanted, 10, "massachusetts")
    assert caught.value.details == {"field": "max_candidates", "cap": 10}
    assert "the massachusetts profile's cap" in caught.value.message
    assert check_candidate_cap(10, 10, "massachusetts") == 10
