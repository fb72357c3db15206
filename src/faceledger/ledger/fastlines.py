"""The verifier's fast path over an export: entry lines read without a JSON object per line.

An entry line written by the exporter is canonical JSON in one of three layouts (versions 1
and 2; version 3 with its private fields; version 3 public; :mod:`faceledger.ledger.records`),
so its head and tail are plain text at known places. The reader cuts the line at its quotes,
takes the string fields as they are written, has json's C scanner read only the payload and
the public fields, and then checks that the line is, character for character, the canonical
encoding of what it read (:mod:`faceledger.ledger.fastverify`): each string field re-escaped,
each object re-encoded, the rest as the layout writes it. Whatever the cutting got wrong (an
escaped quote, a field out of place) fails that comparison, and the line goes to the reference
checks, as does every line that is not an entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from faceledger.ledger.canonical import encode_sorted, fast_safe, scan_json
from faceledger.ledger.checks import LogChecker, VerifyReport, fail
from faceledger.ledger.envelope import PUBLIC_MAX_BYTES
from faceledger.ledger.fastverify import (
    RUN,
    FastStats,
    Feed,
    envelope_v3,
    envelope_v12,
    escape,
    is_hex64,
    is_lower_hex,
    private_part,
    sha256,
    valid_ts,
)
from faceledger.ledger.records import ExportHeader, parse_line
from faceledger.ledger.rotation import KEY_ROTATE_ACTION

__all__ = ["verify_lines"]

_ENTRY_START = '{"action":"'
# What ends every entry line: the seq in canonical form, the timestamp, the type.
_TAIL = re.compile(r',"seq":(0|[1-9][0-9]*),"ts":"([^"\\]*)","type":"entry"\}\n?')
_PAYLOAD, _PUBLIC = ',"payload":', ',"public":'


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


def _object(line: str, at: int, depth: int) -> tuple[dict[str, object], str, bytes, int] | None:
    """Read the JSON object at ``line[at]``; return it, its text and bytes, and where it ends,
    if that text is its canonical form (None otherwise)."""
    value, end = scan_json(line, at)
    if type(value) is not dict:
        return None
    text = encode_sorted(value)
    if end - at != len(text) or not line.startswith(text, at):
        return None
    data = text.encode()
    return (value, text, data, end) if fast_safe(data, depth) else None


# What the head of a line gave: its family (12: versions 1 and 2, 3: version 3 with its private
# fields, 30: version 3 public), the action, the escaped action, actor, object id and object
# type, the actor_ref, leaf_hash, object_ref and (version 3 public) private_sha256 as written,
# and the head's canonical text.
_Head = tuple[int, str, str, str, str, str, str, str, str, str, str]


def _head(
    family: int,
    action: str,
    escaped: tuple[str, str, str, str],
    lh: str,
    aref: str = "",
    oref: str = "",
    priv: str = "",
) -> _Head:
    a, ac, oid, t = escaped
    if family == 12:
        text = f'{{"action":{a},"actor":{ac},"leaf_hash":"{lh}","object_id":{oid},"object_type":{t}'
    elif family == 3:
        text = (
            f'{{"action":{a},"actor":{ac},"actor_ref":"{aref}","leaf_hash":"{lh}",'
            f'"object_id":{oid},"object_ref":"{oref}","object_type":{t}'
        )
    else:
        text = (
            f'{{"action":{a},"actor_ref":"{aref}","leaf_hash":"{lh}","object_ref":"{oref}",'
            f'"object_type":{t},"private_sha256":"{priv}"'
        )
    return family, action, a, ac, oid, t, aref, lh, oref, priv, text


def _cut_head(line: str) -> _Head:
    """The head read by cutting the line at its quotes (right when no field holds a quote)."""
    cut = line.split('"', 30)  # enough for the longest head, version 3's with private fields
    if cut[5] != "actor":  # version 3 public: action, actor_ref, leaf_hash, object_ref, ...
        action, aref, lh, oref, ot, priv = cut[3:24:4]
        return _head(30, action, (escape(action), "", "", escape(ot)), lh, aref, oref, priv)
    if cut[9] == "actor_ref":
        action, actor, aref, lh, object_id, oref, ot = cut[3:28:4]
        escaped = (escape(action), escape(actor), escape(object_id), escape(ot))
        return _head(3, action, escaped, lh, aref, oref)
    action, actor, lh, object_id, ot = cut[3:20:4]
    return _head(12, action, (escape(action), escape(actor), escape(object_id), escape(ot)), lh)


def _parsed_head(line: str) -> _Head:
    """The head read by json's scanner: slower, right for fields with escapes too."""
    obj = scan_json(line, 0)[0]
    action, ot = obj["action"], obj["object_type"]
    if "actor_ref" not in obj or "salt" in obj:
        escaped = (escape(action), escape(obj["actor"]), escape(obj["object_id"]), escape(ot))
        if "actor_ref" not in obj:
            return _head(12, action, escaped, obj["leaf_hash"])
        return _head(3, action, escaped, obj["leaf_hash"], obj["actor_ref"], obj["object_ref"])
    return _head(
        30,
        action,
        (escape(action), "", "", escape(ot)),
        obj["leaf_hash"],
        obj["actor_ref"],
        obj["object_ref"],
        obj["private_sha256"],
    )


def _line(feed: Feed, line: str) -> bool:
    """Check one entry line and hand it to ``feed``; False if the reference must decide."""
    try:
        found_head = _cut_head(line)
        if not line.startswith(found_head[-1]):
            found_head = _parsed_head(line)
        family, action, a, ac, oid, t, aref, lh, oref, priv, head = found_head
        if not line.startswith(head) or action == KEY_ROTATE_ACTION:
            return False
        at = len(head)
        payload = payload_bytes = None
        if family != 30 and line.startswith(_PAYLOAD, at):
            found = _object(line, at + len(_PAYLOAD), 0)
            if found is None:
                return False
            payload, _, payload_bytes, at = found
        psha = ""
        if family != 30:
            if not line.startswith(',"payload_sha256":"', at) or line[at + 83] != '"':
                return False
            psha = line[at + 19 : at + 83]
            at += 84
            if family == 3:
                if not line.startswith(',"private_sha256":"', at) or line[at + 83] != '"':
                    return False
                priv = line[at + 19 : at + 83]
                at += 84
        public = None
        if line.startswith(_PUBLIC, at):
            found = _object(line, at + len(_PUBLIC), 1)
            if found is None or not found[0] or len(found[2]) > PUBLIC_MAX_BYTES:
                return False
            _, public, _, at = found
        if family == 3:
            if not line.startswith(',"salt":"', at) or line[at + 41] != '"':
                return False
            salt = line[at + 9 : at + 41]
            at += 42
        tail = _TAIL.fullmatch(line, at)
        if tail is None:
            return False
        # The line is the canonical encoding of what was read (module doc); now the checks.
        seq, ts = int(tail[1]), tail[2]
        if seq != feed.next_seq or not valid_ts(ts):
            return False
        if family == 12:
            envelope = envelope_v12(a, ac, oid, t, psha, public, seq, ts)
        else:
            if len(aref) != 32 or len(oref) != 32:
                return False
            if family == 3:
                if len(salt) != 32 or not is_lower_hex(aref + oref + salt):
                    return False
                private = sha256(private_part(ac, oid, psha, salt).encode()).hexdigest()
                if private != priv:  # so priv is 64 hex digits too
                    return False
            elif len(priv) != 64 or not is_lower_hex(aref + oref + priv):
                return False
            envelope = envelope_v3(a, aref, oref, t, priv, public, seq, ts)
        if payload_bytes is not None:
            if sha256(payload_bytes).hexdigest() != psha:
                return False
        elif family != 30 and not is_hex64(psha):
            return False
        leaf = sha256(envelope.encode()).digest()
        if leaf.hex() != lh:
            return False
    except (ValueError, TypeError, IndexError, RecursionError, StopIteration):
        # Not JSON, a float, too few fields, a lone surrogate (UnicodeEncodeError is a
        # ValueError): the reference explains.
        return False
    feed.accept(seq, leaf, payload, payload_bytes)
    return True
