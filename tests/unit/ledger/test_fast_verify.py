"""The fast verifier against the reference one: the same answer, to the byte, on clean logs and
on every kind of odd or tampered input; and the fast path really is the one taken."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from faceledger.db import Database
from faceledger.errors import LedgerError
from faceledger.ledger import Ledger, verify_database, verify_export
from faceledger.ledger.canonical import canonical_json
from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.checks import LogChecker
from faceledger.ledger.envelope import envelope_bytes
from faceledger.ledger.fastdb import verify_rows
from faceledger.ledger.fastlines import verify_lines
from faceledger.ledger.fastverify import FastStats
from faceledger.ledger.merkle import leaf_hash
from tests import rawsql

from .conftest import FakeClock
from .fastlog import (
    TAIL,
    build_mixed_log,
    export_lines,
    outcome,
    reference_database,
    reference_export,
    reseal_entry,
    sql,
)


@pytest.fixture
def mixed(db: Database, signing_key: Ed25519PrivateKey, clock: FakeClock) -> Ledger:
    return build_mixed_log(db, signing_key, clock)


def _fast_database(url: str, key: Ed25519PublicKey) -> FastStats:
    engine = create_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            return verify_rows(conn, LogChecker(key, None), page=7, run=3)[1]
    finally:
        engine.dispose()


def test_a_clean_mixed_log_is_verified_on_the_fast_path(
    db: Database, db_url: str, mixed: Ledger, public_key: Ed25519PublicKey
) -> None:
    for include in (True, False):
        lines = export_lines(db, mixed, include)
        report, stats = verify_lines(lines, LogChecker(public_key, None), run=4)
        assert report == reference_export(lines, public_key)
        assert (stats.fast, stats.exact) == (27, 0)  # no entry needed the reference
    report = verify_database(db_url, public_key)
    assert report == reference_database(db_url, public_key)
    assert (report.tree_size, report.checkpoints, report.signed_size) == (27, 3, 25)
    assert (report.payloads_checked, report.payloads_redacted) == (25, 2)
    assert (report.commitments, report.reveals_checked) == (1, 1)
    # Pages of 7 rows and runs of 3 leaves: checkpoints fall inside pages and between runs.
    stats = _fast_database(db_url, public_key)
    assert (stats.fast, stats.exact) == (27, 0)
    full = verify_export(export_lines(db, mixed), public_key)
    assert full.root_hash == report.root_hash


def test_trusted_checkpoints_inside_runs_of_leaves(
    db: Database,
    db_url: str,
    mixed: Ledger,
    public_key: Ed25519PublicKey,
    signing_key: Ed25519PrivateKey,
) -> None:
    with db.read() as session:
        checkpoints = mixed.checkpoints(session)
    lines = export_lines(db, mixed, False)
    for trusted in checkpoints:  # sizes 9, 22 and 25 fall inside runs of 4 leaves
        report, _ = verify_lines(lines, LogChecker(public_key, trusted), run=4)
        assert report == reference_export(lines, public_key, trusted)
        assert report.trusted_size == trusted.tree_size
    # Another history of the same size, signed with the real key.
    cp = checkpoints[1]
    other = sign_checkpoint(
        signing_key,
        number=cp.number,
        log_id=cp.log_id,
        tree_size=cp.tree_size,
        root_hash=bytes(32),
        timestamp=cp.timestamp,
    )
    fast = outcome(lambda: verify_lines(lines, LogChecker(public_key, other), run=4)[0])
    assert fast[0] == "failed" and fast[1][1]["reason"] == "inconsistent_with_trusted"
    assert fast == outcome(lambda: reference_export(lines, public_key, other))
    from_db = outcome(lambda: verify_database(db_url, public_key, other))
    assert from_db == outcome(lambda: reference_database(db_url, public_key, other))
    assert from_db[1][1]["reason"] == "inconsistent_with_trusted"


# -- export lines -------------------------------------------------------------------------------


def _line_index(lines: list[str], seq: int) -> int:
    return next(
        i
        for i, line in enumerate(lines)
        if line.startswith('{"action"') and f'"seq":{seq},' in line
    )


def _reseal_line(line: str, change: Callable[[dict[str, object]], None]) -> str:
    """Change a parsed entry line, then recompute its hashes the reference way (a tail entry's
    leaf is covered by no checkpoint, so only the form checks decide). Where the reference
    cannot hash (a payload nested too deep, public fields too large) the hashes stay."""
    data = json.loads(line)
    change(data)
    try:
        payload = data.get("payload")
        if payload is not None:
            data["payload_sha256"] = hashlib.sha256(canonical_json(payload)).hexdigest()
        envelope = envelope_bytes(
            seq=data["seq"],
            ts=data["ts"],
            action=data["action"],
            object_type=data["object_type"],
            actor=data["actor"],
            object_id=data["object_id"],
            payload_sha256=data["payload_sha256"],
            public=data.get("public"),
        )
        data["leaf_hash"] = leaf_hash(envelope).hex()
    except LedgerError:
        pass
    # Written as canonical_json would, but for any depth (json's encoder, sorted, no spaces).
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(line: str) -> str:
        assert old in line, f"{old!r} not in {line!r}"
        return line.replace(old, new, 1)

    return edit


# Text edits of one line, each with the seq of the line it is made on: 1 is version 1 (with a
# payload), 2 version 2, 10 version 3 with its private fields and public fields, 26 the last
# (unsigned) line.
_TEXT_EDITS: list[tuple[str, int, Callable[[str], str]]] = [
    ("space in the payload", 1, _replace('"payload":{', '"payload": {')),
    ("space between fields", 2, _replace(',"seq":', ', "seq":')),
    ("duplicate payload key", 1, _replace('"payload":{', '"payload":{"n":1,')),
    ("duplicate line key", 26, _replace('"type":"entry"}', '"type":"entry","type":"entry"}')),
    ("float in the payload", 1, _replace('"payload":{', '"payload":{"f":1.5,')),
    ("exponent in the payload", 1, _replace('"payload":{', '"payload":{"e":1e3,')),
    ("NaN in the payload", 1, _replace('"payload":{', '"payload":{"x":NaN,')),
    (
        "keys reordered",
        26,
        lambda line: '{"type":"entry",' + line[1:].replace(',"type":"entry"', ""),
    ),
    ("escaped slash", 0, _replace("slash /", "slash \\/")),
    ("needless escape", 0, _replace('"note":"quote', '"note":"\\u0071uote')),
    ("upper-case escape", 1, _replace("\\u001f", "\\u001F")),
    ("lone surrogate", 0, _replace('"note":"quote', '"note":"\\ud800quote')),
    ("surrogate pair escaped", 7, _replace("\U0001f600", "\\ud83d\\ude00")),
    ("minus zero", 25, _replace('"tail":0', '"tail":-0')),
    ("unsafe integer", 26, _replace('"tail":1', '"tail":9007199254740992')),
    ("largest safe integer", 26, _replace('"tail":1', '"tail":9007199254740991')),
    ("deep nesting", 26, _replace('"tail":1', '"tail":' + "[" * 70 + "]" * 70)),
    ("trailing text", 26, lambda line: line.rstrip("\n") + " x\n"),
    ("no final newline", 26, lambda line: line.rstrip("\n")),
    ("carriage return", 26, lambda line: line.rstrip("\n") + "\r\n"),
    ("leading space", 26, lambda line: " " + line),
    ("extra field", 26, _replace('"type":"entry"}', '"type":"entry","zz":1}')),
    ("null payload", 26, _replace('"payload":{"tail":1}', '"payload":null')),
    ("list payload", 26, _replace('"payload":{"tail":1}', '"payload":[1]')),
    ("upper-case leaf hash", 26, lambda line: _upper_field(line, "leaf_hash")),
    ("seq as float", 26, _replace('"seq":26', '"seq":26.0')),
    ("seq as string", 26, _replace('"seq":26', '"seq":"26"')),
    ("seq as true", 1, _replace('"seq":1,', '"seq":true,')),
    ("impossible date", 26, lambda line: _field(line, "ts", "2026-02-30T00:00:00.000000Z")),
    ("empty public", 26, _replace('"seq":26', '"public":{},"seq":26')),
    ("public as a list", 26, _replace('"seq":26', '"public":[1],"seq":26')),
    ("v3 line without its salt", 10, lambda line: _drop(line, "salt")),
    ("v3 private field changed", 10, _replace('"object_id":"REQ-9/', '"object_id":"REQ-8/')),
    ("v3 actor_ref upper case", 10, lambda line: _upper_field(line, "actor_ref")),
    ("changed action", 2, _replace('"action":"search.run"', '"action":"search.ran"')),
]

# Changes of the parsed last line, resealed: only the form checks can catch them.
_RESEALED: list[tuple[str, Callable[[dict[str, object]], None]]] = [
    ("astral and high-BMP keys", lambda d: d.update(payload={"\U0001f600": 1, "\uff01": 2})),
    ("astral keys alone", lambda d: d.update(payload={"\U0001f600": 1, "a\U0001f601": 2})),
    ("largest safe integer", lambda d: d.update(payload={"n": 2**53 - 1, "m": -(2**53 - 1)})),
    ("sixteen digits in a string", lambda d: d.update(payload={"s": "x:1234567890123456"})),
    ("64 lists deep", lambda d: d.update(payload={"a": _nest(64)})),
    ("65 lists deep", lambda d: d.update(payload={"a": _nest(65)})),
    ("public at the size limit", lambda d: d.update(public={"p": "x" * 1992})),
    ("public over the size limit", lambda d: d.update(public={"p": "x" * 1993})),
    ("unicode everywhere", lambda d: d.update(actor="Ørsted \u2028 \U0001f600", object_id="東京")),
    ("control characters", lambda d: d.update(object_id='\x00\x01\x1f\x7f"\\/')),
]


def _nest(depth: int) -> object:
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _field(line: str, name: str, value: str) -> str:
    data = json.loads(line)
    assert name in data
    data[name] = value
    return canonical_json(data).decode() + "\n"


def _upper_field(line: str, name: str) -> str:
    return _field(line, name, json.loads(line)[name].upper())


def _drop(line: str, name: str) -> str:
    data = json.loads(line)
    del data[name]
    return canonical_json(data).decode() + "\n"


@pytest.mark.parametrize(("name", "seq", "edit"), _TEXT_EDITS, ids=[c[0] for c in _TEXT_EDITS])
def test_export_line_edits_get_the_reference_answer(
    db: Database,
    mixed: Ledger,
    public_key: Ed25519PublicKey,
    name: str,
    seq: int,
    edit: Callable[[str], str],
) -> None:
    lines = export_lines(db, mixed)
    i = _line_index(lines, seq)
    changed = [*lines[:i], edit(lines[i]), *lines[i + 1 :]]
    assert changed != lines
    fast = outcome(lambda: verify_export(changed, public_key))
    assert fast == outcome(lambda: reference_export(changed, public_key)), name


@pytest.mark.parametrize(("name", "change"), _RESEALED, ids=[c[0] for c in _RESEALED])
def test_resealed_export_lines_get_the_reference_answer(
    db: Database,
    mixed: Ledger,
    public_key: Ed25519PublicKey,
    name: str,
    change: Callable[[dict[str, object]], None],
) -> None:
    lines = export_lines(db, mixed)
    i = _line_index(lines, TAIL[-1])
    changed = [*lines[:i], _reseal_line(lines[i], change), *lines[i + 1 :]]
    fast = outcome(lambda: verify_export(changed, public_key))
    assert fast == outcome(lambda: reference_export(changed, public_key)), name


def test_resealed_lines_the_reference_accepts_are_accepted(
    db: Database, mixed: Ledger, public_key: Ed25519PublicKey
) -> None:
    # The cases above agree; these are ones where both must accept (not merely agree).
    lines = export_lines(db, mixed)
    i = _line_index(lines, TAIL[-1])
    accepted = {"astral and high-BMP keys", "largest safe integer", "64 lists deep"}
    for name, change in _RESEALED:
        if name in accepted:
            changed = [*lines[:i], _reseal_line(lines[i], change), *lines[i + 1 :]]
            assert verify_export(changed, public_key).tree_size == 27, name


# -- database rows ------------------------------------------------------------------------------

_ROW_EDITS: list[tuple[str, int, dict[str, object]]] = [
    ("payload with a space", 26, {"payload": '{"tail": 1}'}),
    ("payload keys reordered", 26, {"payload": '{"z":1,"a":2}'}),
    ("payload duplicate keys", 26, {"payload": '{"a":1,"a":2}'}),
    ("payload keys in code point order", 26, {"payload": '{"\uff01":2,"\U0001f600":1}'}),
    ("payload keys in UTF-16 order", 26, {"payload": '{"\U0001f600":1,"\uff01":2}'}),
    ("payload a list", 26, {"payload": "[1,2]"}),
    ("payload a float", 26, {"payload": '{"f":1.5}'}),
    ("payload trailing newline", 26, {"payload": '{"tail":1}\n'}),
    ("payload sixteen digits", 26, {"payload": '{"n":9007199254740991}'}),
    ("payload unsafe integer", 26, {"payload": '{"n":9007199254740992}'}),
    ("payload not JSON", 26, {"payload": "{oops"}),
    ("payload escaped slash", 26, {"payload": '{"s":"\\/"}'}),
    ("public not canonical", 26, {"public": '{"b": 1}'}),
    ("public empty", 26, {"public": "{}"}),
    ("public a list", 26, {"public": "[1]"}),
    ("timestamp with a T", 26, {"ts": "2026-01-02T03:05:00.678901"}),
    ("timestamp without microseconds", 26, {"ts": "2026-01-02 03:05:00"}),
    ("timestamp with an offset", 26, {"ts": "2026-01-02 04:05:00.000000+01:00"}),
    ("timestamp year 999", 26, {"ts": "0999-01-02 03:05:00.000000"}),
    ("timestamp nonsense", 26, {"ts": "yesterday"}),
    ("actor an integer", 26, {"actor": 5}),
    ("payload hash not hex, payload redacted", 26, {"payload": None, "payload_sha256": "x"}),
    ("salt upper case", 10, {"salt": "A" * 32}),
    ("salt alone", 26, {"salt": "a" * 32}),
    (
        "refs on a version 1 row",
        26,
        {"salt": "a" * 32, "actor_ref": "b" * 32, "object_ref": "c" * 32},
    ),
]


@pytest.mark.parametrize(("name", "seq", "columns"), _ROW_EDITS, ids=[c[0] for c in _ROW_EDITS])
@pytest.mark.parametrize("resealed", [False, True], ids=["raw", "resealed"])
def test_database_row_edits_get_the_reference_answer(
    db: Database,
    db_url: str,
    mixed: Ledger,
    public_key: Ed25519PublicKey,
    name: str,
    seq: int,
    columns: dict[str, object],
    resealed: bool,
) -> None:
    db.dispose()
    if resealed:
        reseal_entry(db_url, seq, **columns)
    else:
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        sql(db_url, f"UPDATE ledger_entries SET {assignments} WHERE seq = :seq", **columns, seq=seq)
    fast = outcome(lambda: verify_database(db_url, public_key))
    assert fast == outcome(lambda: reference_database(db_url, public_key)), name


def test_database_rows_the_reference_accepts_are_accepted(
    db: Database, db_url: str, mixed: Ledger, public_key: Ed25519PublicKey
) -> None:
    db.dispose()
    for columns in (
        {"payload": '{"\U0001f600":1,"\uff01":2}'},  # canonical: UTF-16 order
        {"payload": "[1,2]"},
        {"ts": "2026-01-02 03:05:00"},
    ):
        reseal_entry(db_url, TAIL[-1], **columns)
        assert verify_database(db_url, public_key).tree_size == 27, columns


def test_structural_damage_gets_the_reference_answer(
    db: Database, tmp_path: Path, db_url: str, mixed: Ledger, public_key: Ed25519PublicKey
) -> None:
    attacks = [
        "DELETE FROM ledger_entries WHERE seq = 14",
        # Nodes the proofs from 9 to 22 and from 22 to 25 are made of.
        "UPDATE ledger_nodes SET hash = :zero WHERE level = 1 AND idx = 5",
        "DELETE FROM ledger_nodes WHERE level = 2 AND idx = 4",
        "UPDATE ledger_entries SET leaf_hash = 'zz' WHERE seq = 8",
        "UPDATE ledger_entries SET leaf_hash = 'zz' WHERE seq = 26",
        "UPDATE ledger_checkpoints SET root_hash = 'nothex' WHERE number = 1",
        "DELETE FROM ledger_checkpoints WHERE number = 1",
    ]
    snapshot = rawsql.snapshot(db, tmp_path)
    for attack in attacks:
        sql(db_url, attack, **({"zero": bytes(32)} if ":zero" in attack else {}))
        fast = outcome(lambda: verify_database(db_url, public_key))
        assert fast[0] == "failed", attack
        assert fast == outcome(lambda: reference_database(db_url, public_key)), attack
        rawsql.restore(snapshot, db_url)


# -- any payload --------------------------------------------------------------------------------

_KEYS = st.text(st.sampled_from(["a", "b", "é", "\uff01", "\ue000", "\U0001f600", '"', "\n"]))
_PAYLOADS = st.dictionaries(
    _KEYS,
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**54), 2**54)
        | st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
        max_leaves=12,
    ),
    max_size=4,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=_PAYLOADS, sort=st.booleans())
def test_any_payload_in_an_export_gets_the_reference_answer(
    db: Database, mixed: Ledger, public_key: Ed25519PublicKey, payload: Any, sort: bool
) -> None:
    lines = export_lines(db, mixed)
    i = _line_index(lines, TAIL[-1])
    line = _reseal_line(lines[i], lambda d: d.update(payload=payload))
    if not sort:  # the payload in its parsed order, not sorted: not canonical unless trivial
        data = json.loads(line)
        line = json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"
    changed = [*lines[:i], line, *lines[i + 1 :]]
    fast = outcome(lambda: verify_export(changed, public_key))
    assert fast == outcome(lambda: reference_export(changed, public_key))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=_PAYLOADS)
def test_any_payload_in_the_database_gets_the_reference_answer(
    db: Database,
    db_url: str,
    mixed: Ledger,
    public_key: Ed25519PublicKey,
    payload: Any,
) -> None:
    db.dispose()
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    reseal_entry(db_url, TAIL[-1], payload=text)
    fast = outcome(lambda: verify_database(db_url, public_key))
    assert fast == outcome(lambda: reference_database(db_url, public_key))
