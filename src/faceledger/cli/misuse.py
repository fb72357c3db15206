"""CLI commands: misuse (to be built)."""

from __future__ import annotations
