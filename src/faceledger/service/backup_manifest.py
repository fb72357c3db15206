"""A backup's manifest and its sealed keys: the pure half of backup and restore (no database).

A backup directory holds ``database`` (a SQLite copy, or a ``pg_dump --format=custom``
archive), ``keys.sealed``, ``ledger_public_key.pem``, ``checkpoint.json`` (the trusted
checkpoint), ``faceledger.toml`` (without ``database_url``) and ``manifest.json``.

``keys.sealed`` is every file of the data directory's ``keys/`` folder (the KEK file among them,
also when ``data_kek_file`` puts it elsewhere), wrapped with AES-256-GCM
under a key derived from the backup passphrase with scrypt (RFC 7914; salt and cost stored
beside the ciphertext). The same derivation gives a second key, with which the manifest carries
an HMAC-SHA256 over its own canonical JSON: with the passphrase, a manifest rewritten to match
altered files is caught too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from faceledger.errors import InvalidInput, VerificationFailed

__all__ = [
    "BACKUP_FORMAT",
    "BACKUP_VERSION",
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "DATABASE_FILE",
    "KEYS_FILE",
    "MANIFEST_FILE",
    "PUBLIC_KEY_COPY",
    "LedgerSummary",
    "Manifest",
    "SealKeys",
    "derive_keys",
    "file_sha256",
    "open_keys",
    "read_manifest",
    "seal_keys",
]

BACKUP_FORMAT = "faceledger-backup"
BACKUP_VERSION = 1
DATABASE_FILE = "database"
KEYS_FILE = "keys.sealed"
PUBLIC_KEY_COPY = "ledger_public_key.pem"
CHECKPOINT_FILE = "checkpoint.json"
CONFIG_FILE = "faceledger.toml"
MANIFEST_FILE = "manifest.json"

_SEALED_FORMAT = "faceledger-sealed-keys"
_AAD = b"faceledger-backup-keys-v1"
# scrypt cost: 2^15 x 8 x 128 bytes = 32 MiB and about a tenth of a second per derivation.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_MIN_PASSPHRASE = 8


@dataclass(frozen=True)
class SealKeys:
    """The two keys one passphrase derivation gives: AES-GCM for the keys, HMAC for the
    manifest, with the salt they came from."""

    salt: bytes
    wrap: bytes
    mac: bytes


def derive_keys(passphrase: str, salt: bytes | None = None) -> SealKeys:
    """Derive the wrapping and manifest keys from ``passphrase`` (a new random salt if None).

    Raises:
        InvalidInput: if the passphrase is shorter than 8 characters.
    """
    if len(passphrase) < _MIN_PASSPHRASE:
        raise InvalidInput(
            f"The backup passphrase must have at least {_MIN_PASSPHRASE} characters."
        )
    salt = os.urandom(16) if salt is None else salt
    material = Scrypt(salt=salt, length=64, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P).derive(
        passphrase.encode("utf-8")
    )
    return SealKeys(salt, material[:32], material[32:])


def seal_keys(files: Mapping[str, bytes], keys: SealKeys) -> bytes:
    """Return the sealed form (JSON text) of the key files ``{name: content}``."""
    plain = json.dumps(
        {name: base64.b64encode(data).decode("ascii") for name, data in sorted(files.items())}
    ).encode("utf-8")
    nonce = os.urandom(12)
    sealed = AESGCM(keys.wrap).encrypt(nonce, plain, _AAD)
    document = {
        "format": _SEALED_FORMAT,
        "version": 1,
        "kdf": {
            "name": "scrypt",
            "n": _SCRYPT_N,
            "r": _SCRYPT_R,
            "p": _SCRYPT_P,
            "salt": base64.b64encode(keys.salt).decode("ascii"),
        },
        "cipher": "AES-256-GCM",
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def open_keys(sealed: bytes, passphrase: str) -> tuple[dict[str, bytes], SealKeys]:
    """Unwrap ``keys.sealed``; return the key files and the derived keys (for the manifest).

    Raises:
        VerificationFailed: if the file is not a sealed-keys document.
        InvalidInput: if the passphrase does not open it.
    """
    try:
        document = json.loads(sealed)
        kdf = document["kdf"]
        if document["format"] != _SEALED_FORMAT or kdf["name"] != "scrypt":
            raise ValueError("unknown format")
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(document["nonce"], validate=True)
        ciphertext = base64.b64decode(document["ciphertext"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationFailed(
            f"The backup's {KEYS_FILE} is not a sealed key file ({exc}).", file=KEYS_FILE
        ) from None
    keys = derive_keys(passphrase, salt)
    try:
        plain = AESGCM(keys.wrap).decrypt(nonce, ciphertext, _AAD)
    except InvalidTag:
        raise InvalidInput(
            f"The passphrase does not open this backup's sealed keys ({KEYS_FILE}); give the "
            "passphrase the backup was made with."
        ) from None
    files = {name: base64.b64decode(data) for name, data in json.loads(plain).items()}
    return files, keys


def file_sha256(path: Path) -> str:
    """Return the SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class LedgerSummary:
    """The ledger as the backup holds it: size and root, and the trusted checkpoint's place."""

    log_id: str | None
    tree_size: int
    root_hash: str
    checkpoint_number: int | None
    checkpoint_size: int | None


@dataclass(frozen=True)
class Manifest:
    """What a backup holds and the SHA-256 of each of its files."""

    created_at: str
    dialect: str
    schema_revision: str | None
    ledger: LedgerSummary
    files: dict[str, str] = field(default_factory=dict)
    # The key-encryption key: "included" (its file is in keys.sealed) or why not (an
    # environment variable or a KMS hook, which a backup cannot hold).
    kek: str = "included"
    # The data keys as the snapshot holds them, still wrapped under the KEK (id, fingerprint,
    # base64): restore checks that a KEK unwraps them before it changes anything.
    data_keys: list[dict[str, Any]] = field(default_factory=list)
    format: str = BACKUP_FORMAT
    version: int = BACKUP_VERSION

    def body(self) -> bytes:
        """The bytes the manifest's HMAC covers: its canonical JSON without the mac."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode("utf-8")

    def mac(self, keys: SealKeys) -> str:
        """Return the HMAC-SHA256 (hex) of :meth:`body` under the manifest key."""
        return hmac.new(keys.mac, self.body(), hashlib.sha256).hexdigest()

    def to_json(self, keys: SealKeys) -> str:
        """Return the manifest file's text, its HMAC included."""
        return json.dumps({**asdict(self), "mac": self.mac(keys)}, indent=2, sort_keys=True)

    def check_files(self, folder: Path) -> None:
        """Check that every listed file is in ``folder`` with its SHA-256.

        Raises:
            VerificationFailed: naming the first missing or altered file.
        """
        for name, expected in sorted(self.files.items()):
            path = folder / name
            if not path.is_file():
                raise VerificationFailed(
                    f"The backup is incomplete: {name} is missing from {folder}.", file=name
                )
            actual = file_sha256(path)
            if not hmac.compare_digest(actual, expected):
                raise VerificationFailed(
                    f"The backup's {name} was altered or damaged: its SHA-256 is not the one "
                    "the manifest records.",
                    file=name,
                    expected=expected,
                    actual=actual,
                )

    def check_mac(self, mac: str, keys: SealKeys) -> None:
        """Check the manifest's HMAC.

        Raises:
            VerificationFailed: if the manifest was changed after the backup was made.
        """
        if not hmac.compare_digest(self.mac(keys), mac):
            raise VerificationFailed(
                f"The backup's {MANIFEST_FILE} was altered: its HMAC does not match.",
                file=MANIFEST_FILE,
            )


def read_manifest(folder: Path) -> tuple[Manifest, str]:
    """Read ``folder/manifest.json``; return the manifest and its recorded HMAC.

    Raises:
        InvalidInput: if there is no manifest (not a backup directory).
        VerificationFailed: if it is malformed or of another format or version.
    """
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise InvalidInput(f"{folder} is not a faceledger backup: it has no {MANIFEST_FILE}.")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != BACKUP_FORMAT or data.get("version") != BACKUP_VERSION:
            raise ValueError(f"format {data.get('format')!r} version {data.get('version')!r}")
        mac = str(data.pop("mac"))
        ledger = LedgerSummary(**data.pop("ledger"))
        files = {str(k): str(v) for k, v in data.pop("files").items()}
        manifest = Manifest(ledger=ledger, files=files, **data)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise VerificationFailed(
            f"The backup's {MANIFEST_FILE} is malformed or of an unknown format ({exc}).",
            file=MANIFEST_FILE,
        ) from None
    return manifest, mac
