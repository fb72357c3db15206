"""Sealed values and KEK sources: the envelope, tampering, moved values, legacy plaintext, and
the three KEK sources (file, environment, a FAKE KMS hook written here)."""

from __future__ import annotations

import base64
import os
import stat
import sys
from pathlib import Path

import pytest

from faceledger.at_rest.kek import (
    CommandKek,
    LocalKek,
    create_kek_file,
    kek_from_settings,
    load_kek_file,
)
from faceledger.at_rest.keyring import key_id_of_raw
from faceledger.at_rest.sealing import MAGIC, TEXT_PREFIX, SealedJSON, SealedText, Sealer
from faceledger.errors import ConfigError, SealingError
from tests.conftest import make_settings

AAD = b"templates.embedding"


def sealer() -> Sealer:
    return Sealer({1: os.urandom(32), 2: os.urandom(32)}, 2)


def test_a_sealed_value_names_its_key_and_opens_only_for_its_column() -> None:
    s = sealer()
    sealed = s.seal(b"vector bytes", AAD)
    assert sealed.startswith(MAGIC) and b"vector bytes" not in sealed
    assert key_id_of_raw(sealed) == 2
    assert s.open(sealed, AAD) == b"vector bytes"
    assert s.seal(b"vector bytes", AAD) != sealed  # a fresh nonce each time
    with pytest.raises(SealingError, match="copied from another column"):
        s.open(sealed, b"templates.chip_jpeg")


@pytest.mark.parametrize("where", [len(MAGIC), len(MAGIC) + 5, -1, -20])
def test_every_flipped_bit_is_refused(where: int) -> None:
    s = sealer()
    damaged = bytearray(s.seal(b"a probe photo", AAD))
    damaged[where] ^= 0x01
    with pytest.raises(SealingError) as raised:
        s.open(bytes(damaged), AAD)
    assert "templates.embedding" in raised.value.message


def test_a_truncated_value_and_an_unknown_key_are_refused() -> None:
    s = sealer()
    with pytest.raises(SealingError, match="truncated"):
        s.open(s.seal(b"x", AAD)[:20], AAD)
    other = Sealer({9: os.urandom(32)}, 9)
    with pytest.raises(SealingError, match="data key 9, which this database does not hold"):
        s.open(other.seal(b"x", AAD), AAD)


def test_text_and_json_round_trip_and_legacy_plaintext_reads_as_is() -> None:
    class Dialect:
        faceledger_sealer = sealer()

    text, doc = SealedText("search_requests.narrative"), SealedJSON("search_requests.legal_basis")
    stored = text.process_bind_param("Armed robbery at a shop", Dialect())
    assert stored is not None and stored.startswith(TEXT_PREFIX) and "robbery" not in stored
    assert text.process_result_value(stored, Dialect()) == "Armed robbery at a shop"
    assert text.process_result_value("legacy words", Dialect()) == "legacy words"
    sealed_doc = doc.process_bind_param({"kind": "emergency", "facts": "a child"}, Dialect())
    assert doc.process_result_value(sealed_doc, Dialect()) == {
        "kind": "emergency",
        "facts": "a child",
    }
    assert doc.process_result_value({"kind": "court_order"}, Dialect()) == {"kind": "court_order"}
    with pytest.raises(SealingError, match="opened without its data keys"):
        text.process_bind_param("words", object())


def test_kek_file_is_0600_and_a_loose_or_malformed_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "data-kek"
    made = create_kek_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_kek_file(path).fingerprint == made.fingerprint
    with pytest.raises(FileExistsError):
        create_kek_file(path)
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match=f"run `chmod 600 {path}`"):
        load_kek_file(path)
    os.chmod(path, 0o600)
    path.write_text("not base64 of 32 bytes\n")
    with pytest.raises(ConfigError, match="not the base64 of 32 bytes"):
        load_kek_file(path)


def test_wrong_kek_does_not_unwrap() -> None:
    right, wrong = LocalKek(os.urandom(32), "a"), LocalKek(os.urandom(32), "file /x")
    wrapped = right.wrap(b"k" * 32)
    assert right.unwrap(wrapped) == b"k" * 32
    with pytest.raises(ConfigError, match=r"from file /x \(fingerprint"):
        wrong.unwrap(wrapped)


def test_environment_kek_is_used_and_masked(tmp_path: Path) -> None:
    value = base64.b64encode(os.urandom(32)).decode()
    settings = make_settings(tmp_path, data_kek=value)
    kek = kek_from_settings(settings)
    assert isinstance(kek, LocalKek) and "FACELEDGER_DATA_KEK" in kek.source
    assert settings.shown()["data_kek"] == "***"
    with pytest.raises(ConfigError, match="openssl rand -base64 32"):
        kek_from_settings(make_settings(tmp_path, data_kek="c2hvcnQ="))


FAKE_KMS = '''\
"""FAKE KMS hook for tests: NOT a KMS. It 'wraps' by XOR with a fixed pad and a tag, just
enough to show that faceledger calls the hook, round-trips keys and reports its refusals."""
import base64, sys
verb, data = sys.argv[-1], base64.b64decode(sys.stdin.read().strip())
if "--broken" in sys.argv:
    sys.exit("fake kms: broken on purpose")
pad = bytes(range(7, 7 + 64))
if verb == "wrap":
    out = b"FAKEKMS" + bytes(a ^ b for a, b in zip(data, pad))
elif verb == "unwrap" and data.startswith(b"FAKEKMS"):
    out = bytes(a ^ b for a, b in zip(data[7:], pad))
else:
    sys.stderr.write("fake kms: not a key this KMS wrapped\\n")
    sys.exit(3)
sys.stdout.write(base64.b64encode(out).decode())
'''


def fake_kms(tmp_path: Path) -> str:
    script = tmp_path / "fake_kms.py"
    script.write_text(FAKE_KMS)
    return f"{sys.executable} {script}"


def test_the_fake_kms_hook_round_trips_and_its_refusal_is_named(tmp_path: Path) -> None:
    kek = kek_from_settings(make_settings(tmp_path, data_kek_command=fake_kms(tmp_path)))
    assert isinstance(kek, CommandKek) and kek.fingerprint.startswith("kms:")
    wrapped = kek.wrap(b"d" * 32)
    assert wrapped.startswith(b"FAKEKMS") and kek.unwrap(wrapped) == b"d" * 32
    with pytest.raises(ConfigError) as refused:
        kek.unwrap(b"something else")
    assert "refused to unwrap a data key (exit 3): fake kms: not a key" in refused.value.message
    with pytest.raises(ConfigError, match="Cannot run"):
        CommandKek(str(tmp_path / "no-such-kms")).wrap(b"d" * 32)
