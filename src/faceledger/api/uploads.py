"""Upload bounds of the API: the body limit, a probe read against ``max_image_bytes``, and
one of each part.

The body limit itself is :class:`faceledger.http_limits.BodyLimit`, the one table for the
server; :func:`faceledger.api.build_api` applies it to the API too, so the API keeps it when it
is mounted on its own. :func:`read_upload` then reads the probe file of a multipart form in
chunks against ``max_image_bytes`` exactly, and :func:`single_parts` refuses a form that sends
a part twice. All refuse before the service sees anything, so a refused upload writes nothing.
"""

from __future__ import annotations

from fastapi import Request, UploadFile

from faceledger.api.auth import Acting
from faceledger.errors import ImageTooLarge
from faceledger.http_limits import (
    FORM_OVERHEAD_BYTES,
    JSON_BODY_BYTES,
    BodyLimit,
    refuse_repeated,
)

__all__ = [
    "CHUNK_BYTES",
    "FORM_OVERHEAD_BYTES",
    "JSON_BODY_BYTES",
    "REPEATABLE_PARTS",
    "BodyLimit",
    "read_upload",
    "single_parts",
]

CHUNK_BYTES = 64 * 1024
REPEATABLE_PARTS = ("galleries",)
"""The only multipart fields of the API that may come more than once."""


async def single_parts(request: Request, _acting: Acting) -> None:
    """Dependency of the upload routes: every part but ``galleries`` comes at most once (after
    authentication; FastAPI has parsed and cached the form by then).

    Raises:
        DuplicatePart: (422) naming the repeated parts, e.g. two ``probe`` files.
    """
    form = await request.form()
    refuse_repeated(form.multi_items(), REPEATABLE_PARTS)


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
