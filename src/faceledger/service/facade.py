"""The FaceLedger facade: every use case, composed from one module per area."""

from __future__ import annotations

from faceledger.service.access import AccessUseCases
from faceledger.service.accounts import AccountUseCases
from faceledger.service.audit import AuditUseCases
from faceledger.service.emergencies import EmergencyUseCases
from faceledger.service.galleries import GalleryUseCases
from faceledger.service.images import ImageUseCases
from faceledger.service.requests import RequestUseCases
from faceledger.service.reviews import ReviewUseCases
from faceledger.service.tokens import TokenUseCases


class FaceLedger(
    GalleryUseCases,
    RequestUseCases,
    ReviewUseCases,
    EmergencyUseCases,
    ImageUseCases,
    AccountUseCases,
    TokenUseCases,
    AccessUseCases,
    AuditUseCases,
):
    """The service: every use case of faceledger, each in one transaction with its record."""
