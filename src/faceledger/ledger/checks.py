"""The checks the auditor's verifier makes, in one pass over a stream of export records.

One pass over the log, in memory ``O(log n)`` plus one digest per commitment. For each entry, in
``seq`` order:

  (E1) ``seq`` is the next number: none missing, none repeated or out of order;
  (E2) the payload (unless redacted) hashes to ``payload_sha256``, and is canonical JSON;
  (E3) SHA-256(0x00 || envelope) equals the recorded ``leaf_hash``; the envelope commits to the
       entry's public fields too (version 2), so they are checked in every export, the
       payload-less one included, and an envelope that breaks their rules is ``malformed``.
       A version 3 entry's envelope holds only ``private_sha256``: where the record carries the
       private fields (actor, object id, payload hash, salt) they must hash to it first
       (``private_hash_mismatch``), so the payload check of E2 reaches the leaf through them;
  (E4) the leaf joins the tree being rebuilt; if the tree now has the trusted checkpoint's size,
       its root must be the trusted root;
  (E5) unless the payload is redacted, each reveal in it opens a commitment of an earlier entry,
       and its own commitments are well formed (steps R1-R4 of
       :class:`~faceledger.ledger.commitments.RevealTracker`). A redacted payload's reveals
       cannot be seen, so an export without payloads checks none;
  (E6) a key rotation (:mod:`faceledger.ledger.rotation`) is announced by the key in force:
       its public fields name that key and a new one, and carry the key in force's signature
       over the new key and the log id (``bad_rotation``). Checkpoints past it are the new
       key's. Several rotations chain; the report lists the keys in force in order.

For each checkpoint, where the log reaches its size:

  (C1) checkpoints are numbered 0, 1, 2, ... without gaps;
  (C2) every checkpoint names the same log id (and the trusted checkpoint's);
  (C3) the Ed25519 signature verifies with the key in force at its tree size: the auditor's key
       (the log's first), or the key the last rotation entry before that size announced;
  (C4) its tree size is exactly the number of entries before it, and never below the previous
       checkpoint's (a larger size means entries were removed from the tail);
  (C5) its root equals the root rebuilt from the entries;
  (C6) its timestamp is not earlier than the previous checkpoint's;
  (C7) the RFC 9162 consistency proof from the previous checkpoint verifies.

At the end:

  (F1) the log holds as many entries and checkpoints as the export header (or the database's
       state row) declares;
  (F2) the log is at least as large as the trusted checkpoint (else it was rolled back).

The trusted checkpoint is signed by the key in force at its size. If that is not the auditor's
key (a rotation came before it), its signature is checked once the rotations before it are known:
at the first checkpoint that reaches its size, or at the end.

(:mod:`faceledger.ledger.verify` adds F3 for databases.)

The fast path (:mod:`faceledger.ledger.fastverify`, reading export lines in
:mod:`~faceledger.ledger.fastlines` and database rows in :mod:`~faceledger.ledger.fastdb`) makes
the same checks without a record object per entry: it takes E1-E3 itself, hands its leaves over
in runs (:meth:`LogChecker.add_leaves`), runs E5 through :attr:`LogChecker.reveals`, and gives
this class every entry it cannot decide on, every rotation and every checkpoint.

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
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import canonical_json, parse_json
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.commitments import COMMITMENTS_KEY, REVEALS_KEY, RevealTracker
from faceledger.ledger.keys_in_force import KeysInForce
from faceledger.ledger.merkle import CompactRange, leaf_hash
from faceledger.ledger.proofs import verify_consistency
from faceledger.ledger.records import (
    REASON_PRIVATE_HASH_MISMATCH,
    CheckpointRecord,
    EntryRecord,
    ExportHeader,
)
from faceledger.ledger.rotation import KEY_ROTATE_ACTION, REASON_BAD_ROTATION
from faceledger.ledger.verify_report import VerifyReport

__all__ = ["LogChecker", "VerifyReport", "fail"]


class LogChecker:
    """Feed it entries and checkpoints in export order, then :meth:`finish` (module doc)."""

    def __init__(self, public_key: Ed25519PublicKey, trusted: Checkpoint | None) -> None:
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
        self.keys = KeysInForce(public_key)
        # Rotations seen before any checkpoint named the log id their announcement signs.
        self._unannounced: list[EntryRecord] = []
        # A trusted checkpoint signed after a rotation is checked once the rotation is known.
        self._trusted_pending = False
        if trusted is not None:
            try:
                trusted.verify_signature(public_key)
            except VerificationFailed:
                self._trusted_pending = True
            self.log_id = trusted.log_id
            self._check_trusted()

    @property
    def next_seq(self) -> int:
        """The seq the next entry must have (E1): the number of leaves so far."""
        return self.tree.size

    def add_leaves(self, leaves: Sequence[bytes]) -> None:
        """(E4) Append the leaf hashes of entries checked elsewhere (E1-E3, E5), in order.

        The fast path (:mod:`faceledger.ledger.fastverify`) calls this for runs of entries it
        has shown to pass; the trusted checkpoint's root is checked where the run crosses it.

        Raises:
            VerificationFailed: ``inconsistent_with_trusted`` (F2's neighbour, module doc).
        """
        trusted, size = self.trusted, self.tree.size
        if trusted is not None and size < trusted.tree_size <= size + len(leaves):
            cut = trusted.tree_size - size
            self.tree.extend(leaves[:cut])
            self._check_trusted()
            leaves = leaves[cut:]
        self.tree.extend(leaves)

    def note_redacted(self, seq: int) -> None:
        """Count entry ``seq``'s payload as redacted (E2) for an entry checked elsewhere."""
        self.payloads_redacted += 1
        # Work only where a run starts (a public export is one run), so it costs nothing.
        if seq != self._redacted_end:
            self._start_redacted_run(seq)
        self._redacted_end = seq + 1

    def entry(self, rec: EntryRecord) -> None:
        """Check the next entry (E1-E6, module doc).

        Raises:
            VerificationFailed: at its first failing check.
        """
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
            self.note_redacted(seq)
        else:
            digest = hashlib.sha256(payload).hexdigest()
            if not _same(digest, rec.payload_sha256 or ""):
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
        # (E3) the private part of a version 3 entry, then the leaf hash
        if rec.actor_ref is not None:
            self._check_private(rec)
        try:
            computed = leaf_hash(rec.envelope(check_private=False)).hex()
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
        # (E6) a key rotation
        if rec.action == KEY_ROTATE_ACTION:
            self._rotation(rec)

    def checkpoint(self, rec: CheckpointRecord) -> None:
        """Check a checkpoint, given after the entries it covers (C1-C7, module doc).

        Raises:
            VerificationFailed: at its first failing check.
        """
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
        # Rotations before any checkpoint: their announcements sign this log id.
        for rotation in self._unannounced:
            self.keys.rotate(rotation, cp.log_id)
        self._unannounced.clear()
        if self._trusted_pending and size >= self.trusted_size:
            self._check_trusted_signature()
        # (C3) signature, by the key in force at its size
        try:
            cp.verify_signature(self.keys.at(cp.tree_size))
        except VerificationFailed as exc:
            message = exc.message
            if len(self.keys.ids) > 1:
                message += f" The key in force at that size is {self.keys.id_at(cp.tree_size)}."
            raise fail(
                "checkpoint",
                "bad_signature",
                message,
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
        """Make the final checks (F1-F2) against what ``header`` declares; return the report.

        Raises:
            VerificationFailed: for a count that differs, a rollback, a rotation no checkpoint
                names the log for, or a trusted checkpoint not signed by the key in force.
        """
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
        if self._unannounced:
            first = self._unannounced[0]
            raise fail(
                "entry",
                REASON_BAD_ROTATION,
                f"Entry {first.seq} (a key rotation) cannot be checked: no checkpoint names the "
                "log whose id its announcement signs.",
                "a checkpoint after the rotation",
                None,
                seq=first.seq,
            )
        if self._trusted_pending:
            self._check_trusted_signature()
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
            keys=list(self.keys.ids),
        )

    @property
    def trusted_size(self) -> int:
        """The trusted checkpoint's tree size (-1 without one)."""
        return -1 if self.trusted is None else self.trusted.tree_size

    def _check_private(self, rec: EntryRecord) -> None:
        try:
            rec.check_private()
        except LedgerError as exc:
            if exc.details.get("reason") != REASON_PRIVATE_HASH_MISMATCH:
                raise fail(
                    "entry",
                    "malformed",
                    f"Entry {rec.seq} cannot be hashed: {exc.message}",
                    None,
                    None,
                    seq=rec.seq,
                ) from None
            raise fail(
                "entry",
                REASON_PRIVATE_HASH_MISMATCH,
                exc.message,
                exc.details.get("expected"),
                exc.details.get("actual"),
                seq=rec.seq,
            ) from None

    def _rotation(self, rec: EntryRecord) -> None:
        if self.log_id is None:
            self._unannounced.append(rec)  # checked at the next checkpoint (module doc)
        else:
            self.keys.rotate(rec, self.log_id)

    def _check_trusted_signature(self) -> None:
        trusted = self.trusted
        assert trusted is not None
        self._trusted_pending = False
        try:
            trusted.verify_signature(self.keys.at(trusted.tree_size))
        except VerificationFailed as exc:
            raise fail(
                "trusted_checkpoint",
                "bad_signature",
                "The trusted checkpoint is not signed by the given public key (or the key in "
                "force at its size): it belongs to another log or was altered.",
                exc.details.get("expected"),
                exc.details.get("actual"),
                checkpoint=trusted.number,
            ) from None

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
