"""The signed webhook: the signature a receiver checks, the URL as recorded, and what counts
as a failed call. Calls go to a FAKE httpx transport (labelled) or a closed local port; the
real receiver is in tests/integration/test_alert_delivery.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import socket

import httpx
import pytest

from faceledger.alerts.delivery import DeliveryFailed
from faceledger.alerts.message import AlertMessage
from faceledger.alerts.webhook import (
    ALERT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConfig,
    post_webhook,
    redact_url,
    sign,
    verify_signature,
)
from faceledger.errors import VerificationFailed
from tests.conftest import make_settings

SECRET = "s3cret-key"
BODY = b'{"alert":{"id":1}}'
STAMP = "1767225600"


def message() -> AlertMessage:
    return AlertMessage(
        alert_id=5,
        source="violation",
        title="Violation: denied action",
        reason="refused",
        request_id=None,
        violation_id=2,
        finding_id=None,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), STAMP.encode() + b"." + BODY, hashlib.sha256)
    assert sign(SECRET, STAMP, BODY) == "sha256=" + expected.hexdigest()


def test_a_good_signature_verifies() -> None:
    verify_signature(SECRET, STAMP, BODY, sign(SECRET, STAMP, BODY))


@pytest.mark.parametrize(
    ("secret", "stamp", "body", "header"),
    [
        ("other-key", STAMP, BODY, sign(SECRET, STAMP, BODY)),
        (SECRET, STAMP, BODY + b" ", sign(SECRET, STAMP, BODY)),
        (SECRET, str(int(STAMP) + 1), BODY, sign(SECRET, STAMP, BODY)),
        (SECRET, STAMP, BODY, sign(SECRET, STAMP, BODY).removeprefix("sha256=")),
        (SECRET, STAMP, BODY, sign(SECRET, STAMP, BODY)[:-1] + "0"),
        (SECRET, STAMP, BODY, ""),
        (SECRET, "", BODY, sign(SECRET, "", BODY)),
        (SECRET, "12.5", BODY, sign(SECRET, "12.5", BODY)),
        ("", STAMP, BODY, sign("", STAMP, BODY)),
    ],
    ids=[
        "wrong-key",
        "changed-body",
        "changed-timestamp",
        "no-prefix",
        "flipped-digit",
        "missing",
        "no-timestamp",
        "fractional-timestamp",
        "no-secret",
    ],
)
def test_anything_else_fails_without_showing_the_expected_signature(
    secret: str, stamp: str, body: bytes, header: str
) -> None:
    with pytest.raises(VerificationFailed) as failed:
        verify_signature(secret, stamp, body, header)
    good = sign(SECRET, STAMP, BODY).removeprefix("sha256=")
    assert good not in str(failed.value.to_dict())


def test_a_stale_timestamp_is_a_replay() -> None:
    header = sign(SECRET, STAMP, BODY)
    verify_signature(SECRET, STAMP, BODY, header, max_age_seconds=300, now=int(STAMP) + 299)
    with pytest.raises(VerificationFailed, match="at most 300 s"):
        verify_signature(SECRET, STAMP, BODY, header, max_age_seconds=300, now=int(STAMP) + 301)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example/alerts", "https://hooks.example/alerts"),
        ("https://hooks.example:8443/a/b", "https://hooks.example:8443/a/b"),
        ("https://user:pw@hooks.example/a", "https://***@hooks.example/a"),
        ("https://hooks.example/a?token=abc#frag", "https://hooks.example/a?***"),
        ("http://[::1]:9000/x", "http://[::1]:9000/x"),
        ("http://host:notaport/x", "(an unreadable URL)"),
    ],
)
def test_urls_are_recorded_without_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_the_call_carries_the_signed_body_and_headers() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    # FAKE transport: stands in for the network to inspect the request exactly.
    status = post_webhook(
        WebhookConfig("https://hooks.example/a", SECRET),
        message(),
        timestamp=int(STAMP),
        transport=httpx.MockTransport(answer),
    )
    assert status == 204
    [request] = seen
    assert request.method == "POST" and str(request.url) == "https://hooks.example/a"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers[TIMESTAMP_HEADER] == STAMP
    assert request.headers[ALERT_HEADER] == "5"
    assert request.content == message().webhook_body()
    verify_signature(SECRET, STAMP, request.content, request.headers[SIGNATURE_HEADER])


@pytest.mark.parametrize("status", [301, 400, 500, 503])
def test_an_answer_outside_2xx_is_a_failure(status: int) -> None:
    # FAKE transport answering ``status``.
    transport = httpx.MockTransport(lambda _: httpx.Response(status, headers={"Location": "/x"}))
    with pytest.raises(DeliveryFailed) as failed:
        post_webhook(
            WebhookConfig("https://h.example/a?k=key", SECRET), message(), transport=transport
        )
    assert f"answered HTTP {status}" in failed.value.reason
    assert "k=key" not in failed.value.reason


def test_without_a_secret_nothing_is_sent() -> None:
    calls: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200))  # FAKE
    with pytest.raises(DeliveryFailed, match="alert_webhook_secret is not set"):
        post_webhook(WebhookConfig("https://h.example/a", ""), message(), transport=transport)
    assert calls == []


def test_a_refused_connection_is_a_failure_naming_no_credentials() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    url = f"http://hook:pass-word@127.0.0.1:{port}/a?token=tok-123"
    with pytest.raises(DeliveryFailed) as failed:
        post_webhook(WebhookConfig(url, SECRET, timeout_seconds=2), message())
    reason = failed.value.reason
    assert reason.startswith(f"cannot connect to http://***@127.0.0.1:{port}/a?***")
    for secret in ("pass-word", "tok-123", SECRET):
        assert secret not in reason


def test_the_config_comes_from_settings_and_hides_the_secret(tmp_path: object) -> None:
    settings = make_settings(
        tmp_path,  # type: ignore[arg-type]
        alert_webhook_url="https://hooks.example/a",
        alert_webhook_secret=SECRET,
    )
    config = WebhookConfig.from_settings(settings)
    assert (config.url, config.secret) == ("https://hooks.example/a", SECRET)
    assert SECRET not in repr(config)
    assert WebhookConfig.from_settings(settings, "https://other.example/").url == (
        "https://other.example/"
    )
