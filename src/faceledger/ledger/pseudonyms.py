"""Pseudonyms for envelope version 3: keyed hashes that name people and objects stably.

The unit's pseudonym key ``K`` is 32 random bytes that never leave it (they are in no export).
With it, every ledger actor string and every object gets one stable 32-hex-digit reference::

    actor_ref  = HMAC-SHA256(K, b"faceledger actor\\n" + actor.encode("utf-8"))[:16].hex()
    object_ref = HMAC-SHA256(K, b"faceledger object\\n" + object_type.encode("utf-8") + b"\\n"
                                + object_id.encode("utf-8"))[:16].hex()

so an outsider reading the public export can tell that two entries concern the same person or
request, but not who or which, and cannot test a guess without ``K``.

The key lives in the data directory's key folder as :data:`PSEUDONYM_KEY_FILE`: 64 lower-case
hex digits and a newline, mode 0600, created once and never replaced (replacing it would change
every reference from then on).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
from pathlib import Path

from faceledger.errors import LedgerError
from faceledger.ledger.keys import sync_directory

__all__ = [
    "PSEUDONYM_KEY_BYTES",
    "PSEUDONYM_KEY_FILE",
    "REF_HEX_DIGITS",
    "actor_ref",
    "ensure_pseudonym_key",
    "generate_pseudonym_key",
    "load_pseudonym_key",
    "object_ref",
]

PSEUDONYM_KEY_FILE = "ledger_pseudonym_key"
PSEUDONYM_KEY_BYTES = 32
# A reference is the first 16 bytes of the HMAC, in hex.
REF_HEX_DIGITS = 32
_ACTOR_LABEL = b"faceledger actor\n"
_OBJECT_LABEL = b"faceledger object\n"
_KEY_TEXT_RE = re.compile(r"[0-9a-f]{64}\n?")


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != PSEUDONYM_KEY_BYTES:
        raise LedgerError(f"A pseudonym key is {PSEUDONYM_KEY_BYTES} bytes.")


def actor_ref(key: bytes, actor: str) -> str:
    """Return the pseudonym of ledger actor ``actor`` under ``key`` (32 hex digits).

    Raises:
        LedgerError: if ``key`` is not 32 bytes.
    """
    _check_key(key)
    digest = hmac.new(key, _ACTOR_LABEL + actor.encode("utf-8"), hashlib.sha256).digest()
    return digest[: REF_HEX_DIGITS // 2].hex()


def object_ref(key: bytes, object_type: str, object_id: str) -> str:
    """Return the pseudonym of object ``object_type``/``object_id`` under ``key`` (32 hex digits).

    Raises:
        LedgerError: if ``key`` is not 32 bytes.
    """
    _check_key(key)
    message = _OBJECT_LABEL + object_type.encode("utf-8") + b"\n" + object_id.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()[: REF_HEX_DIGITS // 2].hex()


def generate_pseudonym_key(directory: str | os.PathLike[str]) -> bytes:
    """Create the pseudonym key file in ``directory`` (created if missing) and return the key.

    The file appears complete or not at all: the key is written and synced under a temporary
    name (O_EXCL, 0600) and then hard-linked to its name, which fails if one exists, so a
    concurrent reader never sees half a key and an existing key is never replaced.

    Raises:
        LedgerError: if a pseudonym key file already exists there, or it cannot be written.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PSEUDONYM_KEY_FILE
    key = os.urandom(PSEUDONYM_KEY_BYTES)
    temporary = folder / f".{PSEUDONYM_KEY_FILE}.{os.urandom(8).hex()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)  # the umask may only have narrowed it; make it exact
            fh.write(key.hex().encode("ascii") + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(temporary, path)
    except FileExistsError:
        raise LedgerError(
            f"A ledger pseudonym key already exists at {path}; refusing to replace it.",
            path=str(path),
        ) from None
    except OSError as exc:
        raise LedgerError(
            f"Cannot write the ledger pseudonym key {path}: {exc.strerror}.", path=str(path)
        ) from None
    finally:
        temporary.unlink(missing_ok=True)
    sync_directory(folder)
    return key


def load_pseudonym_key(path: str | os.PathLike[str]) -> bytes:
    """Load the pseudonym key from its file.

    Raises:
        LedgerError: if the file is missing, accessible to group or others, or does not hold
            exactly 64 lower-case hex digits (and a newline).
    """
    key_path = Path(path)
    try:
        mode = key_path.stat().st_mode
        text = key_path.read_bytes().decode("ascii", "replace")
    except OSError as exc:
        raise LedgerError(
            f"Cannot read the ledger pseudonym key {key_path}: {exc.strerror}.",
            path=str(key_path),
        ) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerError(
            f"The ledger pseudonym key {key_path} is accessible to other users (mode "
            f"{stat.S_IMODE(mode):04o}); run `chmod 600 {key_path}`.",
            path=str(key_path),
            mode=f"{stat.S_IMODE(mode):04o}",
        )
    if not _KEY_TEXT_RE.fullmatch(text):
        raise LedgerError(
            f"The ledger pseudonym key {key_path} is damaged: it must hold 64 lower-case hex "
            "digits. Restore it from a backup; a new key would change every pseudonym.",
            path=str(key_path),
        )
    return bytes.fromhex(text[:64])


def ensure_pseudonym_key(directory: str | os.PathLike[str]) -> bytes:
    """Return the pseudonym key of ``directory``, creating its file first if there is none.

    Data directories made before envelope version 3 get their key this way on the next start.

    Raises:
        LedgerError: as :func:`load_pseudonym_key`, or if the file cannot be created.
    """
    path = Path(directory) / PSEUDONYM_KEY_FILE
    if not path.exists():
        try:
            return generate_pseudonym_key(directory)
        except LedgerError:
            if not path.exists():
                raise
            # Another process created it meanwhile: use theirs.
    return load_pseudonym_key(path)
