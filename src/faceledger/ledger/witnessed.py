"""Witnessed verification: a verified log whose latest checkpoint carries a quorum of
witness cosignatures (``ledger verify --witness-key K ... --quorum N``).

A quorum means nothing unless the cosigned checkpoint is the log's latest, and the log that
was verified is the one the witnesses saw. So, for each source:

  (W1) an export: the witnessed checkpoint note (saved from the unit's ``/checkpoint``) is read,
       its log signature line becomes a trusted checkpoint of the export's verification, which
       checks that signature with the key in force at its size (key rotations followed from
       the auditor's first key) and that the export's first ``size`` entries have its root;
       the export's latest checkpoint must have exactly that size;
  (W2) a database: the key in force at the latest checkpoint is followed from the first key
       through the log's rotation entries, and the cosignatures stored beside the checkpoint
       are counted;
  (W3) tiles: the tiles' own ``checkpoint`` note, already verified with the key in force by
       :func:`faceledger.ledger.tiles_verify.verify_tiles`, is counted.

Counting is :func:`faceledger.ledger.cosignature.check_quorum`. Like the verifier, this module
imports nothing from the service, the ORM or governance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import create_engine

from faceledger.errors import VerificationFailed
from faceledger.ledger.checks import VerifyReport
from faceledger.ledger.cosignature import WitnessKey, check_quorum
from faceledger.ledger.cosignature_store import check_database_quorum
from faceledger.ledger.note import CheckpointNote, read_checkpoint_note
from faceledger.ledger.tiles_db import keys_in_force, latest_signed_checkpoint
from faceledger.ledger.verify import verify_export

__all__ = ["Witnessed", "witnessed_database", "witnessed_export", "witnessed_note"]


@dataclass(frozen=True)
class Witnessed:
    """Who cosigned the latest checkpoint (of ``tree_size``), and how many were required."""

    tree_size: int
    quorum: int
    cosigned: tuple[str, ...]

    def summary(self) -> str:
        """One sentence for a person."""
        return (
            f"The latest checkpoint (size {self.tree_size}) is cosigned by {len(self.cosigned)} "
            f"of the witnesses given (quorum {self.quorum}): {', '.join(self.cosigned)}."
        )


def witnessed_export(
    export: Path,
    first_key: Ed25519PublicKey,
    note_text: str | bytes,
    witnesses: Sequence[WitnessKey],
    quorum: int,
) -> tuple[VerifyReport, Witnessed]:
    """Verify the export file ``export`` against the witnessed checkpoint note (W1) and count
    the quorum.

    Raises:
        VerificationFailed: as :func:`~faceledger.ledger.verify.verify_export` (the note's
            checkpoint is its trusted checkpoint: ``bad_signature``,
            ``inconsistent_with_trusted``, ``rolled_back``); ``reason='not_latest'`` if the
            export has a later checkpoint than the note; as
            :func:`~faceledger.ledger.cosignature.check_quorum`.
        InvalidInput: for a quorum outside 1..len(witnesses).
    """
    unsigned, signatures = read_checkpoint_note(note_text)
    own = [s for s in signatures if s.name == unsigned.log_id]
    if not own:
        raise VerificationFailed(
            f"The checkpoint note carries no signature line of the log {unsigned.log_id!r}.",
            reason="bad_signature",
            kind="checkpoint",
        )
    # Any line under the log's name may be its signature; the verifier decides which holds.
    report: VerifyReport | None = None
    failure: VerificationFailed | None = None
    for line in own:
        trusted = dataclasses.replace(unsigned, signature=line.signature).checkpoint(0)
        try:
            with export.open(encoding="utf-8") as lines:
                report = verify_export(lines, first_key, trusted)
        except VerificationFailed as exc:
            if exc.details.get("kind") != "trusted_checkpoint" or len(own) == 1:
                raise
            failure = exc
            continue
        note = dataclasses.replace(
            unsigned,
            signature=line.signature,
            others=tuple(s for s in signatures if s is not line),
        )
        return report, _count(report, note, witnesses, quorum)
    assert failure is not None
    raise failure


def witnessed_database(
    url: str,
    first_key: Ed25519PublicKey,
    report: VerifyReport,
    witnesses: Sequence[WitnessKey],
    quorum: int,
) -> Witnessed:
    """Count the stored cosignatures of a verified database's latest checkpoint (W2).

    Raises:
        VerificationFailed: ``reason='no_checkpoint'``, or as
            :func:`~faceledger.ledger.cosignature.check_quorum`.
        InvalidInput: for a quorum outside 1..len(witnesses).
    """
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            latest = latest_signed_checkpoint(conn)
            key = first_key if latest is None else keys_in_force(conn, first_key, latest)[-1]
    finally:
        engine.dispose()
    names = check_database_quorum(url, key, list(witnesses), quorum)
    return Witnessed(report.signed_size, quorum, tuple(names))


def witnessed_note(note: CheckpointNote, witnesses: Sequence[WitnessKey], quorum: int) -> Witnessed:
    """Count the cosignatures of an already verified checkpoint note (W3: tiles).

    Raises:
        VerificationFailed: as :func:`~faceledger.ledger.cosignature.check_quorum`.
        InvalidInput: for a quorum outside 1..len(witnesses).
    """
    names = check_quorum(note, witnesses, quorum)
    return Witnessed(note.tree_size, quorum, tuple(names))


def _count(
    report: VerifyReport, note: CheckpointNote, witnesses: Sequence[WitnessKey], quorum: int
) -> Witnessed:
    if report.signed_size != note.tree_size:
        raise VerificationFailed(
            f"The witnessed checkpoint has size {note.tree_size}, but the export's latest "
            f"checkpoint has size {report.signed_size}: a quorum on an older checkpoint says "
            "nothing about the later entries. Fetch the unit's current checkpoint note.",
            reason="not_latest",
            kind="checkpoint",
            expected=report.signed_size,
            actual=note.tree_size,
        )
    return witnessed_note(note, witnesses, quorum)
