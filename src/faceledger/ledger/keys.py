"""The ledger's Ed25519 signing key: generated once, kept private (0600), public half in PEM.

Two files in the data directory: ``ledger_private_key.pem`` (PKCS#8, unencrypted, mode 0600)
and ``ledger_public_key.pem`` (SubjectPublicKeyInfo), which is what auditors are given.

The signing key can be rotated (the log side is in :mod:`faceledger.ledger.rotation`). The
public key file then stays the *first* key, the anchor auditors hold and verify the chain of
rotations from; ``ledger_private_key.pem`` is always the key in force, and each retired private
key is kept as ``ledger_private_key.<key id>.retired.pem`` (0600) until an admin removes it. A
rotation moves the files in three steps, so that a crash at any point loses no key and leaves a
key file in force:

1. :func:`stage_rotation` writes the new key, synced, as ``ledger_private_key.next.pem``
   (O_EXCL, 0600); the old key stays in force. The log's announcement is committed next.
2. :func:`complete_rotation` hard-links the old key to its retired name, then renames the
   staged key over ``ledger_private_key.pem`` (atomic), syncing the directory after each step.
3. If the announcement was not committed, :func:`discard_rotation` deletes the staged key
   instead; :func:`recover_rotation` finishes step 2 at the next start when the log announced
   the staged key but the process stopped before moving it in.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.errors import LedgerError

__all__ = [
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "STAGED_KEY_FILE",
    "LedgerKeys",
    "StagedRotation",
    "complete_rotation",
    "default_log_id",
    "discard_rotation",
    "generate_keys",
    "key_id",
    "load_public_key",
    "load_signing_key",
    "public_key_pem",
    "recover_rotation",
    "retired_key_path",
    "rotate_keys",
    "signing_keys",
    "stage_rotation",
    "sync_directory",
]

PRIVATE_KEY_FILE = "ledger_private_key.pem"
PUBLIC_KEY_FILE = "ledger_public_key.pem"
STAGED_KEY_FILE = "ledger_private_key.next.pem"


@dataclass(frozen=True)
class LedgerKeys:
    """Where the key pair lives."""

    private_key_path: Path
    public_key_path: Path


def generate_keys(directory: str | os.PathLike[str]) -> LedgerKeys:
    """Create a new Ed25519 key pair in ``directory`` (created if missing) and return the paths.

    The private key file is created with mode 0600 and never overwritten: replacing the key
    would leave every earlier checkpoint signed by a key nobody holds.

    Raises:
        LedgerError: if a private key file already exists there.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = LedgerKeys(folder / PRIVATE_KEY_FILE, folder / PUBLIC_KEY_FILE)
    key = Ed25519PrivateKey.generate()
    try:
        _write_private_key(paths.private_key_path, key)
    except FileExistsError:
        raise LedgerError(
            f"A ledger signing key already exists at {paths.private_key_path}; refusing to "
            "replace it.",
            path=str(paths.private_key_path),
        ) from None
    paths.public_key_path.write_text(public_key_pem(key.public_key()), encoding="ascii")
    return paths


def _write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` as PKCS#8 PEM to a new file (O_EXCL, 0600), synced to disk.

    Raises:
        FileExistsError: if ``path`` exists (nothing is written).
    """
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: never clobber an existing key, even in a race; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)  # the umask may only have narrowed it; make it exact
        fh.write(private_pem)
        fh.flush()
        os.fsync(fh.fileno())


def load_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load the Ed25519 private key from a PEM file.

    Raises:
        LedgerError: if the file is missing, readable by group or others, or not an Ed25519
            private key.
    """
    key_path = Path(path)
    try:
        mode = key_path.stat().st_mode
        data = key_path.read_bytes()
    except OSError as exc:
        raise LedgerError(
            f"Cannot read the ledger signing key {key_path}: {exc.strerror}.", path=str(key_path)
        ) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerError(
            f"The ledger signing key {key_path} is accessible to other users (mode "
            f"{stat.S_IMODE(mode):04o}); run `chmod 600 {key_path}`.",
            path=str(key_path),
            mode=f"{stat.S_IMODE(mode):04o}",
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise LedgerError(f"{key_path} is not a usable PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"{key_path} holds a {type(key).__name__}, not an Ed25519 key.")
    return key


def load_public_key(path_or_pem: str | bytes | os.PathLike[str]) -> Ed25519PublicKey:
    """Load an Ed25519 public key from PEM text/bytes or from a PEM file path.

    Raises:
        LedgerError: if the file cannot be read or does not hold an Ed25519 public key.
    """
    if isinstance(path_or_pem, bytes):
        data = path_or_pem
    elif isinstance(path_or_pem, str) and path_or_pem.lstrip().startswith("-----BEGIN"):
        data = path_or_pem.encode("ascii", "replace")
    else:
        try:
            data = Path(path_or_pem).read_bytes()
        except OSError as exc:
            raise LedgerError(
                f"Cannot read the ledger public key {path_or_pem}: {exc.strerror}."
            ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise LedgerError(f"Not a usable PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerError(f"The public key is a {type(key).__name__}, not an Ed25519 key.")
    return key


def public_key_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Return the public key (of a key pair, or itself) as SubjectPublicKeyInfo PEM text."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Return a short label for a key: the first 16 hex digits of SHA-256 of the raw public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def default_log_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Return the log id to use when the ``ledger_log_id`` setting is empty.

    It is ``faceledger/`` followed by :func:`key_id`, so it names the key that signs the log.
    """
    return f"faceledger/{key_id(key)}"


# -- rotation (module doc) ---------------------------------------------------------------------


@dataclass(frozen=True)
class StagedRotation:
    """A rotation whose new key is written beside the key in force but not yet in force."""

    directory: Path
    old_key: Ed25519PrivateKey
    new_key: Ed25519PrivateKey

    @property
    def staged_path(self) -> Path:
        """Where the new key waits: ``ledger_private_key.next.pem``."""
        return self.directory / STAGED_KEY_FILE

    @property
    def retired_path(self) -> Path:
        """Where the old key goes: ``ledger_private_key.<old key id>.retired.pem``."""
        return retired_key_path(self.directory, self.old_key)


def retired_key_path(
    directory: str | os.PathLike[str], key: Ed25519PrivateKey | Ed25519PublicKey
) -> Path:
    """Return where the retired private key ``key`` is kept in ``directory``."""
    return Path(directory) / f"ledger_private_key.{key_id(key)}.retired.pem"


def stage_rotation(directory: str | os.PathLike[str]) -> StagedRotation:
    """Generate the next signing key and write it, synced, as the staged key (step 1).

    The key in force is unchanged until :func:`complete_rotation`.

    Raises:
        LedgerError: if the key in force cannot be loaded (:func:`load_signing_key`), or a
            staged key is already there (a rotation running, or one interrupted before its
            announcement was committed: if none is running, remove the file) or cannot be
            written.
    """
    folder = Path(directory)
    old_key = load_signing_key(folder / PRIVATE_KEY_FILE)
    staged = StagedRotation(folder, old_key, Ed25519PrivateKey.generate())
    try:
        _write_private_key(staged.staged_path, staged.new_key)
    except FileExistsError:
        raise LedgerError(
            f"A staged signing key is already waiting at {staged.staged_path}: another rotation "
            "is running, or one stopped before the log announced its key. If no rotation is "
            "running, remove that file (the log never used it) and try again.",
            path=str(staged.staged_path),
        ) from None
    except OSError as exc:
        raise LedgerError(
            f"Cannot write the new signing key {staged.staged_path}: {exc.strerror}.",
            path=str(staged.staged_path),
        ) from None
    sync_directory(folder)
    return staged


def complete_rotation(staged: StagedRotation) -> None:
    """Put the staged key in force and keep the old one under its retired name (step 2).

    Safe to repeat: a retired file already there (from an interrupted run) is kept.

    Raises:
        LedgerError: if the files cannot be moved (the key in force is then still a whole key:
            the old one, or already the new one).
    """
    current = staged.directory / PRIVATE_KEY_FILE
    try:
        # A second name for the old key first, so that at every instant both keys exist.
        with contextlib.suppress(FileExistsError):
            os.link(current, staged.retired_path)
        sync_directory(staged.directory)
        os.replace(staged.staged_path, current)
        sync_directory(staged.directory)
    except OSError as exc:
        raise LedgerError(
            f"Cannot move the new signing key into {current}: {exc.strerror}. The log already "
            f"announced it; the key waits in {staged.staged_path} and the next start of "
            "faceledger finishes the move.",
            path=str(current),
        ) from None


def discard_rotation(staged: StagedRotation) -> None:
    """Delete the staged key of a rotation whose announcement was not committed (step 3).

    The log never used that key, so nothing is lost; the old key stays in force.
    """
    staged.staged_path.unlink(missing_ok=True)
    sync_directory(staged.directory)


def recover_rotation(directory: str | os.PathLike[str], key_id_in_force: str | None) -> bool:
    """Finish a rotation the log announced but the key files do not show yet.

    ``key_id_in_force`` is the key id the log says signs now (the newest rotation entry's), or
    None if the log was never rotated. Returns True if the staged key was that key and is now in
    force; a staged key the log never announced is left alone (see :func:`stage_rotation`).

    Raises:
        LedgerError: if a key file cannot be read or the files cannot be moved.
    """
    folder = Path(directory)
    staged_path = folder / STAGED_KEY_FILE
    if key_id_in_force is None or not staged_path.exists():
        return False
    new_key = load_signing_key(staged_path)
    if key_id(new_key) != key_id_in_force:
        return False
    old_key = load_signing_key(folder / PRIVATE_KEY_FILE)
    complete_rotation(StagedRotation(folder, old_key, new_key))
    return True


def rotate_keys(
    directory: str | os.PathLike[str],
) -> tuple[Ed25519PrivateKey, Ed25519PrivateKey]:
    """Rotate the key files of ``directory`` at once and return ``(old_key, new_key)``.

    Only the files: the log must announce the new key as well (the service's rotation use case
    does both, staging first and completing once the announcement is committed).

    Raises:
        LedgerError: as :func:`stage_rotation` and :func:`complete_rotation`.
    """
    staged = stage_rotation(directory)
    complete_rotation(staged)
    return staged.old_key, staged.new_key


def signing_keys(directory: str | os.PathLike[str]) -> list[Ed25519PrivateKey]:
    """Return the private keys a ledger may need to sign with now: the key in force and a
    staged one, if any (a rotation another process is committing or completing).

    Raises:
        LedgerError: if a key file there cannot be loaded.
    """
    folder = Path(directory)
    found = [load_signing_key(folder / PRIVATE_KEY_FILE)]
    if (folder / STAGED_KEY_FILE).exists():
        found.append(load_signing_key(folder / STAGED_KEY_FILE))
    return found


def sync_directory(folder: str | os.PathLike[str]) -> None:
    """Flush ``folder``'s entries to disk (new, linked or renamed files); best effort, as not
    every platform can open a directory."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
