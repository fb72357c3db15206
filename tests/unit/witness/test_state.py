"""The witness directory: created once with a private key, never overwritten, read back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.errors import ConfigError, Conflict, InvalidInput, NotInitialised
from faceledger.ledger.cosignature import parse_vkey
from faceledger.ledger.keys import default_log_id
from faceledger.witness.state import (
    CONFIG_FILE,
    PRIVATE_KEY_FILE,
    VKEY_FILE,
    LogState,
    WitnessDir,
)
from tests.unit.witness.conftest import LOG_KEY, ORIGIN, WITNESS_NAME


def test_init_makes_a_private_key_a_vkey_and_the_log(witness: WitnessDir) -> None:
    key_file = witness.path / PRIVATE_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    vkey = parse_vkey((witness.path / VKEY_FILE).read_text())
    assert vkey == witness.identity and vkey.name == WITNESS_NAME
    again = WitnessDir.open(witness.path)
    assert again.identity == witness.identity
    assert list(again.logs) == [ORIGIN]
    assert again.latest(again.logs[ORIGIN]) is None


def test_init_never_replaces_a_witness(witness: WitnessDir) -> None:
    key = (witness.path / PRIVATE_KEY_FILE).read_bytes()
    with pytest.raises(Conflict, match="refusing to replace"):
        WitnessDir.create(witness.path, "another.example/w", LOG_KEY.public_key(), ORIGIN)
    (witness.path / CONFIG_FILE).unlink()  # even half made: the key stays
    with pytest.raises(Conflict, match="refusing to replace"):
        WitnessDir.create(witness.path, "another.example/w", LOG_KEY.public_key(), ORIGIN)
    assert (witness.path / PRIVATE_KEY_FILE).read_bytes() == key


def test_the_default_origin_is_a_units_default_log_id(tmp_path: Path) -> None:
    made = WitnessDir.create(tmp_path / "w", WITNESS_NAME, LOG_KEY.public_key())
    assert list(made.logs) == [default_log_id(LOG_KEY.public_key())]


@pytest.mark.parametrize("name", ["", "has space", "has+plus"])
def test_a_name_a_note_cannot_carry_is_refused_before_anything_is_made(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(InvalidInput):
        WitnessDir.create(tmp_path / "w", name, LOG_KEY.public_key(), ORIGIN)
    assert not (tmp_path / "w").exists()


def test_a_folder_that_is_no_witness_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotInitialised, match="witness init"):
        WitnessDir.open(tmp_path)


def test_a_key_readable_by_others_is_refused(witness: WitnessDir) -> None:
    os.chmod(witness.path / PRIVATE_KEY_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        WitnessDir.open(witness.path)


def test_state_is_saved_whole_under_the_lock(witness: WitnessDir) -> None:
    log = witness.logs[ORIGIN]
    state = LogState(3, bytes(range(32)), "note text\n", 1234)
    with witness.locked(log) as handle:
        assert handle.current is None
        handle.save(state)
    assert witness.latest(log) == state
    assert not [p for p in log.directory.iterdir() if p.name.endswith(".tmp")]
    (log.directory / "state.json").write_text("{not json")
    with pytest.raises(ConfigError, match="malformed"):
        witness.latest(log)


def test_another_keys_log_is_its_own(tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    made = WitnessDir.create(tmp_path / "w", WITNESS_NAME, other, "example.org/x")
    assert made.logs["example.org/x"].public_keys[0] == other
