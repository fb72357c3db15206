"""Re-embedding a gallery with another face model (``faceledger gallery reembed``).

A gallery belongs to one model, so changing model replaces every template at once. Each stored
photo is read again from its source file when the file is still there with the same SHA-256;
otherwise from the face chip kept with its template (a lower-resolution fallback, recorded as
such). The face re-embedded is the one the new detector finds at the old template's box, so a
bystander never takes the subject's place. Everything is analysed first; then one transaction
swaps the templates, writes one ledger entry per photo and one for the gallery, makes the new
model the gallery's and clears its activation (the gate must pass again for the new model).
A photo that cannot be re-embedded stops the whole change unless the caller asks for such
photos to be removed, which is recorded too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.image import decode_image, read_image_file
from faceledger.biometrics.pipeline import Face, FacePipeline
from faceledger.config import Settings
from faceledger.errors import Conflict, FaceLedgerError
from faceledger.gallery.models import Photo, Template

MIN_OVERLAP = 0.3
"""Smallest intersection-over-union between the old template's box and a new face for the two
to count as the same face."""


@dataclass(frozen=True)
class PhotoSource:
    """What the re-embedding needs to know about one stored photo."""

    photo_id: int
    sha256: str
    source_uri: str
    old_template_ids: tuple[int, ...]
    old_box: FaceBox | None
    chip_jpeg: bytes | None


@dataclass(frozen=True)
class Reembedded:
    """The new face of one photo, or why there is none."""

    source: PhotoSource
    face: Face | None
    read_from: str  # "file" or "chip"
    problem: str | None = None


@dataclass
class ReembedSummary:
    """What a re-embedding did."""

    gallery: str
    old_model: dict[str, str] | None
    new_model: dict[str, str]
    photos: int = 0
    from_file: int = 0
    from_chip: int = 0
    removed: list[tuple[int, str]] = field(default_factory=list)  # (photo id, reason)
    ledger_seq: int = -1

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data."""
        return {
            "gallery": self.gallery,
            "old_model": self.old_model,
            "new_model": self.new_model,
            "photos": self.photos,
            "from_file": self.from_file,
            "from_chip": self.from_chip,
            "removed": [{"photo_id": p, "reason": r} for p, r in self.removed],
            "ledger_seq": self.ledger_seq,
        }


def sources_of(session: Session, gallery_id: int) -> list[PhotoSource]:
    """Return every photo of a gallery with its current templates."""
    photos = session.scalars(
        select(Photo).where(Photo.gallery_id == gallery_id).order_by(Photo.id)
    ).all()
    templates: dict[int, list[Template]] = {}
    for template in session.scalars(
        select(Template).where(Template.gallery_id == gallery_id).order_by(Template.id)
    ):
        templates.setdefault(template.photo_id, []).append(template)
    found = []
    for photo in photos:
        mine = templates.get(photo.id, [])
        first = mine[0] if mine else None
        box = (
            None
            if first is None
            else FaceBox(first.box_left, first.box_top, first.box_right, first.box_bottom, 1.0)
        )
        found.append(
            PhotoSource(
                photo_id=photo.id,
                sha256=photo.sha256,
                source_uri=photo.source_uri,
                old_template_ids=tuple(t.id for t in mine),
                old_box=box,
                chip_jpeg=None if first is None else first.chip_jpeg,
            )
        )
    return found


def reembed_one(source: PhotoSource, pipeline: FacePipeline, settings: Settings) -> Reembedded:
    """Find the photo's face again with ``pipeline``: from the source file if it is unchanged,
    else from the stored chip."""
    path = Path(source.source_uri)
    if path.is_file():
        try:
            image = read_image_file(path, settings.max_image_pixels, settings.max_image_bytes)
        except FaceLedgerError:
            image = None
        if image is not None and image.sha256 == source.sha256:
            return _same_face(source, pipeline.analyse(image), "file")
    if source.chip_jpeg is None:
        return Reembedded(
            source, None, "chip", "the source file is gone or changed and no chip is stored"
        )
    faces = pipeline.analyse(decode_image(source.chip_jpeg, name="stored chip"))
    if not faces:
        return Reembedded(source, None, "chip", "the new model finds no face in the stored chip")
    return _usable(source, faces[0], "chip")  # a chip is centred on the one face


def _same_face(source: PhotoSource, faces: list[Face], read_from: str) -> Reembedded:
    if not faces:
        return Reembedded(source, None, read_from, "the new model finds no face in the photo")
    if source.old_box is None:
        return _usable(source, faces[0], read_from)
    old_box = source.old_box
    best = max(faces, key=lambda f: f.box.overlap(old_box))
    if best.box.overlap(old_box) < MIN_OVERLAP:
        return Reembedded(
            source, None, read_from, "the new model finds no face where the enrolled face was"
        )
    return _usable(source, best, read_from)


def _usable(source: PhotoSource, face: Face, read_from: str) -> Reembedded:
    if face.problems:
        return Reembedded(
            source, None, read_from, f"the new face is not usable: {'; '.join(face.problems)}"
        )
    return Reembedded(source, face, read_from)


def refuse_failures(gallery: str, failed: list[Reembedded]) -> Conflict:
    """The error for a re-embedding stopped by photos that could not be re-embedded."""
    listed = "; ".join(f"photo {r.source.photo_id}: {r.problem}" for r in failed[:10])
    more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
    return Conflict(
        f"Gallery {gallery!r} was not re-embedded: {len(failed)} photo(s) cannot be: "
        f"{listed}{more}. Nothing was changed. Re-run with --drop-failed to remove them.",
        gallery=gallery,
        failed=[r.source.photo_id for r in failed],
    )


ProgressHook = Callable[[Reembedded], None]
"""Called once per photo as it is re-analysed."""
