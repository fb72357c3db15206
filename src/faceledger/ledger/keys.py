"""The ledger's Ed25519 signing key: generated once, kept private (0600), public half in PEM.

Two files in the data directory: ``ledger_private_key.pem`` (PKCS#8, unencrypted, mode 0600)
and ``ledger_public_key.pem`` (SubjectPublicKeyInfo), which is what auditors are given.
"""

from __future__ import annotations

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
    "LedgerKeys",
    "default_log_id",
    "generate_keys",
    "key_id",
    "load_public_key",
    "load_signing_key",
    "public_key_pem",
]

PRIVATE_KEY_FILE = "ledger_private_key.pem"
PUBLIC_KEY_FILE = "ledger_public_key.pem"


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
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_EXCL: never clobber an existing key, even in a race; 0600 from the first byte.
        fd = os.open(paths.private_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise LedgerError(
            f"A ledger signing key already exists at {paths.private_key_path}; refusing to "
            "replace it.",
            path=str(paths.private_key_path),
        ) from None
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)  # the umask may only have narrowed it; make it exact
        fh.write(private_pem)
    paths.public_key_path.write_text(public_key_pem(key.public_key()), encoding="ascii")
    return paths


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
