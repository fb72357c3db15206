"""Sealed columns: AES-256-GCM on the values of biometric and case-fact columns.

A sealed value is ``MAGIC + key id (4 bytes, big-endian) + nonce (12 bytes) + ciphertext and
tag``, encrypted under the data key of that id, with the column's ``"table.column"`` as the
associated data, so a value copied into another column (or another table) does not open. Text
and JSON columns store :data:`TEXT_PREFIX` + the base64 of the same bytes, so no schema change
was needed for them.

The column types (:class:`SealedBytes`, :class:`SealedText`, :class:`SealedJSON`) find the
:class:`Sealer` on the engine's dialect object (each :class:`~sqlalchemy.Engine` has its own;
:meth:`faceledger.db.Database.attach_sealer` puts it there), so ORM call sites stay unchanged.
Without one they refuse to write and to read sealed values: a missing key never turns into
plaintext on disk. A value without the magic is a legacy plaintext one (stored before sealing
existed): it is read as it is, ``faceledger doctor`` counts it and ``faceledger keys
rotate-data-key`` seals it.

Sealed columns are never compared in SQL (ciphertexts differ for equal values); ``IS NULL``
still works, as NULL is stored as NULL.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, LargeBinary, Text
from sqlalchemy.types import TypeDecorator

from faceledger.errors import ConfigError, SealingError

__all__ = [
    "DIALECT_ATTRIBUTE",
    "MAGIC",
    "SEALED_COLUMNS",
    "TEXT_PREFIX",
    "SealedBytes",
    "SealedColumn",
    "SealedJSON",
    "SealedText",
    "Sealer",
    "envelope_key_id",
    "is_sealed",
    "sealer_of",
]

MAGIC = b"FLSEAL1\x00"
"""Start of every sealed value (8 bytes: a float32 template cannot plausibly begin with it,
nor can a JPEG or PNG)."""
TEXT_PREFIX = "flsealed1:"
"""Start of every sealed text or JSON value; base64 of the sealed bytes follows."""
DATA_KEY_BYTES = 32
_NONCE_BYTES = 12
_HEADER = struct.Struct(">I")
_MIN_LENGTH = len(MAGIC) + _HEADER.size + _NONCE_BYTES + 16
DIALECT_ATTRIBUTE = "faceledger_sealer"
"""Name of the attribute of an engine's dialect that holds its :class:`Sealer`."""

KeyLoader = Callable[[], tuple[dict[int, bytes], int]]
"""Returns every data key by id and the id of the one new values are sealed with."""


class Sealer:
    """The unwrapped data keys of one database, by id, and the one new values use.

    ``reload`` (optional) is asked again when a value names a key this sealer does not hold:
    another process (a rotation) made it since this one opened.
    """

    def __init__(
        self, keys: Mapping[int, bytes], current: int, reload: KeyLoader | None = None
    ) -> None:
        if current not in keys:
            raise ConfigError(f"The current data key {current} is not among the keys given.")
        self._lock = threading.Lock()
        self._reload = reload
        self._set(dict(keys), current)

    def _set(self, keys: dict[int, bytes], current: int) -> None:
        for key_id, key in keys.items():
            if len(key) != DATA_KEY_BYTES:
                raise ConfigError(f"Data key {key_id} is not {DATA_KEY_BYTES} bytes.")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = current

    @property
    def current_key_id(self) -> int:
        """The id of the data key new values are sealed with."""
        return self._current

    @property
    def key_ids(self) -> frozenset[int]:
        """The ids of every data key held."""
        return frozenset(self._ciphers)

    def use(self, key_id: int) -> None:
        """Seal new values with data key ``key_id`` from now on (a rotation's new key).

        Raises:
            SealingError: if this sealer does not hold that key (even after a reload).
        """
        self._cipher(key_id)
        self._current = key_id

    def seal(self, plain: bytes, aad: bytes) -> bytes:
        """Return ``plain`` sealed with the current data key for the column named by ``aad``."""
        nonce = os.urandom(_NONCE_BYTES)
        current = self._current
        body = self._ciphers[current].encrypt(nonce, plain, aad)
        return MAGIC + _HEADER.pack(current) + nonce + body

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Return the plaintext of a sealed value of the column named by ``aad``.

        Raises:
            SealingError: if the value is damaged or altered, was sealed for another column, or
                names a data key that does not exist.
        """
        if len(sealed) < _MIN_LENGTH or not sealed.startswith(MAGIC):
            raise SealingError(
                f"A sealed value of {aad.decode()} is truncated or not a sealed value.",
                column=aad.decode(),
            )
        key_id = envelope_key_id(sealed)
        start = len(MAGIC) + _HEADER.size
        nonce, body = sealed[start : start + _NONCE_BYTES], sealed[start + _NONCE_BYTES :]
        try:
            return self._cipher(key_id, aad.decode()).decrypt(nonce, body, aad)
        except InvalidTag:
            raise SealingError(
                f"A sealed value of {aad.decode()} does not open under data key {key_id}: it "
                "was altered or damaged, or copied from another column. Restore it from a "
                "backup.",
                column=aad.decode(),
                key_id=key_id,
            ) from None

    def _cipher(self, key_id: int, column: str = "a column") -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None and self._reload is not None:
            with self._lock:
                # The database's current key too: a rotation elsewhere made a newer one.
                self._set(*self._reload())
            cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealingError(
                f"A value of {column} is sealed with data key {key_id}, which this database does "
                "not hold: the value was altered or damaged, or the key's row in data_keys is "
                "gone. Restore it from a backup.",
                key_id=key_id,
            )
        return cipher


def envelope_key_id(sealed: bytes) -> int:
    """Return the data key id a sealed value names (no check of the rest)."""
    return int(_HEADER.unpack_from(sealed, len(MAGIC))[0])


def is_sealed(raw: bytes | str | None) -> bool:
    """True if a raw stored value (bytes, text or the JSON string of a sealed JSON) is sealed;
    None counts as sealed (nothing to seal)."""
    if raw is None:
        return True
    if isinstance(raw, bytes | memoryview):
        return bytes(raw[: len(MAGIC)]) == MAGIC
    text = raw if not raw.startswith('"') else raw[1:]
    return text.startswith(TEXT_PREFIX)


def sealer_of(dialect: Any, column: str) -> Sealer:
    """Return the sealer attached to ``dialect``.

    Raises:
        SealingError: if none is attached (the database was opened without its data keys).
    """
    sealer = getattr(dialect, DIALECT_ATTRIBUTE, None)
    if not isinstance(sealer, Sealer):
        raise SealingError(
            f"{column} is sealed, and this database connection was opened without its data "
            "keys; open it through the service (FaceLedger), which unwraps them with the "
            "key-encryption key. Nothing was written.",
            column=column,
        )
    return sealer


def _text_to_bytes(value: str, column: str) -> bytes:
    try:
        return base64.b64decode(value[len(TEXT_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise SealingError(
            f"A sealed value of {column} is not valid base64: it was altered or damaged.",
            column=column,
        ) from None


class SealedBytes(TypeDecorator[bytes]):
    """A binary column whose values are sealed (see the module doc); ``column`` is its
    ``"table.column"`` name, the associated data."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column
        self._aad = column.encode("ascii")

    def process_bind_param(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return sealer_of(dialect, self.column).seal(bytes(value), self._aad)

    def process_result_value(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        raw = bytes(value)
        if not raw.startswith(MAGIC):
            return raw  # legacy plaintext, stored before sealing (doctor counts these)
        return sealer_of(dialect, self.column).open(raw, self._aad)


class SealedText(TypeDecorator[str]):
    """A text column whose values are sealed and stored as :data:`TEXT_PREFIX` + base64."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column
        self._aad = column.encode("ascii")

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        sealed = sealer_of(dialect, self.column).seal(value.encode("utf-8"), self._aad)
        return TEXT_PREFIX + base64.b64encode(sealed).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None or not value.startswith(TEXT_PREFIX):
            return value  # None, or legacy plaintext
        sealer = sealer_of(dialect, self.column)
        return sealer.open(_text_to_bytes(value, self.column), self._aad).decode("utf-8")


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose values are sealed: the column holds one JSON string,
    :data:`TEXT_PREFIX` + base64 of the sealed canonical JSON of the value."""

    impl = JSON
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column
        self._aad = column.encode("ascii")

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        plain = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
        sealed = sealer_of(dialect, self.column).seal(plain, self._aad)
        return TEXT_PREFIX + base64.b64encode(sealed).decode("ascii")

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if not (isinstance(value, str) and value.startswith(TEXT_PREFIX)):
            return value  # None, or a legacy plaintext document
        sealer = sealer_of(dialect, self.column)
        return json.loads(sealer.open(_text_to_bytes(value, self.column), self._aad))


@dataclass(frozen=True)
class SealedColumn:
    """One sealed column, for rotation and doctor: its table, primary key and column names."""

    table: str
    column: str
    primary_key: str
    kind: str  # "bytes", "text" or "json"

    @property
    def name(self) -> str:
        """``table.column``, the associated data of its values."""
        return f"{self.table}.{self.column}"


SEALED_COLUMNS = (
    SealedColumn("probe_images", "data", "sha256", "bytes"),
    SealedColumn("templates", "embedding", "id", "bytes"),
    SealedColumn("templates", "chip_jpeg", "id", "bytes"),
    SealedColumn("search_runs", "probe_embedding", "id", "bytes"),
    SealedColumn("search_requests", "narrative", "id", "text"),
    SealedColumn("search_requests", "legal_basis", "id", "json"),
    SealedColumn("lead_uses", "corroboration_ref", "id", "text"),
)
"""Every sealed column (a test checks that it lists exactly the models' sealed columns)."""
