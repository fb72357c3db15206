"""Rotating the ledger's checkpoint signing key (``ledger.rotate_key``, admins).

The key files and the log change together: the new key is staged on disk first, the log's
announcement and the checkpoint signed with the new key are committed in one transaction, and
only then is the new key moved into force (see :mod:`faceledger.ledger.keys` and
:mod:`faceledger.ledger.rotation`). Any failure before the commit deletes the staged key and
leaves the old key in force; a crash after it is finished at the next start.
"""

from __future__ import annotations

from dataclasses import dataclass

from faceledger.errors import LedgerError
from faceledger.governance.accounts import Principal
from faceledger.ledger import Checkpoint, LedgerEntry, key_id
from faceledger.ledger.keys import complete_rotation, discard_rotation, stage_rotation
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext


@dataclass(frozen=True)
class KeyRotation:
    """A rotation done: the old and new key ids, the announcing entry and the first
    checkpoint signed with the new key."""

    old_key_id: str
    new_key_id: str
    entry: LedgerEntry
    checkpoint: Checkpoint


class LedgerKeyUseCases:
    """The ledger signing key's life: rotation."""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._ctx, self._access, self.ledger = ctx, access, ctx.ledger

    def current_key_id(self) -> str | None:
        """Return the id of the key that signs checkpoints now (public, like the public key):
        the one the newest rotation announced, else the first key; None without a key."""
        with self._ctx.db.read() as session:
            return self.ledger.signing_key_id(session)

    def rotate(self, acting: Principal) -> KeyRotation:
        """Rotate the signing key: announce a new one in the log, signed by the old one.

        The public key file stays the first key (auditors verify the chain of rotations from
        it); the old private key is kept as ``ledger_private_key.<id>.retired.pem``.

        Raises:
            PermissionDenied: without ``ledger.rotate_key`` (recorded).
            LedgerError: if a rotation is already staged (running, or interrupted: the message
                names the file), the key file in force is not the key the log names, or the key
                files cannot be written or moved (then the old key is still in force, unless
                the log already announced the new one: the next start finishes the move).
        """
        staged = None
        try:
            with self._access.transaction(acting, "ledger.rotate_key") as (session, me):
                staged = stage_rotation(self._ctx.keys_dir)
                in_force = self.ledger.signing_key_id(session)
                if in_force != key_id(staged.old_key):
                    raise LedgerError(
                        f"The log is signed with key {in_force}, but the data directory's key "
                        f"in force is {key_id(staged.old_key)}; restore the right key file "
                        "before rotating.",
                        expected=in_force,
                        actual=key_id(staged.old_key),
                    )
                # Its action is LedgerAction.LEDGER_KEY_ROTATE (a test checks the names agree).
                entry, checkpoint = self.ledger.rotate_key(
                    session, staged.new_key, actor=me.ledger_actor
                )
        except BaseException:
            # Not committed: the log never used the new key, so it goes.
            if staged is not None:
                discard_rotation(staged)
            raise
        complete_rotation(staged)
        return KeyRotation(key_id(staged.old_key), key_id(staged.new_key), entry, checkpoint)
