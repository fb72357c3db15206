"""JSON Pointers (RFC 6901): how a disclosure fact names the value it was read from.

A pointer is ``""`` (the whole document) or a sequence of ``/``-prefixed reference tokens, in
which ``~1`` stands for ``/`` and ``~0`` for ``~`` (RFC 6901 §3, §4). An array index is ``0`` or
a decimal number without leading zeros; ``-`` (past the end) names no value and is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["PointerError", "pointer", "resolve"]

_INDEX = re.compile(r"0|[1-9][0-9]*")


class PointerError(ValueError):
    """A pointer that is malformed, or names no value in the document."""


def _escape(token: str) -> str:
    # RFC 6901 §3: "~" first, so that the "~" of "~1" is not escaped again.
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """Return the pointer made of ``tokens`` (keys or array indexes), escaped."""
    return "".join("/" + _escape(str(token)) for token in tokens)


def _tokens(text: str) -> Iterable[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise PointerError(f"A JSON pointer starts with '/', got {text!r}.")
    # RFC 6901 §4: "~1" becomes "/" before "~0" becomes "~".
    return [t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/")]


def resolve(document: Any, text: str) -> Any:
    """Return the value ``text`` points to in ``document``.

    Raises:
        PointerError: for a malformed pointer, or one that names no value.
    """
    if not isinstance(text, str):
        raise PointerError(f"A JSON pointer is a string, got {type(text).__name__}.")
    value = document
    for token in _tokens(text):
        if isinstance(value, Mapping):
            if token not in value:
                raise PointerError(f"{text!r}: there is no member {token!r}.")
            value = value[token]
        elif isinstance(value, list):
            if not _INDEX.fullmatch(token) or int(token) >= len(value):
                raise PointerError(f"{text!r}: {token!r} is not an index of the array.")
            value = value[int(token)]
        else:
            raise PointerError(f"{text!r}: {token!r} goes below a value that has no members.")
    return value
