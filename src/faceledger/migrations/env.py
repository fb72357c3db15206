"""Alembic environment: runs migrations on the engine handed over by faceledger.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import faceledger.models  # noqa: F401  (registers every table on Base.metadata)
from faceledger.db import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
