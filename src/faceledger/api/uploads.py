"""Size limits on what clients send: refused as early as possible, and never half-stored.

Two layers. :class:`BodyLimit` wraps the whole API: a body whose ``Content-Length`` is over the
limit is refused before a byte of it is read, and a body that streams past the limit (chunked,
or lying about its length) is cut off as soon as it does. :func:`read_upload` then reads the
probe file of a multipart form in chunks against ``max_image_bytes`` exactly. Both refuse with
413 before the service sees anything, so a refused upload writes nothing.
"""

from __future__ import annotations

from fastapi import UploadFile
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceledger.api.errors import BodyTooLarge, ImageTooLarge, RaisedInTransport, error_response
from faceledger.errors import FaceLedgerError

__all__ = ["CHUNK_BYTES", "FORM_OVERHEAD_BYTES", "JSON_BODY_BYTES", "BodyLimit", "read_upload"]

CHUNK_BYTES = 64 * 1024
FORM_OVERHEAD_BYTES = 64 * 1024
"""Room in a multipart body for the boundaries, part headers and the text fields of a form."""
JSON_BODY_BYTES = 1024 * 1024
"""Largest body of any request that is not a multipart upload."""


def _too_large(limit: int, multipart: bool, max_image_bytes: int) -> FaceLedgerError:
    if multipart:
        return ImageTooLarge(
            f"The upload is over the limit: a probe image may have at most {max_image_bytes} "
            "bytes.",
            cause="too_large",
            limit_bytes=max_image_bytes,
        )
    return BodyTooLarge(f"The request body is over the limit of {limit} bytes.", limit_bytes=limit)


class BodyLimit:
    """ASGI middleware: refuse a request body over its limit, early and while it streams.

    Multipart bodies (image uploads) may be ``max_image_bytes`` plus
    :data:`FORM_OVERHEAD_BYTES`; any other body :data:`JSON_BODY_BYTES`.
    """

    def __init__(self, app: ASGIApp, max_image_bytes: int) -> None:
        self.app = app
        self.max_image_bytes = max_image_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = self.max_image_bytes + FORM_OVERHEAD_BYTES if multipart else JSON_BODY_BYTES
        too_large = _too_large(limit, multipart, self.max_image_bytes)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await error_response(too_large)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside FastAPI's body reading, which passes HTTP exceptions on.
                    raise RaisedInTransport(too_large)
            return message

        await self.app(scope, limited, send)


def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """Return the bytes of an uploaded file, read in chunks; stop as soon as it is too large.

    Raises:
        ImageTooLarge: (413) once more than ``max_bytes`` have been read.
    """
    upload.file.seek(0)
    chunks: list[bytes] = []
    size = 0
    while chunk := upload.file.read(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise ImageTooLarge(
                f"{upload.filename or 'The upload'}: over the limit of {max_bytes} bytes for a "
                "probe image.",
                cause="too_large",
                limit_bytes=max_bytes,
            )
        chunks.append(chunk)
    return b"".join(chunks)
