"""Gallery records: the queries and changes on galleries, subjects, photos and templates.

Functions take an open session and never commit: the service layer owns the transaction, so
each change lands together with its ledger entry or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from faceledger.biometrics.crops import jpeg
from faceledger.biometrics.models import ModelInfo
from faceledger.biometrics.pipeline import Face, normalise
from faceledger.errors import Conflict, InvalidInput, ModelMismatch, NotFound
from faceledger.gallery.index import VectorChunk
from faceledger.gallery.models import Gallery, Photo, Subject, Template
from faceledger.gallery.search import TemplateRef

GALLERY_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class GallerySummary:
    """A gallery and its counts."""

    id: int
    name: str
    description: str
    subjects: int
    photos: int
    templates: int
    model: str | None = None  # the embedding model of every template (None while empty)
    activation_id: int | None = None  # the deployment gate's current activation

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data."""
        return dict(self.__dict__)


def get_gallery(session: Session, name: str) -> Gallery:
    """Return the gallery called ``name``.

    Raises:
        NotFound: if there is none.
    """
    gallery = session.scalar(select(Gallery).where(Gallery.name == name))
    if gallery is None:
        known = session.scalars(select(Gallery.name).order_by(Gallery.name)).all()
        raise NotFound(
            f"No gallery named {name!r}." + (f" Known: {', '.join(known)}." if known else ""),
            gallery=name,
        )
    return gallery


def create_gallery(session: Session, name: str, description: str = "") -> Gallery:
    """Create a gallery.

    Raises:
        InvalidInput: for a name that is not lowercase letters, digits, '.', '_' or '-'.
        Conflict: if the name is taken.
    """
    if not GALLERY_NAME.match(name):
        raise InvalidInput(
            f"Gallery name {name!r} is not allowed: use 1-100 lowercase letters, digits, "
            "'.', '_' or '-', starting with a letter or digit.",
            gallery=name,
        )
    if session.scalar(select(Gallery.id).where(Gallery.name == name)) is not None:
        raise Conflict(f"A gallery named {name!r} already exists.", gallery=name)
    gallery = Gallery(name=name, description=description)
    session.add(gallery)
    session.flush()
    return gallery


def get_or_create_subject(
    session: Session, gallery: Gallery, external_id: str, display_name: str
) -> tuple[Subject, bool]:
    """Return the subject with ``external_id`` in ``gallery``, creating it if new."""
    subject = session.scalar(
        select(Subject).where(Subject.gallery_id == gallery.id, Subject.external_id == external_id)
    )
    if subject is not None:
        return subject, False
    subject = Subject(gallery_id=gallery.id, external_id=external_id, display_name=display_name)
    session.add(subject)
    session.flush()
    return subject, True


def get_subject(session: Session, gallery: Gallery, external_id: str) -> Subject:
    """Return a subject of ``gallery`` by external id.

    Raises:
        NotFound: if the gallery has no such subject.
    """
    subject = session.scalar(
        select(Subject).where(Subject.gallery_id == gallery.id, Subject.external_id == external_id)
    )
    if subject is None:
        raise NotFound(
            f"Gallery {gallery.name!r} has no subject {external_id!r}.",
            gallery=gallery.name,
            subject=external_id,
        )
    return subject


def known_hashes(session: Session, gallery_id: int, hashes: Iterable[str]) -> set[str]:
    """Return which of ``hashes`` are already enrolled in the gallery."""
    wanted = list(set(hashes))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            session.scalars(
                select(Photo.sha256).where(
                    Photo.gallery_id == gallery_id, Photo.sha256.in_(wanted[start : start + 500])
                )
            )
        )
    return found


def add_photo(
    session: Session,
    gallery: Gallery,
    subject: Subject,
    *,
    sha256: str,
    source_uri: str,
    provenance: dict[str, str],
    image_format: str,
    width: int,
    height: int,
    face: Face,
    model: ModelInfo,
    face_choice: dict[str, Any] | None = None,
) -> tuple[Photo, Template]:
    """Record a photo of ``subject`` and the template of its face (``face_choice``: which face
    of a photo of several was taken, and why).

    Raises:
        ModelMismatch: if the gallery's templates come from another model.
    """
    adopt_model(gallery, model)
    photo = Photo(
        gallery_id=gallery.id,
        subject_id=subject.id,
        sha256=sha256,
        source_uri=source_uri,
        provenance=provenance,
        image_format=image_format,
        width=width,
        height=height,
        face_choice=face_choice,
    )
    session.add(photo)
    session.flush()
    return photo, add_template(session, photo, face, model)


def adopt_model(gallery: Gallery, model: ModelInfo) -> None:
    """Make ``model`` the gallery's model if it has none yet (its first template).

    Raises:
        ModelMismatch: if the gallery already belongs to another model; templates of two
            models are never mixed in one gallery.
    """
    if gallery.model_name is None:
        set_model(gallery, model)
        return
    if (gallery.model_name, gallery.model_version, gallery.model_sha256) != (
        model.name,
        model.version,
        model.sha256,
    ):
        raise ModelMismatch(
            f"Gallery {gallery.name!r} holds templates of the {gallery.model_name} model "
            f"({gallery.model_version}); a template of {model.name} ({model.version}) cannot "
            f"join it. Re-embed the gallery first (`faceledger gallery reembed {gallery.name} "
            "--model ...`).",
            gallery=gallery.name,
        )


def set_model(gallery: Gallery, model: ModelInfo) -> None:
    """Make ``model`` the gallery's model (its first template, or a re-embedding of all)."""
    gallery.model_name, gallery.model_version = model.name, model.version
    gallery.model_sha256 = model.sha256


def add_template(session: Session, photo: Photo, face: Face, model: ModelInfo) -> Template:
    """Record the template of ``face`` for a stored photo."""
    template = Template(
        gallery_id=photo.gallery_id,
        subject_id=photo.subject_id,
        photo_id=photo.id,
        embedding=np.asarray(face.embedding, dtype="<f4").tobytes(),
        box_left=face.box.left,
        box_top=face.box.top,
        box_right=face.box.right,
        box_bottom=face.box.bottom,
        eye_distance_px=face.quality.eye_distance_px,
        sharpness=face.quality.sharpness,
        yaw_degrees=face.quality.yaw_degrees,
        brightness=face.quality.brightness,
        model_name=model.name,
        model_version=model.version,
        model_sha256=model.sha256,
        chip_jpeg=jpeg(face.chip),
    )
    session.add(template)
    session.flush()
    return template


def template_count(session: Session, gallery_id: int) -> int:
    """Return how many templates a gallery holds."""
    count = session.scalar(select(func.count(Template.id)).where(Template.gallery_id == gallery_id))
    return count or 0


def delete_templates(session: Session, template_ids: Sequence[int]) -> None:
    """Delete templates by id (a re-embedding replaces them)."""
    for start in range(0, len(template_ids), 500):
        batch = list(template_ids[start : start + 500])
        session.execute(delete(Template).where(Template.id.in_(batch)))


def bump_generation(session: Session, gallery: Gallery) -> tuple[int, int]:
    """Mark the gallery's templates as changed; return (old, new) generation."""
    old = gallery.generation
    gallery.generation = old + 1
    session.flush()
    return old, gallery.generation


def load_vectors(
    session: Session, gallery_id: int, dimension: int, chunk_rows: int = 65_536
) -> Iterator[VectorChunk]:
    """Yield every template id of a gallery and its unit descriptor, in id order, a chunk of
    ``chunk_rows`` at a time, for rebuilding the index: one query, streamed (``yield_per``: a
    server-side cursor on PostgreSQL), each chunk's descriptors turned into numpy at once from
    their joined bytes. Each chunk carries the template count read first (for progress; another
    transaction may change it meanwhile on PostgreSQL). Consume it while ``session`` is open.

    Raises:
        InvalidInput: if a stored descriptor is not ``dimension`` float32 values.
    """
    total = template_count(session, gallery_id)
    result = session.execute(
        select(Template.id, Template.embedding)
        .where(Template.gallery_id == gallery_id)
        .order_by(Template.id)
        .execution_options(yield_per=chunk_rows)
    )
    width = 4 * dimension
    try:
        for rows in result.partitions():
            ids, blobs = zip(*rows, strict=True)
            if set(map(len, blobs)) != {width}:
                bad = next(i for i, b in zip(ids, blobs, strict=True) if len(b) != width)
                raise InvalidInput(
                    f"Template {bad} of gallery {gallery_id} does not hold a {dimension}-d "
                    "float32 descriptor; re-embed the gallery.",
                    template_id=bad,
                )
            vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(ids), dimension)
            yield VectorChunk(np.array(ids, dtype=np.int64), normalise(vectors), total)
    finally:
        result.close()


def template_refs(session: Session, template_ids: Iterable[int]) -> dict[int, TemplateRef]:
    """Return what candidate lists show about each template id that still exists."""
    ids = list(set(template_ids))
    refs: dict[int, TemplateRef] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(
                Template.id,
                Photo.id,
                Photo.sha256,
                Subject.id,
                Subject.external_id,
                Subject.display_name,
                Gallery.name,
            )
            .join(Photo, Template.photo_id == Photo.id)
            .join(Subject, Template.subject_id == Subject.id)
            .join(Gallery, Template.gallery_id == Gallery.id)
            .where(Template.id.in_(ids[start : start + 500]))
        ).all()
        for row in rows:
            refs[row[0]] = TemplateRef(*row)
    return refs


def subject_template_ids(session: Session, subject: Subject) -> list[int]:
    """Return the ids of every template of ``subject``."""
    return list(session.scalars(select(Template.id).where(Template.subject_id == subject.id)))


def get_photo(session: Session, gallery: Gallery, photo_id: int) -> Photo:
    """Return a photo of ``gallery`` by id.

    Raises:
        NotFound: if the gallery has no such photo.
    """
    photo = session.scalar(
        select(Photo).where(Photo.gallery_id == gallery.id, Photo.id == photo_id)
    )
    if photo is None:
        raise NotFound(f"Gallery {gallery.name!r} has no photo {photo_id}.", photo_id=photo_id)
    return photo


def photo_template_ids(session: Session, photo: Photo) -> list[int]:
    """Return the ids of every template of ``photo``."""
    return list(session.scalars(select(Template.id).where(Template.photo_id == photo.id)))


def summaries(session: Session) -> list[GallerySummary]:
    """Return every gallery with its subject, photo and template counts."""

    def counts(model: Any) -> dict[int, int]:
        rows = session.execute(select(model.gallery_id, func.count()).group_by(model.gallery_id))
        return {gid: n for gid, n in rows}

    subjects, photos, templates = counts(Subject), counts(Photo), counts(Template)
    return [
        GallerySummary(
            g.id,
            g.name,
            g.description,
            subjects.get(g.id, 0),
            photos.get(g.id, 0),
            templates.get(g.id, 0),
            None if g.model_name is None else f"{g.model_name} {g.model_version}",
            g.activation_id,
        )
        for g in session.scalars(select(Gallery).order_by(Gallery.name))
    ]


def subjects_of(session: Session, gallery: Gallery) -> list[dict[str, Any]]:
    """Return the subjects of a gallery with their photos."""
    result = []
    for subject in session.scalars(
        select(Subject).where(Subject.gallery_id == gallery.id).order_by(Subject.external_id)
    ):
        result.append(
            {
                "subject_id": subject.id,
                "external_id": subject.external_id,
                "display_name": subject.display_name,
                "photos": [
                    {
                        "photo_id": p.id,
                        "sha256": p.sha256,
                        "source_uri": p.source_uri,
                        "enrolled_at": p.enrolled_at.isoformat(),
                    }
                    for p in sorted(subject.photos, key=lambda p: p.id)
                ],
            }
        )
    return result
