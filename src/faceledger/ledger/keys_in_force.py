"""The signing keys in force along one log: the auditor's first key, then each rotation's.

A rotation entry (:mod:`faceledger.ledger.rotation`) at ``seq`` is announced by the key in force
and hands over to a new key, which signs every checkpoint whose tree size is greater than
``seq``. The verifier asks this chain which key a checkpoint of a given size must verify with.
"""

from __future__ import annotations

import bisect

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import VerificationFailed
from faceledger.ledger.keys import key_id
from faceledger.ledger.records import EntryRecord
from faceledger.ledger.rotation import KEY_OBJECT_TYPE, REASON_BAD_ROTATION, verify_rotation

__all__ = ["KeysInForce"]


class KeysInForce:
    """The checkpoint signing keys of one log, in order, and from which tree size each signs.

    It starts with the auditor's key (the log's first). A rotation entry at ``seq`` announces
    the next, which signs every checkpoint whose tree size is greater than ``seq`` (E6, C3).
    """

    def __init__(self, first: Ed25519PublicKey) -> None:
        self._keys = [first]
        self._from = [0]  # the smallest tree size each key signs
        self.ids = [key_id(first)]

    def at(self, tree_size: int) -> Ed25519PublicKey:
        """Return the key that signs checkpoints of ``tree_size``."""
        return self._keys[bisect.bisect_right(self._from, tree_size) - 1]

    def id_at(self, tree_size: int) -> str:
        """Return the key id of :meth:`at`."""
        return self.ids[bisect.bisect_right(self._from, tree_size) - 1]

    def rotate(self, rec: EntryRecord, log_id: str) -> None:
        """(E6) Check the rotation entry ``rec`` against the latest key and take its new key.

        Raises:
            VerificationFailed: ``bad_rotation`` (see
                :func:`~faceledger.ledger.rotation.verify_rotation`), also for an entry that is
                not about a ledger key or whose object id does not name the new key.
        """
        new_key = verify_rotation(rec.public, self._keys[-1], log_id, seq=rec.seq)
        new_id = key_id(new_key)
        if rec.object_type != KEY_OBJECT_TYPE or rec.object_id not in (None, new_id):
            raise VerificationFailed(
                f"Entry {rec.seq} (a key rotation) is not about the new key: its object is "
                f"{rec.object_type}/{rec.object_id}.",
                kind="entry",
                reason=REASON_BAD_ROTATION,
                seq=rec.seq,
                expected=f"{KEY_OBJECT_TYPE}/{new_id}",
                actual=f"{rec.object_type}/{rec.object_id}",
            )
        self._keys.append(new_key)
        self._from.append(rec.seq + 1)
        self.ids.append(new_id)
