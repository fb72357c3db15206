"""`faceledger ledger rotate-key`: the old and new key ids, the files, and signing afterwards."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.ledger import (
    PRIVATE_KEY_FILE,
    Checkpoint,
    key_id,
    load_public_key,
    load_signing_key,
)
from faceledger.ledger.keys import retired_key_path

runner = CliRunner()


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def test_rotate_key_prints_both_ids_and_moves_the_keys(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, _, err = cli(data, "init")
    assert code == 0, err
    keys = data / "keys"
    first = load_signing_key(keys / PRIVATE_KEY_FILE)
    anchor = cli(data, "ledger", "public-key")[1]

    code, out, err = cli(data, "ledger", "rotate-key")
    assert code == 0, err
    new = load_signing_key(keys / PRIVATE_KEY_FILE)
    found = re.search(r"old key ([0-9a-f]{16}), new key ([0-9a-f]{16})", out)
    assert found is not None, out
    assert found.groups() == (key_id(first), key_id(new)) and key_id(new) != key_id(first)
    assert retired_key_path(keys, first).is_file()
    assert cli(data, "ledger", "public-key")[1] == anchor  # auditors keep the first key

    code, out, err = cli(data, "ledger", "checkpoint")
    assert code == 0, err
    signed = Checkpoint.from_json(out)
    signed.verify_signature(new.public_key())
    assert key_id(load_public_key(anchor)) == key_id(first)

    code, out, _ = cli(data, "ledger", "entries", "--action", "ledger.key_rotate", "--json")
    assert code == 0
    [entry] = json.loads(out)
    assert entry["object_id"] == key_id(new)
