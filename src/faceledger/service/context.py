"""What the use cases are built from: settings, database, ledger, face pipeline, indexes and
the password hasher, opened once for a data directory and handed to each use-case object."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher

from faceledger.biometrics.pipeline import FacePipeline
from faceledger.config import Settings
from faceledger.db import Database
from faceledger.errors import NotInitialised
from faceledger.gallery import store
from faceledger.gallery.index import Loader, VectorChunk
from faceledger.gallery.index_store import IndexStore
from faceledger.governance.accounts import DEFAULT_HASHER
from faceledger.ledger import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    Ledger,
    default_log_id,
    load_public_key,
    load_signing_key,
)
from faceledger.ledger.keys import recover_rotation, signing_keys
from faceledger.ledger.pseudonyms import ensure_pseudonym_key

KEYS_DIR = "keys"


@dataclass
class ServiceContext:
    """The explicit dependencies every use-case object is handed."""

    settings: Settings
    db: Database
    ledger: Ledger
    pipeline: FacePipeline
    indexes: IndexStore
    password_hasher: PasswordHasher

    @classmethod
    def open(
        cls,
        settings: Settings,
        pipeline: FacePipeline | None = None,
        password_hasher: PasswordHasher = DEFAULT_HASHER,
    ) -> ServiceContext:
        """Open the data directory of ``settings``.

        A data directory made before ledger envelope version 3 gets its pseudonym key here;
        a key rotation the log announced but the key files do not show yet is finished here.

        Raises:
            NotInitialised: if it has no ledger keys (run ``faceledger init``).
            NotInitialised: if the database schema is not the newest (from ``require_current``).
            LedgerError: if a ledger key file cannot be read or created.
        """
        private_key = settings.data_dir / KEYS_DIR / PRIVATE_KEY_FILE
        if not private_key.exists():
            raise NotInitialised(
                f"{settings.data_dir} is not a faceledger data directory; run `faceledger init`.",
                data_dir=str(settings.data_dir),
            )
        db = Database(settings.db_url)
        db.require_current()
        pipeline = pipeline or FacePipeline.from_settings(settings)
        keys_dir = private_key.parent
        with db.read() as session:
            stored_log_id = Ledger.stored_log_id(session)
            announced = Ledger.announced_key_id(session)
        recover_rotation(keys_dir, announced)
        signing_key = load_signing_key(private_key)
        # The log id never changes, a key rotation included: the stored one, else the first
        # key's (the public key file stays the first key).
        public_key = keys_dir / PUBLIC_KEY_FILE
        anchor = load_public_key(public_key) if public_key.is_file() else signing_key
        return cls(
            settings=settings,
            db=db,
            ledger=Ledger(
                signing_key,
                log_id=settings.ledger_log_id or stored_log_id or default_log_id(anchor),
                checkpoint_every_entries=settings.checkpoint_every_entries,
                checkpoint_every_minutes=settings.checkpoint_every_minutes,
                pseudonym_key=ensure_pseudonym_key(keys_dir),
                key_loader=lambda: signing_keys(keys_dir),
            ),
            pipeline=pipeline,
            indexes=IndexStore(
                settings.data_dir / "index",
                pipeline.embedder.dimension,
                settings.index_backend,
                settings.index_approximate_from,
                settings.milvus_uri,
            ),
            password_hasher=password_hasher,
        )

    @property
    def public_key_path(self) -> Path:
        """Where the ledger's public key (PEM) is: its first key, the anchor auditors hold."""
        return self.settings.data_dir / KEYS_DIR / PUBLIC_KEY_FILE

    @property
    def keys_dir(self) -> Path:
        """The folder of the ledger's key files."""
        return self.settings.data_dir / KEYS_DIR

    def vectors_of(self, gallery_id: int) -> Loader:
        """Return a loader of a gallery's template vectors, for rebuilding its index: one read,
        streamed in chunks."""

        def load() -> Iterator[VectorChunk]:
            with self.db.read() as session:
                dimension = self.pipeline.embedder.dimension
                yield from store.load_vectors(session, gallery_id, dimension)

        return load

    def reset_index_files(self) -> None:
        """Delete every index file; they are rebuilt from the database on next use."""
        shutil.rmtree(self.settings.data_dir / "index", ignore_errors=True)

    def close(self) -> None:
        """Wait for index rebuilds, release index clients (Milvus) and database connections."""
        try:
            self.indexes.close()
        finally:
            self.db.dispose()
