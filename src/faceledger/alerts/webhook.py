"""Alerts by HMAC-signed webhook (R18): each alert is POSTed as JSON to ``alert_webhook_url``.

Every call carries three headers:

* ``X-Faceledger-Timestamp``: when it was sent, in whole seconds since the Unix epoch;
* ``X-Faceledger-Alert``: the alert's id;
* ``X-Faceledger-Signature``: ``sha256=`` and the lowercase hex HMAC-SHA256, keyed with
  ``alert_webhook_secret`` (UTF-8), of the timestamp, a full stop, and the exact body bytes::

      signature = HMAC-SHA256(secret, timestamp + "." + body)

A receiver checks it so (or calls :func:`verify_signature`):

1. read the raw body bytes before parsing them as JSON;
2. compute ``HMAC-SHA256(secret, timestamp_header.encode() + b"." + body)``;
3. compare ``"sha256=" + hexdigest`` with the signature header in constant time
   (``hmac.compare_digest``);
4. refuse a timestamp too far from its own clock (e.g. five minutes), so a recorded call
   cannot be replayed later, and dedupe on ``X-Faceledger-Alert``: a retried delivery sends
   the same alert again with a new timestamp.

Any answer outside 2xx, a redirect included, or no answer at all is a failed delivery, retried
later; :func:`post_webhook` raises :class:`~faceledger.alerts.delivery.DeliveryFailed`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from faceledger.alerts.delivery import DeliveryFailed, scrub
from faceledger.alerts.message import AlertMessage
from faceledger.config import Settings
from faceledger.errors import VerificationFailed

CHANNEL = "webhook"
SIGNATURE_HEADER = "X-Faceledger-Signature"
TIMESTAMP_HEADER = "X-Faceledger-Timestamp"
ALERT_HEADER = "X-Faceledger-Alert"
SIGNATURE_PREFIX = "sha256="
TIMEOUT_SECONDS = 10.0
"""How long a webhook call may take before it counts as failed."""


def signed_bytes(timestamp: str, body: bytes) -> bytes:
    """Return what the signature covers: ``timestamp + "." + body``."""
    return timestamp.encode("ascii") + b"." + body


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), signed_bytes(timestamp, body), hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    max_age_seconds: int | None = None,
    now: float | None = None,
) -> None:
    """Check a webhook call as a receiver: return if ``header`` signs ``timestamp`` and
    ``body`` with ``secret`` (compared in constant time) and, with ``max_age_seconds``, the
    timestamp is that close to ``now`` (default: this clock).

    Raises:
        VerificationFailed: for a missing, malformed or wrong signature, or a stale or
            malformed timestamp. The expected signature is never shown.
    """
    if not secret:
        raise VerificationFailed("No webhook secret to check the signature with.")
    if not timestamp.isdigit():
        raise VerificationFailed(
            f"The {TIMESTAMP_HEADER} header must be whole seconds since the epoch."
        )
    expected = sign(secret, timestamp, body)
    # (1) compare the whole header value in constant time, prefix included
    if not hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8")):
        raise VerificationFailed(
            f"The {SIGNATURE_HEADER} header does not sign this body and timestamp with the "
            "webhook secret."
        )
    # (2) only then the age: a stale timestamp with a good signature is a replay
    if max_age_seconds is not None:
        age = (time.time() if now is None else now) - int(timestamp)
        if abs(age) > max_age_seconds:
            raise VerificationFailed(
                f"The call was signed {age:.0f} s from now; at most {max_age_seconds} s is "
                "accepted.",
                age_seconds=round(age),
                max_age_seconds=max_age_seconds,
            )


def redact_url(url: str) -> str:
    """Return ``url`` as it may be shown and recorded: no user, password, query or fragment
    (they may hold a key), only scheme, host, port and path."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(an unreadable URL)"
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if parts.username or parts.password:
        netloc = "***@" + netloc
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


@dataclass(frozen=True)
class WebhookConfig:
    """Where alerts are POSTed and the key that signs them."""

    url: str
    secret: str = field(repr=False)
    timeout_seconds: float = TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> WebhookConfig:
        """Return the webhook configuration of ``settings`` (``url`` instead of theirs)."""
        return cls(url=url or settings.alert_webhook_url, secret=settings.alert_webhook_secret)


def post_webhook(
    config: WebhookConfig,
    message: AlertMessage,
    *,
    timestamp: int | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """POST ``message`` signed to the webhook; return the receiver's (2xx) status.

    ``timestamp`` defaults to now; ``transport`` replaces httpx's network transport.

    Raises:
        DeliveryFailed: without a secret, on a connection error or timeout, or for an answer
            outside 2xx; the reason names neither the secret nor the URL's credentials.
    """
    shown = redact_url(config.url)
    if not config.secret:
        raise DeliveryFailed(CHANNEL, "alert_webhook_secret is not set; nothing was sent")
    body = message.webhook_body()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "faceledger-alerts",
        TIMESTAMP_HEADER: stamp,
        ALERT_HEADER: str(message.alert_id),
        SIGNATURE_HEADER: sign(config.secret, stamp, body),
    }
    try:
        with httpx.Client(
            timeout=config.timeout_seconds, follow_redirects=False, transport=transport
        ) as client:
            response = client.post(config.url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise DeliveryFailed(
            CHANNEL, f"{shown} did not answer within {config.timeout_seconds:g} s (timeout)"
        ) from None
    except httpx.ConnectError as exc:
        raise DeliveryFailed(CHANNEL, _clean(f"cannot connect to {shown}: {exc}", config)) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise DeliveryFailed(CHANNEL, _clean(f"calling {shown} failed: {exc}", config)) from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(
            CHANNEL, f"{shown} answered HTTP {response.status_code} {response.reason_phrase}"
        )
    return response.status_code


def _clean(reason: str, config: WebhookConfig) -> str:
    return scrub(reason.replace(config.url, redact_url(config.url)), config.secret)
