"""One base error and one subclass per failure area.

Every error carries an HTTP status, a stable machine code and a message written for a person.
Interfaces render them once: the CLI prints ``message`` (and ``details``) and exits 2, the API
answers ``{"error": {"code", "message", "details"}}`` with ``status``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class FaceLedgerError(Exception):
    """Base of every error faceledger raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """Return the one error shape every interface shows."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(FaceLedgerError):
    """A request is malformed: a missing field, a value out of range, an unknown option."""

    status = 400
    code = "invalid_input"


class ConfigError(FaceLedgerError):
    """A setting has a value that cannot be used."""

    status = 500
    code = "config_error"


class InvalidImage(FaceLedgerError):
    """The bytes are not an image we can safely decode (empty, truncated, too large, unknown)."""

    status = 422
    code = "invalid_image"


class ImageTooLarge(InvalidImage):
    """An image is over ``max_image_bytes`` (refused before it is decoded, or while it streams
    in), whichever interface sent it."""

    status = 413


class NoFaceFound(FaceLedgerError):
    """The image decoded, but no face was detected in it."""

    status = 422
    code = "no_face_found"


class MultipleFaces(FaceLedgerError):
    """Exactly one face was required (e.g. a gallery photo) but several were found."""

    status = 422
    code = "multiple_faces"


class PoorQuality(FaceLedgerError):
    """A face was found but is unusable (too small, blurred, turned away, too dark)."""

    status = 422
    code = "poor_quality"


class NotFound(FaceLedgerError):
    """The named object does not exist."""

    status = 404
    code = "not_found"


class Conflict(FaceLedgerError):
    """The change clashes with what already exists (duplicate name, illegal state transition)."""

    status = 409
    code = "conflict"


class ModelMismatch(Conflict):
    """Templates and probe come from different face models; they are never compared (409)."""

    code = "model_mismatch"


class GateClosed(Conflict):
    """A gallery has no model activated through the deployment gate, or the gate refused the
    activation (409); the reasons are listed."""

    code = "deployment_gate"


class Unauthenticated(FaceLedgerError):
    """No valid credentials were presented."""

    status = 401
    code = "unauthenticated"


class PermissionDenied(FaceLedgerError):
    """The caller is known but their role or agency may not do this."""

    status = 403
    code = "permission_denied"


class PolicyDenied(FaceLedgerError):
    """The active policy profile forbids the action; ``details['reasons']`` lists every reason."""

    status = 403
    code = "policy_denied"


class SealingError(FaceLedgerError):
    """A sealed (encrypted at rest) value cannot be sealed or opened: no data keys attached,
    an altered or damaged value, or a data key that is gone."""

    status = 500
    code = "sealing_error"


class LedgerError(FaceLedgerError):
    """The ledger cannot be read or appended to as asked."""

    status = 500
    code = "ledger_error"


class VerificationFailed(FaceLedgerError):
    """A ledger entry, checkpoint or proof failed verification (expected vs actual in details)."""

    status = 422
    code = "verification_failed"


class NotInitialised(FaceLedgerError):
    """The data directory has not been set up with ``faceledger init``."""

    status = 503
    code = "not_initialised"


class TooManyAttempts(FaceLedgerError):
    """Too many failed logins for an account or from an address.

    ``details['retry_after_seconds']`` says how long to wait before the next attempt.
    """

    status = 429
    code = "too_many_attempts"

    @property
    def retry_after_seconds(self) -> int | None:
        """Seconds until another attempt may be made (for a ``Retry-After`` header), if known."""
        value = self.details.get("retry_after_seconds")
        return value if isinstance(value, int) else None


class AnalysisUnavailable(FaceLedgerError):
    """The face pipeline could not analyse the image in its time box (503; nothing written).

    The cause is the server's load, not the photo (which is scaled to a working size first), so
    the same request may succeed later. ``details['retry_after_seconds']`` suggests a wait.
    """

    status = 503
    code = "analysis_unavailable"

    @property
    def retry_after_seconds(self) -> int | None:
        """Seconds to wait before trying again (for a ``Retry-After`` header), if known."""
        value = self.details.get("retry_after_seconds")
        return value if isinstance(value, int) else None


class PipelineBusy(AnalysisUnavailable):
    """Other analyses held the face pipeline for the whole time box (503)."""

    code = "pipeline_busy"


class AnalysisTimedOut(AnalysisUnavailable):
    """An analysis ran past its time box and was stopped between two stages (503)."""

    code = "analysis_timeout"


class TooManyAnalyses(FaceLedgerError):
    """The caller already has as many face analyses running as a user may (429)."""

    status = 429
    code = "too_many_analyses"
