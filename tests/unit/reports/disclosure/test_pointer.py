"""RFC 6901 JSON pointers, as disclosure facts name their values."""

from __future__ import annotations

from typing import Any

import pytest

from faceledger.reports.disclosure.pointer import PointerError, pointer, resolve

# The example document of RFC 6901 §5.
DOC: dict[str, Any] = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", DOC),
        ("/foo", ["bar", "baz"]),
        ("/foo/0", "bar"),
        ("/", 0),
        ("/a~1b", 1),
        ("/c%d", 2),
        ("/e^f", 3),
        ("/g|h", 4),
        ("/i\\j", 5),
        ('/k"l', 6),
        ("/ ", 7),
        ("/m~0n", 8),
    ],
)
def test_the_rfc_examples_resolve(text: str, expected: Any) -> None:
    assert resolve(DOC, text) == expected


@pytest.mark.parametrize(
    "text", ["foo", "/nope", "/foo/2", "/foo/01", "/foo/-", "/foo/0/x", "/a/b"]
)
def test_a_pointer_that_names_no_value_is_refused(text: str) -> None:
    with pytest.raises(PointerError):
        resolve(DOC, text)


@pytest.mark.parametrize("key", ["a/b", "m~n", "~1", "/~0/", "plain"])
def test_pointer_escapes_what_resolve_unescapes(key: str) -> None:
    assert resolve({key: "found"}, pointer(key)) == "found"
    assert resolve({"x": [{key: 1}]}, pointer("x", 0, key)) == 1
