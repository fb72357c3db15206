"""Backing up a data directory and restoring it (issue 13, item 8).

:func:`backup` takes a consistent online snapshot while the service keeps writing: SQLite's
backup API copies the database in one step from a live connection; on PostgreSQL ``pg_dump
--format=custom --snapshot`` dumps the snapshot of a transaction that also read the ledger's
size, root and latest checkpoint, so the manifest describes exactly what was dumped. The key
files, the key-encryption key (KEK) file among them, are sealed with the backup passphrase
(:mod:`.backup_manifest`), never copied in plain text (a KEK from the environment or a KMS hook
is not in the backup: the manifest says so, and restore checks that the KEK configured then
unwraps the backup's data keys before it changes anything); the vector index files are left
out (a derived cache, rebuilt from the templates on the first search). Everything is written
into a temporary folder beside the target and renamed into place, so a backup directory is whole
or absent.

:func:`restore` checks the files against the manifest and its HMAC, unwraps the keys, refuses
to roll a longer (newer) ledger back to the backup's, and verifies the restored ledger against
the backup's trusted checkpoint. The service must be stopped on the target data directory.

The backup is not recorded in the ledger: ledger actions are a closed catalogue
(:class:`~faceledger.service.ledger_actions.LedgerAction`, listed in the README and in the
access registry), and the snapshot itself is a read.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from faceledger.at_rest.kek import (
    DEFAULT_KEK_FILE,
    Kek,
    LocalKek,
    kek_file_path,
    kek_from_settings,
)
from faceledger.at_rest.models import DataKeyRow
from faceledger.config import CONFIG_FILE_NAME, Settings
from faceledger.db import Database
from faceledger.errors import (
    ConfigError,
    Conflict,
    InvalidInput,
    LedgerError,
    NotInitialised,
    VerificationFailed,
)
from faceledger.ledger import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, Checkpoint, load_public_key
from faceledger.ledger.export import latest_signed_checkpoint, read_state
from faceledger.ledger.keys import sync_directory
from faceledger.ledger.merkle import CompactRange, fold_subtrees, perfect_subtrees
from faceledger.ledger.tables import read_nodes
from faceledger.ledger.verify import verify_database
from faceledger.ledger.verify_report import VerifyReport
from faceledger.service.backup_manifest import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    DATABASE_FILE,
    KEYS_FILE,
    PUBLIC_KEY_COPY,
    LedgerSummary,
    Manifest,
    derive_keys,
    file_sha256,
    open_keys,
    read_manifest,
    seal_keys,
)
from faceledger.service.context import KEYS_DIR

__all__ = ["Progress", "RestoreReport", "backup", "manifest_summary", "restore"]

Progress = Callable[[str], None]
"""Told each step as it starts (the CLI prints them)."""

SQLITE_FILE = "faceledger.db"


def _quiet(_step: str) -> None:
    pass


@dataclass(frozen=True)
class RestoreReport:
    """A restore done: the backup's manifest, the verification of the restored ledger, and
    how many entries the data directory's ledger had before (0 if it had none)."""

    manifest: Manifest
    verified: VerifyReport
    replaced_size: int


# -- backup ------------------------------------------------------------------------------------


def backup(
    settings: Settings, target_dir: Path, passphrase: str, progress: Progress = _quiet
) -> Manifest:
    """Write a backup of the data directory of ``settings`` to ``target_dir``; return its
    manifest. The service may keep running meanwhile.

    Raises:
        InvalidInput: if ``target_dir`` exists and is not an empty folder, or the passphrase is
            too short.
        NotInitialised: if the data directory has no ledger keys.
        LedgerError: if the database has no signed checkpoint yet.
        ConfigError: on PostgreSQL, if ``pg_dump`` cannot be found or fails.
    """
    target_dir = Path(target_dir)
    if target_dir.exists() and (not target_dir.is_dir() or any(target_dir.iterdir())):
        raise InvalidInput(
            f"The backup target {target_dir} is not empty; give a new or empty folder.",
            target=str(target_dir),
        )
    keys_dir = settings.data_dir / KEYS_DIR
    if not (keys_dir / PRIVATE_KEY_FILE).is_file():
        raise NotInitialised(
            f"{settings.data_dir} is not a faceledger data directory; nothing to back up.",
            data_dir=str(settings.data_dir),
        )
    keys = derive_keys(passphrase)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.", dir=target_dir.parent))
    try:
        os.chmod(staging, 0o700)
        url = settings.db_url
        dialect = make_url(url).get_backend_name()
        progress(f"snapshot of the {dialect} database")
        if dialect == "sqlite":
            summary = _sqlite_snapshot(url, staging / DATABASE_FILE)
        elif dialect == "postgresql":
            summary = _postgres_snapshot(url, staging / DATABASE_FILE)
        else:
            raise ConfigError(f"Backups support SQLite and PostgreSQL, not {dialect}.")
        ledger, checkpoint, data_keys = summary
        progress("sealing the ledger keys and the key-encryption key")
        key_files = {p.name: p.read_bytes() for p in sorted(keys_dir.iterdir()) if p.is_file()}
        kek_note = _add_kek_file(settings, key_files)
        _write(staging / KEYS_FILE, seal_keys(key_files, keys))
        if PUBLIC_KEY_FILE in key_files:
            _write(staging / PUBLIC_KEY_COPY, key_files[PUBLIC_KEY_FILE])
        _write(staging / CHECKPOINT_FILE, (checkpoint.to_json() + "\n").encode("utf-8"))
        _write(staging / CONFIG_FILE, _config_without_secrets(settings).encode("utf-8"))
        manifest = Manifest(
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            dialect=dialect,
            schema_revision=_schema_revision(url),
            ledger=ledger,
            files={p.name: file_sha256(p) for p in sorted(staging.iterdir())},
            kek=kek_note,
            data_keys=data_keys,
        )
        progress("writing the manifest")
        _write(staging / "manifest.json", (manifest.to_json(keys) + "\n").encode("utf-8"))
        sync_directory(staging)
        if target_dir.exists():
            target_dir.rmdir()  # empty (checked above): rename needs it gone
        os.replace(staging, target_dir)
        sync_directory(target_dir.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sqlite_snapshot(url: str, out: Path) -> tuple[LedgerSummary, Checkpoint, list[WrappedKey]]:
    """Copy the live SQLite database to ``out`` in one backup step (one consistent read)."""
    source_path = make_url(url).database or ""
    if not Path(source_path).is_file():
        raise NotInitialised(f"No SQLite database at {source_path}; run `faceledger init`.")
    source = sqlite3.connect(source_path)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        copy = sqlite3.connect(out)
        try:
            source.backup(copy)  # pages=-1: the whole database in one step
            # A self-contained file: no -wal/-shm beside it when it is opened later.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        source.close()
    engine = create_engine(f"sqlite:///{out}")
    try:
        with engine.connect() as conn:
            return _summarise(conn)
    finally:
        engine.dispose()


def _postgres_snapshot(url: str, out: Path) -> tuple[LedgerSummary, Checkpoint, list[WrappedKey]]:
    """``pg_dump`` the snapshot of a transaction that reads the ledger summary too."""
    pg_dump = _pg_binary("pg_dump")
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn, conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            summary = _summarise(conn)
            libpq_url, env = _libpq(url)
            args = [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={out}"]
            _run([*args, f"--dbname={libpq_url}"], env, "pg_dump")
            os.chmod(out, 0o600)
            return summary
    finally:
        engine.dispose()


def _summarise(conn: Connection) -> tuple[LedgerSummary, Checkpoint, list[WrappedKey]]:
    """Read the ledger's size, root and newest checkpoint, and the wrapped data keys, through
    ``conn``.

    Raises:
        LedgerError: if no checkpoint was signed yet (sign one: `faceledger ledger checkpoint`).
    """
    state = read_state(conn)
    root = CompactRange.from_bytes(state.tree_size, state.frontier).root()
    checkpoint = latest_signed_checkpoint(conn)
    if checkpoint is None:
        raise LedgerError(
            "The ledger has no signed checkpoint to verify a restore against; sign one "
            "with `faceledger ledger checkpoint` first."
        )
    summary = LedgerSummary(
        log_id=checkpoint.log_id,
        tree_size=state.tree_size,
        root_hash=root.hex(),
        checkpoint_number=checkpoint.number,
        checkpoint_size=checkpoint.tree_size,
    )
    return summary, checkpoint, _wrapped_data_keys(conn)


WrappedKey = dict[str, Any]


def _wrapped_data_keys(conn: Connection) -> list[WrappedKey]:
    """The data keys of the snapshot, still wrapped (none before migration 0015)."""
    if not inspect(conn).has_table("data_keys"):
        return []
    rows = conn.execute(
        select(DataKeyRow.id, DataKeyRow.kek_fingerprint, DataKeyRow.wrapped_key).order_by(
            DataKeyRow.id
        )
    ).all()
    return [
        {"id": r[0], "kek_fingerprint": r[1], "wrapped": base64.b64encode(r[2]).decode("ascii")}
        for r in rows
    ]


def _add_kek_file(settings: Settings, key_files: dict[str, bytes]) -> str:
    """Put the KEK file among the key files to seal (under its default name, wherever it is);
    return the manifest's note on the KEK."""
    if settings.data_kek_command:
        return "not included: a KMS hook (data_kek_command) holds it"
    if settings.data_kek:
        return "not included: it comes from the environment (FACELEDGER_DATA_KEK)"
    path = kek_file_path(settings)
    if path.is_file():
        key_files[DEFAULT_KEK_FILE] = path.read_bytes()
        return "included"
    return "not included: the KEK file was missing"


def _backup_kek(settings: Settings, key_files: dict[str, bytes], manifest: Manifest) -> None:
    """Check, before anything changes, that a KEK unwraps the backup's data keys: the one in
    the backup, else the one the settings name (an environment variable or a KMS hook).

    Raises:
        ConfigError: if there is none, or it does not unwrap them (nothing was changed).
    """
    if not manifest.data_keys:
        return
    try:
        if DEFAULT_KEK_FILE in key_files:
            kek: Kek = LocalKek(
                base64.b64decode(key_files[DEFAULT_KEK_FILE].strip()), "the backup's KEK file"
            )
        else:
            kek = kek_from_settings(settings)
        for key in manifest.data_keys:
            kek.unwrap(base64.b64decode(key["wrapped"]))
    except (ConfigError, ValueError) as exc:
        reason = exc.message if isinstance(exc, ConfigError) else str(exc)
        raise ConfigError(
            f"The backup's data keys cannot be unwrapped, so its sealed photos, templates and "
            f"narratives would not open: the backup's KEK is {manifest.kek}. Make the KEK they "
            f"were wrapped with available (FACELEDGER_DATA_KEK or data_kek_command, as when the "
            f"backup was made) and restore again. Nothing was changed. ({reason})",
            kek=manifest.kek,
        ) from None


def _schema_revision(url: str) -> str | None:
    database = Database(url)
    try:
        return database.current_revision()
    finally:
        database.dispose()


def _config_without_secrets(settings: Settings) -> str:
    """The data directory's faceledger.toml without ``database_url`` (it may hold a password;
    the manifest records the dialect only)."""
    path = settings.data_dir / CONFIG_FILE_NAME
    if not path.is_file():
        return ""
    text_ = path.read_text(encoding="utf-8")
    kept = [line for line in text_.splitlines() if not line.lstrip().startswith("database_url")]
    result = "\n".join(kept) + ("\n" if kept else "")
    try:
        tomllib.loads(result)
    except tomllib.TOMLDecodeError:
        # A database_url spread over several lines: keep no config rather than a broken one.
        return "# faceledger.toml left out of the backup: database_url could not be removed.\n"
    return result


# -- PostgreSQL tools --------------------------------------------------------------------------


def _pg_binary(name: str) -> str:
    """Find a PostgreSQL client program on PATH, else the newest under /usr/lib/postgresql.

    Raises:
        ConfigError: if it is not installed.
    """
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    raise ConfigError(
        f"{name} is needed to back up or restore a PostgreSQL database; install PostgreSQL's "
        "client programs (`make postgres`).",
        program=name,
    )


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq form of a SQLAlchemy URL, its password moved to PGPASSWORD (never in argv)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], name: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # stderr names objects and the server, never the password (it is in the environment).
        raise ConfigError(
            f"{name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}",
            program=name,
        )


# -- restore -----------------------------------------------------------------------------------


def restore(
    settings: Settings,
    source_dir: Path,
    passphrase: str,
    force: bool = False,
    progress: Progress = _quiet,
) -> RestoreReport:
    """Restore the backup in ``source_dir`` into the data directory of ``settings``.

    A data directory whose ledger the backup's extends (a prefix, or none at all) is replaced;
    one with a longer ledger, or a different one, is refused unless ``force``. The restored
    ledger is verified against the backup's trusted checkpoint; index files are removed (the
    first search rebuilds them). Stop the service on the data directory first.

    Raises:
        InvalidInput: if ``source_dir`` is not a backup, the passphrase does not open its keys,
            or the backup's database dialect is not the data directory's.
        VerificationFailed: if a file or the manifest was altered, or the restored ledger does
            not verify against the trusted checkpoint.
        Conflict: if restoring would roll back the data directory's ledger (the message names
            how many entries), or replace a different ledger; nothing is changed then.
        ConfigError: on PostgreSQL, if ``pg_restore`` cannot be found or fails; or if no KEK
            unwraps the backup's data keys (the backup's own, or with an environment or KMS
            KEK the one configured here); nothing is changed then.
    """
    source_dir = Path(source_dir)
    progress("checking the backup's files")
    manifest, mac = read_manifest(source_dir)
    manifest.check_files(source_dir)
    for required in (DATABASE_FILE, KEYS_FILE, CHECKPOINT_FILE):
        if required not in manifest.files:
            raise InvalidInput(f"The backup's manifest does not list {required}.")
    progress("unwrapping the keys")
    key_files, keys = open_keys((source_dir / KEYS_FILE).read_bytes(), passphrase)
    manifest.check_mac(mac, keys)
    if PUBLIC_KEY_FILE not in key_files or PRIVATE_KEY_FILE not in key_files:
        raise InvalidInput("The backup's sealed keys hold no ledger key pair.")
    progress("checking the key-encryption key")
    _backup_kek(settings, key_files, manifest)
    trusted = Checkpoint.from_json((source_dir / CHECKPOINT_FILE).read_text(encoding="utf-8"))
    public_key = load_public_key(key_files[PUBLIC_KEY_FILE])
    url = settings.db_url
    dialect = make_url(url).get_backend_name()
    if dialect != manifest.dialect:
        raise InvalidInput(
            f"The backup holds a {manifest.dialect} database, but the data directory uses "
            f"{dialect}; restore it into a {manifest.dialect} database.",
            backup_dialect=manifest.dialect,
            dialect=dialect,
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    progress("comparing with the ledger here")
    if dialect == "sqlite":
        verified, replaced = _restore_sqlite(
            settings, source_dir, manifest, force, public_key, trusted
        )
    else:
        verified, replaced = _restore_postgres(
            url, source_dir, manifest, force, public_key, trusted
        )
    progress("writing the keys")
    kek_file = kek_file_path(settings)
    keys_dir = settings.data_dir / KEYS_DIR
    if DEFAULT_KEK_FILE in key_files and kek_file != keys_dir / DEFAULT_KEK_FILE:
        # data_kek_file puts the KEK elsewhere here: it goes there, 0600.
        kek_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staged_kek = kek_file.with_name(f".{kek_file.name}.restore")
        staged_kek.unlink(missing_ok=True)
        _write(staged_kek, key_files.pop(DEFAULT_KEK_FILE))
        os.replace(staged_kek, kek_file)
    _restore_keys(keys_dir, key_files)
    config = settings.data_dir / CONFIG_FILE_NAME
    if not config.exists() and (source_dir / CONFIG_FILE).is_file():
        shutil.copyfile(source_dir / CONFIG_FILE, config)
        os.chmod(config, 0o600)
    # A derived cache of the ledger that was here: rebuilt from the restored templates.
    shutil.rmtree(settings.data_dir / "index", ignore_errors=True)
    return RestoreReport(manifest, verified, replaced)


def _restore_sqlite(
    settings: Settings,
    source_dir: Path,
    manifest: Manifest,
    force: bool,
    public_key: Ed25519PublicKey,
    trusted: Checkpoint,
) -> tuple[VerifyReport, int]:
    """Verify a staged copy of the backup's database, check for rollback, move it into place."""
    target = Path(make_url(settings.db_url).database or settings.data_dir / SQLITE_FILE)
    staged = target.with_name(f".{target.name}.restore")
    staged.unlink(missing_ok=True)
    try:
        shutil.copyfile(source_dir / DATABASE_FILE, staged)
        os.chmod(staged, 0o600)
        verified = verify_database(f"sqlite:///{staged}", public_key, trusted)
        _check_matches(verified, manifest)
        replaced = 0
        if target.is_file():
            with _sqlite_ledger(target) as here, _sqlite_ledger(staged) as backup_conn:
                replaced = _check_rollback(here, manifest, force, backup_conn)
            _checkpoint_wal(target)
        os.replace(staged, target)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        sync_directory(target.parent)
    finally:
        staged.unlink(missing_ok=True)
    return verified, replaced


@contextlib.contextmanager
def _sqlite_ledger(path: Path) -> Iterator[Connection]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _checkpoint_wal(path: Path) -> None:
    """Fold the target's WAL into its file, so no stale -wal is replayed onto the new one."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _restore_postgres(
    url: str,
    source_dir: Path,
    manifest: Manifest,
    force: bool,
    public_key: Ed25519PublicKey,
    trusted: Checkpoint,
) -> tuple[VerifyReport, int]:
    """pg_restore into the target database, after the rollback check; then verify it."""
    pg_restore = _pg_binary("pg_restore")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # A dump cannot be read node by node: only an empty database is restored into
            # without force, or one whose ledger is longer is named as a rollback.
            replaced = _check_rollback(conn, manifest, force, None)
    finally:
        engine.dispose()
    libpq_url, env = _libpq(url)
    args = [pg_restore, "--no-owner", "--no-privileges", "--single-transaction"]
    args += ["--exit-on-error", f"--dbname={libpq_url}"]
    if replaced or force:
        args += ["--clean", "--if-exists"]
    _run([*args, str(source_dir / DATABASE_FILE)], env, "pg_restore")
    verified = verify_database(url, public_key, trusted)
    _check_matches(verified, manifest)
    return verified, replaced


def _check_matches(verified: VerifyReport, manifest: Manifest) -> None:
    """The restored ledger is the one the manifest describes.

    Raises:
        VerificationFailed: with expected vs actual size and root.
    """
    expected = (manifest.ledger.tree_size, manifest.ledger.root_hash)
    actual = (verified.tree_size, verified.root_hash)
    if expected != actual:
        raise VerificationFailed(
            f"The backup's database holds a ledger of {actual[0]} entries (root {actual[1]}), "
            f"not the {expected[0]} (root {expected[1]}) its manifest records.",
            expected=f"{expected[0]} {expected[1]}",
            actual=f"{actual[0]} {actual[1]}",
        )


def _check_rollback(
    here: Connection, manifest: Manifest, force: bool, backup_conn: Connection | None
) -> int:
    """Return the size of the ledger ``here`` (0 if it has none), after refusing a rollback.

    The backup's ledger must extend the one here: at least as long, with the same root at the
    size here (read from ``backup_conn``; without it, as on a dump, only an empty ledger here
    or an identical one qualifies).

    Raises:
        Conflict: if the ledger here is longer or different, unless ``force``.
    """
    if not inspect(here).has_table("ledger_state"):
        return 0
    try:
        state = read_state(here)
    except LedgerError:
        return 0
    size, backup_size = state.tree_size, manifest.ledger.tree_size
    if force or size == 0:
        return size
    if size > backup_size:
        raise Conflict(
            f"The backup's ledger has {backup_size} entries, the database here has {size}: "
            f"restoring would roll back {size - backup_size} entries. Nothing was changed.",
            backup_size=backup_size,
            current_size=size,
            rollback=size - backup_size,
        )
    here_root = CompactRange.from_bytes(size, state.frontier).root().hex()
    if backup_conn is None:
        same = size == backup_size and here_root == manifest.ledger.root_hash
        if not same:
            raise Conflict(
                f"The database here already holds a ledger of {size} entries; a PostgreSQL "
                "backup is restored into an empty database (or pass --force to replace it). "
                "Nothing was changed.",
                backup_size=backup_size,
                current_size=size,
            )
        return size
    ids = perfect_subtrees(0, size)
    found = read_nodes(backup_conn, ids)
    backup_root = fold_subtrees([found[node] for node in ids]).hex()
    if backup_root != here_root:
        raise Conflict(
            f"The database here holds a different ledger: its {size} entries are not the "
            f"first {size} of the backup's {backup_size}. Restoring would replace them; "
            "nothing was changed (pass --force to replace it anyway).",
            backup_size=backup_size,
            current_size=size,
            expected=here_root,
            actual=backup_root,
        )
    return size


def _restore_keys(keys_dir: Path, files: dict[str, bytes]) -> None:
    """Write the unwrapped key files (0600, folder 0700), each replaced atomically."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    for name, data in files.items():
        if "/" in name or name in ("", ".", ".."):
            raise InvalidInput(f"The backup's sealed keys name an unsafe file {name!r}.")
        staged = keys_dir / f".{name}.restore"
        staged.unlink(missing_ok=True)
        _write(staged, data)
        os.replace(staged, keys_dir / name)
    sync_directory(keys_dir)


def manifest_summary(manifest: Manifest) -> dict[str, Any]:
    """Return the manifest as plain data (for ``--json`` output)."""
    return asdict(manifest)
