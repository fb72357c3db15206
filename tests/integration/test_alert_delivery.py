"""Alerts reach a real SMTP server (aiosmtpd) and a real HTTP receiver that checks the HMAC
signature; a refused delivery is recorded and retried (R18).

Both servers are started by the tests on free loopback ports, in threads, and stopped after.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from faceledger import FaceLedger
from faceledger.alerts.delivery import DeliveryFailed
from faceledger.alerts.email import SmtpConfig, send_email
from faceledger.alerts.message import AlertMessage
from faceledger.alerts.models import AlertDeliveryRow, AlertRow
from faceledger.alerts.webhook import (
    ALERT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from faceledger.errors import PermissionDenied, VerificationFailed
from faceledger.governance.accounts import LocalOperator
from faceledger.scheduler import SCHEDULER
from faceledger.service.ledger_actions import LedgerAction
from tests.backends import copy_data_dir
from tests.conftest import ACTOR, make_settings
from tests.fakes import fake_pipeline
from tests.integration.conftest import free_port

SECRET = "whsec-test-0123456789"
SMTP_PASSWORD = "smtp-pass-never-shown"
RECIPIENTS = "sup@example.org, aud@example.org"


def soon() -> dt.datetime:
    """A moment a little after now: every delivery raised so far is due by then."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=5)


NOW = soon()  # for messages only: due times are read from soon() where the test runs
"""A time just after every alert the tests raise."""


# -- a real SMTP server ------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server received: (envelope sender, recipients, parsed message)."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int | None = None, **options: Any) -> Iterator[tuple[int, Mailbox]]:
    """Run aiosmtpd on 127.0.0.1 (on ``port``, else a free one); yield the port and mailbox."""
    mailbox = Mailbox()
    port = port or free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, server_hostname="localhost", **options
    )
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def authenticator(mailbox: Mailbox) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator accepting user ``alerts`` with :data:`SMTP_PASSWORD`."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        ok = data.login == b"alerts" and data.password == SMTP_PASSWORD.encode()
        mailbox.logins.append((data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535

    return check


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    """A plain SMTP server (no TLS, no login)."""
    with smtp_server() as running:
        yield running


# -- a real webhook receiver -------------------------------------------------------------------


@dataclass
class Receiver:
    """A local HTTP server that checks each call's signature and answers ``answers`` in turn
    (then 200); a call with a bad signature is answered 401."""

    url: str
    answers: list[int] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    delay_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                verify_signature(
                    SECRET,
                    self.headers.get(TIMESTAMP_HEADER, ""),
                    body,
                    self.headers.get(SIGNATURE_HEADER, ""),
                    max_age_seconds=300,
                )
                verified = True
            except VerificationFailed:
                verified = False
            time.sleep(receiver.delay_seconds)
            with receiver.lock:
                receiver.calls.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "verified": verified,
                    }
                )
                status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status if verified else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running webhook receiver on a free loopback port."""
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/faceledger?k=abc"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- the service -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blank_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised data directory, copied for each test (alert settings are read when the
    service opens, not stored)."""
    data_dir = tmp_path_factory.mktemp("alerts-template") / "data"
    FaceLedger.initialise(make_settings(data_dir), ACTOR.ledger_actor).close()
    return data_dir


def channels(smtp_port: int, webhook_url: str = "", **more: Any) -> dict[str, Any]:
    """Settings sending alerts to the local SMTP server (and webhook, if given)."""
    found: dict[str, Any] = {
        "alert_email_to": RECIPIENTS,
        "alert_email_from": "faceledger@unit.example.org",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_timeout_seconds": 5,
        "alert_retry_seconds": 60,
        "alert_max_attempts": 3,
    }
    if webhook_url:
        found |= {"alert_webhook_url": webhook_url, "alert_webhook_secret": SECRET}
    return found | more


def raise_alert(service: FaceLedger) -> AlertRow:
    """Make a violation happen (a local operator tries to read alerts) and return its alert."""
    with pytest.raises(PermissionDenied):
        service.access.check(LocalOperator("intruder"), "alerts.read")
    with service.context.db.read() as session:
        alert = session.scalars(select(AlertRow).order_by(AlertRow.id.desc())).first()
        assert alert is not None
        session.expunge_all()  # keep what was read once the read session rolls back
        return alert


def deliveries(service: FaceLedger) -> dict[str, AlertDeliveryRow]:
    """Every delivery by channel (one alert)."""
    with service.context.db.read() as session:
        found = {d.channel: d for d in session.scalars(select(AlertDeliveryRow))}
        session.expunge_all()
        return found


def delivery_entries(service: FaceLedger) -> list[Any]:
    """The ``alert.delivery`` ledger entries, oldest first."""
    with service.context.db.read() as session:
        return service.context.ledger.query(session, action=LedgerAction.ALERT_DELIVERY)


@pytest.fixture
def service_factory(blank_data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., FaceLedger]]:
    """Open services with the given settings over fresh copies of the blank data directory;
    closed after the test."""
    opened: list[FaceLedger] = []

    def make(**settings: Any) -> FaceLedger:
        data_dir = tmp_path / f"data{len(opened)}"
        copy_data_dir(blank_data_dir, data_dir)
        opened.append(FaceLedger(make_settings(data_dir, **settings), pipeline=fake_pipeline()))
        return opened[-1]

    yield make
    for service in opened:
        service.close()


# -- the whole path ----------------------------------------------------------------------------


def test_an_alert_reaches_the_smtp_server_and_the_webhook_receiver(
    smtp: tuple[int, Mailbox], receiver: Receiver, service_factory: Callable[..., FaceLedger]
) -> None:
    port, mailbox = smtp
    service = service_factory(**channels(port, receiver.url))
    alert = raise_alert(service)

    report = service.alerts.deliver_due(SCHEDULER)

    assert (report.delivered, report.failed) == (2, 0)
    # the email: to both recipients, naming the alert, its source, request, reason and the ack
    [(sender, rcpts, message)] = mailbox.messages
    assert sender == "faceledger@unit.example.org"
    assert rcpts == ["sup@example.org", "aud@example.org"]
    assert message["Subject"] == f"[faceledger alert {alert.id}] {alert.title}"
    assert message["X-Faceledger-Alert"] == str(alert.id)
    text = message.get_content()
    assert f"Alert:     {alert.id}" in text
    assert f"Source:    violation {alert.violation_id}" in text
    assert "Request:   none" in text
    assert alert.body in text
    assert f"faceledger alerts ack {alert.id} --note" in text
    # the webhook: signed over timestamp "." body, which the receiver checked
    [call] = receiver.calls
    assert call["verified"] is True
    assert call["path"] == "/hooks/faceledger?k=abc"
    assert call["headers"][ALERT_HEADER] == str(alert.id)
    sent = json.loads(call["body"])
    assert sent["alert"]["id"] == alert.id
    assert sent["alert"]["violation_id"] == alert.violation_id
    assert sent["alert"]["reason"] == alert.body
    # recorded: both delivered, one ledger entry per attempt
    rows = deliveries(service)
    assert {c: (r.status, r.attempts) for c, r in rows.items()} == {
        "email": ("delivered", 1),
        "webhook": ("delivered", 1),
    }
    entries = delivery_entries(service)
    assert sorted(e.payload["channel"] for e in entries) == ["email", "webhook"]
    assert all(e.payload["ok"] and e.object_id == str(alert.id) for e in entries)
    assert all(e.actor == SCHEDULER.ledger_actor for e in entries)
    # the webhook URL's query (it may hold a key) is not recorded
    webhook = next(e for e in entries if e.payload["channel"] == "webhook")
    assert "k=abc" not in json.dumps(webhook.payload)
    # and nothing is sent twice
    assert service.alerts.deliver_due(SCHEDULER).attempts == ()
    assert len(mailbox.messages) == 1 and len(receiver.calls) == 1


def test_a_refused_webhook_call_is_recorded_and_retried_after_the_wait(
    smtp: tuple[int, Mailbox], receiver: Receiver, service_factory: Callable[..., FaceLedger]
) -> None:
    port, mailbox = smtp
    service = service_factory(**channels(port, receiver.url))
    alert = raise_alert(service)
    receiver.answers.append(503)
    first_run = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    first = service.alerts.deliver_due(SCHEDULER, now=first_run)

    assert (first.delivered, first.failed) == (1, 1)
    failed = next(a for a in first.attempts if not a.ok)
    assert failed.channel == "webhook" and failed.attempt == 1 and failed.status == "pending"
    assert "answered HTTP 503" in failed.error
    assert failed.next_attempt_at == (first_run + dt.timedelta(seconds=60)).isoformat()
    row = deliveries(service)["webhook"]
    assert (row.status, row.attempts) == ("pending", 1)
    assert "503" in row.last_error
    # before the wait is over nothing is tried
    early = service.alerts.deliver_due(SCHEDULER, now=first_run + dt.timedelta(seconds=59))
    assert early.attempts == () and len(receiver.calls) == 1

    second = service.alerts.deliver_due(SCHEDULER, now=first_run + dt.timedelta(seconds=61))

    assert [(a.channel, a.attempt, a.ok) for a in second.attempts] == [("webhook", 2, True)]
    assert len(receiver.calls) == 2 and all(c["verified"] for c in receiver.calls)
    # a retry is the same alert again, under a signature of its own
    assert receiver.calls[0]["body"] == receiver.calls[1]["body"]
    row = deliveries(service)["webhook"]
    assert (row.status, row.attempts, row.last_error) == ("delivered", 2, "")
    webhook_entries = [e for e in delivery_entries(service) if e.payload["channel"] == "webhook"]
    assert [(e.payload["attempt"], e.payload["ok"]) for e in webhook_entries] == [
        (1, False),
        (2, True),
    ]
    assert "503" in webhook_entries[0].payload["error"]
    assert webhook_entries[0].payload["next_attempt_at"] == failed.next_attempt_at
    assert len(mailbox.messages) == 1
    assert alert.id == webhook_entries[1].payload["alert_id"]


def test_email_refused_while_the_server_is_down_is_delivered_once_it_is_up(
    service_factory: Callable[..., FaceLedger],
) -> None:
    port = free_port()  # nothing listens yet: the connection is refused
    service = service_factory(**channels(port))
    raise_alert(service)
    now = soon()

    first = service.alerts.deliver_due(SCHEDULER, now=now)

    [attempt] = first.attempts
    assert not attempt.ok and "refused the connection" in attempt.error
    assert deliveries(service)["email"].attempts == 1
    with smtp_server(port) as (_, mailbox):
        second = service.alerts.deliver_due(SCHEDULER, now=now + dt.timedelta(seconds=60))
    assert [(a.attempt, a.ok) for a in second.attempts] == [(2, True)]
    assert len(mailbox.messages) == 1
    assert [e.payload["ok"] for e in delivery_entries(service)] == [False, True]


def test_backoff_doubles_and_the_last_attempt_marks_the_delivery_failed(
    service_factory: Callable[..., FaceLedger],
) -> None:
    service = service_factory(**channels(free_port(), alert_max_attempts=3))
    raise_alert(service)
    at, waits = soon(), []
    for _ in range(3):
        [attempt] = service.alerts.deliver_due(SCHEDULER, now=at).attempts
        assert not attempt.ok
        if attempt.next_attempt_at is None:
            break
        due = dt.datetime.fromisoformat(attempt.next_attempt_at)
        waits.append((due - at).total_seconds())
        at = due
    assert waits == [60, 120]
    row = deliveries(service)["email"]
    assert (row.status, row.attempts) == ("failed", 3)
    assert [e.payload["status"] for e in delivery_entries(service)] == [
        "pending",
        "pending",
        "failed",
    ]
    assert service.alerts.deliver_due(SCHEDULER, now=at + dt.timedelta(days=1)).attempts == ()


def test_concurrent_runs_send_each_delivery_once(
    receiver: Receiver, service_factory: Callable[..., FaceLedger]
) -> None:
    receiver.delay_seconds = 0.3  # the first run is still sending while the others start
    service = service_factory(
        alert_webhook_url=receiver.url, alert_webhook_secret=SECRET, alert_retry_seconds=60
    )
    for _ in range(3):
        raise_alert(service)
    start = threading.Barrier(3)
    reports: list[Any] = []
    later = soon() + dt.timedelta(days=1)

    def run() -> None:
        start.wait()
        reports.append(service.alerts.deliver_due(SCHEDULER, now=later))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    sent = sorted(json.loads(c["body"])["alert"]["id"] for c in receiver.calls)
    assert len(sent) == 3 and len(set(sent)) == 3, sent
    assert len(reports) == 3 and sum(len(r.attempts) for r in reports) == 3
    assert len(delivery_entries(service)) == 3


# -- the email sender against aiosmtpd ---------------------------------------------------------


def message() -> AlertMessage:
    """An alert message as a violation raises it."""
    return AlertMessage(
        alert_id=7,
        source="violation",
        title="Violation: denied action",
        reason="det-a may not list alerts (alerts.read).",
        request_id=42,
        violation_id=3,
        finding_id=None,
        created_at=NOW,
    )


def config(port: int, **changes: Any) -> SmtpConfig:
    """SMTP settings for the local server."""
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "sender": "faceledger@unit.example.org",
        "timeout_seconds": 5.0,
    }
    return SmtpConfig(**(base | changes))


def test_plain_smtp_delivers_to_every_recipient(smtp: tuple[int, Mailbox]) -> None:
    port, mailbox = smtp
    send_email(config(port), message(), ["a@example.org", "b@example.org"])
    [(sender, rcpts, sent)] = mailbox.messages
    assert (sender, rcpts) == ("faceledger@unit.example.org", ["a@example.org", "b@example.org"])
    assert sent["Subject"] == "[faceledger alert 7] Violation: denied action"
    assert "Request:   42" in sent.get_content()


def test_login_is_attempted_when_a_username_is_set() -> None:
    holder = Mailbox()
    with smtp_server(authenticator=authenticator(holder), auth_require_tls=False) as (port, box):
        send_email(
            config(port, username="alerts", password=SMTP_PASSWORD), message(), ["a@example.org"]
        )
        with pytest.raises(DeliveryFailed) as refused:
            send_email(
                config(port, username="alerts", password="wrong-" + SMTP_PASSWORD),
                message(),
                ["a@example.org"],
            )
    # smtplib tries each offered mechanism (PLAIN, then LOGIN) before giving up
    assert holder.logins[0] == ("alerts", True)
    assert holder.logins[1:] and set(holder.logins[1:]) == {("alerts", False)}
    assert len(box.messages) == 1
    assert "refused the login of 'alerts' (535)" in refused.value.reason
    assert SMTP_PASSWORD not in str(refused.value.to_dict())


def test_without_a_username_no_login_is_tried() -> None:
    holder = Mailbox()
    with smtp_server(authenticator=authenticator(holder), auth_require_tls=False) as (port, box):
        send_email(config(port), message(), ["a@example.org"])
    assert holder.logins == [] and len(box.messages) == 1


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_starttls_upgrades_before_sending_and_is_never_skipped(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    with smtp_server(tls_context=server_tls, require_starttls=True) as (port, box):
        send_email(
            config(port, tls="starttls", ssl_context=client_tls), message(), ["a@example.org"]
        )
        # a client that does not trust the certificate fails rather than sending in clear
        with pytest.raises(DeliveryFailed) as untrusted:
            send_email(config(port, tls="starttls"), message(), ["a@example.org"])
    assert len(box.messages) == 1
    assert "TLS with 127.0.0.1" in untrusted.value.reason
    # a server without STARTTLS is a failure, not a silent plain-text delivery
    with smtp_server() as (port, plain), pytest.raises(DeliveryFailed) as missing:
        send_email(config(port, tls="starttls", ssl_context=client_tls), message(), ["a@x.org"])
    assert "does not offer STARTTLS" in missing.value.reason and plain.messages == []


def test_a_silent_server_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection in the kernel, never says hello
        port = listener.getsockname()[1]
        with pytest.raises(DeliveryFailed) as silent:
            send_email(config(port, timeout_seconds=0.3), message(), ["a@example.org"])
    assert "did not answer within 0.3 s (timeout)" in silent.value.reason
