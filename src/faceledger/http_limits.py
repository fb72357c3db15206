"""Bounds on what a client may send, for the API and the web pages alike.

One table of body limits (:func:`body_limit`), applied by one ASGI middleware
(:class:`BodyLimit`) around the whole server: an upload route takes a probe image plus the form
around it, ``/login`` and the API's login and token routes a few KB, any other body 1 MiB. A
body whose ``Content-Length`` is over is refused before a byte of it is read; a chunked body (or
one that lies about its length) is cut off as soon as the count passes the limit, before any
file is spooled. The same middleware times out a body that stalls (``body_timeout_seconds``).

Headers are bounded in the HTTP protocol itself: :class:`TimedH11Protocol` closes a connection
whose request head is not complete within ``header_timeout_seconds``, and :func:`uvicorn_options`
also bounds the size of a head and the number of open connections. Refusals close the
connection, so a client cannot keep streaming into a refused request.

:func:`refuse_repeated` refuses a form that sends a single-valued field twice.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from typing import Any, cast

import h11
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from faceledger.errors import InvalidImage, InvalidInput

__all__ = [
    "FORM_OVERHEAD_BYTES",
    "JSON_BODY_BYTES",
    "LOGIN_BODY_BYTES",
    "MAX_CONNECTIONS",
    "MAX_HEAD_BYTES",
    "BodyLimit",
    "DuplicatePart",
    "TimedH11Protocol",
    "base64_bytes",
    "body_limit",
    "refuse_repeated",
    "uvicorn_options",
]

FORM_OVERHEAD_BYTES = 64 * 1024
"""Room in a multipart body for the boundaries, part headers and the text fields of a form."""
JSON_BODY_BYTES = 1024 * 1024
"""Largest body of any request that is not an upload or a login."""
LOGIN_BODY_BYTES = 8 * 1024
"""Largest body of a login or token request: a name, a password, a few fields."""
MAX_HEAD_BYTES = 16 * 1024
"""Largest request line plus headers (h11 refuses a longer head)."""
MAX_CONNECTIONS = 1000
"""Open connections (and running requests) a server process takes before answering 503."""

API_ROOT = "/api/v1"
_IMAGE_UPLOADS = frozenset({f"{API_ROOT}/requests", f"{API_ROOT}/requests/probe-faces"})
"""Routes that take a probe image as a multipart file."""
_FORM_UPLOADS = frozenset({"/requests/new"})
"""Web forms that take a probe image, as a file or as base64 text kept by the face picker."""
_LOGINS = frozenset({"/login", f"{API_ROOT}/auth/login", f"{API_ROOT}/tokens"})
"""Routes reachable with little or no authentication that need only a few fields."""

_TIMED_OUT = (
    "The request body was not sent in time: nothing arrived for {seconds} s, so the request "
    "was dropped and nothing was changed."
)


def base64_bytes(size: int) -> int:
    """Return the length of ``size`` bytes in base64 text (how the face picker keeps a probe)."""
    return (size + 2) // 3 * 4


def body_limit(path: str, content_type: str, max_image_bytes: int) -> tuple[int, bool]:
    """Return the most bytes a request body to ``path`` (the full path) may have, and whether
    it is an image upload (refused as an image too large rather than a body too large)."""
    multipart = content_type.lower().startswith("multipart/form-data")
    if multipart and path in _IMAGE_UPLOADS:
        return max_image_bytes + FORM_OVERHEAD_BYTES, True
    if multipart and path in _FORM_UPLOADS:
        # The face picker sends the photo of a first attempt back as base64 text: 4/3 of it.
        return base64_bytes(max_image_bytes) + FORM_OVERHEAD_BYTES, True
    if path in _LOGINS:
        return LOGIN_BODY_BYTES, False
    return JSON_BODY_BYTES, False


def _is_api(path: str) -> bool:
    return path == API_ROOT or path.startswith(API_ROOT + "/")


def _refusal(path: str, status: int, code: str, message: str, **details: Any) -> Response:
    """The answer to a refused body: the API's error JSON, or short text for a web page."""
    headers = {"Cache-Control": "no-store"}
    if _is_api(path):
        body = {"error": {"code": code, "message": message, "details": details}}
        return JSONResponse(body, status_code=status, headers=headers)
    title = {408: "Too slow", 413: "Too large"}.get(status, "Refused")
    return PlainTextResponse(f"{title}: {message}\n", status_code=status, headers=headers)


def _too_large(path: str, limit: int, image: bool, max_image_bytes: int) -> Response:
    if image:
        message = (
            f"The upload is over the limit: a probe image may have at most {max_image_bytes} bytes."
        )
        # The API's ImageTooLarge: an invalid image, answered with 413.
        return _refusal(
            path, 413, InvalidImage.code, message, cause="too_large", limit_bytes=max_image_bytes
        )
    message = f"The request body is over the limit of {limit} bytes."
    return _refusal(path, 413, "body_too_large", message, limit_bytes=limit)


class _Refused(HTTPException):
    """Raised from ``receive`` to stop the app reading a refused body (every app passes HTTP
    exceptions on); :class:`BodyLimit` answers in its place."""

    def __init__(self, response: Response) -> None:
        super().__init__(status_code=response.status_code)
        self.response = response


class BodyLimit:
    """ASGI middleware: refuse a request body over its limit (:func:`body_limit`), early and
    while it streams, and one that stalls for more than ``body_timeout_seconds``.

    A refusal is the middleware's own answer (413 or 408), whatever the app inside made of the
    exception that stopped its reading. With ``close_connection`` it says ``Connection: close``,
    so the server never reads the rest of the body (:class:`TimedH11Protocol` then lingers, so
    the client can read the answer); without, uvicorn reads and discards the rest. Once the body
    is complete, ``receive`` passes through untouched (a streaming response listens on it for a
    disconnect).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_image_bytes: int,
        body_timeout_seconds: float | None = None,
        close_connection: bool = False,
    ) -> None:
        self.app = app
        self.max_image_bytes = max_image_bytes
        self.body_timeout_seconds = body_timeout_seconds
        self.close_connection = close_connection

    def _closing(self, response: Response) -> Response:
        if self.close_connection:
            response.headers["Connection"] = "close"
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "")
        limit, image = body_limit(path, content_type, self.max_image_bytes)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            refusal = _too_large(path, limit, image, self.max_image_bytes)
            await self._closing(refusal)(scope, receive, send)
            return
        received = 0
        complete = False
        refused: Response | None = None
        started = False

        async def guarded() -> Message:
            nonlocal received, complete, refused
            if complete or started:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout_seconds)
            except TimeoutError:
                seconds = self.body_timeout_seconds
                refused = _refusal(path, 408, "body_timeout", _TIMED_OUT.format(seconds=seconds))
                raise _Refused(refused) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = _too_large(path, limit, image, self.max_image_bytes)
                    raise _Refused(refused)
                complete = not message.get("more_body", False)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused is not None:
                return  # the app's own answer to the refusal; ours is sent instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded, watched)
        except Exception:
            if refused is None or started:
                raise
        if refused is not None and not started:
            await self._closing(refused)(scope, receive, send)


class DuplicatePart(InvalidInput):
    """A form sends a single-valued field (such as the probe photo) more than once (422)."""

    status = 422


def refuse_repeated(items: Iterable[tuple[str, Any]], repeatable: Iterable[str] = ()) -> None:
    """Check that every field of a form but the ``repeatable`` ones comes at most once.

    Raises:
        DuplicatePart: naming the repeated fields; the form is refused as a whole.
    """
    allowed = frozenset(repeatable)
    seen: set[str] = set()
    repeated: list[str] = []
    for name, _ in items:
        if name in seen and name not in allowed and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        names = ", ".join(repeated)
        raise DuplicatePart(
            f"The form sends {names} more than once; send each field once (only "
            f"{', '.join(sorted(allowed)) or 'no field'} may repeat), so nothing was changed.",
            fields=repeated,
        )


LINGER_SECONDS = 2.0
"""How long a connection closed on an unread body stays half-open, so the answer gets through."""


class _LingeringClose:
    """A transport whose ``close`` lingers while the client is still sending a body.

    Closing a socket with unread data makes the kernel reset the connection, and the client
    may lose the answer it has not read yet (a 413 on an oversized upload). So, as nginx does,
    the answer is sent with a FIN, reading stops, and the socket closes a little later.
    """

    def __init__(self, transport: asyncio.Transport, protocol: TimedH11Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        """Closing, or lingering before the close."""
        return self._lingering or self._transport.is_closing()

    def close(self) -> None:
        """Close now, or after :data:`LINGER_SECONDS` if part of a body is still unread."""
        if self._lingering or self._transport.is_closing():
            return
        if self._protocol.conn.their_state is not h11.SEND_BODY:
            self._transport.close()
            return
        self._lingering = True
        self._transport.pause_reading()
        if self._transport.can_write_eof():
            self._transport.write_eof()
        self._protocol.loop.call_later(LINGER_SECONDS, self._transport.close)


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the request head, and a lingering close.

    uvicorn times out only an idle kept-alive connection. Here a connection must deliver each
    request line and headers within ``header_timeout`` seconds of its first byte (or of the
    connection opening), else it is answered 408 (if it sent anything) and closed. A connection
    closed while the client still sends a body (a refusal) lingers (:class:`_LingeringClose`).
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        header_timeout: float = 10.0,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_started = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's head."""
        super().connection_made(cast(asyncio.Transport, _LingeringClose(transport, self)))
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        """Start the clock when a new head begins; stop it once the head is complete."""
        if self.conn.their_state is h11.IDLE:
            self._head_started = True
            self._arm_head_deadline()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the clock with the connection."""
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        """A kept-alive connection waits under uvicorn's keep-alive timeout, not the head's."""
        self._head_started = False
        super().on_response_complete()

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self._head_started:
            # No request was parsed, so h11 cannot frame an answer; this one is written by hand.
            text = b"Too slow: the request headers did not arrive in time.\n"
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"connection: close\r\ncontent-length: "
                + str(len(text)).encode()
                + b"\r\n\r\n"
                + text
            )
        self.logger.info(
            "Closed a connection whose request head took over %s s.", self.header_timeout
        )
        self.transport.close()


def uvicorn_options(header_timeout_seconds: float) -> dict[str, Any]:
    """Return the keyword arguments that bound a uvicorn server: the timed h11 protocol (a
    picklable partial, so ``--workers`` processes get it too), the head size and the number of
    connections."""
    return {
        "http": functools.partial(TimedH11Protocol, header_timeout=header_timeout_seconds),
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "limit_concurrency": MAX_CONNECTIONS,
    }
