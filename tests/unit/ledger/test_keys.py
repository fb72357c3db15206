"""Ledger keys: generated once, private file 0600, public key in PEM."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from faceledger.errors import LedgerError
from faceledger.ledger import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    default_log_id,
    generate_keys,
    key_id,
    load_public_key,
    load_signing_key,
    public_key_pem,
)


def test_generate_writes_private_key_0600_and_public_pem(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not widen the key file
    try:
        keys = generate_keys(tmp_path / "new" / "keys")
    finally:
        os.umask(old_umask)
    assert keys.private_key_path.name == PRIVATE_KEY_FILE
    assert keys.public_key_path.name == PUBLIC_KEY_FILE
    assert stat.S_IMODE(keys.private_key_path.stat().st_mode) == 0o600
    pem = keys.public_key_path.read_text()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    private = load_signing_key(keys.private_key_path)
    assert public_key_pem(private) == pem
    public = load_public_key(keys.public_key_path)
    public.verify(private.sign(b"message"), b"message")


def test_generate_refuses_to_replace_a_key(tmp_path: Path) -> None:
    keys = generate_keys(tmp_path)
    before = keys.private_key_path.read_bytes()
    with pytest.raises(LedgerError, match="already exists"):
        generate_keys(tmp_path)
    assert keys.private_key_path.read_bytes() == before


def test_load_signing_key_refuses_a_key_others_can_read(tmp_path: Path) -> None:
    keys = generate_keys(tmp_path)
    keys.private_key_path.chmod(0o644)
    with pytest.raises(LedgerError) as info:
        load_signing_key(keys.private_key_path)
    assert info.value.details["mode"] == "0644"
    assert "chmod 600" in info.value.message


def test_load_public_key_accepts_pem_text_bytes_and_paths(tmp_path: Path) -> None:
    keys = generate_keys(tmp_path)
    pem = keys.public_key_path.read_text()
    expected = key_id(load_public_key(keys.public_key_path))
    for source in (pem, pem.encode(), str(keys.public_key_path), keys.public_key_path):
        assert key_id(load_public_key(source)) == expected


def test_wrong_key_types_are_refused(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    private_path = tmp_path / "ec.pem"
    private_path.write_bytes(
        ec_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    private_path.chmod(0o600)
    with pytest.raises(LedgerError, match="not an Ed25519 key"):
        load_signing_key(private_path)
    public_pem = ec_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(LedgerError, match="not an Ed25519 key"):
        load_public_key(public_pem)
    with pytest.raises(LedgerError, match="Not a usable PEM"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(LedgerError, match="Cannot read"):
        load_public_key(tmp_path / "missing.pem")
    with pytest.raises(LedgerError, match="Cannot read"):
        load_signing_key(tmp_path / "missing.pem")


def test_default_log_id_names_the_key() -> None:
    key = Ed25519PrivateKey.generate()
    assert default_log_id(key) == f"faceledger/{key_id(key)}"
    assert default_log_id(key) == default_log_id(key.public_key())
    assert len(key_id(key)) == 16
