"""CLI commands: queries (to be built)."""

from __future__ import annotations
