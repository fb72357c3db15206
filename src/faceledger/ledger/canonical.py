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

The verifier's fast path (:func:`scan_json`, :func:`encode_sorted`, :func:`fast_safe`,
:func:`parse_canonical`) reaches the same bytes with json's C scanner and encoder alone, and
says when it cannot be sure; the caller then takes :func:`parse_json` and :func:`canonical_json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any

from faceledger.errors import LedgerError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 64

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "CanonicalJSONError",
    "canonical_json",
    "encode_sorted",
    "fast_safe",
    "parse_canonical",
    "parse_json",
    "scan_json",
]


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


# -- the verifier's fast path ------------------------------------------------------------------
#
# For what json's C scanner returns (objects with string keys, arrays, strings, integers, true,
# false, null: the hooks below refuse floats, NaN and Infinity), json's C encoder with sorted keys,
# no spaces and ensure_ascii=False writes exactly canonical_json's bytes, with the same escapes
# (canonical_json calls the same encoder), except in three cases, which fast_safe rules out from
# the text: keys whose code point order is not their UTF-16 order, integers outside the safe
# range, and nesting deeper than MAX_DEPTH. The two orders differ only between a character
# beyond the Basic Multilingual Plane (a surrogate pair in UTF-16) and one in U+E000..U+FFFF,
# so a text without one or the other is safe. A lone surrogate has no UTF-8 form, so the
# caller's encode() fails. Duplicate keys, spaces, another key order or other escapes make the
# re-encoding differ from the text.

# scan_json(text, idx) -> (value, end): the JSON value that starts at text[idx] and where it
# ends. json's C scanner, strict about floats, NaN and Infinity (CanonicalJSONError), which cost
# nothing where there are none; but it keeps the last of duplicate keys and ignores what
# follows, so a caller checks by re-encoding. Not JSON: ValueError or StopIteration.
# typeshed does not declare the C scanner and encoder; both are CPython's json internals.
scan_json: Callable[[str, int], tuple[Any, int]] = vars(
    json.JSONDecoder(parse_float=_reject_float, parse_constant=_reject_constant)
)["scan_once"]

_c_make_encoder = vars(json.encoder).get("c_make_encoder")
_C_ENCODE: Callable[[Any, int], list[str]] | None = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(None, None, encode_basestring, None, ":", ",", True, False, False)
)
_PY_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def encode_sorted(obj: Any) -> str:
    """Return ``obj`` as JSON with sorted keys and no spaces, by json's C encoder.

    It equals ``canonical_json(obj).decode()`` when :func:`fast_safe` holds for its UTF-8 bytes
    (module section above); it does not check for floats or surrogates.

    Raises:
        TypeError: for a value JSON has no form for.
    """
    if _C_ENCODE is None:  # pragma: no cover - CPython has the C encoder
        return _PY_ENCODE(obj)
    return "".join(_C_ENCODE(obj, 0))


# One translation for two tests: digits become "0" (so a run of 16 shows as one substring
# search; 2**53 has 16 digits) and "[" becomes "{" (so one count gives the brackets).
_DIGITS_AND_BRACKETS = bytes.maketrans(b"123456789[", b"000000000{")
_SIXTEEN_ZEROS = b"0" * 16
# A number token of 16 or more digits, at the start or after what may precede a value (a string
# holding ":" and 16 digits also matches: then the caller merely takes the exact path).
_LONG_NUMBER = re.compile(rb"(?:\A|[:,\[])-?[0-9]{16}")
# UTF-8 lead bytes of characters beyond the Basic Multilingual Plane, and of U+E000..U+FFFF.
_ASTRAL_LEAD = re.compile(rb"[\xf0-\xf7]")
_HIGH_BMP_LEAD = re.compile(rb"[\xee\xef]")


def fast_safe(data: bytes, depth: int = 0) -> bool:
    """Whether ``data``, written by :func:`encode_sorted`, is surely what canonical_json writes.

    ``depth`` is how deep the value sits in what canonical_json encodes (1 for an envelope's
    public fields). False means: do not know, take the exact path.
    """
    shape = data.translate(_DIGITS_AND_BRACKETS)
    # Brackets inside strings count too: on the safe side.
    if shape.count(b"{") > MAX_DEPTH - depth:
        return False
    if _SIXTEEN_ZEROS in shape and _LONG_NUMBER.search(data):
        return False
    return data.isascii() or not (_ASTRAL_LEAD.search(data) and _HIGH_BMP_LEAD.search(data))


def parse_canonical(text: str, depth: int = 0) -> tuple[Any, bytes] | None:
    """Return ``(value, utf8)`` if ``text`` is surely canonical JSON, by the fast path.

    None means it is not canonical or the fast path cannot tell: ask :func:`parse_json` and
    :func:`canonical_json`, which decide and explain.
    """
    try:
        value, end = scan_json(text, 0)
        if end != len(text) or encode_sorted(value) != text:
            return None
        data = text.encode("utf-8")
    except (ValueError, TypeError, RecursionError, StopIteration):
        # CanonicalJSONError is a TypeError; malformed JSON a ValueError or StopIteration.
        return None
    return (value, data) if fast_safe(data, depth) else None
