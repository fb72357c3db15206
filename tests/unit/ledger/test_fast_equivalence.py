"""The fast path's building blocks give byte for byte what the reference code gives.

The envelope the fast verifier formats against :func:`envelope_bytes` and
:meth:`EntryRecord.envelope` (versions 1, 2 and 3), its canonical-JSON check against
``canonical_json(parse_json(...))``, its timestamp check against ``parse_ts``, and the batched
Merkle append against one leaf at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceledger.errors import LedgerError
from faceledger.ledger.canonical import (
    CanonicalJSONError,
    canonical_json,
    fast_safe,
    parse_canonical,
    parse_json,
)
from faceledger.ledger.envelope import envelope_bytes, parse_ts, private_sha256
from faceledger.ledger.fastverify import envelope_text, valid_ts
from faceledger.ledger.merkle import CompactRange
from faceledger.ledger.records import EntryRecord

from .fastlog import AWKWARD

SHA = "ab" * 32
SALT = "0123456789abcdef" * 2
REF_A, REF_O = "a" * 32, "f" * 32

_PUBLICS: list[dict[str, Any] | None] = [
    None,
    {},  # no public fields: a version 1 envelope
    {"agency": "metro", "basis": "warrant"},
    {"nested": {"z": [1, "é", None, True, False, -5]}, "a": "\"'\\"},
    {"é": 1, "e": 2, "\uff01": 3, "\U0001f601": 4},  # UTF-16 order puts the emoji before U+FF01
]
_LEFT_TO_THE_REFERENCE = 4  # the fast path does not build that one (fast_safe)


def _reference(version: int, public: dict[str, Any] | None, **text: str) -> bytes:
    fields: dict[str, Any] = {"seq": 7, "ts": "2026-01-02T03:04:05.678901Z", **text}
    if version == 3:
        private = private_sha256(
            actor=fields["actor"],
            object_id=fields["object_id"],
            payload_sha256=SHA,
            salt=SALT,
        )
        return envelope_bytes(
            seq=fields["seq"],
            ts=fields["ts"],
            action=fields["action"],
            object_type=fields["object_type"],
            public=public,
            actor_ref=REF_A,
            object_ref=REF_O,
            private_sha256=private,
        )
    return envelope_bytes(**fields, payload_sha256=SHA, public=public)


def _fast(version: int, public: dict[str, Any] | None, **text: str) -> bytes:
    v3 = {"actor_ref": REF_A, "object_ref": REF_O, "salt": SALT} if version == 3 else {}
    return envelope_text(
        seq=7, ts="2026-01-02T03:04:05.678901Z", payload_sha256=SHA, public=public, **text, **v3
    ).encode()


@pytest.mark.parametrize("version", [1, 3])
@pytest.mark.parametrize("public", _PUBLICS, ids=[f"public{i}" for i in range(len(_PUBLICS))])
@pytest.mark.parametrize("text", AWKWARD, ids=["quotes", "controls", "accents", "emoji"])
def test_formatted_envelopes_are_the_reference_bytes(
    version: int, public: dict[str, Any] | None, text: str
) -> None:
    fields = {"actor": text, "action": "a." + text, "object_type": "t", "object_id": text[::-1]}
    if public is _PUBLICS[_LEFT_TO_THE_REFERENCE]:
        with pytest.raises(ValueError, match="leaves these public fields"):
            _fast(version, public, **fields)
        return
    assert _fast(version, public, **fields) == b"\x00" + _reference(version, public, **fields)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    version=st.sampled_from([1, 3]),
    actor=_TEXT,
    action=_TEXT,
    object_type=_TEXT,
    object_id=_TEXT,
    public=st.none() | st.dictionaries(_TEXT, st.integers(-(2**53) + 1, 2**53 - 1) | _TEXT),
)
def test_formatted_envelopes_match_for_any_text(
    version: int,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    public: dict[str, Any] | None,
) -> None:
    fields = {"actor": actor, "action": action, "object_type": object_type, "object_id": object_id}
    try:
        fast = _fast(version, public, **fields)
    except ValueError:
        return  # public fields the fast path leaves to the reference
    assert fast == b"\x00" + _reference(version, public, **fields)


def test_a_lone_surrogate_has_no_envelope_either_way() -> None:
    fields = {"actor": "x\ud800", "action": "a", "object_type": "t", "object_id": "o"}
    with pytest.raises(CanonicalJSONError):
        _reference(1, None, **fields)
    with pytest.raises(UnicodeEncodeError):
        _fast(1, None, **fields)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_formatted_envelopes_are_the_records_envelopes(version: int) -> None:
    public = {"agency": "metro"} if version >= 2 else None
    record = EntryRecord(
        seq=41,
        ts="2026-05-06T07:08:09.000001Z",
        actor=AWKWARD[0],
        action="search.run",
        object_type="request",
        object_id=AWKWARD[2],
        payload_sha256=SHA,
        leaf_hash=SHA,
        payload=None,
        public=public,
        **(
            {
                "actor_ref": REF_A,
                "object_ref": REF_O,
                "salt": SALT,
                "private_sha256": private_sha256(
                    actor=AWKWARD[0], object_id=AWKWARD[2], payload_sha256=SHA, salt=SALT
                ),
            }
            if version == 3
            else {}
        ),
    )
    fast = envelope_text(
        seq=record.seq,
        ts=record.ts,
        action=record.action,
        object_type=record.object_type,
        actor=record.actor,
        object_id=record.object_id,
        payload_sha256=record.payload_sha256,
        public=record.public,
        actor_ref=record.actor_ref,
        object_ref=record.object_ref,
        salt=record.salt,
    )
    assert record.version == version
    assert fast.encode() == b"\x00" + record.envelope()


# -- the canonical-JSON check -------------------------------------------------------------------

_KEYS = st.text(st.sampled_from(["a", "b", "é", "\uff01", "\ue000", "\U0001f600", '"', "\\"]))
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**54), 2**54)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


def _reference_canonical(text: str) -> bool:
    try:
        return canonical_json(parse_json(text)) == text.encode()
    except LedgerError:
        return False


@settings(max_examples=400, deadline=None)
@given(value=_VALUES, style=st.sampled_from(["sorted", "unsorted", "spaced", "ascii"]))
def test_the_fast_check_never_accepts_what_the_reference_refuses(value: Any, style: str) -> None:
    text = json.dumps(
        value,
        sort_keys=style != "unsorted",
        separators=(", ", ": ") if style == "spaced" else (",", ":"),
        ensure_ascii=style == "ascii",
    )
    found = parse_canonical(text)
    if found is not None:
        assert _reference_canonical(text)
        assert found[1] == text.encode()
        assert found[0] == json.loads(text)


@settings(max_examples=200, deadline=None)
@given(value=_VALUES)
def test_the_fast_check_accepts_plain_canonical_json(value: Any) -> None:
    try:
        data = canonical_json(value)
    except CanonicalJSONError:
        return  # an unsafe integer: nothing to accept
    text = data.decode()
    astral_and_high = re.search("[\U00010000-\U0010ffff]", text) and re.search(
        "[\ue000-\uffff]", text
    )
    if not astral_and_high and not re.search(r"\d{16}", text):
        assert parse_canonical(text) == (value, data)


@pytest.mark.parametrize(
    ("text", "canonical", "fast"),
    [
        ('{"a":1,"b":[true,null,"x"]}', True, True),
        ('{"b":1,"a":2}', False, False),
        ('{"a":1,"a":1}', False, False),
        ('{"a": 1}', False, False),
        ('{"a":1.0}', False, False),
        ('{"a":NaN}', False, False),
        ('{"a":-0}', False, False),
        ('{"a":"\\u0041"}', False, False),
        ('{"a":"\\/"}', False, False),
        ('{"a":"\\u001F"}', False, False),
        ('{"a":"\\u001f"}', True, True),
        ('{"a":"\\ud800"}', False, False),
        ('{"a":9007199254740991}', True, False),  # sixteen digits: the exact path decides
        ('{"a":9007199254740992}', False, False),
        ('{"s":"x:1234567890123456"}', True, False),
        ('{"\U0001f600":1,"\uff01":2}', True, False),  # UTF-16 order, not code point order
        ('{"\uff01":2,"\U0001f600":1}', False, False),
        ('{"a\U0001f601":2,"\U0001f600":1}', True, True),  # astral alone: orders agree
        ("[" * 64 + "]" * 64, True, True),
        ("[" * 65 + "]" * 65, True, False),  # the innermost at depth 64: the exact path decides
        ("[" * 66 + "]" * 66, False, False),
        ('{"a":1} ', False, False),
        ("", False, False),
        ("{", False, False),
    ],
)
def test_the_fast_check_on_known_cases(text: str, canonical: bool, fast: bool) -> None:
    assert _reference_canonical(text) is canonical
    assert (parse_canonical(text) is not None) is fast


def test_fast_safe_counts_depth_from_where_the_value_sits() -> None:
    data = ("[" * 63 + "]" * 63).encode()
    assert fast_safe(data, 0) and fast_safe(data, 1) and not fast_safe(data, 2)


# -- timestamps and the tree --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-02T03:04:05.678901Z",
        "2024-02-29T00:00:00.000000Z",
        "2026-02-29T00:00:00.000000Z",
        "2026-04-31T00:00:00.000000Z",
        "2026-13-01T00:00:00.000000Z",
        "2026-00-10T00:00:00.000000Z",
        "2026-01-00T00:00:00.000000Z",
        "2026-01-02T24:00:00.000000Z",
        "2026-01-02T23:60:00.000000Z",
        "2026-01-02T23:59:60.000000Z",
        "0000-01-01T00:00:00.000000Z",
        "0001-01-01T00:00:00.000000Z",
        "9999-12-31T23:59:59.999999Z",
        "2026-01-02 03:04:05.678901Z",
        "2026-01-02T03:04:05.678901+00:00",
        "2026-01-02T03:04:05Z",
        "\uff12\uff10\uff12\uff16-01-02T03:04:05.678901Z",  # fullwidth digits
        "2026-01-02T0\uff13:04:05.678901Z",
    ],
)
def test_the_fast_timestamp_check_is_parse_ts(text: str) -> None:
    try:
        parse_ts(text)
        reference = True
    except ValueError:
        reference = False
    # Equal, except that parse_ts also takes other scripts' digits; the fast check leaves those
    # to it (the reference then decides).
    expected = reference and text.isascii()
    assert valid_ts(text) is expected
    assert valid_ts(text) is expected  # the second time from the cache of dates


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(timezones=st.just(dt.UTC)), text=st.text(max_size=30))
def test_the_fast_timestamp_check_on_any_time_or_text(moment: dt.datetime, text: str) -> None:
    for value in (moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), text, text + "Z"):
        try:
            parse_ts(value)
            reference = True
        except ValueError:
            reference = False
        assert valid_ts(value) is (reference and value.isascii()), value


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.integers(0, 70), max_size=8), start=st.integers(0, 40))
def test_extend_builds_the_tree_append_builds(batches: list[int], start: int) -> None:
    one, many = CompactRange(), CompactRange()
    first = [os.urandom(32) for _ in range(start)]
    for leaf in first:
        one.append(leaf)
    many.extend(first)
    for size in batches:
        leaves = [os.urandom(32) for _ in range(size)]
        for leaf in leaves:
            one.append(leaf)
        many.extend(leaves)
        assert (many.size, many.hashes, many.root()) == (one.size, one.hashes, one.root())
