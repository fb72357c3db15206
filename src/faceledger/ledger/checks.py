"""The checks the auditor's verifier makes, in one pass over a stream of export records.

One pass over the log, in memory ``O(log n)`` plus one digest per commitment. For each entry, in
``seq`` order:

  (E1) ``seq`` is the next number: none missing, none repeated or out of order;
  (E2) the payload (unless redacted) hashes to ``payload_sha256``, and is canonical JSON;
  (E3) SHA-256(0x00 || envelope) equals the recorded ``leaf_hash``; the envelope commits to the
       entry's public fields too (version 2), so they are checked in every export, the
       payload-less one included, and an envelope that breaks their rules is ``malformed``;
  (E4) the leaf joins the tree being rebuilt; if the tree now has the trusted checkpoint's size,
       its root must be the trusted root;
  (E5) unless the payload is redacted, each reveal in it opens a commitment of an earlier entry,
       and its own commitments are well formed (steps R1-R4 of
       :class:`~faceledger.ledger.commitments.RevealTracker`). A redacted payload's reveals
       cannot be seen, so an export without payloads checks none.

For each checkpoint, where the log reaches its size:

  (C1) checkpoints are numbered 0, 1, 2, ... without gaps;
  (C2) every checkpoint names the same log id (and the trusted checkpoint's);
  (C3) the Ed25519 signature verifies with the public key;
  (C4) its tree size is exactly the number of entries before it, and never below the previous
       checkpoint's (a larger size means entries were removed from the tail);
  (C5) its root equals the root rebuilt from the entries;
  (C6) its timestamp is not earlier than the previous checkpoint's;
  (C7) the RFC 9162 consistency proof from the previous checkpoint verifies.

At the end:

  (F1) the log holds as many entries and checkpoints as the export header (or the database's
       state row) declares;
  (F2) the log is at least as large as the trusted checkpoint (else it was rolled back).

(:mod:`faceledger.ledger.verify` adds F3 for databases.)

Because (C5) rebuilds every root from the same leaves, consecutive checkpoints are consistent by
construction; (C7) also checks the proofs the log hands out. The first failure raises
:class:`~faceledger.errors.VerificationFailed` whose details name ``kind`` (entry, checkpoint,
trusted_checkpoint, log; line for unparseable input), ``seq`` or ``checkpoint``, a ``reason``
code, and ``expected`` (what the log or trusted checkpoint commits to) vs ``actual`` (what the
verifier found).
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import canonical_json, parse_json
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.commitments import COMMITMENTS_KEY, REVEALS_KEY, RevealTracker
from faceledger.ledger.merkle import CompactRange, leaf_hash
from faceledger.ledger.proofs import verify_consistency
from faceledger.ledger.records import CheckpointRecord, EntryRecord, ExportHeader

__all__ = ["LogChecker", "VerifyReport", "fail"]


@dataclass(frozen=True)
class VerifyReport:
    """What a successful verification covered."""

    log_id: str | None
    tree_size: int
    root_hash: str
    checkpoints: int
    payloads_checked: int
    payloads_redacted: int
    latest_checkpoint: int | None
    signed_size: int
    trusted_size: int | None
    commitments: int
    reveals_checked: int
    reveals_unchecked: int

    @property
    def unsigned_entries(self) -> int:
        """Entries after the latest checkpoint: verified, but covered by no signature yet."""
        return self.tree_size - self.signed_size

    def summary(self) -> str:
        """Return a one-paragraph account for people."""
        parts = [
            f"Verified {self.tree_size} entries and {self.checkpoints} checkpoints"
            + (f" of log {self.log_id}" if self.log_id else "")
            + f"; root hash {self.root_hash}.",
            f"Payloads checked: {self.payloads_checked}, redacted: {self.payloads_redacted}.",
            f"Commitments: {self.commitments}; reveals checked: {self.reveals_checked}.",
        ]
        if self.reveals_unchecked:
            parts.append(
                f"{self.reveals_unchecked} reveals open commitments in redacted payloads and were "
                "not checked."
            )
        if self.payloads_redacted:
            parts.append(
                f"Reveals inside the {self.payloads_redacted} redacted payloads cannot be seen "
                "and were not checked."
            )
        if self.latest_checkpoint is None:
            parts.append("No checkpoint signs this log yet.")
        elif self.unsigned_entries:
            parts.append(f"{self.unsigned_entries} entries are newer than the latest checkpoint.")
        if self.trusted_size is not None:
            parts.append(f"Consistent with the trusted checkpoint at size {self.trusted_size}.")
        return " ".join(parts)


class LogChecker:
    """Feed it entries and checkpoints in export order, then :meth:`finish` (module doc)."""

    def __init__(self, public_key: Ed25519PublicKey, trusted: Checkpoint | None) -> None:
        self.key = public_key
        self.trusted = trusted
        self.tree = CompactRange()
        self.previous: Checkpoint | None = None
        self.checkpoints = 0
        self.log_id: str | None = None
        self.payloads_checked = 0
        self.payloads_redacted = 0
        # Runs of redacted entries [start, end): every end but the last one's, which grows.
        self._redacted_starts: list[int] = []
        self._redacted_ends: list[int] = []
        self._redacted_end = -1
        self.reveals = RevealTracker(self._was_redacted)
        if trusted is not None:
            try:
                trusted.verify_signature(public_key)
            except VerificationFailed as exc:
                raise fail(
                    "trusted_checkpoint",
                    "bad_signature",
                    "The trusted checkpoint is not signed by the given public key: it belongs to "
                    "another log or was altered.",
                    exc.details.get("expected"),
                    exc.details.get("actual"),
                    checkpoint=trusted.number,
                ) from None
            self.log_id = trusted.log_id
            self._check_trusted()

    def entry(self, rec: EntryRecord) -> None:
        seq, expected_seq = rec.seq, self.tree.size
        # (E1) contiguous numbering
        if seq > expected_seq:
            raise fail(
                "entry",
                "missing_entries",
                f"Entry {expected_seq} is missing: the next entry in the log is {seq}.",
                expected_seq,
                seq,
                seq=expected_seq,
            )
        if seq < expected_seq:
            raise fail(
                "entry",
                "out_of_order",
                f"Entry {seq} appears again or out of order after entry {expected_seq - 1}.",
                expected_seq,
                seq,
                seq=seq,
            )
        # (E2) payload
        payload, parsed = rec.payload, rec.parsed_payload
        if payload is None:
            self.payloads_redacted += 1
            # Work only where a run starts (a public export is one run), so it costs nothing.
            if seq != self._redacted_end:
                self._start_redacted_run(seq)
            self._redacted_end = seq + 1
        else:
            digest = hashlib.sha256(payload).hexdigest()
            if not _same(digest, rec.payload_sha256):
                raise fail(
                    "entry",
                    "payload_hash_mismatch",
                    f"Entry {seq}: the payload does not match its payload_sha256 (the payload "
                    "was changed).",
                    rec.payload_sha256,
                    digest,
                    seq=seq,
                )
            if not rec.canonical_payload:
                parsed = self._check_canonical(rec)
            self.payloads_checked += 1
        # (E3) leaf hash
        try:
            computed = leaf_hash(rec.envelope()).hex()
        except LedgerError as exc:
            raise fail(
                "entry",
                "malformed",
                f"Entry {seq} cannot be hashed: {exc.message}",
                None,
                None,
                seq=seq,
            ) from None
        if not _same(computed, rec.leaf_hash):
            raise fail(
                "entry",
                "leaf_hash_mismatch",
                f"Entry {seq}: the leaf hash does not match the entry's fields (the entry was "
                "changed, moved or renumbered).",
                rec.leaf_hash,
                computed,
                seq=seq,
            )
        # (E4) rebuild the tree
        self.tree.append(bytes.fromhex(rec.leaf_hash))
        self._check_trusted()
        # (E5) reveals, last: a changed entry fails above as a changed entry. Two key lookups
        # keep this free for the payloads (nearly all) that have neither key.
        if payload is not None and (
            parsed is None or COMMITMENTS_KEY in parsed or REVEALS_KEY in parsed
        ):
            self.reveals.entry(seq, payload, parsed)

    def checkpoint(self, rec: CheckpointRecord) -> None:
        cp, previous, size = rec.checkpoint, self.previous, self.tree.size
        where = {"checkpoint": cp.number}
        # (C1) numbering
        if cp.number != self.checkpoints:
            raise fail(
                "checkpoint",
                "checkpoint_missing" if cp.number > self.checkpoints else "checkpoint_out_of_order",
                f"Checkpoint {self.checkpoints} was expected next, found checkpoint {cp.number}.",
                self.checkpoints,
                cp.number,
                checkpoint=self.checkpoints,
            )
        # (C2) one log
        if self.log_id is not None and cp.log_id != self.log_id:
            raise fail(
                "checkpoint",
                "log_id_mismatch",
                f"Checkpoint {cp.number} names log {cp.log_id!r}, not {self.log_id!r}.",
                self.log_id,
                cp.log_id,
                **where,
            )
        # (C3) signature
        try:
            cp.verify_signature(self.key)
        except VerificationFailed as exc:
            raise fail(
                "checkpoint",
                "bad_signature",
                exc.message,
                exc.details.get("expected"),
                exc.details.get("actual"),
                **where,
            ) from None
        # (C4) size
        if previous is not None and cp.tree_size < previous.tree_size:
            raise fail(
                "checkpoint",
                "size_decreased",
                f"Checkpoint {cp.number} has tree size {cp.tree_size}, below the "
                f"{previous.tree_size} of checkpoint {previous.number}: the log shrank.",
                f">= {previous.tree_size}",
                cp.tree_size,
                **where,
            )
        if cp.tree_size > size:
            raise fail(
                "checkpoint",
                "missing_entries",
                f"Checkpoint {cp.number} signs {cp.tree_size} entries but the log has only "
                f"{size} before it: entries {size}..{cp.tree_size - 1} were removed.",
                cp.tree_size,
                size,
                **where,
            )
        if cp.tree_size < size:
            raise fail(
                "checkpoint",
                "misplaced",
                f"Checkpoint {cp.number} signs {cp.tree_size} entries but comes after {size}.",
                cp.tree_size,
                size,
                **where,
            )
        # (C5) root
        root = self.tree.root()
        if not hmac.compare_digest(root, cp.root_hash):
            raise fail(
                "checkpoint",
                "root_mismatch",
                f"Checkpoint {cp.number}: the signed root for size {cp.tree_size} does not match "
                "the root rebuilt from the entries (entries before it were changed).",
                cp.root_hash.hex(),
                root.hex(),
                **where,
            )
        if previous is not None:
            # (C6) time
            if cp.timestamp < previous.timestamp:
                raise fail(
                    "checkpoint",
                    "timestamp_regression",
                    f"Checkpoint {cp.number} is dated before checkpoint {previous.number}.",
                    f">= {previous.timestamp.isoformat()}",
                    cp.timestamp.isoformat(),
                    **where,
                )
            # (C7) the consistency proof the log gives for this step
            self._check_proof(previous, rec)
        self.log_id = cp.log_id
        self.previous = cp
        self.checkpoints += 1

    def finish(self, header: ExportHeader) -> VerifyReport:
        size = self.tree.size
        # (F1) declared counts
        if header.tree_size != size:
            raise fail(
                "log",
                "missing_entries" if header.tree_size > size else "extra_entries",
                f"The log declares {header.tree_size} entries but holds {size}.",
                header.tree_size,
                size,
                seq=min(size, header.tree_size),
            )
        if header.checkpoints != self.checkpoints:
            raise fail(
                "log",
                "checkpoint_count_mismatch",
                f"The log declares {header.checkpoints} checkpoints but holds {self.checkpoints}.",
                header.checkpoints,
                self.checkpoints,
            )
        # (F2) not rolled back
        trusted = self.trusted
        if trusted is not None and size < trusted.tree_size:
            raise fail(
                "trusted_checkpoint",
                "rolled_back",
                f"The log has {size} entries, fewer than the {trusted.tree_size} of the trusted "
                "checkpoint: it was truncated or rolled back to an older copy.",
                trusted.tree_size,
                size,
                checkpoint=trusted.number,
            )
        previous = self.previous
        return VerifyReport(
            log_id=self.log_id,
            tree_size=size,
            root_hash=self.tree.root().hex(),
            checkpoints=self.checkpoints,
            payloads_checked=self.payloads_checked,
            payloads_redacted=self.payloads_redacted,
            latest_checkpoint=None if previous is None else previous.number,
            signed_size=0 if previous is None else previous.tree_size,
            trusted_size=None if trusted is None else trusted.tree_size,
            commitments=self.reveals.commitments,
            reveals_checked=self.reveals.reveals_checked,
            reveals_unchecked=self.reveals.reveals_unchecked,
        )

    def _start_redacted_run(self, seq: int) -> None:
        if self._redacted_starts:
            self._redacted_ends.append(self._redacted_end)
        self._redacted_starts.append(seq)

    def _was_redacted(self, seq: int) -> bool:
        i = bisect.bisect_right(self._redacted_starts, seq) - 1
        if i < 0:
            return False
        end = self._redacted_ends[i] if i < len(self._redacted_ends) else self._redacted_end
        return seq < end

    def _check_trusted(self) -> None:
        trusted = self.trusted
        if trusted is None or self.tree.size != trusted.tree_size:
            return
        root = self.tree.root()
        if not hmac.compare_digest(root, trusted.root_hash):
            raise fail(
                "trusted_checkpoint",
                "inconsistent_with_trusted",
                f"The first {trusted.tree_size} entries do not have the root of the trusted "
                "checkpoint: the log was rewritten since the auditor saved it.",
                trusted.root_hash.hex(),
                root.hex(),
                checkpoint=trusted.number,
            )

    def _check_canonical(self, rec: EntryRecord) -> Any:
        """Return the parsed payload, once it is shown to be canonical JSON."""
        assert rec.payload is not None
        parsed = None
        try:
            parsed = parse_json(rec.payload)
            canonical = canonical_json(parsed)
        except LedgerError:
            canonical = b""
        if canonical != rec.payload:
            raise fail(
                "entry",
                "payload_not_canonical",
                f"Entry {rec.seq}: the stored payload is not canonical JSON.",
                "canonical JSON",
                rec.payload[:200].decode("utf-8", "replace"),
                seq=rec.seq,
            )
        return parsed

    def _check_proof(self, previous: Checkpoint, rec: CheckpointRecord) -> None:
        cp = rec.checkpoint
        where: dict[str, Any] = {"checkpoint": cp.number}
        if rec.consistency_proof is None:
            why = rec.proof_error or "none was given"
            raise fail(
                "checkpoint",
                "consistency_proof_missing",
                f"Checkpoint {cp.number}: no consistency proof from checkpoint "
                f"{previous.number} ({why}).",
                "a consistency proof",
                None,
                **where,
            )
        try:
            verify_consistency(
                previous.tree_size,
                cp.tree_size,
                rec.consistency_proof,
                previous.root_hash,
                cp.root_hash,
            )
        except VerificationFailed as exc:
            raise fail(
                "checkpoint",
                "consistency_proof_failed",
                f"Checkpoint {cp.number}: the consistency proof from checkpoint "
                f"{previous.number} does not verify ({exc.message}); the stored tree nodes are "
                "damaged.",
                exc.details.get("expected"),
                exc.details.get("actual"),
                **where,
            ) from None


def _same(computed: str, recorded: str) -> bool:
    # Constant time, and safe for any text a damaged database holds (compare_digest only takes
    # ASCII str).
    return hmac.compare_digest(computed.encode(), recorded.encode("utf-8", "replace"))


def fail(
    kind: str, reason: str, message: str, expected: Any, actual: Any, **where: Any
) -> VerificationFailed:
    """Return the error for a failed check, with the details every failure carries."""
    return VerificationFailed(
        message, kind=kind, reason=reason, expected=expected, actual=actual, **where
    )
