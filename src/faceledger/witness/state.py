"""A witness's directory: its own key, the logs it witnesses, their latest state, evidence.

Layout (``faceledger witness init DIR`` makes it)::

    DIR/witness.json                 {"name": ..., "logs": [{"origin", "public_keys": [...]}]}
    DIR/witness_private_key.pem      the witness's Ed25519 key (PKCS#8, mode 0600)
    DIR/witness.vkey                 its verifier key, what the unit and auditors are given
    DIR/logs/<id>/log_public_key.pem a witnessed log's public key (<id>: hash of the origin)
    DIR/logs/<id>/state.json         the latest checkpoint cosigned: size, root, note, time
    DIR/logs/<id>/state.lock         held while a request checks and replaces state.json
    DIR/evidence/*.txt               conflicting checkpoints the log signed (split views)

``state.json`` is replaced atomically (temporary file, fsync, rename, fsync of the folder) while
an exclusive ``flock`` on ``state.lock`` is held, so two requests cannot both pass the old-size
check and one roll the other back (the race ``c2sp.org/tlog-witness`` describes). POSIX only.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.errors import ConfigError, Conflict, FaceLedgerError, InvalidInput, NotInitialised
from faceledger.ledger.checkpoint import validate_log_id
from faceledger.ledger.cosignature import WitnessKey
from faceledger.ledger.keys import default_log_id, load_public_key, public_key_pem
from faceledger.ledger.merkle import HASH_SIZE

__all__ = [
    "CONFIG_FILE",
    "EVIDENCE_DIR",
    "PRIVATE_KEY_FILE",
    "VKEY_FILE",
    "LogState",
    "StateHandle",
    "WitnessDir",
    "WitnessedLog",
]

CONFIG_FILE = "witness.json"
PRIVATE_KEY_FILE = "witness_private_key.pem"
VKEY_FILE = "witness.vkey"
LOGS_DIR = "logs"
EVIDENCE_DIR = "evidence"
LOG_KEY_FILE = "log_public_key.pem"
_STATE_FILE = "state.json"
_LOCK_FILE = "state.lock"


@dataclass(frozen=True)
class WitnessedLog:
    """One log this witness cosigns: its origin line and the public keys trusted for it."""

    origin: str
    public_keys: tuple[Ed25519PublicKey, ...]
    directory: Path


@dataclass(frozen=True)
class LogState:
    """The latest checkpoint the witness cosigned for a log."""

    tree_size: int
    root_hash: bytes
    note: str
    cosigned_at: int

    def to_dict(self) -> dict[str, Any]:
        """Return the ``state.json`` form."""
        return {
            "tree_size": self.tree_size,
            "root_hash": base64.b64encode(self.root_hash).decode("ascii"),
            "note": self.note,
            "cosigned_at": self.cosigned_at,
        }


class StateHandle:
    """A log's state while its lock is held: read :attr:`current`, then :meth:`save`."""

    def __init__(self, log: WitnessedLog, current: LogState | None) -> None:
        self.log, self.current = log, current

    def save(self, state: LogState) -> None:
        """Replace the stored state atomically (the lock is still held)."""
        _atomic_write(self.log.directory / _STATE_FILE, _dumps(state.to_dict()))
        self.current = state


class WitnessDir:
    """An opened witness directory (module doc)."""

    def __init__(
        self, path: Path, key: Ed25519PrivateKey, identity: WitnessKey, logs: list[WitnessedLog]
    ) -> None:
        self.path, self.key, self.identity = path, key, identity
        self.logs = {log.origin: log for log in logs}

    @property
    def name(self) -> str:
        """The witness's key name, on every cosignature line."""
        return self.identity.name

    @property
    def evidence_dir(self) -> Path:
        """Where conflicting checkpoints are kept."""
        return self.path / EVIDENCE_DIR

    @classmethod
    def create(
        cls, path: Path, name: str, log_key: Ed25519PublicKey, log_id: str | None = None
    ) -> WitnessDir:
        """Create a witness in ``path`` for the log of ``log_key`` and return it opened.

        ``log_id`` is the log's origin line; by default ``faceledger/<key id>``, what a unit
        whose ``ledger_log_id`` setting is empty calls its log.

        Raises:
            InvalidInput: for a name a note line cannot carry or a bad log id.
            Conflict: if ``path`` already holds a witness (its key is never replaced).
        """
        origin = log_id or default_log_id(log_key)
        try:
            validate_log_id(origin)
        except FaceLedgerError as exc:
            raise InvalidInput(exc.message) from None
        key = Ed25519PrivateKey.generate()
        try:
            identity = WitnessKey.of(name, key.public_key())
        except FaceLedgerError as exc:
            raise InvalidInput(f"Bad witness name: {exc.message}", name=name) from None
        path.mkdir(parents=True, exist_ok=True)
        if (path / CONFIG_FILE).exists():
            raise Conflict(f"{path} already holds a witness; refusing to replace it.")
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            # O_EXCL: never clobber a witness key, even in a race; 0600 from the first byte.
            fd = os.open(path / PRIVATE_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise Conflict(
                f"A witness key already exists at {path / PRIVATE_KEY_FILE}; refusing to "
                "replace it."
            ) from None
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        (path / VKEY_FILE).write_text(identity.vkey() + "\n", encoding="ascii")
        log_dir = path / LOGS_DIR / _log_dir_name(origin)
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / LOG_KEY_FILE).write_text(public_key_pem(log_key), encoding="ascii")
        (path / EVIDENCE_DIR).mkdir(exist_ok=True)
        relative = (log_dir / LOG_KEY_FILE).relative_to(path).as_posix()
        config = {"name": name, "logs": [{"origin": origin, "public_keys": [relative]}]}
        _atomic_write(path / CONFIG_FILE, _dumps(config))
        return cls.open(path)

    @classmethod
    def open(cls, path: Path) -> WitnessDir:
        """Open the witness directory ``path``.

        Raises:
            NotInitialised: if it is not a witness directory.
            ConfigError: for files that cannot be read or a key readable by others.
        """
        config_path = path / CONFIG_FILE
        if not config_path.is_file():
            raise NotInitialised(
                f"{path} is not a witness directory; run `faceledger witness init {path}`."
            )
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            name = str(config["name"])
            logs = [
                WitnessedLog(
                    origin=validate_log_id(str(item["origin"])),
                    public_keys=tuple(load_public_key(path / str(p)) for p in item["public_keys"]),
                    directory=path / LOGS_DIR / _log_dir_name(str(item["origin"])),
                )
                for item in config["logs"]
            ]
        except (OSError, ValueError, KeyError, TypeError, FaceLedgerError) as exc:
            raise ConfigError(
                f"Cannot read the witness configuration {config_path}: {exc}"
            ) from None
        key = _load_private_key(path / PRIVATE_KEY_FILE)
        try:
            identity = WitnessKey.of(name, key.public_key())
        except FaceLedgerError as exc:
            raise ConfigError(exc.message) from None
        return cls(path, key, identity, logs)

    def log(self, origin: str) -> WitnessedLog | None:
        """Return the witnessed log with this origin line, or None."""
        return self.logs.get(origin)

    def latest(self, log: WitnessedLog) -> LogState | None:
        """Return the log's latest cosigned state without locking (a hint; re-read under the
        lock before acting on it)."""
        return _read_state(log.directory / _STATE_FILE)

    @contextmanager
    def locked(self, log: WitnessedLog) -> Iterator[StateHandle]:
        """Hold the log's lock and yield its state, to check and replace it atomically."""
        log.directory.mkdir(parents=True, exist_ok=True)
        with open(log.directory / _LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield StateHandle(log, _read_state(log.directory / _STATE_FILE))
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def write_evidence(
        self,
        kind: str,
        log: WitnessedLog,
        explanation: str,
        notes: dict[str, str],
        extra: dict[str, str] | None = None,
    ) -> Path:
        """Keep ``notes`` (checkpoints the log signed) and ``extra`` (e.g. the proof given) as
        evidence of a log's misbehaviour; return the file.

        The file is named after ``kind`` and a hash of ``notes`` alone, so the same conflict
        submitted again is kept once and only checkpoints the log signed can make new files.
        """
        digest = hashlib.sha256()
        for label in sorted(notes):
            digest.update(f"{label}\n{len(notes[label])}\n{notes[label]}".encode())
        name = f"{kind}-{_log_dir_name(log.origin)}-{digest.hexdigest()[:16]}.txt"
        target = self.evidence_dir / name
        if target.exists():
            return target
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = [
            f"faceledger witness {self.name}: {kind} by log {log.origin}\n",
            f"recorded at {now}\n\n{explanation}\n",
        ]
        for label, text in [*sorted(notes.items()), *sorted((extra or {}).items())]:
            parts.append(f"\n----- {label} -----\n{text}")
        self.evidence_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, "".join(parts))
        return target


def _log_dir_name(origin: str) -> str:
    # Origins hold slashes and other characters a file name cannot; a hash of it can.
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()[:16]


def _read_state(path: Path) -> LogState | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        data = json.loads(text)
        root = base64.b64decode(data["root_hash"], validate=True)
        size, stamp = data["tree_size"], data["cosigned_at"]
        if len(root) != HASH_SIZE or not isinstance(size, int) or size < 0:
            raise ValueError("bad size or root")
        return LogState(size, root, str(data["note"]), int(stamp))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ConfigError(f"The witness state {path} is malformed: {exc}.") from None


def _load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read the witness key {path}: {exc.strerror}.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"The witness key {path} is accessible to other users (mode "
            f"{stat.S_IMODE(mode):04o}); run `chmod 600 {path}`."
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a usable PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} holds a {type(key).__name__}, not an Ed25519 key.")
    return key


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a crash leaves the old file or the new one, never half."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself must reach the disk
    finally:
        os.close(folder)
