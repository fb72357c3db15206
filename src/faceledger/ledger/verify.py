"""The auditor's verifier: checks a whole ledger from an export or a database and a public key.

It imports only the ledger's pure modules, :mod:`faceledger.errors`, the standard library,
``cryptography`` and SQLAlchemy Core, so an auditor can run it without the application.

Both entry points run the one-pass checks of :mod:`faceledger.ledger.checks` (numbered there
E1-E6, C1-C7, F1-F2; E5 checks the commitment reveals of :mod:`faceledger.ledger.commitments`
in every payload it sees, so a database or an export with payloads, not a public export; E6
follows signing-key rotations). They read their input by the fast path
(:mod:`faceledger.ledger.fastverify` for export lines, :mod:`faceledger.ledger.fastdb` for
database rows), which hands the reference checks, with the records of
:mod:`faceledger.ledger.records`, whatever it cannot decide on; :func:`verify_records` is the
reference alone.
For a database one more check follows:

  (F3) the state row's compact range matches the rebuilt tree (else the next append would fork
       the log, or entries after the last checkpoint were changed).

The first failure raises :class:`~faceledger.errors.VerificationFailed`; its details name
``kind`` (entry, checkpoint, trusted_checkpoint, log, line), ``seq``, ``checkpoint`` or
``line``, a ``reason`` code, and ``expected`` vs ``actual``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, create_engine, event, make_url

from faceledger.errors import LedgerError
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.checks import LogChecker, VerifyReport, fail
from faceledger.ledger.export import read_state
from faceledger.ledger.fastdb import verify_rows
from faceledger.ledger.fastlines import verify_lines
from faceledger.ledger.merkle import CompactRange
from faceledger.ledger.records import EntryRecord, ExportHeader, Record

__all__ = ["VerifyReport", "verify_database", "verify_export", "verify_records"]


def verify_export(
    lines: Iterable[str],
    public_key: Ed25519PublicKey,
    trusted_checkpoint: Checkpoint | None = None,
) -> VerifyReport:
    """Verify a JSON Lines export (for example an open file) against ``public_key``.

    ``trusted_checkpoint`` is a checkpoint the auditor saved earlier: the log must extend it.

    Raises:
        VerificationFailed: at the first failing line, entry or checkpoint (module doc).
    """
    return verify_lines(lines, LogChecker(public_key, trusted_checkpoint))[0]


def verify_database(
    url: str,
    public_key: Ed25519PublicKey,
    trusted_checkpoint: Checkpoint | None = None,
) -> VerifyReport:
    """Verify the ledger tables of the database at ``url`` (one consistent snapshot).

    Raises:
        VerificationFailed: at the first failing entry or checkpoint (module doc).
        LedgerError: if the database cannot be opened (for SQLite: the file does not exist).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise LedgerError(f"No SQLite database file at {path!r}.", url=url)
    engine = create_engine(url)
    _snapshot_reads(engine)
    try:
        with engine.connect() as conn, conn.begin():
            report = verify_rows(conn, LogChecker(public_key, trusted_checkpoint))[0]
            _check_state(conn, report)
            return report
    finally:
        engine.dispose()


def verify_records(
    records: Iterable[Record],
    public_key: Ed25519PublicKey,
    trusted_checkpoint: Checkpoint | None = None,
) -> VerifyReport:
    """Verify a stream of parsed records (a header first) by the reference checks alone.

    The two verifiers above give the same answer for the same log, faster.

    Raises:
        VerificationFailed: at the first failure (module doc).
    """
    checker = LogChecker(public_key, trusted_checkpoint)
    header: ExportHeader | None = None
    for record in records:
        if isinstance(record, ExportHeader):
            if header is not None:
                raise fail("log", "malformed", "The export has a second header.", None, None)
            header = record
        elif header is None:
            raise fail("log", "malformed", "The export does not start with a header.", None, None)
        elif isinstance(record, EntryRecord):
            checker.entry(record)
        else:
            checker.checkpoint(record)
    if header is None:
        raise fail("log", "malformed", "The export is empty (no header).", None, None)
    return checker.finish(header)


def _check_state(conn: Connection, report: VerifyReport) -> None:
    # (F3) the state row drives appends and proofs; a wrong one would fork the next entries.
    snapshot = read_state(conn)
    try:
        tree = CompactRange.from_bytes(snapshot.tree_size, snapshot.frontier)
        root = tree.root().hex()
    except ValueError:
        root = "malformed"
    if root != report.root_hash:
        raise fail(
            "log",
            "state_mismatch",
            "The ledger state row does not match the rebuilt tree; the next append would fork "
            "the log.",
            report.root_hash,
            root,
        )


def _snapshot_reads(engine: Engine) -> None:
    # Every read of one verification must see the same database state even while the service
    # appends. pysqlite only opens transactions before writes, so open one ourselves (the
    # SQLAlchemy-documented recipe); elsewhere ask for a repeatable-read snapshot.
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

    elif engine.dialect.name in ("postgresql", "mysql", "mariadb"):
        engine.update_execution_options(isolation_level="REPEATABLE READ")
