"""The web secret: signing the session cookie and deriving CSRF tokens from it.

The cookie carries the service's session token, signed so that a tampered or foreign cookie
is refused before the database is asked. A CSRF token is an HMAC of the session token (or, on
the login form, of a random per-browser nonce) under the secret key: a page from another site
cannot read it, so it cannot forge a form post.
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, URLSafeTimedSerializer

from faceledger.errors import ConfigError
from faceledger.service.accounts import SESSION_LIFETIME

MIN_SECRET_BYTES = 32


class SessionKeys:
    """Signs session cookies and derives CSRF tokens with one secret key."""

    def __init__(self, secret_key: bytes) -> None:
        """Keep ``secret_key`` for signing.

        Raises:
            ConfigError: for a secret shorter than MIN_SECRET_BYTES.
        """
        if not isinstance(secret_key, bytes) or len(secret_key) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"The web secret key must be at least {MIN_SECRET_BYTES} random bytes."
            )
        self._secret = secret_key
        self._cookies = URLSafeTimedSerializer(secret_key, salt="faceledger.web.session")

    def seal(self, token: str) -> str:
        """Return the cookie value carrying the session ``token``."""
        return self._cookies.dumps(token)

    def unseal(self, value: str | None) -> str | None:
        """Return the session token in a cookie value; None if absent, forged or too old."""
        if not value:
            return None
        try:
            token = self._cookies.loads(value, max_age=int(SESSION_LIFETIME.total_seconds()))
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def csrf_for_session(self, token: str) -> str:
        """Return the CSRF token of the forms of one login session."""
        return self._mac(b"csrf-session", token)

    def csrf_for_login(self, nonce: str) -> str:
        """Return the CSRF token of the login form of the browser holding ``nonce``."""
        return self._mac(b"csrf-login", nonce)

    @staticmethod
    def same(expected: str, given: object) -> bool:
        """Compare a presented token with the expected one in constant time."""
        return isinstance(given, str) and hmac.compare_digest(
            expected.encode("utf-8"), given.encode("utf-8")
        )

    def _mac(self, purpose: bytes, value: str) -> str:
        message = purpose + b"\x00" + value.encode("utf-8")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
