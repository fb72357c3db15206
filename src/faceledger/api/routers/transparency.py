"""API routes: transparency reports (R17)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["transparency"])
