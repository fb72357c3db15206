"""API routes: misuse findings (R18)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["misuse"])
