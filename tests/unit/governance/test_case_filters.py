"""The case-query filter: parsing what interfaces send, every bad value named, the sentence of
what was asked, and the query string back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from faceledger.errors import InvalidInput
from faceledger.governance.case_filters import CHOICES, FIELDS, CaseFilter, InvalidFilter
from faceledger.governance.context import DisclosureStatus, LeadUseKind, LegalBasisKind, Outcome
from faceledger.governance.lifecycle import State
from faceledger.governance.offences import SeverityClass


def test_the_warrant_question_parses_and_reads_back() -> None:
    spec = CaseFilter.parse({"lead_use": "warrant", "searched_since": "2026-01-01"})
    assert spec == CaseFilter(lead_uses=(LeadUseKind.WARRANT,), searched_from=dt.date(2026, 1, 1))
    assert spec.describe() == "requests with a lead used for warrant, searched since 2026-01-01"
    filed = CaseFilter.parse({"lead_use": ["warrant"], "filed_since": "2026-01-01"})
    assert filed.describe() == "requests with a lead used for warrant, filed since 2026-01-01"


def test_every_field_parses() -> None:
    spec = CaseFilter.parse(
        {
            "state": ["released", "sealed"],
            "agency": ["boston-pd", "cambridge-pd"],
            "offence": "armed_robbery",
            "offence_class": "violent_felony",
            "basis": ["court_order", "emergency"],
            "lead_use": ["warrant", "arrest"],
            "outcome": "arrest",
            "filed_since": "2026-01-01",
            "filed_until": "2026-01-31",
            "searched_since": "2026-01-02",
            "searched_until": "2026-01-02",
            "examiner": "ex-one",
            "reviewer": "rev-one",
            "requester": "det-a",
            "case": " BPD-2026-1 ",
            "disclosure": "disclosed",
        }
    )
    assert spec == CaseFilter(
        states=(State.RELEASED, State.SEALED),
        agencies=("boston-pd", "cambridge-pd"),
        offence_codes=("armed_robbery",),
        offence_classes=(SeverityClass.VIOLENT_FELONY,),
        bases=(LegalBasisKind.COURT_ORDER, LegalBasisKind.EMERGENCY),
        lead_uses=(LeadUseKind.WARRANT, LeadUseKind.ARREST),
        outcomes=(Outcome.ARREST,),
        filed_from=dt.date(2026, 1, 1),
        filed_to=dt.date(2026, 1, 31),
        searched_from=dt.date(2026, 1, 2),
        searched_to=dt.date(2026, 1, 2),
        examiner="ex-one",
        reviewer="rev-one",
        requester="det-a",
        case_number="BPD-2026-1",
        disclosure=DisclosureStatus.DISCLOSED,
    )
    assert spec.describe() == (
        "requests in state released or sealed, of boston-pd or cambridge-pd, filed by det-a, "
        "of case BPD-2026-1, for offence armed_robbery, for an offence of class violent "
        "felony, on a legal basis of court order or emergency, searched by ex-one, reviewed "
        "by rev-one, with a lead used for warrant or arrest, with outcome arrest, disclosed, "
        "filed from 2026-01-01 to 2026-01-31, searched on 2026-01-02"
    )
    # The query string is the inverse of parse, and fills every field of a form.
    pairs = spec.to_query()
    again: dict[str, list[str]] = {}
    for name, value in pairs:
        again.setdefault(name, []).append(value)
    assert CaseFilter.parse(again) == spec
    assert set(spec.values()) == set(FIELDS)
    assert spec.values()["lead_use"] == ["warrant", "arrest"]


def test_empty_values_ask_for_nothing() -> None:
    spec = CaseFilter.parse({"state": ["", " "], "case": "", "examiner": None, "outcome": []})
    assert spec == CaseFilter() and spec.is_empty
    assert spec.describe() == "all requests" and spec.to_query() == []
    assert not CaseFilter.parse({"state": "approved"}).is_empty


def test_repeated_values_count_once() -> None:
    spec = CaseFilter.parse({"lead_use": ["warrant", "warrant", " warrant "]})
    assert spec.lead_uses == (LeadUseKind.WARRANT,)


@pytest.mark.parametrize("field", sorted(CHOICES))
def test_an_unknown_enum_value_names_the_field_and_its_choices(field: str) -> None:
    with pytest.raises(InvalidFilter) as raised:
        CaseFilter.parse({field: "no_such_value"})
    error = raised.value
    assert error.details["field"] == field
    assert error.details["allowed"] == list(CHOICES[field])
    assert field in error.message and CHOICES[field][0] in error.message
    assert "'no_such_value'" in error.message


@pytest.mark.parametrize(
    "value", ["2026-1-1", "20260101", "2026-02-30", "yesterday", "2026-01-01T00:00"]
)
@pytest.mark.parametrize(
    "field", ["filed_since", "filed_until", "searched_since", "searched_until"]
)
def test_a_bad_date_is_named(field: str, value: str) -> None:
    with pytest.raises(InvalidFilter, match="YYYY-MM-DD") as raised:
        CaseFilter.parse({field: value})
    assert raised.value.details["field"] == field


@pytest.mark.parametrize("what", ["filed", "searched"])
def test_a_range_that_ends_before_it_starts_is_refused(what: str) -> None:
    with pytest.raises(InvalidFilter, match="is before") as raised:
        CaseFilter.parse({f"{what}_since": "2026-02-01", f"{what}_until": "2026-01-31"})
    assert raised.value.details["field"] == f"{what}_until"
    # The same day at both ends is one day, not an empty range.
    one_day = CaseFilter.parse({f"{what}_since": "2026-02-01", f"{what}_until": "2026-02-01"})
    assert f"{what} on 2026-02-01" in one_day.describe()


def test_the_record_refuses_a_backward_range_too() -> None:
    with pytest.raises(InvalidFilter):
        CaseFilter(filed_from=dt.date(2026, 2, 1), filed_to=dt.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"agency": "Boston PD"}, "agency"),
        ({"offence": "Armed Robbery"}, "offence"),
        ({"examiner": "Ex One"}, "examiner"),
        ({"reviewer": "x"}, "reviewer"),
        ({"requester": "1det"}, "requester"),
        ({"case": "X" * 101}, "case"),
        ({"examiner": ["ex-one", "ex-two"]}, "examiner"),
        ({"disclosure": ["disclosed", "not_disclosed"]}, "disclosure"),
        ({"agency": [f"pd-{i}" for i in range(51)]}, "agency"),
        ({"lead_uses": "warrant"}, "lead_uses"),
    ],
)
def test_a_value_of_the_wrong_shape_is_named(values: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidFilter) as raised:
        CaseFilter.parse(values)
    assert raised.value.details["field"] == field
    assert field in raised.value.message


def test_an_unknown_filter_lists_the_known_ones() -> None:
    with pytest.raises(InvalidFilter, match="Unknown filter since") as raised:
        CaseFilter.parse({"since": "2026-01-01"})
    assert raised.value.details["allowed"] == list(FIELDS)


def test_a_bad_filter_is_invalid_input_answered_422() -> None:
    assert issubclass(InvalidFilter, InvalidInput)
    assert InvalidFilter.status == 422 and InvalidFilter.code == "invalid_input"
