"""Reading a PDF's stream contents without a PDF library (none is installed): every Flate
stream inflated, for tests that look for a text (the title, an attachment) in a PDF."""

from __future__ import annotations

import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def inflated(pdf: bytes) -> bytes:
    """The PDF's bytes followed by every Flate stream it holds, inflated."""
    parts = [pdf]
    for match in _STREAM.finditer(pdf):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue  # not a Flate stream (fonts may be stored otherwise)
    return b"\n".join(parts)
