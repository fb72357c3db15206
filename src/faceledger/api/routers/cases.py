"""API routes: case queries (R12, R13)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["cases"])
