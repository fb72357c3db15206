"""Canonical JSON: one byte form per value; floats and other ambiguous values are refused."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceledger.errors import LedgerError
from faceledger.ledger.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json,
    parse_json,
)


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, b"{}"),
        ([], b"[]"),
        ({"b": 1, "a": 2}, b'{"a":2,"b":1}'),
        ({"a": [1, True, False, None, "x"]}, b'{"a":[1,true,false,null,"x"]}'),
        ({"nested": {"z": {}, "y": []}}, b'{"nested":{"y":[],"z":{}}}'),
        ((1, 2), b"[1,2]"),
        ("é€𝄞", '"é€𝄞"'.encode()),  # UTF-8, not \u escapes
        ('q"b\\s/', b'"q\\"b\\\\s/"'),
        ("\x00\x1f\n\t\x7f", b'"\\u0000\\u001f\\n\\t\x7f"'),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
        (Colour.RED, b"1"),
        # RFC 8785 §3.2.3: keys sort by UTF-16 code units, so U+1D11E (surrogates D834 DD1E)
        # comes before U+FB33 even though its code point is larger.
        ({"\ufb33": 1, "\U0001d11e": 2}, '{"\U0001d11e":2,"\ufb33":1}'.encode()),
    ],
)
def test_canonical_bytes(value: Any, expected: bytes) -> None:
    assert canonical_json(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        {"score": 0.42},
        [float("nan")],
        float("inf"),
        {1: "int key"},
        {("a",): 1},
        MAX_SAFE_INTEGER + 1,
        {"big": -(2**63)},
        b"bytes",
        {"set": {1, 2}},
        "\ud800",  # a lone surrogate has no UTF-8 form
        object(),
    ],
    # repr, but not an object's address (it differs between xdist workers' collections).
    ids=lambda value: "object()" if type(value) is object else repr(value),
)
def test_rejects_ambiguous_values(value: Any) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json(value)
    # Callers may catch it either as the ledger's error or as the TypeError it usually is.
    assert isinstance(info.value, LedgerError)
    assert isinstance(info.value, TypeError)


def test_rejects_deep_nesting() -> None:
    value: Any = []
    for _ in range(100):
        value = [value]
    with pytest.raises(CanonicalJSONError, match="nested deeper"):
        canonical_json(value)


def test_float_error_names_the_path() -> None:
    with pytest.raises(CanonicalJSONError) as info:
        canonical_json({"faces": [{"score": 0.5}]})
    assert info.value.details["path"] == "$.faces[0].score"


@pytest.mark.parametrize(
    "text",
    ['{"a": 1.0}', '{"a": 1e3}', "[NaN]", "[Infinity]", '{"a": 1, "a": 2}', "{", "\xff"],
)
def test_parse_is_strict(text: str) -> None:
    with pytest.raises(CanonicalJSONError):
        parse_json(text)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200)
@given(json_values)
def test_round_trip_and_idempotence(value: Any) -> None:
    encoded = canonical_json(value)
    decoded = parse_json(encoded)
    assert decoded == value
    assert canonical_json(decoded) == encoded
    # Any JSON parser reads the same value back.
    assert json.loads(encoded) == value
