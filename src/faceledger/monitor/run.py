"""Running the monitor: verify the export first, then replay it and run every rule.

Steps:

  (1) the export is verified in full with the ledger's public key
      (:func:`faceledger.ledger.verify.verify_export`): a log that does not verify is refused
      with the verifier's error, and no rule runs on it;
  (2) the same file is read again and its entries replayed (public fields, times, actions and
      the names of actors and objects only; payloads are never read); both reads must see the
      same bytes;
  (3) each rule of :data:`~faceledger.monitor.rules.RULES` checks the replayed log against the
      profiles in force over it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import InvalidInput, VerificationFailed
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.checks import VerifyReport
from faceledger.ledger.records import EntryRecord, parse_line
from faceledger.ledger.verify import verify_export
from faceledger.monitor.log import PublicLog
from faceledger.monitor.profiles import ProfileTimeline
from faceledger.monitor.report import MonitorReport
from faceledger.monitor.rules import RULES, Check, Context, Rule

__all__ = ["DEFAULT_GRACE", "monitor_export", "monitor_records"]

DEFAULT_GRACE = dt.timedelta(hours=48)
"""How late a scheduled purge may run before it counts as missed."""


def monitor_export(
    path: Path,
    public_key: Ed25519PublicKey,
    *,
    grace: dt.timedelta = DEFAULT_GRACE,
    trusted_checkpoint: Checkpoint | None = None,
) -> MonitorReport:
    """Verify the JSON Lines export at ``path`` and check every rule over it (module doc).

    Raises:
        VerificationFailed: if the export does not verify (the verifier's error), is not
            UTF-8, or changed between the two reads.
        InvalidInput: if the file cannot be read, or ``grace`` is negative.
    """
    if grace < dt.timedelta(0):
        raise InvalidInput("The grace period must not be negative.", grace=str(grace))
    verified_digest, replayed_digest = hashlib.sha256(), hashlib.sha256()
    with _opened(path) as handle:
        verified = verify_export(_hashed(handle, verified_digest), public_key, trusted_checkpoint)
    with _opened(path) as handle:
        entries = list(_entries(_hashed(handle, replayed_digest)))
    if verified_digest.digest() != replayed_digest.digest():
        raise VerificationFailed(
            f"The export {path} changed while it was being read; run the monitor again on a "
            "file nothing writes to.",
            kind="log",
            reason="changed",
        )
    return monitor_records(entries, verified, grace=grace)


def monitor_records(
    entries: Iterable[EntryRecord],
    verified: VerifyReport,
    *,
    grace: dt.timedelta = DEFAULT_GRACE,
    rules: Sequence[Rule] = RULES,
) -> MonitorReport:
    """Check ``rules`` over entry records that ``verified`` says were verified."""
    log = PublicLog.replay(entries)
    profiles = ProfileTimeline.of(log)
    ctx = Context(log, profiles, grace)
    results = []
    for rule in rules:
        check = Check(rule)
        rule.check(ctx, check)
        results.append(check.result())
    return MonitorReport(
        verified=verified,
        results=tuple(results),
        entries=len(log.entries),
        named_seqs=tuple(e.seq for e in log.named()),
        profiles=profiles.changes,
        grace=grace,
        last_ts=log.last_ts,
    )


class _opened:
    """The export opened as UTF-8 text; unreadable files and bad bytes become errors for a
    person."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __enter__(self) -> Iterator[str]:
        try:
            self._handle = self._path.open(encoding="utf-8", newline="")
        except OSError as exc:
            raise InvalidInput(
                f"Cannot read the export {self._path}: {exc.strerror}.", path=str(self._path)
            ) from None
        return self._lines()

    def _lines(self) -> Iterator[str]:
        try:
            yield from self._handle
        except UnicodeDecodeError:
            raise VerificationFailed(
                f"The export {self._path} is not UTF-8 text.", kind="log", reason="malformed"
            ) from None

    def __exit__(self, *_: object) -> None:
        self._handle.close()


def _hashed(lines: Iterator[str], digest: hashlib._Hash) -> Iterator[str]:
    for line in lines:
        digest.update(line.encode("utf-8"))
        yield line


def _entries(lines: Iterable[str]) -> Iterator[EntryRecord]:
    for line_no, line in enumerate(lines, start=1):
        if line.strip():
            record = parse_line(line, line_no)
            if isinstance(record, EntryRecord):
                yield record
