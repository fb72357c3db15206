"""API routes: disclosure packets (R14)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["disclosures"])
