"""``faceledger doctor``'s checks of a data directory, each finding with the fix to run.

The checks need no running service and no login, and they still run when the service cannot
open (a missing KEK is one of the things they report). Numbered as they run:

1. the data directory is initialised (ledger signing key) and its schema is current;
2. modes: the directory and its folders 0700, every file 0600 (the KEK file as well, wherever
   it is); public tile mirrors are listed apart (:mod:`faceledger.at_rest.modes`);
3. the KEK can be read and unwraps every data key;
4. sealed columns: legacy plaintext values (stored before sealing), and values under a retired
   data key (a process that kept the old key after a rotation);
5. the ledger's unsigned tail: entries after the last signed checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from faceledger.at_rest.kek import kek_file_path, kek_from_settings
from faceledger.at_rest.keyring import key_id_of_raw, raw_values, unwrap_all
from faceledger.at_rest.models import DataKeyRow
from faceledger.at_rest.modes import loose_modes, tighten
from faceledger.at_rest.sealing import SEALED_COLUMNS
from faceledger.config import Settings
from faceledger.db import Base, Database
from faceledger.errors import FaceLedgerError
from faceledger.ledger import PRIVATE_KEY_FILE
from faceledger.ledger.export import latest_signed_checkpoint, read_state
from faceledger.service.context import KEYS_DIR

__all__ = ["DoctorReport", "Finding", "examine"]

_BATCH = 1000


@dataclass(frozen=True)
class Finding:
    """One thing wrong: its kind, what it concerns, what is wrong, and the fix to run."""

    kind: str  # not_initialised, schema, loose_mode, kek, unsealed, retired_key, unsigned_tail
    subject: str
    problem: str
    fix: str


@dataclass
class DoctorReport:
    """What the checks found, the public tile mirrors skipped, and the modes fixed."""

    findings: list[Finding] = field(default_factory=list)
    tile_mirrors: list[str] = field(default_factory=list)
    fixed_modes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True if nothing is wrong."""
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (``--json``)."""
        return {
            "healthy": self.healthy,
            "findings": [asdict(f) for f in self.findings],
            "tile_mirrors": self.tile_mirrors,
            "fixed_modes": self.fixed_modes,
        }


def examine(settings: Settings, fix_modes: bool = False) -> DoctorReport:
    """Run every check on the data directory of ``settings``; with ``fix_modes``, narrow the
    loose modes found (0700/0600) instead of reporting them. Never raises for what it finds."""
    report = DoctorReport()
    data_dir = settings.data_dir
    # (1) Initialised, schema current.
    if not (data_dir / KEYS_DIR / PRIVATE_KEY_FILE).is_file():
        report.findings.append(
            Finding(
                "not_initialised",
                str(data_dir),
                "This is not an initialised faceledger data directory (no ledger signing key).",
                f"faceledger --data-dir {data_dir} init",
            )
        )
        return report
    database = Database(settings.db_url)
    try:
        current, head = database.current_revision(), database.head_revision()
    finally:
        database.dispose()
    if current != head:
        report.findings.append(
            Finding(
                "schema",
                "database",
                f"The database schema is at revision {current}, not {head}.",
                "faceledger init",
            )
        )
    # (2) Modes.
    kek_file = kek_file_path(settings)
    extra = () if kek_file.is_relative_to(data_dir) else (kek_file,)
    loose, mirrors = loose_modes(data_dir, extra)
    report.tile_mirrors = [str(m) for m in mirrors]
    if fix_modes:
        tighten(loose)
        report.fixed_modes = [item.fix for item in loose]
    else:
        for item in loose:
            kind = "folder" if item.is_dir else "file"
            report.findings.append(
                Finding(
                    "loose_mode",
                    str(item.path),
                    f"The {kind} is mode {item.mode:04o}: other local accounts may read it.",
                    item.fix,
                )
            )
    if current != head:
        return report
    engine = create_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            _check_keys(settings, conn, report)
            _check_sealed(conn, report)
            _check_tail(conn, report)
    finally:
        engine.dispose()
    return report


def _check_keys(settings: Settings, conn: Connection, report: DoctorReport) -> None:
    """(3) The KEK is there and unwraps every data key."""
    try:
        kek = kek_from_settings(settings)
        with Session(conn) as session:
            unwrap_all(session, kek)
    except FaceLedgerError as exc:
        uses_file = not (settings.data_kek or settings.data_kek_command)
        source = kek_file_path(settings)
        fix = (
            f"restore the KEK file {source} (from where you keep it, or `faceledger restore`)"
            if uses_file and not source.exists()
            else "set data_kek_file, FACELEDGER_DATA_KEK or data_kek_command to the KEK the "
            "data keys were wrapped with"
        )
        report.findings.append(Finding("kek", "key-encryption key", exc.message, fix))


def _check_sealed(conn: Connection, report: DoctorReport) -> None:
    """(4) Legacy plaintext values, and values under a retired data key."""
    tables = set(inspect(conn).get_table_names())
    retired = set(
        conn.execute(select(DataKeyRow.id).where(DataKeyRow.retired_at.is_not(None))).scalars()
    )
    for column in SEALED_COLUMNS:
        if column.table not in tables:
            continue
        table = Base.metadata.tables[column.table]
        pk, col = table.c[column.primary_key], table.c[column.column]
        plain = old = 0
        last: Any = None
        while True:
            query = select(pk, raw_values(column)).where(col.is_not(None))
            if last is not None:
                query = query.where(pk > last)
            rows = conn.execute(query.order_by(pk).limit(_BATCH)).all()
            if not rows:
                break
            for _, raw in rows:
                key_id = key_id_of_raw(raw)
                plain += key_id is None
                old += key_id in retired
            last = rows[-1][0]
        if plain:
            report.findings.append(
                Finding(
                    "unsealed",
                    column.name,
                    f"{plain} value(s) are stored in plain text (written before sealing).",
                    "faceledger keys rotate-data-key",
                )
            )
        if old:
            report.findings.append(
                Finding(
                    "retired_key",
                    column.name,
                    f"{old} value(s) are sealed with a retired data key.",
                    "faceledger keys rotate-data-key",
                )
            )
    count = conn.execute(select(func.count()).select_from(DataKeyRow)).scalar()
    if not count:
        report.findings.append(
            Finding("kek", "data keys", "The database has no data key.", "faceledger init")
        )


def _check_tail(conn: Connection, report: DoctorReport) -> None:
    """(5) Entries after the last signed checkpoint."""
    size = read_state(conn).tree_size
    checkpoint = latest_signed_checkpoint(conn)
    signed = 0 if checkpoint is None else checkpoint.tree_size
    if size > signed:
        where = (
            "no checkpoint was signed yet"
            if checkpoint is None
            else (f"the last signed checkpoint ({checkpoint.number}) covers {signed}")
        )
        report.findings.append(
            Finding(
                "unsigned_tail",
                "ledger",
                f"{size - signed} ledger entr{'y is' if size - signed == 1 else 'ies are'} "
                f"not covered by a signed checkpoint ({where} of {size}).",
                "faceledger ledger checkpoint",
            )
        )
