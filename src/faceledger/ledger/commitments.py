"""Salted commitments in ledger payloads: fix a value in one entry, reveal it in a later one.

A blind step (one examiner's marks, kept from a second examiner until the second has given
their own) needs the ledger to record a value when it is decided without showing it. The first
entry carries a *commitment*, a salted hash of the value; a later entry *reveals* the salt and
the value, and the verifier checks that they hash to the commitment.

Construction, version 1::

    salt   = 32 bytes from a CSPRNG (Python's ``secrets``), written as 64 lower-case hex digits
    digest = hex(SHA-256(b"faceledger-commitment-v1" || 0x00 || salt || canonical_json(value)))

``||`` is byte concatenation, ``salt`` is the 32 raw bytes (not the hex text), ``hex`` is
lower-case, and ``canonical_json`` is the encoding of :mod:`faceledger.ledger.canonical` (RFC
8785 for the JSON it accepts, so any JCS implementation reproduces it). The tag keeps these
hashes apart from every other hash the ledger makes; the salt's fixed length means the input
splits into tag, salt and value one way only; and its 256 random bits stop anyone from finding
a value with few possible outcomes (a yes/no, a mark out of five) by hashing each candidate.
The salt is the secret: keep it outside the ledger until the reveal.

Payload convention. Two keys are reserved at the top level of every ledger payload:

* ``"commitments"`` (:data:`COMMITMENTS_KEY`): a JSON object ``{"<name>": "<digest>", ...}``,
  names non-empty strings, digests 64 lower-case hex digits.
* ``"reveals"`` (:data:`REVEALS_KEY`): a JSON array of objects with exactly the keys of
  :data:`REVEAL_FIELDS`: ``{"seq": <seq of the committing entry>, "name": "<name>",
  "salt": "<salt>", "value": <any canonical JSON>}``.

An entry may reveal any commitment of an earlier entry, as often as it likes. The verifier
checks each reveal (steps R1-R4 in :class:`RevealTracker`) wherever it sees payloads; the
appender runs the same checks first (:func:`check_new_reveals`), so a bad reveal cannot make
the log unverifiable for good. A revealed value is as public as its payload: a public export,
which drops payloads, shows neither reveals nor commitments.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import canonical_json, parse_json

__all__ = [
    "COMMITMENTS_KEY",
    "COMMITMENT_TAG",
    "REASON_COMMITMENT_MALFORMED",
    "REASON_REVEAL_MALFORMED",
    "REASON_REVEAL_MISMATCH",
    "REASON_REVEAL_NOT_EARLIER",
    "REASON_REVEAL_UNKNOWN_COMMITMENT",
    "REVEALS_KEY",
    "REVEAL_FIELDS",
    "SALT_BYTES",
    "Commitment",
    "RevealTracker",
    "check_new_reveals",
    "check_reveal",
    "commit",
    "commitment_digest",
    "make_reveal",
    "mentions_commitments",
]

COMMITMENT_TAG = b"faceledger-commitment-v1\x00"
SALT_BYTES = 32
COMMITMENTS_KEY = "commitments"
REVEALS_KEY = "reveals"
REVEAL_FIELDS = frozenset({"seq", "name", "salt", "value"})

REASON_COMMITMENT_MALFORMED = "commitment_malformed"
REASON_REVEAL_MALFORMED = "reveal_malformed"
REASON_REVEAL_MISMATCH = "reveal_mismatch"
REASON_REVEAL_NOT_EARLIER = "reveal_not_earlier"
REASON_REVEAL_UNKNOWN_COMMITMENT = "reveal_unknown_commitment"

_HEX_256 = re.compile(r"[0-9a-f]{64}")
# Canonical JSON spells a key exactly so, followed at once by the colon: a byte search rules out
# nearly every payload without parsing it.
_KEY_BYTES = (f'"{COMMITMENTS_KEY}":'.encode(), f'"{REVEALS_KEY}":'.encode())


@dataclass(frozen=True)
class Commitment:
    """A commitment to a value: ``digest`` goes into the ledger now, ``salt`` at the reveal."""

    salt: str
    digest: str


def commit(value: object) -> Commitment:
    """Return a commitment to ``value`` under a fresh random salt (construction in module doc).

    Raises:
        CanonicalJSONError: if ``value`` has no canonical JSON form (a float, for example).
    """
    salt = secrets.token_bytes(SALT_BYTES).hex()
    return Commitment(salt=salt, digest=commitment_digest(salt, value))


def commitment_digest(salt: str, value: object) -> str:
    """Return the hex digest committing to ``value`` under ``salt`` (construction in module doc).

    Raises:
        LedgerError: if ``salt`` is not 64 lower-case hex digits.
        CanonicalJSONError: if ``value`` has no canonical JSON form.
    """
    if not isinstance(salt, str) or not _HEX_256.fullmatch(salt):
        raise LedgerError(
            f"A commitment salt must be {2 * SALT_BYTES} lower-case hex digits.", field="salt"
        )
    return hashlib.sha256(COMMITMENT_TAG + bytes.fromhex(salt) + canonical_json(value)).hexdigest()


def check_reveal(digest: str, salt: str, value: object) -> None:
    """Check that ``salt`` and ``value`` open the commitment ``digest`` (constant-time compare).

    Raises:
        VerificationFailed: with ``kind='reveal'`` and ``reason`` ``reveal_mismatch`` (expected
            ``digest``, actual the digest of the reveal) or ``reveal_malformed`` (a salt that is
            not 64 lower-case hex digits, or a value with no canonical JSON form).
    """
    try:
        computed = commitment_digest(salt, value)
    except LedgerError as exc:  # CanonicalJSONError included
        raise VerificationFailed(
            f"The reveal cannot be hashed: {exc.message}",
            kind="reveal",
            reason=REASON_REVEAL_MALFORMED,
            expected=f"a {2 * SALT_BYTES}-digit lower-case hex salt and a canonical JSON value",
            actual=salt[:100] if isinstance(salt, str) else repr(salt)[:100],
        ) from None
    # compare_digest takes only ASCII str; bytes work for any text a damaged log holds.
    if not hmac.compare_digest(computed.encode(), str(digest).encode("utf-8", "replace")):
        raise VerificationFailed(
            "The revealed salt and value do not hash to the commitment (the value or the salt "
            "differs from what was committed).",
            kind="reveal",
            reason=REASON_REVEAL_MISMATCH,
            expected=digest,
            actual=computed,
        )


def make_reveal(seq: int, name: str, salt: str, value: object) -> dict[str, Any]:
    """Return one item of a payload's ``"reveals"`` list (the convention in the module doc)."""
    return {"seq": seq, "name": name, "salt": salt, "value": value}


def mentions_commitments(payload: bytes) -> bool:
    """Return False if the canonical payload surely has neither reserved key (a fast byte test).

    True means it may have one (or merely mentions the text): parse it to know.
    """
    return _KEY_BYTES[0] in payload or _KEY_BYTES[1] in payload


class _Reveal(NamedTuple):
    seq: int
    name: str
    salt: str
    value: Any


class RevealTracker:
    """Checks commitments and reveals as the verifier streams entries in ``seq`` order.

    ``was_redacted(seq)`` tells whether the payload of an earlier entry was left out (an export
    may redact some); by default none was. Memory is one dict item per commitment, ``(seq,
    name) -> digest``; no payload is kept. For each reveal in an entry's payload:

      (R1) the reveal is well formed (:data:`REVEAL_FIELDS`; ``seq`` a non-negative integer);
      (R2) it names an earlier entry (``reveal_not_earlier`` otherwise, which covers entries the
           log does not hold);
      (R3) that entry committed under that name (``reveal_unknown_commitment``); if its payload
           was redacted the reveal is counted as unchecked instead;
      (R4) salt and value hash to the commitment (``reveal_mismatch``, or ``reveal_malformed``).

    Then the entry's own commitments are checked for form (``commitment_malformed``) and kept.
    Failures raise :class:`~faceledger.errors.VerificationFailed` with ``kind='entry'``, the
    revealing entry's ``seq``, the ``reason``, ``expected`` vs ``actual``, and ``reveal`` (the
    index in the list), ``commitment_seq`` and ``name`` where known.
    """

    def __init__(self, was_redacted: Callable[[int], bool] = lambda seq: False) -> None:
        self._digests: dict[tuple[int, str], str] = {}
        self._was_redacted = was_redacted
        self.commitments = 0
        self.reveals_checked = 0
        self.reveals_unchecked = 0

    def entry(self, seq: int, payload: bytes, parsed: Any = None) -> None:
        """Check the reveals of entry ``seq`` and keep its commitments.

        ``payload`` must be canonical JSON already checked against the entry's hash; ``parsed``
        is the same payload parsed, if the caller has it (else it is parsed when needed).

        Raises:
            VerificationFailed: at the first failing check (class doc).
        """
        data = parsed
        if data is None:
            if not mentions_commitments(payload):
                return
            data = parse_json(payload)
        if not isinstance(data, dict) or (COMMITMENTS_KEY not in data and REVEALS_KEY not in data):
            return
        try:
            reveals = _reveals_of(data)
        except ValueError as exc:
            raise _fail(
                seq, REASON_REVEAL_MALFORMED, str(exc), "a well-formed reveal", None
            ) from None
        for index, reveal in enumerate(reveals):
            self._check(seq, index, reveal)
        try:
            committed = _commitments_of(data)
        except ValueError as exc:
            raise _fail(
                seq, REASON_COMMITMENT_MALFORMED, str(exc), "well-formed commitments", None
            ) from None
        for name, digest in committed.items():
            self._digests[(seq, name)] = digest
        self.commitments += len(committed)

    def _check(self, seq: int, index: int, reveal: _Reveal) -> None:
        where = {"reveal": index, "commitment_seq": reveal.seq, "name": reveal.name}
        # (R2) earlier
        if reveal.seq >= seq:
            raise _fail(
                seq,
                REASON_REVEAL_NOT_EARLIER,
                f"reveal {index} of {reveal.name!r} names entry {reveal.seq}, which is not "
                "earlier than the revealing entry.",
                f"< {seq}",
                reveal.seq,
                **where,
            )
        # (R3) committed
        digest = self._digests.get((reveal.seq, reveal.name))
        if digest is None:
            if self._was_redacted(reveal.seq):
                self.reveals_unchecked += 1
                return
            raise _fail(
                seq,
                REASON_REVEAL_UNKNOWN_COMMITMENT,
                f"reveal {index} names a commitment {reveal.name!r} that entry {reveal.seq} "
                "did not make.",
                reveal.name,
                None,
                **where,
            )
        # (R4) the salt and value open it
        try:
            check_reveal(digest, reveal.salt, reveal.value)
        except VerificationFailed as exc:
            raise _fail(
                seq,
                exc.details["reason"],
                f"reveal {index} of {reveal.name!r} from entry {reveal.seq}: {exc.message}",
                exc.details.get("expected"),
                exc.details.get("actual"),
                **where,
            ) from None
        self.reveals_checked += 1


def check_new_reveals(payload: bytes, committed_payload: Callable[[int], bytes | None]) -> None:
    """Check the commitments and reveals of a payload about to be appended (R1-R4).

    ``payload`` is the new entry's canonical JSON. ``committed_payload(seq)`` returns the stored
    canonical payload of entry ``seq``, or None if the log holds no such entry yet (then it is
    not earlier than the new one).

    Raises:
        LedgerError: with ``reason`` (the verifier's codes) for anything the verifier would
            reject, so that no entry makes the log unverifiable.
    """
    if not mentions_commitments(payload):
        return
    data = parse_json(payload)
    if not isinstance(data, dict):
        return
    try:
        reveals = _reveals_of(data)
    except ValueError as exc:
        raise LedgerError(f"Invalid reveals: {exc}.", reason=REASON_REVEAL_MALFORMED) from None
    try:
        _commitments_of(data)
    except ValueError as exc:
        raise LedgerError(
            f"Invalid commitments: {exc}.", reason=REASON_COMMITMENT_MALFORMED
        ) from None
    for index, reveal in enumerate(reveals):
        where = {"reveal": index, "commitment_seq": reveal.seq, "name": reveal.name}
        stored = committed_payload(reveal.seq)
        if stored is None:
            raise LedgerError(
                f"Reveal {index} of {reveal.name!r} names entry {reveal.seq}, which the log does "
                "not hold yet.",
                reason=REASON_REVEAL_NOT_EARLIER,
                **where,
            )
        earlier = parse_json(stored)
        committed = earlier.get(COMMITMENTS_KEY) if isinstance(earlier, dict) else None
        digest = committed.get(reveal.name) if isinstance(committed, dict) else None
        if not isinstance(digest, str):
            raise LedgerError(
                f"Reveal {index} names a commitment {reveal.name!r} that entry {reveal.seq} did "
                "not make.",
                reason=REASON_REVEAL_UNKNOWN_COMMITMENT,
                **where,
            )
        try:
            check_reveal(digest, reveal.salt, reveal.value)
        except VerificationFailed as exc:
            raise LedgerError(
                f"Reveal {index} of {reveal.name!r} from entry {reveal.seq}: {exc.message}",
                reason=exc.details["reason"],
                **where,
            ) from None


def _commitments_of(payload: Mapping[str, Any]) -> dict[str, str]:
    if COMMITMENTS_KEY not in payload:
        return {}
    raw = payload[COMMITMENTS_KEY]
    if not isinstance(raw, dict):
        raise ValueError(f"{COMMITMENTS_KEY!r} must be a JSON object of names to digests")
    for name, digest in raw.items():
        if not name:
            raise ValueError("a commitment name must not be empty")
        if not isinstance(digest, str) or not _HEX_256.fullmatch(digest):
            raise ValueError(f"commitment {name!r} must be a 64-digit lower-case hex digest")
    return raw


def _reveals_of(payload: Mapping[str, Any]) -> list[_Reveal]:
    if REVEALS_KEY not in payload:
        return []
    raw = payload[REVEALS_KEY]
    if not isinstance(raw, list):
        raise ValueError(f"{REVEALS_KEY!r} must be a JSON array")
    reveals = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != REVEAL_FIELDS:
            raise ValueError(
                f"reveal {index} must be an object with exactly the keys "
                f"{', '.join(sorted(REVEAL_FIELDS))}"
            )
        seq, name, salt = item["seq"], item["name"], item["salt"]
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ValueError(f"reveal {index}: seq must be a non-negative integer")
        if not isinstance(name, str) or not name:
            raise ValueError(f"reveal {index}: name must be a non-empty string")
        if not isinstance(salt, str):
            raise ValueError(f"reveal {index}: salt must be a string")
        reveals.append(_Reveal(seq, name, salt, item["value"]))
    return reveals


def _fail(
    seq: int, reason: str, what: str, expected: Any, actual: Any, **where: Any
) -> VerificationFailed:
    return VerificationFailed(
        f"Entry {seq}: {what}",
        kind="entry",
        reason=reason,
        expected=expected,
        actual=actual,
        seq=seq,
        **where,
    )
