"""The local login session of the command line: a small JSON file readable only by its owner.

``faceledger login`` writes the bearer token the service hands out to the file named by
``FACELEDGER_SESSION_FILE``, or else ``<data_dir>/sessions/<os user>.json``; every command that
acts as a person reads it back with :func:`current_user`. The file holds::

    {"version": 1, "username": "alice", "token": "...", "data_dir": "/abs/path",
     "logged_in_at": "2026-11-22T03:00:00+00:00"}

It is written atomically with mode 0600 and refused if anyone but its owner may read it.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from faceledger.cli.common import state
from faceledger.config import Settings
from faceledger.db import utcnow
from faceledger.errors import Unauthenticated
from faceledger.governance.accounts import UserInfo

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

SESSION_FILE_ENV = "FACELEDGER_SESSION_FILE"
SESSION_FORMAT_VERSION = 1
NOT_LOGGED_IN = "Not logged in: run `faceledger login USERNAME` first."


@dataclass(frozen=True)
class StoredSession:
    """What the session file holds."""

    username: str
    token: str
    data_dir: str
    logged_in_at: str


def session_path(settings: Settings, environ: Mapping[str, str] | None = None) -> Path:
    """Return where the session file is: ``FACELEDGER_SESSION_FILE``, else
    ``<data_dir>/sessions/<os user>.json``."""
    environ = os.environ if environ is None else environ
    named = environ.get(SESSION_FILE_ENV)
    if named:
        return Path(named).expanduser()
    return settings.data_dir / "sessions" / f"{_os_user()}.json"


def save_session(path: Path, username: str, token: str, settings: Settings) -> None:
    """Write the session file atomically, readable and writable by its owner only (0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    record = {
        "version": SESSION_FORMAT_VERSION,
        "username": username,
        "token": token,
        "data_dir": str(settings.data_dir.resolve()),
        "logged_in_at": utcnow().isoformat(),
    }
    # mkstemp creates the file with mode 0600, so the token is never readable by others.
    fd, tmp = tempfile.mkstemp(prefix=".session-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_session(path: Path, settings: Settings) -> StoredSession:
    """Read the session file.

    Raises:
        Unauthenticated: if it is missing, unreadable, readable by others, or belongs to
            another data directory.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unauthenticated(NOT_LOGGED_IN, session_file=str(path)) from None
    except OSError as exc:
        raise Unauthenticated(
            f"Cannot read the session file {path}: {exc.strerror}.", session_file=str(path)
        ) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Unauthenticated(
            f"The session file {path} may be read by other users (mode "
            f"{stat.S_IMODE(mode):04o}); delete it and log in again.",
            session_file=str(path),
        )
    record = _parse(text)
    if record is None:
        raise Unauthenticated(
            f"The session file {path} is damaged; log in again.", session_file=str(path)
        )
    if record.data_dir != str(settings.data_dir.resolve()):
        raise Unauthenticated(
            f"The session file {path} is for the data directory {record.data_dir}; "
            "run `faceledger login USERNAME` for this one.",
            session_file=str(path),
        )
    return record


def clear_session(path: Path) -> bool:
    """Delete the session file; return whether there was one."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def current_user(ctx: typer.Context, service: FaceLedger) -> UserInfo:
    """Return the person logged in on this data directory, checked with the service.

    Raises:
        Unauthenticated: if nobody is logged in, or the session expired or was ended.
    """
    settings = state(ctx).settings
    stored = load_session(session_path(settings), settings)
    user: UserInfo = service.accounts.user_for_token(stored.token)
    return user


def _parse(text: str) -> StoredSession | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    fields = ("username", "token", "data_dir", "logged_in_at")
    if (
        not isinstance(data, dict)
        or data.get("version") != SESSION_FORMAT_VERSION
        or not all(isinstance(data.get(f), str) for f in fields)
    ):
        return None
    return StoredSession(*(data[f] for f in fields))


def _os_user() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "unknown"
