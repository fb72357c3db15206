"""Witness cosignatures, the unit's side: pushing checkpoints to witnesses, storing their
cosignatures, and serving checkpoints with them (``c2sp.org/tlog-witness``).

Settings: ``witness_urls`` (the witnesses the unit pushes its checkpoints to) and
``witness_keys`` (the vkeys, or vkey files, of the witnesses whose cosignatures it accepts and
serves). :meth:`WitnessUseCases.collect` pushes the latest checkpoint to every witness, with the
consistency proof from the size that witness last cosigned here (retrying once with the size a
witness reports on 409), checks each cosignature against ``witness_keys`` and stores it. Each
witness is reported on its own (``ok``, ``offline``, ``refused`` with the witness's reason, or
``invalid`` when its answer holds no cosignature by a trusted key); one witness failing stops
none of the others. No database transaction is held while a witness is asked.

Storing a cosignature is **not** a ledger entry. A cosignature is a statement about a
checkpoint, made after it was signed; recording it as an entry would change the tree and call
for a new checkpoint, which would want cosigning in its turn, forever. The cosignatures are
themselves signed and verifiable by anyone with the witnesses' keys, so nothing is lost.

Pull-mode witnesses (``faceledger witness cosign``) read :meth:`WitnessUseCases.witnessed_note`
and :meth:`WitnessUseCases.consistency` and post back through :meth:`WitnessUseCases.submit`.
All three are public, like the ledger's public key: checkpoints and tree hashes reveal nothing
personal, and a submission is authenticated by the cosignature itself, accepted only if it
verifies under a configured witness key on a stored checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.db import utcnow
from faceledger.errors import ConfigError, FaceLedgerError, NotFound, VerificationFailed
from faceledger.governance.accounts import Principal
from faceledger.ledger import Checkpoint, load_public_key
from faceledger.ledger.cosignature import (
    WitnessKey,
    load_witness_keys,
    verify_cosignature,
)
from faceledger.ledger.cosignature_store import (
    latest_cosigned_size,
    matching_checkpoint,
    store_cosignature,
    witnessed_note,
)
from faceledger.ledger.export import latest_signed_checkpoint
from faceledger.ledger.note import NoteSignature, checkpoint_note, parse_checkpoint_note
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext
from faceledger.witness.client import TIMEOUT, WitnessAnswer, post_add_checkpoint
from faceledger.witness.protocol import parse_cosignatures

__all__ = ["ACTION", "CollectReport", "WitnessOutcome", "WitnessUseCases"]

ACTION = "ledger.witness"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WitnessOutcome:
    """What one witness did with the checkpoint."""

    url: str
    status: str
    """``ok``; ``offline`` (not reached in time); ``refused`` (the witness said no, with its
    reason); ``invalid`` (its answer holds no cosignature by a trusted key); ``error`` (this
    unit could not build the request)."""
    reason: str
    witness: str | None = None
    old_size: int | None = None
    stored: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome as JSON-ready data."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CollectReport:
    """One push of the latest checkpoint to the witnesses."""

    checkpoint: int | None
    tree_size: int | None
    outcomes: tuple[WitnessOutcome, ...]

    @property
    def cosigned(self) -> int:
        """How many witnesses cosigned."""
        return sum(1 for o in self.outcomes if o.status == "ok")

    def summary(self) -> str:
        """One sentence for a person."""
        if self.checkpoint is None:
            return "No checkpoint has been signed yet; nothing to witness."
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        told = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no witness configured"
        return f"Checkpoint {self.checkpoint} (size {self.tree_size}): {told}."

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "checkpoint": self.checkpoint,
            "tree_size": self.tree_size,
            "cosigned": self.cosigned,
            "summary": self.summary(),
            "witnesses": [o.to_dict() for o in self.outcomes],
        }


class WitnessUseCases:
    """Collecting, storing and serving witness cosignatures (module doc)."""

    def __init__(
        self,
        ctx: ServiceContext,
        access: Access,
        *,
        client_factory: Callable[[], httpx.Client] = lambda: httpx.Client(timeout=TIMEOUT),
    ) -> None:
        self._ctx, self._access, self._client_factory = ctx, access, client_factory
        self._witness_at: dict[str, WitnessKey] = {}  # url -> the key that answered there

    # -- configuration ---------------------------------------------------------------------

    def keys(self) -> list[WitnessKey]:
        """Return the trusted witness keys (setting ``witness_keys``).

        Raises:
            ConfigError: for a value that is not a vkey or a readable vkey file.
        """
        values = _split(self._ctx.settings.witness_keys)
        try:
            return load_witness_keys(values)
        except FaceLedgerError as exc:
            raise ConfigError(f"Setting witness_keys: {exc.message}", **exc.details) from None

    def urls(self) -> list[str]:
        """Return the witnesses' base URLs (setting ``witness_urls``).

        Raises:
            ConfigError: for a value that is not an http:// or https:// URL.
        """
        urls = _split(self._ctx.settings.witness_urls)
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(
                    f"Setting witness_urls: {url!r} is not an http:// or https:// URL.",
                    value=url,
                )
        return [u.rstrip("/") for u in urls]

    # -- pushing ---------------------------------------------------------------------------

    def collect(self, acting: Principal) -> CollectReport:
        """Push the latest checkpoint to every configured witness and store what they cosign.

        Raises:
            PermissionDenied: without ``ledger.witness`` (recorded).
            ConfigError: for a malformed ``witness_urls`` or ``witness_keys``.
        """
        self._access.check(acting, ACTION)
        urls, keys = self.urls(), self.keys()
        with self._ctx.db.read() as session:
            conn = session.connection()
            cp = latest_signed_checkpoint(conn)
            if cp is None:
                return CollectReport(None, None, ())
            log_key = self._log_key(cp)
            note = checkpoint_note(cp, log_key)
            sizes = {key.name: latest_cosigned_size(conn, key) for key in keys}
        outcomes: list[WitnessOutcome] = []
        received: list[NoteSignature] = []
        with self._client_factory() as client:
            for url in urls:
                outcome, lines = self._push(client, url, cp, note, keys, sizes)
                outcomes.append(outcome)
                received.extend(lines)
        stored = self._store(cp, received)
        report = CollectReport(
            cp.number,
            cp.tree_size,
            tuple(
                replace(o, stored=bool(stored & set((o.witness or "").split(", "))))
                if o.status == "ok"
                else o
                for o in outcomes
            ),
        )
        if any(o.status != "ok" for o in report.outcomes):
            log.warning("witnesses: %s", report.summary())
        return report

    def _push(
        self,
        client: httpx.Client,
        url: str,
        cp: Checkpoint,
        note: str,
        keys: list[WitnessKey],
        sizes: dict[str, int],
    ) -> tuple[WitnessOutcome, list[NoteSignature]]:
        known = self._witness_at.get(url)
        # Offer what this witness last cosigned here; unknown (first contact in this
        # process), the furthest any trusted witness got: right whenever witnesses keep pace.
        if known is not None:
            old = sizes.get(known.name, 0)
        else:
            old = max((s for s in sizes.values() if s <= cp.tree_size), default=0)
        old = min(old, cp.tree_size)
        try:
            answer = self._ask(client, url, old, cp, note)
            reported = answer.latest_size
            if reported is not None and reported != old:
                # (409) The witness says where it is; retry once from there.
                if reported > cp.tree_size:
                    return self._refused(
                        url,
                        f"the witness has cosigned size {reported}, beyond this unit's latest "
                        f"checkpoint (size {cp.tree_size}): the log may have been rolled back",
                        old,
                    ), []
                old = reported
                answer = self._ask(client, url, old, cp, note)
        except httpx.TransportError as exc:
            return WitnessOutcome(url, "offline", f"{type(exc).__name__}: {exc}", None, old), []
        except FaceLedgerError as exc:  # this unit could not build the request
            log.error("witness %s: cannot build the request: %s", url, exc.message)
            return WitnessOutcome(url, "error", exc.message, None, old), []
        if answer.status != 200:
            return self._refused(url, answer.reason, old), []
        try:
            lines = parse_cosignatures(note, answer.text)
        except VerificationFailed as exc:
            return WitnessOutcome(url, "invalid", exc.message, None, old), []
        valid, why = _verified(lines, keys, cp)
        if not valid:
            return WitnessOutcome(url, "invalid", why, None, old), []
        names = sorted({line.name for line in valid})
        self._witness_at[url] = next(k for k in keys if k.name == names[0])
        return WitnessOutcome(url, "ok", "cosigned", ", ".join(names), old), valid

    def _ask(
        self, client: httpx.Client, url: str, old: int, cp: Checkpoint, note: str
    ) -> WitnessAnswer:
        with self._ctx.db.read() as session:
            proof = (
                ()
                if old in (0, cp.tree_size)
                else self._ctx.ledger.consistency_proof(session, old, cp.tree_size).hashes
            )
        return post_add_checkpoint(client, url, old, proof, note)

    @staticmethod
    def _refused(url: str, reason: str, old: int) -> WitnessOutcome:
        log.warning("witness %s refused the checkpoint: %s", url, reason)
        return WitnessOutcome(url, "refused", reason, None, old)

    def _store(self, cp: Checkpoint, lines: list[NoteSignature]) -> set[str]:
        if not lines:
            return set()
        stored: set[str] = set()
        now = utcnow()
        with self._ctx.db.transaction() as session:
            conn = session.connection()
            for line in lines:
                if store_cosignature(conn, cp.number, line, now):
                    stored.add(line.name)
        return stored

    # -- public: what pull-mode witnesses and auditors read and send -------------------------

    def witnessed_note(self) -> str:
        """Return the latest checkpoint as a signed note with every stored cosignature.

        Raises:
            NotFound: if no checkpoint has been signed yet.
        """
        with self._ctx.db.read() as session:
            conn = session.connection()
            cp = latest_signed_checkpoint(conn)
            if cp is None:
                raise NotFound("No checkpoint has been signed yet.")
            text = witnessed_note(conn, self._log_key(cp), cp)
        assert text is not None
        return text

    def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        """Return the consistency proof between two tree sizes (``{"old_size", "new_size",
        "hashes": [hex, ...]}``).

        Raises:
            InvalidInput: unless 0 <= old_size <= new_size <= the current size.
        """
        with self._ctx.db.read() as session:
            return self._ctx.ledger.consistency_proof(session, old_size, new_size).to_dict()

    def submit(self, note_text: str | bytes) -> dict[str, Any]:
        """Store the cosignatures a pull-mode witness sends on one of this unit's checkpoints.

        ``note_text`` is the checkpoint note with the witness's cosignature line(s) appended.

        Returns:
            ``{"checkpoint": number, "stored": [names newly stored], "cosigned": [every
            trusted witness whose cosignature verified]}``.

        Raises:
            VerificationFailed: (422) not a checkpoint note signed by this log, or no
                cosignature in it verifies under a configured witness key.
            NotFound: (404) a checkpoint this unit never signed.
        """
        keys = self.keys()
        note = None
        failure: VerificationFailed | None = None
        for log_key in self._log_keys():
            try:
                note = parse_checkpoint_note(note_text, log_key)
                break
            except VerificationFailed as exc:
                failure = exc
        if note is None:
            assert failure is not None
            raise failure
        with self._ctx.db.read() as session:
            cp = matching_checkpoint(session.connection(), note)
        if cp is None:
            raise NotFound(
                f"This unit signed no checkpoint of size {note.tree_size} with that root and time.",
                tree_size=note.tree_size,
            )
        valid, why = _verified(list(note.others), keys, cp)
        if not valid:
            raise VerificationFailed(
                f"No cosignature on the checkpoint verifies under a witness key this unit "
                f"trusts: {why}",
                reason="untrusted_cosignature",
                trusted=[k.name for k in keys],
            )
        stored = self._store(cp, valid)
        return {
            "checkpoint": cp.number,
            "stored": sorted(stored),
            "cosigned": sorted({line.name for line in valid}),
        }

    # -- helpers ---------------------------------------------------------------------------

    def _log_keys(self) -> list[Ed25519PublicKey]:
        # The key in force signs new checkpoints; the anchor (first) key signed those before
        # any rotation.
        keys = [] if self._ctx.ledger.public_key is None else [self._ctx.ledger.public_key]
        anchor = self._ctx.public_key_path
        if anchor.is_file():
            keys.append(load_public_key(anchor))
        return keys

    def _log_key(self, cp: Checkpoint) -> Ed25519PublicKey:
        keys = self._log_keys()
        for key in keys:
            try:
                key.verify(cp.signature, cp.body())
                return key
            except InvalidSignature:
                continue
        raise VerificationFailed(
            f"Checkpoint {cp.number} is not signed by a key this unit holds.",
            reason="bad_signature",
            checkpoint=cp.number,
        )


def _verified(
    lines: list[NoteSignature], keys: list[WitnessKey], cp: Checkpoint
) -> tuple[list[NoteSignature], str]:
    """Return the lines that verify under a trusted key, and why none did if so."""
    valid: list[NoteSignature] = []
    problems: list[str] = []
    for line in lines:
        witness = next((k for k in keys if k.matches(line)), None)
        if witness is None:
            problems.append(f"{line.name}/{line.key_hash.hex()} is not a trusted witness key")
            continue
        try:
            verify_cosignature(witness, cp.body(), line)
        except VerificationFailed as exc:
            problems.append(exc.message)
            continue
        valid.append(line)
    if not lines:
        problems.append("no cosignature line")
    return valid, "; ".join(problems)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
