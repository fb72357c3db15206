"""A log held in memory (its leaves, signed checkpoint notes, consistency proofs) and a witness
directory for it, made by ``WitnessDir.create`` in a temporary folder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.merkle import NodeId, leaf_hash, root_from_leaf_hashes
from faceledger.ledger.note import checkpoint_note
from faceledger.ledger.proofs import build_consistency_proof
from faceledger.witness.protocol import format_add_checkpoint
from faceledger.witness.state import WitnessDir

ORIGIN = "example.org/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS_NAME = "witness.example/w1"
NOW = 1_800_000_000.0


@dataclass
class MemoryLog:
    """A log whose tree lives in a list; ``tag`` makes a fork's leaves differ."""

    key: Ed25519PrivateKey = LOG_KEY
    origin: str = ORIGIN
    leaves: list[bytes] = field(default_factory=list)

    def grow(self, n: int, tag: str = "") -> MemoryLog:
        start = len(self.leaves)
        self.leaves += [leaf_hash(f"entry {i}{tag}".encode()) for i in range(start, start + n)]
        return self

    def fork(self) -> MemoryLog:
        return MemoryLog(self.key, self.origin, list(self.leaves))

    def root(self, size: int) -> bytes:
        return root_from_leaf_hashes(self.leaves[:size])

    def note(self, size: int | None = None, minute: int = 0) -> str:
        size = len(self.leaves) if size is None else size
        cp = sign_checkpoint(
            self.key,
            number=0,
            log_id=self.origin,
            tree_size=size,
            root_hash=self.root(size),
            timestamp=dt.datetime(2027, 1, 1, 0, minute, tzinfo=dt.UTC),
        )
        return checkpoint_note(cp, self.key.public_key())

    def proof(self, old: int, new: int) -> tuple[bytes, ...]:
        def read(ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
            return {
                (lv, i): root_from_leaf_hashes(self.leaves[i << lv : (i + 1) << lv])
                for lv, i in ids
            }

        return build_consistency_proof(old, new, read).hashes

    def request(self, old: int, size: int | None = None, minute: int = 0) -> bytes:
        size = len(self.leaves) if size is None else size
        proof = () if old in (0, size) else self.proof(old, size)
        return format_add_checkpoint(old, proof, self.note(size, minute))


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog().grow(5)


@pytest.fixture
def witness(tmp_path: Path) -> WitnessDir:
    return WitnessDir.create(tmp_path / "witness", WITNESS_NAME, LOG_KEY.public_key(), ORIGIN)
