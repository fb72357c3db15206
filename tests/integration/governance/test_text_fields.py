"""Free-text fields written after filing refuse NUL, control and bidirectional-override
characters in the service, so the web forms and the CLI refuse them as the API does: review
notes, the reason for closing with no lead, a lead use's corroboration, an emergency's filing
reference and the court's refusal note. Each refusal names the field and the code point, and
writes nothing. The face pipeline is the FAKE one of the governed template."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from faceledger.errors import InvalidInput
from tests.integration.governance.conftest import Governed

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "Smith" shown as "htimS"


def _review_note(g: Governed) -> Any:
    rid = g.requests["searched"]
    view = g.service.requests.get_request(g.who("ex2"), rid)
    marks = [
        {"candidate_id": c["id"], "outcome": "not_match", "note": f"looks {RLO}alike"}
        for c in view.candidates
    ]
    return g.service.reviews.submit_review(g.who("ex2"), rid, marks)


def _lead_use(g: Governed) -> Any:
    rid = g.requests["released"]
    view = g.service.requests.get_request(g.who("req_a"), rid)
    [lead, *_] = view.release.candidate_ids  # type: ignore[union-attr]
    return g.service.reviews.record_lead_use(g.who("req_a"), rid, lead, "warrant", "W-1\x00")


CASES: dict[str, tuple[Callable[[Governed], Any], str, str]] = {
    "review note": (_review_note, "note", "U+202E"),
    "close reason": (
        lambda g: g.service.reviews.close_no_lead(
            g.who("ex1"), g.requests["searched"], "no lead\x07"
        ),
        "reason",
        "U+0007",
    ),
    "lead corroboration": (_lead_use, "corroboration_ref", "U+0000"),
    "filing reference": (
        lambda g: g.service.emergencies.file_emergency_statement(
            g.who("req_a"), g.requests["emergency_approved"], f"SUCR{RLO}-1"
        ),
        "reference",
        "U+202E",
    ),
    "court refusal note": (
        lambda g: g.service.emergencies.record_court_refusal(
            g.who("sup"), g.requests["emergency_approved"], "refused \u2066x"
        ),
        "note",
        "U+2066",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_text_field_with_a_refused_character_writes_nothing(
    governed: Governed, case: str
) -> None:
    attempt, field, code_point = CASES[case]
    before = governed.counts()
    with pytest.raises(InvalidInput) as caught:
        attempt(governed)
    assert caught.value.details["field"] == field
    assert caught.value.details["code_point"] == code_point
    assert code_point in caught.value.message
    assert governed.counts() == before
