"""CLI commands: alerts (to be built)."""

from __future__ import annotations
