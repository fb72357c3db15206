"""CLI commands: transparency (to be built)."""

from __future__ import annotations
