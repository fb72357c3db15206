"""The SMTP sender's configuration and the failures it reports without a server; delivery to
a real SMTP server (aiosmtpd) is in tests/integration/test_alert_delivery.py."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from faceledger.alerts.delivery import DeliveryFailed
from faceledger.alerts.email import SmtpConfig, recipients_of, send_email
from faceledger.alerts.message import AlertMessage
from tests.conftest import make_settings


def message() -> AlertMessage:
    return AlertMessage(
        1, "violation", "t", "r", None, 1, None, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_config_comes_from_settings_and_hides_the_password(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        smtp_host="mail.example",
        smtp_port=587,
        smtp_tls="starttls",
        smtp_username="alerts",
        smtp_password="pw-secret",
        smtp_timeout_seconds=7,
        alert_email_from="fl@unit.example",
    )
    config = SmtpConfig.from_settings(settings)
    assert (config.host, config.port, config.tls, config.username) == (
        "mail.example",
        587,
        "starttls",
        "alerts",
    )
    assert (config.password, config.timeout_seconds, config.sender) == (
        "pw-secret",
        7.0,
        "fl@unit.example",
    )
    assert "pw-secret" not in repr(config)
    assert config.server == "mail.example:587"


def test_recipients_are_the_comma_separated_addresses() -> None:
    assert recipients_of(" a@x.example, ,b@y.example ") == ["a@x.example", "b@y.example"]
    assert recipients_of("") == []


@pytest.mark.parametrize("tls", ["none", "ssl", "starttls"])
def test_a_refused_connection_is_a_failure(tls: str) -> None:
    port = closed_port()
    config = SmtpConfig("127.0.0.1", port, tls, "f@x.example", "u", "pw-secret", 2.0)
    with pytest.raises(DeliveryFailed) as failed:
        send_email(config, message(), ["a@x.example"])
    assert failed.value.reason == f"127.0.0.1:{port} refused the connection"
    assert failed.value.channel == "email"


def test_no_recipients_and_an_unknown_tls_mode_are_failures() -> None:
    config = SmtpConfig("127.0.0.1", closed_port(), "none", "f@x.example")
    with pytest.raises(DeliveryFailed, match="no recipient addresses"):
        send_email(config, message(), [])
    odd = SmtpConfig("127.0.0.1", closed_port(), "tls1.0", "f@x.example")
    with pytest.raises(DeliveryFailed, match="smtp_tls must be one of none, starttls, ssl"):
        send_email(odd, message(), ["a@x.example"])


def test_an_unknown_host_is_a_failure() -> None:
    config = SmtpConfig("no-such-host.invalid", 25, "none", "f@x.example", timeout_seconds=2)
    with pytest.raises(DeliveryFailed) as failed:
        send_email(config, message(), ["a@x.example"])
    assert "no-such-host.invalid" in failed.value.reason
