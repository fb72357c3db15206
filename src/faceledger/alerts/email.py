"""Alert email over SMTP (R18), with :mod:`smtplib`.

Transport security is a setting (``smtp_tls``): ``none`` (plain SMTP), ``starttls`` (plain,
then upgraded with STARTTLS before anything is sent; a server without it is a failure, never a
silent downgrade) or ``ssl`` (implicit TLS, usually port 465). Certificates are checked against
the system's trust store. With ``smtp_username`` set the sender logs in; the password never
appears in an error. Every failure raises :class:`~faceledger.alerts.delivery.DeliveryFailed`
with a short reason: connection refused, timeout, login refused, recipients refused...
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from faceledger.alerts.delivery import DeliveryFailed, scrub
from faceledger.alerts.message import AlertMessage
from faceledger.config import Settings

CHANNEL = "email"
TLS_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how alert email is sent: the SMTP settings, and the sender address."""

    host: str
    port: int
    tls: str
    sender: str
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_seconds: float = 10.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    """The TLS context (None: the system's trust store, hostname checked)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """Return the SMTP configuration of ``settings``."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            sender=settings.alert_email_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_seconds=float(settings.smtp_timeout_seconds),
        )

    @property
    def server(self) -> str:
        """``host:port``, as errors name the server."""
        return f"{self.host}:{self.port}"

    def context(self) -> ssl.SSLContext:
        """The TLS context to use for ``starttls`` and ``ssl``."""
        return self.ssl_context or ssl.create_default_context()


def recipients_of(target: str) -> list[str]:
    """Return the addresses of a delivery target (comma-separated)."""
    return [a.strip() for a in target.split(",") if a.strip()]


def send_email(config: SmtpConfig, message: AlertMessage, recipients: Sequence[str]) -> None:
    """Send ``message`` to ``recipients``; return once the server accepted it for all of them.

    Raises:
        DeliveryFailed: on any failure, with a short reason naming no credential; a server
            that refused some recipients counts as a failure (the retry goes to all).
    """
    if config.tls not in TLS_MODES:
        raise DeliveryFailed(CHANNEL, f"smtp_tls must be one of {', '.join(TLS_MODES)}")
    if not recipients:
        raise DeliveryFailed(CHANNEL, "no recipient addresses")
    try:
        _send(config, message.email(config.sender, recipients), list(recipients))
    except DeliveryFailed:
        raise
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors; bad addresses too
        raise DeliveryFailed(CHANNEL, scrub(_reason(config, exc), config.password)) from None


def _send(config: SmtpConfig, email: EmailMessage, recipients: list[str]) -> None:
    timeout = config.timeout_seconds
    client: smtplib.SMTP
    if config.tls == "ssl":
        client = smtplib.SMTP_SSL(
            config.host, config.port, timeout=timeout, context=config.context()
        )
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=timeout)
    with client:
        if config.tls == "starttls":
            client.starttls(context=config.context())
            client.ehlo()
        if config.username:
            client.login(config.username, config.password)
        refused = client.send_message(email, from_addr=config.sender, to_addrs=recipients)
    if refused:
        listed = ", ".join(f"{a} ({code})" for a, (code, _) in sorted(refused.items()))
        raise DeliveryFailed(CHANNEL, f"{config.server} refused the recipients {listed}")


def _reason(config: SmtpConfig, exc: Exception) -> str:
    server = config.server
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{server} refused the login of {config.username!r} ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        wanted = "STARTTLS" if config.tls == "starttls" else "AUTH (login)"
        return f"{server} does not offer {wanted}: {exc}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        listed = ", ".join(f"{a} ({code})" for a, (code, _) in sorted(exc.recipients.items()))
        return f"{server} refused every recipient: {listed}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"{server} refused the sender {config.sender!r} ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        return f"{server} answered {exc.smtp_code} {text}".strip()
    # smtplib turns a timeout while waiting for a reply into "Connection unexpectedly closed"
    timed_out = isinstance(exc.__context__, TimeoutError)
    if isinstance(exc, smtplib.SMTPServerDisconnected) and not timed_out:
        return f"{server} closed the connection: {exc}"
    if isinstance(exc, TimeoutError) or timed_out:
        return f"{server} did not answer within {config.timeout_seconds:g} s (timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return f"{server} refused the connection"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {server} failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {config.host!r}: {exc.strerror}"
    if isinstance(exc, OSError):
        return f"network error with {server}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"
