"""The service core: opening a data directory and what every use case shares."""

from __future__ import annotations

import getpass
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from faceledger.biometrics.pipeline import FacePipeline
from faceledger.config import Settings
from faceledger.db import Database
from faceledger.errors import NotInitialised
from faceledger.gallery import store
from faceledger.gallery.index import IndexStore
from faceledger.ledger import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    Ledger,
    default_log_id,
    generate_keys,
    load_signing_key,
)

KEYS_DIR = "keys"


def local_actor() -> str:
    """Return the actor name for commands run by the local operating-system user."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"


class ServiceCore:
    """What every use case needs: settings, database, face pipeline, indexes and ledger."""

    def __init__(self, settings: Settings, pipeline: FacePipeline | None = None) -> None:
        self.settings = settings
        private_key = settings.data_dir / KEYS_DIR / PRIVATE_KEY_FILE
        if not private_key.exists():
            raise NotInitialised(
                f"{settings.data_dir} is not a faceledger data directory; run `faceledger init`.",
                data_dir=str(settings.data_dir),
            )
        self.db = Database(settings.db_url)
        self.db.require_current()
        self.pipeline = pipeline or FacePipeline.from_settings(settings)
        self.indexes = IndexStore(settings.data_dir / "index", self.pipeline.embedder.dimension)
        signing_key = load_signing_key(private_key)
        self.ledger = Ledger(
            signing_key,
            log_id=settings.ledger_log_id or default_log_id(signing_key),
            checkpoint_every_entries=settings.checkpoint_every_entries,
            checkpoint_every_minutes=settings.checkpoint_every_minutes,
        )

    # -- setup ------------------------------------------------------------------------------

    @classmethod
    def initialise(cls, settings: Settings, actor: str) -> Self:
        """Create (or bring up to date) the data directory, database schema and ledger keys."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.db_url)
        try:
            database.upgrade()
        finally:
            database.dispose()
        keys_dir = settings.data_dir / KEYS_DIR
        created = not (keys_dir / PRIVATE_KEY_FILE).exists()
        if created:
            generate_keys(keys_dir)
        service = cls(settings)
        if created:
            with service.db.transaction() as session:
                service.ledger.append(
                    session,
                    actor=actor,
                    action="system.init",
                    object_type="system",
                    object_id="faceledger",
                    payload={"schema": service.db.head_revision() or ""},
                )
        service.after_initialise(actor)
        return service

    @property
    def public_key_path(self) -> Path:
        """Where the ledger's public key (PEM) is."""
        return self.settings.data_dir / KEYS_DIR / PUBLIC_KEY_FILE

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()

    def _loader(self, gallery_id: int) -> Callable[[], Any]:
        def load() -> Any:
            with self.db.read() as session:
                return store.load_vectors(session, gallery_id, self.pipeline.embedder.dimension)

        return load

    def reset_index_files(self) -> None:
        """Delete every index file; they are rebuilt from the database on next use."""
        shutil.rmtree(self.settings.data_dir / "index", ignore_errors=True)

    def after_initialise(self, actor: str) -> None:
        """Hook for use-case areas that set up state at init; each calls ``super()``."""
