"""The key-encryption key (KEK): what wraps the data keys, held outside the database.

Three sources, the first one set wins:

1. ``data_kek_command``, a KMS hook: the command is run as ``CMD wrap`` or ``CMD unwrap`` with
   the key in base64 on its standard input, and answers the result in base64 on its standard
   output (exit status 0). The KEK itself never reaches faceledger.
2. ``data_kek`` (environment variable ``FACELEDGER_DATA_KEK``): the base64 of 32 bytes.
3. ``data_kek_file``: a file holding the base64 of 32 bytes, mode 0600; by default
   ``keys/data-kek`` in the data directory, created at ``faceledger init``. The data keys it
   wraps are in the database, so a copy of the database alone opens nothing; keep the file on
   other media than the database's for the full benefit.

A local KEK (2, 3) wraps with AES-256-GCM (a 12-byte nonce, then the ciphertext and tag), with
a fixed label as associated data. Its fingerprint is the first 16 hex digits of SHA-256 over a
label and the key, stored beside each wrapped key so that a wrong KEK is named as such.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from faceledger.config import Settings
from faceledger.errors import ConfigError

__all__ = [
    "DEFAULT_KEK_FILE",
    "KEK_BYTES",
    "CommandKek",
    "Kek",
    "LocalKek",
    "create_kek_file",
    "kek_file_path",
    "kek_from_settings",
    "load_kek_file",
    "staged_kek_path",
]

DEFAULT_KEK_FILE = "data-kek"
"""The KEK file's name in the data directory's ``keys/`` folder (the default source)."""
KEK_BYTES = 32
_WRAP_AAD = b"faceledger data key wrap v1"
_FINGERPRINT_LABEL = b"faceledger kek fingerprint\n"
_COMMAND_TIMEOUT_S = 30


class Kek(Protocol):
    """A key-encryption key: wraps and unwraps data keys."""

    @property
    def source(self) -> str:
        """Where the KEK comes from, for messages (a file, a setting, a command)."""

    @property
    def fingerprint(self) -> str:
        """A public label of the KEK (no key material), stored with each wrapped key."""

    def wrap(self, data_key: bytes) -> bytes:
        """Return ``data_key`` wrapped under this KEK."""

    def unwrap(self, wrapped: bytes) -> bytes:
        """Return the data key ``wrapped`` holds.

        Raises:
            ConfigError: if this KEK did not wrap it (or cannot be reached).
        """


@dataclass(frozen=True)
class LocalKek:
    """A KEK held by this process (from a file or the environment)."""

    key: bytes
    source: str

    @property
    def fingerprint(self) -> str:
        """The first 16 hex digits of SHA-256 over a label and the key."""
        return hashlib.sha256(_FINGERPRINT_LABEL + self.key).hexdigest()[:16]

    def wrap(self, data_key: bytes) -> bytes:
        """Return ``nonce + AES-256-GCM(data_key)`` under this KEK."""
        nonce = os.urandom(12)
        return nonce + AESGCM(self.key).encrypt(nonce, data_key, _WRAP_AAD)

    def unwrap(self, wrapped: bytes) -> bytes:
        """Return the data key, or raise ConfigError if this KEK did not wrap it."""
        try:
            return AESGCM(self.key).decrypt(wrapped[:12], wrapped[12:], _WRAP_AAD)
        except (InvalidTag, ValueError):
            raise ConfigError(
                f"The key-encryption key from {self.source} (fingerprint {self.fingerprint}) "
                "does not unwrap the database's data keys: it is not the KEK they were wrapped "
                "with.",
                source=self.source,
                fingerprint=self.fingerprint,
            ) from None


@dataclass(frozen=True)
class CommandKek:
    """A KMS hook: ``command wrap`` / ``command unwrap``, base64 in and out."""

    command: str

    @property
    def source(self) -> str:
        """The hook's command, as the setting names it."""
        return f"the KMS command data_kek_command ({self.command.split()[0]})"

    @property
    def fingerprint(self) -> str:
        """``kms:`` and 12 hex digits of SHA-256 of the command (the KMS holds the key)."""
        return "kms:" + hashlib.sha256(self.command.encode("utf-8")).hexdigest()[:12]

    def wrap(self, data_key: bytes) -> bytes:
        """Return what ``command wrap`` answers for ``data_key``."""
        return self._run("wrap", data_key)

    def unwrap(self, wrapped: bytes) -> bytes:
        """Return what ``command unwrap`` answers for ``wrapped``."""
        return self._run("unwrap", wrapped)

    def _run(self, verb: str, data: bytes) -> bytes:
        args = [*shlex.split(self.command), verb]
        try:
            done = subprocess.run(
                args,
                input=base64.b64encode(data) + b"\n",
                capture_output=True,
                timeout=_COMMAND_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                f"Cannot run {self.source} to {verb} a data key: {exc}. Check data_kek_command.",
                source=self.source,
            ) from None
        if done.returncode != 0:
            # The hook's stderr is its own words; keep them short (they never hold the key).
            said = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise ConfigError(
                f"{self.source} refused to {verb} a data key (exit {done.returncode}): {said}",
                source=self.source,
            )
        try:
            return base64.b64decode(done.stdout.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(
                f"{self.source} answered {verb} with something that is not base64.",
                source=self.source,
            ) from None


def kek_file_path(settings: Settings) -> Path:
    """Where the KEK file is: ``data_kek_file``, else ``keys/data-kek`` in the data dir."""
    if settings.data_kek_file:
        return Path(settings.data_kek_file).expanduser()
    return settings.data_dir / "keys" / DEFAULT_KEK_FILE


def staged_kek_path(path: Path) -> Path:
    """Where a re-wrap leaves the next KEK until it is moved over ``path``."""
    return path.with_name(f"{path.name}.next")


def _decode(text: str, source: str, fix: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEK_BYTES:
        raise ConfigError(
            f"The key-encryption key from {source} is not the base64 of {KEK_BYTES} bytes. {fix}",
            source=source,
        )
    return key


def load_kek_file(path: Path) -> LocalKek:
    """Read a KEK file.

    Raises:
        ConfigError: if it is missing, readable by group or others, or malformed.
    """
    source = f"file {path}"
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ConfigError(
            f"The key-encryption key file {path} is missing, so the sealed photos, templates "
            "and narratives cannot be opened. Put the KEK file back (from where you keep it, or "
            "`faceledger restore` of a backup), or point data_kek_file at it.",
            source=source,
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the key-encryption key file {path}: {exc}.") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"The key-encryption key file {path} is accessible to other users (mode "
            f"{stat.S_IMODE(mode):04o}); run `chmod 600 {path}`.",
            source=source,
            mode=f"{stat.S_IMODE(mode):04o}",
        )
    return LocalKek(_decode(text, source, "Restore the file it was made as."), source)


def create_kek_file(path: Path) -> LocalKek:
    """Create a KEK file with a new random key (O_EXCL, mode 0600, folder 0700 if made here).

    Raises:
        FileExistsError: if ``path`` exists (nothing is written).
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    key = os.urandom(KEK_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(base64.b64encode(key).decode("ascii") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return LocalKek(key, f"file {path}")


def kek_from_settings(settings: Settings) -> Kek:
    """Return the KEK the settings name (module doc: command, then variable, then file).

    Raises:
        ConfigError: if ``data_kek`` is malformed, or the KEK file is missing, loose or
            malformed.
    """
    if settings.data_kek_command:
        return CommandKek(settings.data_kek_command)
    if settings.data_kek:
        source = "setting data_kek (FACELEDGER_DATA_KEK)"
        fix = "Set it to the base64 of 32 random bytes (`openssl rand -base64 32`)."
        return LocalKek(_decode(settings.data_kek, source, fix), source)
    return load_kek_file(kek_file_path(settings))
