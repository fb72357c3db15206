"""The verifier's fast path: the checks of :mod:`faceledger.ledger.checks` at C speed.

The reference verifier builds a record object per entry and canonicalises its JSON in Python.
This path makes the same decisions from the text itself, with the C parts of the standard
library doing the work:

* an export line is parsed by json's C scanner and *rebuilt*: its string fields re-escaped,
  payload and public fields re-encoded by json's C encoder (:mod:`faceledger.ledger.canonical`
  says when that is exactly canonical JSON), all put together by string formatting in the
  line's canonical key order. When the rebuilt line equals the line, the line is canonical
  JSON with exactly the fields of its kind (no duplicate key, no float, no extra field), so
  the payload bytes to hash are the re-encoded ones and the reference parser would have read
  the same values;
* a database row's payload and public texts must equal their re-encoding (they are stored
  canonical);
* the envelope (and a version 3 entry's private part) is built by formatting the same
  escaped strings into the canonical key order of :mod:`faceledger.ledger.envelope`, and
  hashed with hashlib;
* the leaves go to the tree in runs (:meth:`LogChecker.add_leaves`), cut at every checkpoint
  and at most :data:`RUN` long.

Whatever this path cannot decide, or finds wrong, goes to the reference checks with the
reference record: a line that is not in canonical form, a payload whose keys mix characters
beyond the Basic Multilingual Plane with ones in U+E000..U+FFFF, a 16-digit number, a wrong
hash, a seq out of place, a key rotation (E6), every header and checkpoint. So a failure is
reported by the reference code, with its reason, seq and expected vs actual, and a log the fast
path accepts is one the reference accepts.
Entries whose payload has commitments or reveals (E5) are checked here but their reveals by the
reference tracker, in order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from faceledger.ledger.canonical import encode_sorted, fast_safe, scan_json
from faceledger.ledger.checks import LogChecker, VerifyReport, fail
from faceledger.ledger.commitments import COMMITMENTS_KEY, REVEALS_KEY
from faceledger.ledger.envelope import PUBLIC_MAX_BYTES
from faceledger.ledger.records import (
    CheckpointRecord,
    EntryRecord,
    ExportHeader,
    Record,
    parse_line,
)
from faceledger.ledger.rotation import KEY_ROTATE_ACTION

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
    "verify_lines",
]

# The pieces both readers build with (fastdb too).
sha256 = hashlib.sha256
escape = encode_basestring  # json's C string escaper: canonical_json's string form
is_hex64 = re.compile(r"[0-9a-f]{64}").fullmatch
is_lower_hex = re.compile(r"[0-9a-f]*").fullmatch  # for several fields at once, lengths apart
from_iso = dt.datetime.fromisoformat  # after _TS, as strict as envelope.parse_ts
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z").fullmatch

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


def verify_lines(
    lines: Iterable[str], checker: LogChecker, run: int = RUN
) -> tuple[VerifyReport, FastStats]:
    """Verify an export's lines with ``checker``; return its report and the paths' counts.

    ``run`` is the most leaves handed to the tree at once.

    Raises:
        VerificationFailed: at the first failure, exactly as
            :func:`faceledger.ledger.verify.verify_records` of the parsed lines would.
    """
    feed = Feed(checker, run)
    header: ExportHeader | None = None
    for line_no, line in enumerate(lines, start=1):
        if header is not None and line.startswith(_ENTRY_START) and _line(feed, line):
            continue
        if not line.strip():
            continue
        record = parse_line(line, line_no)
        if header is None:
            if not isinstance(record, ExportHeader):
                raise fail(
                    "log", "malformed", "The export does not start with a header.", None, None
                )
            header = record
            continue
        feed.exact(record)
    feed.flush()
    if header is None:
        raise fail("log", "malformed", "The export is empty (no header).", None, None)
    return checker.finish(header), feed.stats


def _line(feed: Feed, line: str) -> bool:
    """Check one entry line and hand it to ``feed``; False if the reference must decide."""
    try:
        obj = scan_json(line, 0)[0]
        seq, action = obj["seq"], obj["action"]
        if type(seq) is not int or seq != feed.next_seq or action == KEY_ROTATE_ACTION:
            return False
        a, ot, ts, lh = escape(action), escape(obj["object_type"]), obj["ts"], obj["leaf_hash"]
        payload = obj.get("payload")  # a "payload": null would not rebuild the line
        payload_bytes = None
        pl = pu = ""
        if payload is not None:
            if type(payload) is not dict:
                return False
            text = encode_sorted(payload)
            payload_bytes = text.encode()
            if not fast_safe(payload_bytes):
                return False
            pl = ',"payload":' + text
        public = obj.get("public")
        qt = None
        if public is not None:
            if type(public) is not dict or not public:
                return False
            qt = encode_sorted(public)
            data = qt.encode()
            if len(data) > PUBLIC_MAX_BYTES or not fast_safe(data, 1):
                return False
            pu = ',"public":' + qt
        aref = obj.get("actor_ref")
        psha = None
        if aref is None:  # versions 1 and 2
            ac, oid, psha = escape(obj["actor"]), escape(obj["object_id"]), obj["payload_sha256"]
            rebuilt = (
                f'{{"action":{a},"actor":{ac},"leaf_hash":"{lh}","object_id":{oid},'
                f'"object_type":{ot}{pl},"payload_sha256":"{psha}"{pu},"seq":{seq},'
                f'"ts":"{ts}","type":"entry"}}\n'
            )
            envelope = envelope_v12(a, ac, oid, ot, psha, qt, seq, ts)
        else:
            oref, priv = obj["object_ref"], obj["private_sha256"]
            if "salt" in obj:  # with its private fields
                ac, oid, psha = (
                    escape(obj["actor"]),
                    escape(obj["object_id"]),
                    obj["payload_sha256"],
                )
                salt = obj["salt"]
                rebuilt = (
                    f'{{"action":{a},"actor":{ac},"actor_ref":"{aref}","leaf_hash":"{lh}",'
                    f'"object_id":{oid},"object_ref":"{oref}","object_type":{ot}{pl},'
                    f'"payload_sha256":"{psha}","private_sha256":"{priv}"{pu},"salt":"{salt}",'
                    f'"seq":{seq},"ts":"{ts}","type":"entry"}}\n'
                )
                if not (len(aref) == len(oref) == len(salt) == 32):
                    return False
                if not is_lower_hex(aref + oref + salt):
                    return False
                private = private_part(ac, oid, psha, salt).encode()
                if sha256(private).hexdigest() != priv:  # so priv is 64 hex digits too
                    return False
            else:
                rebuilt = (
                    f'{{"action":{a},"actor_ref":"{aref}","leaf_hash":"{lh}",'
                    f'"object_ref":"{oref}","object_type":{ot},"private_sha256":"{priv}"{pu},'
                    f'"seq":{seq},"ts":"{ts}","type":"entry"}}\n'
                )
                if not (len(aref) == len(oref) == 32 and len(priv) == 64):
                    return False
                if not is_lower_hex(aref + oref + priv):
                    return False
            envelope = envelope_v3(a, aref, oref, ot, priv, qt, seq, ts)
        # The line is canonical JSON with exactly its kind's fields (module doc).
        if rebuilt != line and rebuilt[:-1] != line:  # the last line may lack its newline
            return False
        if not _TS(ts):
            return False
        from_iso(ts)
        if payload_bytes is not None:
            if sha256(payload_bytes).hexdigest() != psha:
                return False
        elif psha is not None and not is_hex64(psha):
            return False
        leaf = sha256(envelope.encode()).digest()
        if leaf.hex() != lh:
            return False
    except (ValueError, TypeError, KeyError, RecursionError, StopIteration):
        # Not JSON, a float, a value of the wrong type, a lone surrogate (UnicodeEncodeError is
        # a ValueError): the reference explains.
        return False
    feed.accept(seq, leaf, payload, payload_bytes)
    return True
