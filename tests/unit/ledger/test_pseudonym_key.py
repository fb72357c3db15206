"""The pseudonym key file: made once (0600, 64 hex digits), never replaced, refused if exposed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from faceledger.errors import LedgerError
from faceledger.ledger.pseudonyms import (
    PSEUDONYM_KEY_FILE,
    ensure_pseudonym_key,
    generate_pseudonym_key,
    load_pseudonym_key,
)


def test_generate_writes_a_private_hex_file(tmp_path: Path) -> None:
    key = generate_pseudonym_key(tmp_path / "keys")
    path = tmp_path / "keys" / PSEUDONYM_KEY_FILE
    assert len(key) == 32
    assert re.fullmatch(r"[0-9a-f]{64}\n", path.read_text()) and path.read_text()[:64] == key.hex()
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_pseudonym_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == [PSEUDONYM_KEY_FILE]  # no temporary left


def test_an_existing_key_is_never_replaced(tmp_path: Path) -> None:
    key = generate_pseudonym_key(tmp_path)
    with pytest.raises(LedgerError, match="refusing to replace"):
        generate_pseudonym_key(tmp_path)
    assert ensure_pseudonym_key(tmp_path) == key
    assert load_pseudonym_key(tmp_path / PSEUDONYM_KEY_FILE) == key


def test_ensure_creates_a_missing_key_once(tmp_path: Path) -> None:
    first = ensure_pseudonym_key(tmp_path)
    assert ensure_pseudonym_key(tmp_path) == first
    assert first != ensure_pseudonym_key(tmp_path / "elsewhere")


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    generate_pseudonym_key(tmp_path)
    path = tmp_path / PSEUDONYM_KEY_FILE
    path.chmod(0o640)
    with pytest.raises(LedgerError, match="chmod 600") as caught:
        load_pseudonym_key(path)
    assert caught.value.details["mode"] == "0640"
    with pytest.raises(LedgerError):
        ensure_pseudonym_key(tmp_path)


@pytest.mark.parametrize("text", ["", "ab" * 31 + "\n", "AB" * 32 + "\n", "zz" * 32, "ab" * 33])
def test_a_damaged_key_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / PSEUDONYM_KEY_FILE
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(LedgerError, match="damaged"):
        load_pseudonym_key(path)


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="Cannot read") as caught:
        load_pseudonym_key(tmp_path / PSEUDONYM_KEY_FILE)
    assert caught.value.details["path"].endswith(PSEUDONYM_KEY_FILE)
