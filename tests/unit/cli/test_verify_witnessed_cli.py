"""`faceledger ledger verify` with witnesses and tiles: a quorum of cosignatures on the latest
checkpoint, from a saved note beside an export, from the database, and from tiles."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from faceledger import FaceLedger
from faceledger.cli import app
from faceledger.ledger.cosignature import WitnessKey, sign_cosignature
from faceledger.ledger.cosignature_store import store_cosignature
from faceledger.ledger.note import NoteSignature, checkpoint_note
from faceledger.service.ledger_actions import LedgerAction
from tests.conftest import ACTOR, make_settings

runner = CliRunner()
QUIET = {"checkpoint_every_entries": 0, "checkpoint_every_minutes": 0}
NAMES = ("clerk.example/w", "aclu.example/w", "press.example/w")


def cli(data: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout + result.stderr


class Unit:
    """A data directory with a signed log, three witness keys and their cosignatures."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.service = FaceLedger.initialise(make_settings(data, **QUIET), ACTOR.ledger_actor)
        self.witness_keys = [Ed25519PrivateKey.generate() for _ in NAMES]
        self.vkeys = [
            WitnessKey.of(name, key.public_key()).vkey()
            for name, key in zip(NAMES, self.witness_keys, strict=True)
        ]

    def grow_and_sign(self, n: int, tag: str) -> None:
        ledger = self.service.context.ledger
        with self.service.context.db.transaction() as session:
            for i in range(n):
                ledger.append(
                    session,
                    actor="local:test",
                    action=LedgerAction.JOBS_RUN,
                    object_type="test",
                    object_id=f"{tag}-{i}",
                    payload={"i": i},
                )
        self.service.audit.sign_checkpoint(ACTOR)

    def cosign(self, count: int) -> list[NoteSignature]:
        """The first ``count`` witnesses cosign the latest checkpoint; stored and returned."""
        cp = self.service.audit.latest_checkpoint()
        assert cp is not None
        lines = [
            sign_cosignature(key, name, cp.body(), int(time.time()))
            for name, key in list(zip(NAMES, self.witness_keys, strict=True))[:count]
        ]
        with self.service.context.db.transaction() as session:
            for line in lines:
                store_cosignature(session.connection(), cp.number, line, dt.datetime.now(dt.UTC))
        return lines

    def note(self, lines: list[NoteSignature]) -> str:
        cp = self.service.audit.latest_checkpoint()
        assert cp is not None and self.service.context.ledger.public_key is not None
        return checkpoint_note(cp, self.service.context.ledger.public_key, lines)

    def witness_args(self, quorum: int) -> list[str]:
        return [a for v in self.vkeys for a in ("--witness-key", v)] + ["--quorum", str(quorum)]


@pytest.fixture
def unit(tmp_path: Path) -> Iterator[Unit]:
    made = Unit(tmp_path / "data")
    made.grow_and_sign(5, "a")
    yield made
    made.service.close()


def test_an_export_with_a_witnessed_note_meets_its_quorum(unit: Unit, tmp_path: Path) -> None:
    export, note = tmp_path / "public.jsonl", tmp_path / "checkpoint.note"
    assert cli(unit.data, "ledger", "export", "--public", "-o", str(export))[0] == 0
    note.write_text(unit.note(unit.cosign(2)))
    args = ["ledger", "verify", "--export", str(export), "--checkpoint-note", str(note)]
    code, out = cli(unit.data, *args, *unit.witness_args(2), "--json")
    assert code == 0, out
    assert json.loads(out)["witnesses"] == list(NAMES[:2])
    code, out = cli(unit.data, *args, *unit.witness_args(3))
    assert code == 2 and "quorum" in out.lower() and NAMES[2] in out, out


def test_a_note_older_than_the_export_is_not_enough(unit: Unit, tmp_path: Path) -> None:
    note = tmp_path / "checkpoint.note"
    note.write_text(unit.note(unit.cosign(3)))
    unit.grow_and_sign(3, "b")  # a later checkpoint no witness has seen
    export = tmp_path / "public.jsonl"
    assert cli(unit.data, "ledger", "export", "--public", "-o", str(export))[0] == 0
    code, out = cli(
        unit.data,
        "ledger",
        "verify",
        "--export",
        str(export),
        "--checkpoint-note",
        str(note),
        *unit.witness_args(1),
    )
    assert code == 2 and "older checkpoint" in out, out


def test_a_note_of_another_history_is_refused(unit: Unit, tmp_path: Path) -> None:
    note = tmp_path / "checkpoint.note"
    text = unit.note(unit.cosign(2))
    body, _, rest = text.partition("\n\n")
    lines = body.split("\n")
    lines[2] = "A" * 43 + "="  # another root for the same size: not signed by the log
    note.write_text("\n".join(lines) + "\n\n" + rest)
    export = tmp_path / "public.jsonl"
    assert cli(unit.data, "ledger", "export", "--public", "-o", str(export))[0] == 0
    code, out = cli(
        unit.data,
        "ledger",
        "verify",
        "--export",
        str(export),
        "--checkpoint-note",
        str(note),
        *unit.witness_args(1),
    )
    assert code == 2 and "trusted checkpoint" in out.lower(), out


def test_the_database_and_tiles_carry_their_cosignatures(unit: Unit, tmp_path: Path) -> None:
    unit.cosign(2)
    code, out = cli(unit.data, "ledger", "verify", *unit.witness_args(2))
    assert code == 0 and "cosigned by 2" in out, out
    assert cli(unit.data, "ledger", "verify", *unit.witness_args(3))[0] == 2
    tiles = tmp_path / "tiles"
    assert cli(unit.data, "ledger", "tiles", "export", str(tiles))[0] == 0
    code, out = cli(unit.data, "ledger", "verify", "--tiles", str(tiles), *unit.witness_args(2))
    assert code == 0 and "tiles" in out and "cosigned by 2" in out, out
    code, out = cli(unit.data, "ledger", "verify", "--tiles", str(tiles), *unit.witness_args(3))
    assert code == 2 and NAMES[2] in out, out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quorum", "1"], "need at least one --witness-key"),
        (["--tiles", "x", "--export", "y"], "Give one of"),
        (["--checkpoint-note", "n"], "need at least one --witness-key"),
        (["--witness-key", "not a vkey"], "vkey"),
    ],
)
def test_bad_witness_options_are_refused(unit: Unit, args: list[str], message: str) -> None:
    code, out = cli(unit.data, "ledger", "verify", *args)
    assert code == 2 and message in out, out


def test_an_export_without_a_note_cannot_show_a_quorum(unit: Unit, tmp_path: Path) -> None:
    export = tmp_path / "public.jsonl"
    assert cli(unit.data, "ledger", "export", "--public", "-o", str(export))[0] == 0
    code, out = cli(unit.data, "ledger", "verify", "--export", str(export), *unit.witness_args(1))
    assert code == 2 and "--checkpoint-note" in out, out
