"""Canonical JSON: the one byte encoding the ledger hashes and signs.

The rules (defined here and nowhere else):

* Values are JSON objects (any ``Mapping`` with ``str`` keys), arrays (``list`` or ``tuple``),
  strings, integers, ``true``/``false`` and ``null``. Anything else is rejected, **floats
  included** (``1.0``, ``NaN``, ``inf``): a float has several textual forms and rounds
  differently across languages, so callers encode scores and distances as strings or scaled
  integers.
* Integers must lie in the I-JSON safe range ``-(2**53 - 1) .. 2**53 - 1`` (RFC 7493 §2.2), so
  that every JSON parser, JavaScript's included, reads back the same value.
* Object keys are sorted by their UTF-16 code units, as RFC 8785 (JCS) §3.2.3 requires; for
  keys made only of Basic Multilingual Plane characters this is plain code point order.
* No insignificant whitespace: ``,`` and ``:`` separators, no spaces, no trailing newline.
* Strings are output as UTF-8, not ``\\u``-escaped, except ``"``, ``\\`` and the control
  characters U+0000..U+001F, escaped as ``\\"``, ``\\\\``, ``\\b``, ``\\f``, ``\\n``, ``\\r``,
  ``\\t`` or ``\\u00xx`` (lower-case hex): the escaping of RFC 8785 §3.2.2.2. Strings are not
  Unicode-normalised; lone surrogates are rejected.

For the JSON this module accepts (no floats), the output is therefore the RFC 8785 canonical
form, so an outside auditor can reproduce it with any JCS implementation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from faceledger.errors import LedgerError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 64

__all__ = ["MAX_SAFE_INTEGER", "CanonicalJSONError", "canonical_json", "parse_json"]


class CanonicalJSONError(LedgerError, TypeError):
    """A value cannot be put into canonical JSON (a float, a non-string key, an unknown type).

    It is both a :class:`~faceledger.errors.LedgerError` (for interfaces that render errors) and
    a :class:`TypeError` (for code that treats it as the programming error it usually is).
    """


def canonical_json(obj: Any) -> bytes:
    """Return the canonical JSON encoding of ``obj`` as UTF-8 bytes (rules in the module doc).

    Raises:
        CanonicalJSONError: for a float, an integer outside the safe range, a non-string key,
            a lone surrogate, nesting deeper than 64, or any type JSON has no form for.
    """
    prepared = _prepare(obj, "$", 0)
    text = json.dumps(prepared, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError(
            "A string holds a lone surrogate, which has no UTF-8 form.", position=exc.start
        ) from None


def parse_json(text: str | bytes) -> Any:
    """Parse JSON strictly: no floats, no NaN/Infinity, no duplicate keys.

    Whatever this returns, :func:`canonical_json` can encode (if integers are in range).

    Raises:
        CanonicalJSONError: for malformed JSON, a float, a NaN/Infinity literal or a duplicate
            key.
    """
    try:
        return json.loads(
            text,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_object,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise CanonicalJSONError(f"Not valid JSON: {exc}") from None


def _prepare(obj: Any, path: str, depth: int) -> Any:
    """Validate ``obj`` and return a copy whose objects iterate in canonical key order."""
    if depth > MAX_DEPTH:
        raise CanonicalJSONError(f"JSON nested deeper than {MAX_DEPTH} levels at {path}.")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        if not -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
            raise CanonicalJSONError(
                f"Integer at {path} is outside the safe range ±(2**53 - 1); encode it as a string.",
                path=path,
            )
        # int subclasses (IntEnum) would otherwise print their repr.
        return int(obj)
    if isinstance(obj, float):
        raise CanonicalJSONError(
            f"Float at {path} ({obj!r}) is not allowed in canonical JSON; encode it as a string "
            "or a scaled integer.",
            path=path,
        )
    if isinstance(obj, Mapping):
        items: list[tuple[str, Any]] = []
        for key, value in obj.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(
                    f"Object key {key!r} at {path} is not a string.", path=path
                )
            items.append((key, _prepare(value, f"{path}.{key}", depth + 1)))
        items.sort(key=lambda item: item[0].encode("utf-16-be", "surrogatepass"))
        return dict(items)
    if isinstance(obj, (list, tuple)):
        return [_prepare(value, f"{path}[{i}]", depth + 1) for i, value in enumerate(obj)]
    raise CanonicalJSONError(
        f"Value at {path} has type {type(obj).__name__}, which canonical JSON does not encode.",
        path=path,
    )


def _reject_float(text: str) -> Any:
    raise CanonicalJSONError(f"Float {text} is not allowed in canonical JSON.")


def _reject_constant(text: str) -> Any:
    raise CanonicalJSONError(f"{text} is not allowed in canonical JSON.")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalJSONError(f"Duplicate object key {key!r}.")
        result[key] = value
    return result
