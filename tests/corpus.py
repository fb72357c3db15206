"""The bad-input corpus (issue 13 item 7): every kind of bad input, built at run time.

Each :class:`Kind` names what is sent (a probe image made here with Pillow, numpy or by hand,
or a change to the request form, or a malformed request), and the outcome expected through each
interface: the REST API, the web form and the CLI. An outcome is a refusal (status or exit
code, the error code and a key phrase of the message, in our own words), an acceptance (some
odd images are legitimately accepted and normalised), or "n/a" with the reason the kind cannot
reach that interface. Nothing here is committed as a binary blob: every image is built by its
builder when a test asks for it.

tests/integration/test_bad_input_corpus.py sends every kind through every interface and checks
the outcome and that a refusal writes nothing (rows of every table, ledger size).
The README's corpus table is :func:`readme_table` of :data:`KINDS` (tests/unit/test_docs.py
style: a test checks the README holds it).
"""

from __future__ import annotations

import enum
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from PIL import Image

from faceledger.governance.inputs import MAX_ID

__all__ = [
    "KINDS",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "Accepted",
    "Kind",
    "NotApplicable",
    "Outcome",
    "Refused",
    "Shape",
    "Upload",
    "readme_table",
]

MAX_IMAGE_BYTES = 2_000_000
"""The ``max_image_bytes`` setting of the corpus unit (the kinds over it are built from it)."""
MAX_IMAGE_PIXELS = 4_000_000
"""The ``max_image_pixels`` setting of the corpus unit."""
TOO_BIG_ID = str(2**63)
"""One past SQL's BIGINT: a number the database driver could not even bind."""


@dataclass(frozen=True)
class Upload:
    """A probe file as a client uploads it."""

    filename: str
    data: bytes
    content_type: str = "image/jpeg"


# -- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """Refused: the HTTP status (or the CLI's exit code), the error code and a key phrase of
    the message."""

    status: int
    code: str
    phrase: str
    cause: str = ""
    """``details.cause`` of an unusable image, where the interface shows details (the API)."""


@dataclass(frozen=True)
class Accepted:
    """Accepted (filed): the HTTP status (or exit code 0); ``size`` is the stored probe's
    (width, height) after normalisation, when the kind is about it."""

    status: int
    note: str
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class NotApplicable:
    """The kind cannot reach this interface, for ``reason``."""

    reason: str


Outcome = Refused | Accepted | NotApplicable


class Shape(enum.Enum):
    """How a kind is sent."""

    FILE = "file"
    """File a request: the good form with ``changes`` and the probe ``upload``."""
    DUPLICATE_PART = "duplicate part"
    """File a request whose multipart form sends the part ``value`` twice."""
    SLOW_BODY = "slow body"
    """File a request whose body stalls after its first bytes."""
    OVERSIZE_BODY = "oversize body"
    """File a request whose declared Content-Length is over the limit."""
    JSON_BODY = "json body"
    """Send the form as JSON instead of multipart."""
    KEPT_PROBE = "kept probe"
    """The web face picker's kept photo (base64 text) is ``value``."""
    SHOW = "show"
    """Show request number ``value``."""
    LIST_OFFSET = "list offset"
    """List requests from offset (web: page) ``value``."""
    LIST_LIMIT = "list limit"
    """List ``value`` requests at most."""


@dataclass(frozen=True)
class Kind:
    """One kind of bad input and what each interface does with it."""

    name: str
    family: str  # "image" or "request"
    sent: str  # what is sent, for the README
    api: Outcome
    web: Outcome
    cli: Outcome
    shape: Shape = Shape.FILE
    build: Callable[[], Upload] | None = None
    """The probe (None: the corpus's ordinary good photo)."""
    changes: Mapping[str, str | None] = field(default_factory=dict)
    """Form fields changed from the good form (None: left out)."""
    value: str = ""

    def upload(self) -> Upload:
        """The probe this kind sends."""
        return (self.build or good_jpeg)()

    def outcomes(self) -> dict[str, Outcome]:
        """The outcome per interface."""
        return {"api": self.api, "web": self.web, "cli": self.cli}


# -- image builders ---------------------------------------------------------------------------


def _pixels(width: int = 160, height: int = 120) -> np.ndarray:
    """A smooth RGB gradient: an ordinary picture, deterministic, compresses well."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [(x * 255 // width), (y * 255 // height), ((x + y) * 255 // (width + height))], axis=-1
    ).astype(np.uint8)


def _image(width: int = 160, height: int = 120) -> Image.Image:
    return Image.fromarray(_pixels(width, height), "RGB")


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


@cache
def _jpeg() -> bytes:
    return _save(_image(), "JPEG", quality=90)


def good_jpeg() -> Upload:
    """The corpus's ordinary good probe (a 160x120 JPEG)."""
    return Upload("probe.jpg", _jpeg())


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, idat: bytes, depth: int = 8, colour: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def empty() -> Upload:
    return Upload("empty.jpg", b"")


def truncated_jpeg() -> Upload:
    data = _jpeg()
    return Upload("cut.jpg", data[: len(data) // 2])


def truncated_png() -> Upload:
    data = _save(_image(), "PNG")
    return Upload("cut.png", data[: len(data) // 2], "image/png")


def jpeg_header_only() -> Upload:
    return Upload("header.jpg", b"\xff\xd8\xff\xe0" + b"\x13\x37" * 40)


def garbled_jpeg_scan() -> Upload:
    """Intact headers; the entropy-coded scan replaced by random bytes (libjpeg decodes such
    data as noise rather than failing)."""
    data = _jpeg()
    start = data.index(b"\xff\xda") + 14
    noise = np.random.default_rng(13).integers(0, 255, len(data) - start - 2, dtype=np.uint8)
    return Upload("garbled.jpg", data[:start] + noise.tobytes() + b"\xff\xd9")


def jpeg_without_tables() -> Upload:
    """A JPEG with its quantisation tables (DQT segments) cut out: its scan cannot be
    decoded."""
    data, out, at = _jpeg(), bytearray(b"\xff\xd8"), 2
    while data[at + 1] != 0xDA:  # up to the start of scan, segment by segment
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if data[at + 1] != 0xDB:
            out += data[at : at + 2 + length]
        at += 2 + length
    return Upload("notables.jpg", bytes(out + data[at:]))


def png_bad_crc() -> Upload:
    data = bytearray(_save(_image(), "PNG"))
    data[29] ^= 0xFF  # the IHDR chunk's CRC
    return Upload("crc.png", bytes(data), "image/png")


def zero_width_png() -> Upload:
    return Upload("zero.png", _png(0, 10, zlib.compress(b"")), "image/png")


def jpeg_zip_polyglot() -> Upload:
    """A real JPEG with a ZIP archive appended: a valid picture and a valid archive at once."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.html", "<script>alert(1)</script>")
    return Upload("polyglot.jpg", _jpeg() + archive.getvalue())


def zip_jpeg_polyglot() -> Upload:
    """A ZIP archive with a JPEG stored inside, named .jpg: it starts as an archive."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("photo.jpg", _jpeg())
    return Upload("archive.jpg", archive.getvalue())


def png_bomb() -> Upload:
    """A decompression bomb: 20000x20000 black pixels (400 MP) in a file of a few dozen KB."""
    side = 20_000
    row = b"\x00" + b"\x00" * (side // 8)  # filter byte, then 1-bit pixels
    squeezer = zlib.compressobj(9)
    idat = b"".join(squeezer.compress(row) for _ in range(side)) + squeezer.flush()
    return Upload("bomb.png", _png(side, side, idat, depth=1), "image/png")


def png_huge_header() -> Upload:
    """A PNG header declaring 100000x100000 pixels over a few bytes of data."""
    return Upload("huge.png", _png(100_000, 100_000, zlib.compress(b"\x00" * 64)), "image/png")


def jpeg_huge_header() -> Upload:
    """A real JPEG whose frame header is patched to declare 65000x65000 pixels."""
    data = bytearray(_jpeg())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", 65_000, 65_000)
    return Upload("huge.jpg", bytes(data))


def bmp_huge_header() -> Upload:
    """A BMP header declaring 50000x50000 pixels of 24 bits, with no pixel data."""
    info = struct.pack("<IiiHHIIiiII", 40, 50_000, 50_000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    head = b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info))
    return Upload("huge.bmp", head + info, "image/bmp")


def over_byte_limit() -> Upload:
    """A file one byte over ``max_image_bytes`` (JPEG signature, then padding)."""
    return Upload("big.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * (MAX_IMAGE_BYTES - 3))


def cmyk_jpeg() -> Upload:
    return Upload("cmyk.jpg", _save(_image().convert("CMYK"), "JPEG", quality=90))


def grey16_png() -> Upload:
    values = _pixels()[..., 0].astype(np.uint16) * 257  # mode I;16
    return Upload("grey16.png", _save(Image.fromarray(values), "PNG"), "image/png")


def rgb48_png() -> Upload:
    """A 16-bit-per-channel RGB PNG, written by hand (Pillow writes none)."""
    pixels = _pixels(64, 48).astype(">u2") * 257
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(pixels.shape[0]))
    return Upload("rgb48.png", _png(64, 48, zlib.compress(rows), depth=16, colour=2), "image/png")


def multi_frame_tiff() -> Upload:
    frames = [_image(), _image().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    data = _save(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    return Upload("frames.tiff", data, "image/tiff")


def animated_gif() -> Upload:
    frames = [_image().convert("P"), _image().rotate(90).convert("P")]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    return Upload("moving.gif", data, "image/gif")


def exif_rotated_jpeg() -> Upload:
    """A 160x120 JPEG whose EXIF says "rotate 90° clockwise" (orientation 6): upright it is
    120x160."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return Upload("turned.jpg", _save(_image(), "JPEG", exif=exif.tobytes()))


def webp() -> Upload:
    return Upload("photo.webp", _save(_image(), "WEBP", lossless=True), "image/webp")


def heic() -> Upload:
    """The start of an HEIC file (an ISO-BMFF ``ftyp`` box of brand heic), which Pillow does
    not read without a plug-in."""
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return Upload(
        "photo.heic", struct.pack(">I", 4 + len(ftyp)) + ftyp + b"\x00" * 64, "image/heic"
    )


def ico() -> Upload:
    return Upload("icon.jpg", _save(_image(64, 64), "ICO"), "image/x-icon")


def pdf_named_jpg() -> Upload:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return Upload("scan.jpg", pdf)


def html_named_jpg() -> Upload:
    return Upload(
        "photo.jpg", b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    )


def svg_named_jpg() -> Upload:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<script>alert(1)</script><circle r="40"/></svg>'
    )
    return Upload("photo.jpg", svg, "image/svg+xml")


def text_file() -> Upload:
    return Upload("notes.txt", b"The suspect wore a red jacket.\n", "text/plain")


def one_pixel_png() -> Upload:
    return Upload("dot.png", _save(_image(1, 1), "PNG"), "image/png")


def grey_jpeg() -> Upload:
    return Upload("grey.jpg", _save(_image().convert("L"), "JPEG"))


def palette_png() -> Upload:
    return Upload("palette.png", _save(_image().convert("P"), "PNG"), "image/png")


def alpha_png() -> Upload:
    image = _image().convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize(image.size))
    return Upload("alpha.png", _save(image, "PNG"), "image/png")


def jpeg_sent_as_text() -> Upload:
    """A good JPEG named notes.txt and sent as text/plain: the bytes decide, not the label."""
    return Upload("notes.txt", _jpeg(), "text/plain")


# -- expectations -------------------------------------------------------------------------------

FILED = "filed"
UNUSABLE = "invalid_image"
INPUT = "invalid_input"
USAGE = "usage_error"
"""The CLI's own refusal of its arguments (exit 2), before any faceledger code runs."""


def _everywhere(
    status: int, code: str, phrase: str, cli_phrase: str | None = None
) -> dict[str, Outcome]:
    """The same refusal through the API and the web form (same status), and the CLI (exit 2)."""
    return {
        "api": Refused(status, code, phrase),
        "web": Refused(status, code, phrase),
        "cli": Refused(2, code, cli_phrase or phrase),
    }


def _image_kind(
    name: str, sent: str, build: Callable[[], Upload], cause: str, phrase: str, **over: Outcome
) -> Kind:
    outcomes: dict[str, Outcome] = {
        "api": Refused(422, UNUSABLE, phrase, cause),
        "web": Refused(422, UNUSABLE, phrase, cause),
        "cli": Refused(2, UNUSABLE, phrase, cause),
        **over,
    }
    return Kind(name, "image", sent, build=build, **outcomes)  # type: ignore[arg-type]


def _accepted(
    name: str,
    sent: str,
    build: Callable[[], Upload],
    note: str,
    size: tuple[int, int] | None = None,
) -> Kind:
    return Kind(
        name,
        "image",
        sent,
        build=build,
        api=Accepted(201, note, size),
        web=Accepted(303, note, size),
        cli=Accepted(0, note, size),
    )


def _form_kind(
    name: str,
    sent: str,
    changes: Mapping[str, str | None],
    status: int,
    phrase: str,
    **over: Outcome,
) -> Kind:
    outcomes = {**_everywhere(status, INPUT, phrase), **over}
    return Kind(name, "request", sent, changes=changes, **outcomes)  # type: ignore[arg-type]


NO_SLOW_CLI = NotApplicable("the CLI reads a local file; there is no body to stall")
NO_PARTS_CLI = NotApplicable(
    "a command line has no multipart parts (a repeated option is the last one given, as in "
    "every click program)"
)
NO_NUL_CLI = NotApplicable("a command-line argument cannot hold NUL (execve takes C strings)")

KINDS: tuple[Kind, ...] = (
    # -- images: unreadable -------------------------------------------------------------------
    _image_kind("empty file", "zero bytes", empty, "empty", "the file is empty"),
    _image_kind(
        "truncated JPEG", "the first half of a JPEG", truncated_jpeg, "truncated", "truncated"
    ),
    _image_kind(
        "truncated PNG", "the first half of a PNG", truncated_png, "truncated", "truncated"
    ),
    _image_kind(
        "JPEG header only",
        "a JPEG signature and junk",
        jpeg_header_only,
        "bad_header",
        "header cannot be read",
    ),
    _image_kind(
        "JPEG without tables",
        "a JPEG with its quantisation tables cut out",
        jpeg_without_tables,
        "corrupt",
        "the image data is corrupt",
    ),
    _accepted(
        "garbled JPEG scan",
        "intact headers, the scan replaced by random bytes",
        garbled_jpeg_scan,
        "accepted: decodes as noise (a real detector finds no face in it)",
        (160, 120),
    ),
    _image_kind(
        "PNG with a bad CRC",
        "a PNG whose header checksum is wrong",
        png_bad_crc,
        "bad_header",
        "header is corrupt",
    ),
    _image_kind(
        "PNG of width 0",
        "a PNG header declaring 0x10 pixels",
        zero_width_png,
        "bad_header",
        "header is corrupt",
    ),
    # -- images: polyglots and wrong types -----------------------------------------------------
    _accepted(
        "JPEG+ZIP polyglot",
        "a JPEG with a ZIP archive appended",
        jpeg_zip_polyglot,
        "accepted: the picture decodes; the stored bytes are never opened as an archive",
    ),
    _image_kind(
        "ZIP+JPEG polyglot",
        "a ZIP holding a JPEG, named .jpg",
        zip_jpeg_polyglot,
        "not_an_image",
        "not a recognised image",
    ),
    _image_kind(
        "PDF named .jpg",
        "a PDF document named scan.jpg",
        pdf_named_jpg,
        "not_an_image",
        "not a recognised image",
    ),
    _image_kind(
        "HTML named .jpg",
        "an HTML page with a script, named photo.jpg",
        html_named_jpg,
        "not_an_image",
        "not a recognised image",
    ),
    _image_kind(
        "SVG named .jpg",
        "an SVG with a script, named photo.jpg",
        svg_named_jpg,
        "not_an_image",
        "not a recognised image",
    ),
    _image_kind(
        "text file",
        "a line of text, text/plain",
        text_file,
        "not_an_image",
        "not a recognised image",
    ),
    _image_kind(
        "HEIC",
        "an HEIC file header (no HEIC decoder is installed)",
        heic,
        "not_an_image",
        "not a recognised image",
    ),
    _image_kind(
        "ICO", "a Windows icon named .jpg", ico, "unsupported_format", "ICO images are not accepted"
    ),
    _image_kind(
        "animated GIF",
        "a GIF of two frames",
        animated_gif,
        "unsupported_format",
        "GIF images are not accepted",
    ),
    _image_kind(
        "multi-frame TIFF",
        "a TIFF of two pages",
        multi_frame_tiff,
        "multiple_frames",
        "only still images are accepted",
    ),
    _accepted(
        "JPEG sent as text/plain",
        "a good JPEG named notes.txt, Content-Type text/plain",
        jpeg_sent_as_text,
        "accepted: the bytes decide the type, never the name or label",
    ),
    # -- images: sizes --------------------------------------------------------------------------
    _image_kind(
        "PNG decompression bomb",
        "20000x20000 pixels (400 MP) in a few dozen KB",
        png_bomb,
        "too_many_pixels",
        "over the limit of 4,000,000 pixels",
    ),
    _image_kind(
        "PNG declaring 100000x100000",
        "a PNG header declaring 10 GP over a few bytes",
        png_huge_header,
        "too_many_pixels",
        "over the limit of 4,000,000 pixels",
    ),
    _image_kind(
        "JPEG declaring 65000x65000",
        "a real JPEG with its frame header patched",
        jpeg_huge_header,
        "too_many_pixels",
        "over the limit of 4,000,000 pixels",
    ),
    _image_kind(
        "BMP declaring 50000x50000",
        "a BMP header and no pixel data",
        bmp_huge_header,
        "too_many_pixels",
        "over the limit of 4,000,000 pixels",
    ),
    Kind(
        "file over the byte limit",
        "image",
        "max_image_bytes + 1 bytes",
        build=over_byte_limit,
        api=Refused(413, UNUSABLE, "over the limit of 2000000 bytes", "too_large"),
        web=Refused(413, UNUSABLE, "over the limit of 2000000 bytes"),
        cli=Refused(2, UNUSABLE, "over the limit of 2000000 bytes"),
    ),
    # -- images: odd but legitimate -------------------------------------------------------------
    _accepted("CMYK JPEG", "a JPEG in CMYK", cmyk_jpeg, "accepted, converted to RGB", (160, 120)),
    _accepted(
        "16-bit greyscale PNG",
        "a PNG of mode I;16",
        grey16_png,
        "accepted, scaled to 8 bits",
        (160, 120),
    ),
    _accepted(
        "16-bit RGB PNG",
        "a PNG of 48 bits per pixel",
        rgb48_png,
        "accepted, reduced to 8 bits",
        (64, 48),
    ),
    _accepted(
        "EXIF-rotated JPEG",
        "a 160x120 JPEG with EXIF orientation 6",
        exif_rotated_jpeg,
        "accepted, turned upright: stored as 120x160",
        (120, 160),
    ),
    _accepted("WebP", "a lossless WebP", webp, "accepted as it is", (160, 120)),
    Kind(
        "1-pixel PNG",
        "image",
        "a PNG of 1x1 pixels",
        build=one_pixel_png,
        api=Refused(422, "no_face_found", "no face was found"),
        web=Refused(422, "no_face_found", "no face was found"),
        cli=Refused(2, "no_face_found", "no face was found"),
    ),
    _accepted(
        "greyscale JPEG", "a JPEG of mode L", grey_jpeg, "accepted, converted to RGB", (160, 120)
    ),
    _accepted(
        "palette PNG", "a PNG of mode P", palette_png, "accepted, converted to RGB", (160, 120)
    ),
    _accepted(
        "PNG with alpha",
        "an RGBA PNG, transparent at one side",
        alpha_png,
        "accepted, composed on white",
        (160, 120),
    ),
    # -- requests: control characters ----------------------------------------------------------
    _form_kind(
        "NUL in the case number",
        "case_number BPD\\x00-1",
        {"case_number": "BPD\x00-1"},
        400,
        "case_number must be printable text: it holds U+0000",
        cli=NO_NUL_CLI,
    ),
    _form_kind(
        "escape in the case number",
        "case_number with an ANSI colour escape",
        {"case_number": "BPD-\x1b[31m1"},
        400,
        "case_number must be printable text: it holds U+001B",
    ),
    _form_kind(
        "bidi override in the narrative",
        "narrative with U+202E",
        {"narrative": "Armed robbery of a store; the clerk \u202ephotographed the suspect there."},
        400,
        "it holds U+202E (RIGHT-TO-LEFT OVERRIDE), a bidirectional-text control",
    ),
    _form_kind(
        "control character in a gallery name",
        "galleries people\\x07",
        {"galleries": "people\x07"},
        400,
        "galleries must be printable text: it holds U+0007",
    ),
    # -- requests: huge fields -------------------------------------------------------------------
    _form_kind(
        "huge case number",
        "a case number of 5000 characters",
        {"case_number": "C" * 5000},
        400,
        "case_number is 5000 characters long; at most 100 are taken",
        api=Refused(422, INPUT, "case_number: String should have at most 100 characters"),
    ),
    _form_kind(
        "huge narrative",
        "a narrative of 50000 characters",
        {"narrative": "The suspect left the store. " * 1786},
        400,
        "characters long; at most 10000 are taken",
        api=Refused(422, INPUT, "narrative: String should have at most 10000 characters"),
    ),
    # -- requests: dates -------------------------------------------------------------------------
    _form_kind(
        "order issued in year 1",
        "issued_on 0001-01-01",
        {"issued_on": "0001-01-01"},
        400,
        "legal_basis.issued_on 0001-01-01 is before 2000-01-01",
    ),
    _form_kind(
        "order expiring in year 9999",
        "expires_on 9999-12-31",
        {"expires_on": "9999-12-31"},
        400,
        "expires_on 9999-12-31 is more than 5 years after issued_on",
    ),
    _form_kind(
        "malformed date",
        "issued_on 2026-13-45",
        {"issued_on": "2026-13-45"},
        400,
        "issued_on must be a date (YYYY-MM-DD); got '2026-13-45'",
    ),
    _form_kind(
        "emergency declared in year 9999",
        "an emergency with declared_at 9999-12-31T00:00:00+00:00",
        {
            "legal_basis_kind": "emergency",
            "facts": "A child was taken an hour ago.",
            "declared_at": "9999-12-31T00:00:00+00:00",
        },
        400,
        "declared_at 9999-12-31T00:00:00+00:00 is in the future",
    ),
    _form_kind(
        "malformed emergency time",
        "an emergency with declared_at 'yesterday'",
        {
            "legal_basis_kind": "emergency",
            "facts": "A child was taken an hour ago.",
            "declared_at": "yesterday",
        },
        400,
        "legal_basis.declared_at must be an ISO 8601 time; got 'yesterday'",
    ),
    # -- requests: wrong types and numbers out of range -----------------------------------------
    _form_kind(
        "candidate count not a number",
        "max_candidates 'many'",
        {"max_candidates": "many"},
        400,
        "max_candidates must be a whole number; got 'many'",
        api=Refused(422, INPUT, "max_candidates: Input should be a valid integer"),
        cli=Refused(
            2, USAGE, "Invalid value for '--max-candidates': Input should be a valid integer"
        ),
    ),
    _form_kind(
        "candidate count of 2^63",
        f"max_candidates {TOO_BIG_ID}",
        {"max_candidates": TOO_BIG_ID},
        400,
        f"max_candidates must be a whole number from 0 to {MAX_ID}",
        api=Refused(422, INPUT, f"max_candidates: Input should be less than or equal to {MAX_ID}"),
    ),
    _form_kind(
        "negative candidate count",
        "max_candidates -5",
        {"max_candidates": "-5"},
        400,
        f"max_candidates must be a whole number from 0 to {MAX_ID}",
        api=Refused(422, INPUT, "max_candidates: Input should be greater than or equal to 1"),
    ),
    _form_kind(
        "candidate count over the cap",
        "max_candidates 1000 (the profile caps it)",
        {"max_candidates": "1000"},
        400,
        "max_candidates must be from 1 to",
    ),
    _form_kind(
        "negative face index",
        "face_index -1",
        {"face_index": "-1"},
        400,
        f"face_index must be a whole number from 0 to {MAX_ID}",
        api=Refused(422, INPUT, "face_index: Input should be greater than or equal to 0"),
        cli=Refused(
            2, USAGE, "Invalid value for '--face': Input should be greater than or equal to 0"
        ),
    ),
    _form_kind(
        "face index the photo lacks",
        "face_index 5 for a photo of one face",
        {"face_index": "5"},
        400,
        "there is no face 5 in the photo",
    ),
    _form_kind(
        "attestation not a yes/no",
        "attested 'maybe'",
        {"attested": "maybe"},
        400,
        "attested is a checkbox: it is sent as 'yes' when ticked",
        api=Refused(422, INPUT, "attested: Input should be a valid boolean"),
        cli=Refused(2, USAGE, "Option '--attest' does not take a value"),
    ),
    # -- requests: unknown choices and missing fields --------------------------------------------
    _form_kind(
        "unknown probe source",
        "probe_source 'telepathy'",
        {"probe_source": "telepathy"},
        400,
        "probe_source must be one of",
        api=Refused(422, INPUT, "probe_source: Input should be"),
    ),
    _form_kind(
        "unknown purpose",
        "purpose 'curiosity'",
        {"purpose": "curiosity"},
        400,
        "purpose must be one of",
        api=Refused(422, INPUT, "purpose: Input should be"),
    ),
    _form_kind(
        "unknown legal basis",
        "legal_basis_kind 'hunch'",
        {"legal_basis_kind": "hunch"},
        400,
        "legal_basis_kind must be one of",
        api=Refused(422, INPUT, "legal_basis_kind: Input should be"),
    ),
    _form_kind(
        "unknown described sex",
        "described_sex 'robot'",
        {"described_sex": "robot"},
        400,
        "described_sex must be one of",
        api=Refused(422, INPUT, "described_sex: Input should be"),
    ),
    _form_kind(
        "unknown offence code",
        "offence_code 'jaywalking-on-mars'",
        {"offence_code": "jaywalking-on-mars"},
        400,
        "is not in the massachusetts offence catalogue",
    ),
    _form_kind(
        "missing case number",
        "no case_number field",
        {"case_number": None},
        400,
        "case_number is required",
        api=Refused(422, INPUT, "case_number: Field required"),
        cli=Refused(2, USAGE, "Missing option '--case'"),
    ),
    Kind(
        "missing probe",
        "request",
        "no probe part",
        changes={"probe": None},
        api=Refused(422, INPUT, "probe: Field required"),
        web=Refused(400, INPUT, "Choose the probe photo to upload"),
        cli=Refused(2, USAGE, "Missing option '--probe'"),
    ),
    _form_kind(
        "no gallery",
        "no galleries field",
        {"galleries": None},
        400,
        "Name at least one gallery to search",
        api=Refused(422, INPUT, "galleries: Field required"),
        cli=Refused(2, USAGE, "Missing option '--gallery'"),
    ),
    _form_kind(
        "unknown gallery",
        "galleries 'nowhere'",
        {"galleries": "nowhere"},
        404,
        "No gallery named 'nowhere'",
        api=Refused(404, "not_found", "No gallery named 'nowhere'"),
        web=Refused(404, "not_found", "No gallery named 'nowhere'"),
        cli=Refused(2, "not_found", "No gallery named 'nowhere'"),
    ),
    # -- requests: malformed requests ------------------------------------------------------------
    Kind(
        "two probe parts",
        "request",
        "a multipart form with two probe files",
        shape=Shape.DUPLICATE_PART,
        value="probe",
        api=Refused(422, INPUT, "The form sends probe more than once"),
        web=Refused(422, INPUT, "The form sends probe more than once"),
        cli=NO_PARTS_CLI,
    ),
    Kind(
        "two case-number parts",
        "request",
        "a multipart form with case_number twice",
        shape=Shape.DUPLICATE_PART,
        value="case_number",
        api=Refused(422, INPUT, "The form sends case_number more than once"),
        web=Refused(422, INPUT, "The form sends case_number more than once"),
        cli=NO_PARTS_CLI,
    ),
    Kind(
        "JSON instead of a form",
        "request",
        "the form's fields as a JSON object",
        shape=Shape.JSON_BODY,
        api=Refused(422, INPUT, "Field required"),
        web=Refused(403, "csrf_rejected", "did not come from your current session"),
        cli=NotApplicable("the CLI takes options, not a request body"),
    ),
    Kind(
        "damaged kept photo",
        "request",
        "the face picker's kept photo as invalid base64",
        shape=Shape.KEPT_PROBE,
        value="not base64 at all!",
        api=NotApplicable("only the web face picker keeps a photo between attempts"),
        web=Refused(400, INPUT, "The kept probe photo is damaged"),
        cli=NotApplicable("only the web face picker keeps a photo between attempts"),
    ),
    Kind(
        "slow body",
        "request",
        "a filing whose body stalls after its first bytes",
        shape=Shape.SLOW_BODY,
        api=Refused(408, "body_timeout", "The request body was not sent in time"),
        web=Refused(408, "", "Too slow: The request body was not sent in time"),
        cli=NO_SLOW_CLI,
    ),
    Kind(
        "oversize body",
        "request",
        "a filing declaring a Content-Length over the limit",
        shape=Shape.OVERSIZE_BODY,
        api=Refused(413, UNUSABLE, "The upload is over the limit"),
        web=Refused(413, "", "Too large: The upload is over the limit"),
        cli=NotApplicable("the CLI sends no body; a file over the limit is the byte-limit kind"),
    ),
    # -- requests: ids, limits and offsets -------------------------------------------------------
    Kind(
        "request id of 2^63",
        "request",
        f"request number {TOO_BIG_ID}",
        shape=Shape.SHOW,
        value=TOO_BIG_ID,
        api=Refused(422, INPUT, "request_id: Input should be less than or equal to"),
        web=Refused(400, INPUT, "not valid: request_id"),
        cli=Refused(2, INPUT, "request_id must be a whole number from 1 to"),
    ),
    Kind(
        "request id 0",
        "request",
        "request number 0",
        shape=Shape.SHOW,
        value="0",
        api=Refused(422, INPUT, "request_id: Input should be greater than or equal to 1"),
        web=Refused(400, INPUT, "not valid: request_id"),
        cli=Refused(2, INPUT, "request_id must be a whole number from 1 to"),
    ),
    Kind(
        "offset of 2^63",
        "request",
        f"a request list from offset (web: page) {TOO_BIG_ID}",
        shape=Shape.LIST_OFFSET,
        value=TOO_BIG_ID,
        api=Refused(422, INPUT, "offset: Input should be less than or equal to"),
        web=Refused(400, INPUT, "not valid: page"),
        cli=Refused(2, INPUT, "offset must be a whole number from 0 to"),
    ),
    Kind(
        "negative limit",
        "request",
        "a request list of -1 items",
        shape=Shape.LIST_LIMIT,
        value="-1",
        api=Refused(422, INPUT, "limit: Input should be greater than or equal to 1"),
        web=NotApplicable("the list page has a fixed page size"),
        cli=Refused(2, INPUT, "limit must be"),
    ),
)


# -- the README table -------------------------------------------------------------------------

_INTERFACE_NAMES = {"api": "API", "web": "web", "cli": "CLI"}


def _cell(outcome: Outcome, interface: str) -> str:
    if isinstance(outcome, NotApplicable):
        return f"n/a: {outcome.reason}"
    if isinstance(outcome, Accepted):
        return f"{outcome.status} ({FILED})" if interface != "cli" else f"exit 0 ({FILED})"
    return f"exit {outcome.status}" if interface == "cli" else str(outcome.status)


def _label(outcome: Refused | Accepted) -> str:
    """The error code (and an image's cause) of a refusal, or an acceptance's note."""
    if isinstance(outcome, Accepted):
        return outcome.note
    code = f"`{outcome.code}`" if outcome.code else "(text page)"
    return f"{code} (`{outcome.cause}`)" if outcome.cause else code


def _codes(kind: Kind) -> str:
    found: dict[str, list[str]] = {}
    for interface, outcome in kind.outcomes().items():
        if not isinstance(outcome, NotApplicable):
            found.setdefault(_label(outcome), []).append(_INTERFACE_NAMES[interface])
    if len(found) == 1:
        return next(iter(found))
    return "; ".join(f"{', '.join(where)}: {label}" for label, where in found.items())


def readme_table() -> str:
    """The README's corpus table (kind | sent | API, web and CLI status | error code), one row
    per kind, in :data:`KINDS` order."""
    lines = [
        "| kind | sent | API status | web status | CLI status | error code |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind in KINDS:
        cells = [_cell(outcome, i) for i, outcome in kind.outcomes().items()]
        sent = kind.sent.replace("|", "\\|")
        lines.append(f"| {kind.name} | {sent} | {' | '.join(cells)} | {_codes(kind)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(readme_table(), end="")
