"""CLI commands: disclosure (to be built)."""

from __future__ import annotations
