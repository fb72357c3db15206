"""The verifier's fast path: the checks of :mod:`faceledger.ledger.checks` at C speed.

The reference verifier builds a record object per entry and canonicalises its JSON in Python.
The fast path makes the same decisions from the text itself, with the C parts of the standard
library doing the work; :mod:`faceledger.ledger.fastlines` reads export lines with it and
:mod:`faceledger.ledger.fastdb` database rows. This module holds what both share:

* the canonical layouts of the envelope and of a version 3 entry's private part, written by
  string formatting from escaped strings (json's own escaper) in the key order of
  :mod:`faceledger.ledger.envelope`, and hashed with hashlib;
* :class:`Feed`, which hands the checker the entries checked here, their leaves in runs
  (:meth:`LogChecker.add_leaves`, cut at every checkpoint and at most :data:`RUN` long), and
  in order everything the reference checks decide on.

An entry is checked here only when the text is shown to be exactly the canonical JSON the
ledger writes (a payload or public text equal to its re-encoding by json's C encoder, see
:func:`~faceledger.ledger.canonical.fast_safe`), so the bytes hashed are those the reference
would hash. Whatever the fast path cannot decide, or finds wrong, goes to the reference checks
with the reference record: text not in canonical form, a payload whose keys mix characters
beyond the Basic Multilingual Plane with ones in U+E000..U+FFFF, a 16-digit number, a wrong
hash, a seq out of place, a key rotation (E6), every header and checkpoint. So a failure is
reported by the reference code, with its reason, seq and expected vs actual, and a log the fast
path accepts is one the reference accepts. Entries whose payload has commitments or reveals
(E5) are checked here, their reveals by the reference tracker, in order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from faceledger.ledger.canonical import encode_sorted, fast_safe
from faceledger.ledger.checks import LogChecker, fail
from faceledger.ledger.commitments import COMMITMENTS_KEY, REVEALS_KEY
from faceledger.ledger.records import (
    CheckpointRecord,
    EntryRecord,
    Record,
)

__all__ = [
    "RUN",
    "FastStats",
    "Feed",
    "envelope_text",
    "envelope_v3",
    "envelope_v12",
    "escape",
    "from_iso",
    "is_hex64",
    "is_lower_hex",
    "private_part",
    "sha256",
    "valid_ts",
]

# The pieces both readers build with (fastdb too).
sha256 = hashlib.sha256
escape = encode_basestring  # json's C string escaper: canonical_json's string form
is_hex64 = re.compile(r"[0-9a-f]{64}").fullmatch
is_lower_hex = re.compile(r"[0-9a-f]*").fullmatch  # for several fields at once, lengths apart
from_iso = dt.datetime.fromisoformat
# envelope.parse_ts's form, with the ranges of the time of day; the dates are checked once each.
# ASCII digits only: on the safe side of parse_ts, whose \d would take other scripts' digits.
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{6}Z", re.ASCII).fullmatch
_VALID_DATES: set[str] = set()
_VALID_DATES_MAX = 100_000


def valid_ts(ts: str) -> bool:
    """Whether ``ts`` is a timestamp :func:`~faceledger.ledger.envelope.parse_ts` accepts."""
    if not _TS(ts):
        return False
    date = ts[:10]
    if date not in _VALID_DATES:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            return False
        if len(_VALID_DATES) < _VALID_DATES_MAX:
            _VALID_DATES.add(date)
    return True


# -- canonical layouts --------------------------------------------------------------------------
#
# Written out with their keys in canonical (sorted) order. Arguments named after a string field
# (action, actor, object_id, object_type) are its JSON text (escape()); public is the JSON text
# of the public fields or None; hex fields and ts are inserted as they are, so the caller checks
# them (hex digits, the timestamp form) or compares the result with text that has them escaped.
# The leading NUL of an envelope is the RFC 9162 leaf prefix: one SHA-256 gives the leaf hash.


def envelope_v12(
    action: str,
    actor: str,
    object_id: str,
    object_type: str,
    payload_sha256: str,
    public: str | None,
    seq: int,
    ts: str,
) -> str:
    """Return NUL and the version 1 envelope, or version 2 with ``public`` (layout notes)."""
    if public is None:
        return (
            f'\x00{{"action":{action},"actor":{actor},"object_id":{object_id},'
            f'"object_type":{object_type},"payload_sha256":"{payload_sha256}","seq":{seq},'
            f'"ts":"{ts}","v":1}}'
        )
    return (
        f'\x00{{"action":{action},"actor":{actor},"object_id":{object_id},'
        f'"object_type":{object_type},"payload_sha256":"{payload_sha256}","public":{public},'
        f'"seq":{seq},"ts":"{ts}","v":2}}'
    )


def envelope_v3(
    action: str,
    actor_ref: str,
    object_ref: str,
    object_type: str,
    private_sha256: str,
    public: str | None,
    seq: int,
    ts: str,
) -> str:
    """Return NUL and the version 3 envelope (layout notes)."""
    public_part = "" if public is None else f',"public":{public}'
    return (
        f'\x00{{"action":{action},"actor_ref":"{actor_ref}","object_ref":"{object_ref}",'
        f'"object_type":{object_type},"private_sha256":"{private_sha256}"{public_part},'
        f'"seq":{seq},"ts":"{ts}","v":3}}'
    )


def private_part(actor: str, object_id: str, payload_sha256: str, salt: str) -> str:
    """Return a version 3 entry's private part (layout notes)."""
    return (
        f'{{"actor":{actor},"object_id":{object_id},"payload_sha256":"{payload_sha256}",'
        f'"salt":"{salt}"}}'
    )


_ENTRY_START = '{"action":'
# The most leaves waiting for the tree (checkpoints flush them sooner): memory stays flat.
RUN = 4096


def envelope_text(
    *,
    seq: int,
    ts: str,
    action: str,
    object_type: str,
    actor: str | None = None,
    object_id: str | None = None,
    payload_sha256: str | None = None,
    public: Mapping[str, Any] | None = None,
    actor_ref: str | None = None,
    object_ref: str | None = None,
    salt: str | None = None,
) -> str:
    """Return NUL and the envelope as the fast path builds it (to hold it to the reference).

    The arguments are those of :func:`faceledger.ledger.envelope.envelope_bytes`, except that
    a version 3 entry (``actor_ref``) gives its private fields and ``salt``, from which
    ``private_sha256`` is computed as the fast path does.

    Raises:
        TypeError: for a missing field.
        ValueError: for public fields the fast path leaves to the reference (see
            :func:`~faceledger.ledger.canonical.fast_safe`).
    """
    if actor is None or object_id is None or payload_sha256 is None:
        raise TypeError("the envelope needs actor, object_id and payload_sha256")
    public_text = encode_sorted(public) if public else None
    if public_text is not None and not fast_safe(public_text.encode(), 1):
        raise ValueError("the fast path leaves these public fields to the reference")
    a, ot, ac, oid = escape(action), escape(object_type), escape(actor), escape(object_id)
    if actor_ref is None:
        return envelope_v12(a, ac, oid, ot, payload_sha256, public_text, seq, ts)
    if object_ref is None or salt is None:
        raise TypeError("a version 3 envelope needs object_ref and salt")
    private = sha256(private_part(ac, oid, payload_sha256, salt).encode()).hexdigest()
    return envelope_v3(a, actor_ref, object_ref, ot, private, public_text, seq, ts)


@dataclass
class FastStats:
    """How many entries each path checked (the benchmark and the tests read it)."""

    fast: int = 0
    exact: int = 0


class Feed:
    """Hands a checker the entries checked here (their leaves in runs) and, in order, the
    records the reference checks decide on."""

    def __init__(self, checker: LogChecker, run: int = RUN) -> None:
        self.checker = checker
        self.run = run
        self.pending: list[bytes] = []
        self.next_seq = checker.next_seq
        self.stats = FastStats()
        # Texts already shown canonical, such as public fields: categorical facts, few values.
        self.known: set[str] = set()

    def flush(self) -> None:
        if self.pending:
            self.checker.add_leaves(self.pending)
            self.pending = []

    def accept(self, seq: int, leaf: bytes, payload: Any, payload_bytes: bytes | None) -> None:
        """Take entry ``seq``, which passed E1-E3 here; run E5 on its payload if it needs it."""
        checker = self.checker
        self.pending.append(leaf)
        if len(self.pending) >= self.run:
            self.flush()
        self.next_seq = seq + 1
        self.stats.fast += 1
        if payload_bytes is None:
            checker.note_redacted(seq)
            return
        checker.payloads_checked += 1
        if COMMITMENTS_KEY in payload or REVEALS_KEY in payload:
            self.flush()  # E5 after the entry's own E4, as the reference does
            checker.reveals.entry(seq, payload_bytes, payload)

    def exact(self, record: Record) -> None:
        """Give ``record`` to the reference checks, after the leaves before it.

        Raises:
            VerificationFailed: from the checks, or for a header (there is one, first).
        """
        self.flush()
        checker = self.checker
        if isinstance(record, EntryRecord):
            self.stats.exact += 1
            checker.entry(record)
        elif isinstance(record, CheckpointRecord):
            checker.checkpoint(record)
        else:
            raise fail("log", "malformed", "The export has a second header.", None, None)
        self.next_seq = checker.next_seq
