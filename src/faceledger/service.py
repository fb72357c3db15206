"""The FaceLedger facade: one method per use case, one transaction each.

Every interface (CLI, REST API, web pages) calls this layer and nothing below it. Each state
change is written in one database transaction together with its ledger entry; vector index
files are updated only after that transaction commits (and are rebuilt from the database if a
crash leaves them behind).
"""

from __future__ import annotations

import datetime as dt
import getpass
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from faceledger.biometrics.image import DecodedImage, decode_image, read_image_file
from faceledger.biometrics.pipeline import Face, FacePipeline
from faceledger.config import Settings
from faceledger.db import Database, utcnow
from faceledger.errors import (
    InvalidImage,
    InvalidInput,
    MultipleFaces,
    NoFaceFound,
    NotFound,
    NotInitialised,
    PoorQuality,
)
from faceledger.gallery import store
from faceledger.gallery.analysis import PhotoAnalysis, analyse_photos
from faceledger.gallery.index import IndexStore
from faceledger.gallery.search import ProbeFace, rank_candidates, similarity
from faceledger.gallery.sources import EnrolItem
from faceledger.ledger import Ledger, default_log_id, generate_keys, load_signing_key

KEYS_DIR = "keys"
PRIVATE_KEY_FILE = "ledger_private_key.pem"
PUBLIC_KEY_FILE = "ledger_public_key.pem"
ENROL_BATCH = 64


def local_actor() -> str:
    """Return the actor name for commands run by the local operating-system user."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"


@dataclass
class EnrolSummary:
    """What a bulk enrolment did, photo by photo."""

    gallery: str
    enrolled: int = 0
    duplicates_skipped: int = 0
    no_face: list[str] = field(default_factory=list)
    multiple_faces: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    new_subjects: int = 0

    @property
    def total(self) -> int:
        """Photos considered."""
        return (
            self.enrolled
            + self.duplicates_skipped
            + len(self.no_face)
            + len(self.multiple_faces)
            + len(self.rejected)
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data."""
        return {
            "gallery": self.gallery,
            "total": self.total,
            "enrolled": self.enrolled,
            "new_subjects": self.new_subjects,
            "duplicates_skipped": self.duplicates_skipped,
            "no_face": self.no_face,
            "multiple_faces": self.multiple_faces,
            "rejected": [{"path": p, "reason": r} for p, r in self.rejected],
        }


@dataclass(frozen=True)
class SearchResult:
    """A 1:N search of one probe photo."""

    probe_sha256: str
    galleries: tuple[str, ...]
    threshold: float
    top_k: int
    faces: tuple[ProbeFace, ...]
    models: dict[str, dict[str, str]]
    started_at: dt.datetime
    finished_at: dt.datetime
    ledger_seq: int

    @property
    def candidate_count(self) -> int:
        """Candidates over every searched face."""
        return sum(len(f.candidates) for f in self.faces)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {
            "probe_sha256": self.probe_sha256,
            "galleries": list(self.galleries),
            "threshold": self.threshold,
            "top_k": self.top_k,
            "models": self.models,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "ledger_seq": self.ledger_seq,
            "faces": [f.to_dict() for f in self.faces],
        }


@dataclass(frozen=True)
class VerifyResult:
    """A 1:1 comparison of the faces in two photos."""

    sha256_a: str
    sha256_b: str
    distance: float
    similarity: float
    threshold: float
    ledger_seq: int

    @property
    def above_threshold(self) -> bool:
        """True when the distance is within the threshold (a possible same person)."""
        return self.distance <= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {
            "sha256_a": self.sha256_a,
            "sha256_b": self.sha256_b,
            "distance": round(self.distance, 4),
            "similarity": round(self.similarity, 4),
            "threshold": self.threshold,
            "above_threshold": self.above_threshold,
            "ledger_seq": self.ledger_seq,
        }


class FaceLedger:
    """The service: every use case of faceledger, each in one transaction with its record."""

    def __init__(self, settings: Settings, pipeline: FacePipeline | None = None) -> None:
        self.settings = settings
        private_key = settings.data_dir / KEYS_DIR / PRIVATE_KEY_FILE
        if not private_key.exists():
            raise NotInitialised(
                f"{settings.data_dir} is not a faceledger data directory; run `faceledger init`.",
                data_dir=str(settings.data_dir),
            )
        self.db = Database(settings.db_url)
        self.db.require_current()
        self.pipeline = pipeline or FacePipeline.from_settings(settings)
        self.indexes = IndexStore(settings.data_dir / "index", self.pipeline.embedder.dimension)
        signing_key = load_signing_key(private_key)
        self.ledger = Ledger(
            signing_key,
            log_id=settings.ledger_log_id or default_log_id(signing_key),
            checkpoint_every_entries=settings.checkpoint_every_entries,
            checkpoint_every_minutes=settings.checkpoint_every_minutes,
        )

    # -- setup ------------------------------------------------------------------------------

    @classmethod
    def initialise(cls, settings: Settings, actor: str) -> FaceLedger:
        """Create (or bring up to date) the data directory, database schema and ledger keys."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.db_url)
        try:
            database.upgrade()
        finally:
            database.dispose()
        keys_dir = settings.data_dir / KEYS_DIR
        created = not (keys_dir / PRIVATE_KEY_FILE).exists()
        if created:
            generate_keys(keys_dir)
        service = cls(settings)
        if created:
            with service.db.transaction() as session:
                service.ledger.append(
                    session,
                    actor=actor,
                    action="system.init",
                    object_type="system",
                    object_id="faceledger",
                    payload={"schema": service.db.head_revision() or ""},
                )
        return service

    @property
    def public_key_path(self) -> Path:
        """Where the ledger's public key (PEM) is."""
        return self.settings.data_dir / KEYS_DIR / PUBLIC_KEY_FILE

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()

    # -- galleries ----------------------------------------------------------------------------

    def create_gallery(self, actor: str, name: str, description: str = "") -> store.GallerySummary:
        """Create an empty gallery."""
        with self.db.transaction() as session:
            gallery = store.create_gallery(session, name, description)
            self.ledger.append(
                session,
                actor=actor,
                action="gallery.create",
                object_type="gallery",
                object_id=name,
                payload={"name": name, "description": description},
            )
            return store.GallerySummary(gallery.id, name, description, 0, 0, 0)

    def list_galleries(self) -> list[store.GallerySummary]:
        """Return every gallery with its counts."""
        with self.db.read() as session:
            return store.summaries(session)

    def gallery_detail(self, name: str) -> dict[str, Any]:
        """Return a gallery's counts and its subjects with their photos."""
        with self.db.read() as session:
            gallery = store.get_gallery(session, name)
            summary = next(s for s in store.summaries(session) if s.id == gallery.id)
            return {**summary.to_dict(), "subjects": store.subjects_of(session, gallery)}

    def enroll(
        self,
        actor: str,
        gallery_name: str,
        items: Sequence[EnrolItem],
        progress: Callable[[PhotoAnalysis | None], None] | None = None,
        create_gallery: bool = True,
    ) -> EnrolSummary:
        """Enrol photos: one face each, idempotent by photo SHA-256, using every core.

        Photos with no face, several faces, an unusable face or an unreadable file are skipped
        and listed in the summary with the reason. Each enrolled photo gets a ledger entry in the
        same transaction as its records.
        """
        with self.db.transaction() as session:
            try:
                store.get_gallery(session, gallery_name)
            except NotFound:
                if not create_gallery:
                    raise
                store.create_gallery(session, gallery_name)
                self.ledger.append(
                    session,
                    actor=actor,
                    action="gallery.create",
                    object_type="gallery",
                    object_id=gallery_name,
                    payload={"name": gallery_name, "description": ""},
                )
        summary = EnrolSummary(gallery=gallery_name)
        pending: list[tuple[EnrolItem, PhotoAnalysis]] = []
        by_path = {item.path: item for item in items}
        for analysis in analyse_photos([i.path for i in items], self.settings, self.pipeline):
            item = by_path[analysis.path]
            if progress:
                progress(analysis)
            if analysis.error_message is not None:
                summary.rejected.append((str(item.path), analysis.error_message))
            elif not analysis.faces:
                summary.no_face.append(str(item.path))
            elif len(analysis.faces) > 1:
                summary.multiple_faces.append(str(item.path))
            elif analysis.faces[0].problems:
                summary.rejected.append((str(item.path), "; ".join(analysis.faces[0].problems)))
            else:
                pending.append((item, analysis))
            if len(pending) >= ENROL_BATCH:
                self._enrol_batch(actor, gallery_name, pending, summary)
                pending = []
        if pending:
            self._enrol_batch(actor, gallery_name, pending, summary)
        return summary

    def _enrol_batch(
        self,
        actor: str,
        gallery_name: str,
        batch: list[tuple[EnrolItem, PhotoAnalysis]],
        summary: EnrolSummary,
    ) -> None:
        model = self.pipeline.embedder.model
        added_ids: list[int] = []
        added_vectors: list[Any] = []
        with self.db.transaction() as session:
            gallery = store.get_gallery(session, gallery_name)
            known = store.known_hashes(session, gallery.id, (a.sha256 or "" for _, a in batch))
            for item, analysis in batch:
                assert analysis.sha256 is not None
                if analysis.sha256 in known:
                    summary.duplicates_skipped += 1
                    continue
                known.add(analysis.sha256)
                face = analysis.faces[0]
                subject, new = store.get_or_create_subject(
                    session, gallery, item.external_id, item.display_name
                )
                summary.new_subjects += int(new)
                photo, template = store.add_photo(
                    session,
                    gallery,
                    subject,
                    sha256=analysis.sha256,
                    source_uri=str(item.path),
                    provenance=item.provenance,
                    image_format=analysis.image_format,
                    width=analysis.width,
                    height=analysis.height,
                    face=face,
                    model=model,
                )
                self.ledger.append(
                    session,
                    actor=actor,
                    action="gallery.enroll",
                    object_type="photo",
                    object_id=str(photo.id),
                    payload={
                        "gallery": gallery.name,
                        "subject": subject.external_id,
                        "photo_sha256": photo.sha256,
                        "template_id": template.id,
                        "model": model.to_dict(),
                        "quality": face.quality.to_dict(),
                    },
                )
                added_ids.append(template.id)
                added_vectors.append(face.unit_embedding)
                summary.enrolled += 1
            if not added_ids:
                return
            gallery_id = gallery.id
            old, new_generation = store.bump_generation(session, gallery)
        self.indexes.apply(
            gallery_id,
            old,
            new_generation,
            self._loader(gallery_id),
            add=(np.array(added_ids, dtype=np.int64), np.vstack(added_vectors)),
        )

    def delete_subject(self, actor: str, gallery_name: str, external_id: str) -> dict[str, Any]:
        """Delete a subject with every photo and template; they leave the index too."""
        with self.db.transaction() as session:
            gallery = store.get_gallery(session, gallery_name)
            subject = store.get_subject(session, gallery, external_id)
            template_ids = store.subject_template_ids(session, subject)
            photo_hashes = sorted(p.sha256 for p in subject.photos)
            session.delete(subject)
            old, new = store.bump_generation(session, gallery)
            self.ledger.append(
                session,
                actor=actor,
                action="gallery.delete_subject",
                object_type="subject",
                object_id=f"{gallery_name}/{external_id}",
                payload={
                    "gallery": gallery_name,
                    "subject": external_id,
                    "photo_sha256s": photo_hashes,
                    "template_ids": template_ids,
                },
            )
            gallery_id = gallery.id
        self.indexes.apply(gallery_id, old, new, self._loader(gallery_id), remove=template_ids)
        return {
            "gallery": gallery_name,
            "subject": external_id,
            "photos": len(photo_hashes),
            "templates": len(template_ids),
        }

    def delete_photo(self, actor: str, gallery_name: str, photo_id: int) -> dict[str, Any]:
        """Delete one photo and its templates; they leave the index too."""
        with self.db.transaction() as session:
            gallery = store.get_gallery(session, gallery_name)
            photo = store.get_photo(session, gallery, photo_id)
            template_ids = store.photo_template_ids(session, photo)
            sha256 = photo.sha256
            session.delete(photo)
            old, new = store.bump_generation(session, gallery)
            self.ledger.append(
                session,
                actor=actor,
                action="gallery.delete_photo",
                object_type="photo",
                object_id=str(photo_id),
                payload={
                    "gallery": gallery_name,
                    "photo_sha256": sha256,
                    "template_ids": template_ids,
                },
            )
            gallery_id = gallery.id
        self.indexes.apply(gallery_id, old, new, self._loader(gallery_id), remove=template_ids)
        return {"gallery": gallery_name, "photo_id": photo_id, "templates": len(template_ids)}

    def reindex(self, gallery_name: str) -> int:
        """Rebuild a gallery's vector index from the database; return the vector count."""
        with self.db.read() as session:
            gallery = store.get_gallery(session, gallery_name)
            gallery_id, generation = gallery.id, gallery.generation
        return len(self.indexes.rebuild(gallery_id, generation, self._loader(gallery_id)))

    def _loader(self, gallery_id: int) -> Callable[[], Any]:
        def load() -> Any:
            with self.db.read() as session:
                return store.load_vectors(session, gallery_id, self.pipeline.embedder.dimension)

        return load

    # -- search and verify ----------------------------------------------------------------

    def decode(self, data: bytes | Path, name: str = "probe") -> DecodedImage:
        """Decode an uploaded image or an image file under the configured limits."""
        if isinstance(data, Path):
            return read_image_file(
                data, self.settings.max_image_pixels, self.settings.max_image_bytes
            )
        if len(data) > self.settings.max_image_bytes:
            raise InvalidImage(
                f"{name}: {len(data)} bytes is over the limit of "
                f"{self.settings.max_image_bytes} bytes.",
                source=name,
            )
        return decode_image(data, self.settings.max_image_pixels, name=name)

    def _faces(self, image: DecodedImage, name: str) -> list[Face]:
        faces = self.pipeline.analyse(image)
        if not faces:
            raise NoFaceFound(f"{name}: no face was found in the image.", sha256=image.sha256)
        if all(f.problems for f in faces):
            reasons = [f"face {f.index + 1}: {'; '.join(f.problems)}" for f in faces]
            raise PoorQuality(
                f"{name}: no usable face ({' | '.join(reasons)}).",
                sha256=image.sha256,
                reasons=reasons,
            )
        return faces

    def search(
        self,
        actor: str,
        probe: bytes | Path,
        galleries: Sequence[str] = (),
        top_k: int | None = None,
        name: str | None = None,
    ) -> SearchResult:
        """Search every usable face of a probe photo against the galleries (all if none given).

        Raises:
            InvalidImage, NoFaceFound, PoorQuality: for a probe that cannot be searched; nothing
                is recorded then.
            NotFound: for an unknown gallery.
            InvalidInput: for a candidate list length outside 1..max_top_k.
        """
        started = utcnow()
        k = self.settings.top_k if top_k is None else top_k
        if not 1 <= k <= self.settings.max_top_k:
            raise InvalidInput(
                f"Candidate list length must be between 1 and {self.settings.max_top_k}, got {k}.",
                top_k=k,
            )
        name = name or (probe.name if isinstance(probe, Path) else "probe")
        image = self.decode(probe, name)
        faces = self._faces(image, name)
        threshold = self.settings.match_threshold
        with self.db.read() as session:
            targets = self._targets(session, galleries)
        usable = [f for f in faces if not f.problems]
        queries = np.vstack([f.unit_embedding for f in usable])
        hits_per_face: list[list[Any]] = [[] for _ in usable]
        for gallery_id, generation, _ in targets:
            index = self.indexes.get(gallery_id, generation, self._loader(gallery_id))
            # Several templates of one subject may crowd the list; over-fetch, then dedupe.
            for i, hits in enumerate(index.search(queries, k * 4)):
                hits_per_face[i].extend(hits)
        with self.db.transaction() as session:
            refs = store.template_refs(
                session, (h.template_id for hits in hits_per_face for h in hits)
            )
            ranked = iter([rank_candidates(h, refs, k, threshold) for h in hits_per_face])
            probe_faces = tuple(
                ProbeFace(f.index, f.box, f.quality, f.problems, () if f.problems else next(ranked))
                for f in faces
            )
            finished = utcnow()
            entry = self.ledger.append(
                session,
                actor=actor,
                action="search.run",
                object_type="probe",
                object_id=image.sha256,
                payload={
                    "probe_sha256": image.sha256,
                    "galleries": [name for _, _, name in targets],
                    "models": {k2: m.to_dict() for k2, m in self.pipeline.models.items()},
                    "threshold_micro": round(threshold * 1_000_000),
                    "top_k": k,
                    "started_at": started.isoformat(),
                    "finished_at": finished.isoformat(),
                    "faces": [
                        {
                            "index": f.index,
                            "box": f.box.to_dict(),
                            "problems": list(f.problems),
                            "candidates": [c.to_record() for c in f.candidates],
                        }
                        for f in probe_faces
                    ],
                },
            )
        return SearchResult(
            probe_sha256=image.sha256,
            galleries=tuple(name for _, _, name in targets),
            threshold=threshold,
            top_k=k,
            faces=probe_faces,
            models={k2: m.to_dict() for k2, m in self.pipeline.models.items()},
            started_at=started,
            finished_at=finished,
            ledger_seq=entry.seq,
        )

    def _targets(self, session: Session, names: Sequence[str]) -> list[tuple[int, int, str]]:
        if names:
            chosen = [store.get_gallery(session, n) for n in dict.fromkeys(names)]
        else:
            chosen = [store.get_gallery(session, s.name) for s in store.summaries(session)]
        if not chosen:
            raise InvalidInput("There is no gallery to search; enrol photos first.")
        return [(g.id, g.generation, g.name) for g in chosen]

    def verify(
        self,
        actor: str,
        first: bytes | Path,
        second: bytes | Path,
        names: tuple[str, str] | None = None,
    ) -> VerifyResult:
        """Compare the single faces of two photos (1:1).

        Raises:
            InvalidImage, NoFaceFound, PoorQuality: for an unusable photo.
            MultipleFaces: if either photo shows more than one face.
        """
        if names is None:
            names = (
                first.name if isinstance(first, Path) else "first photo",
                second.name if isinstance(second, Path) else "second photo",
            )
        faces = []
        hashes = []
        for data, name in zip((first, second), names, strict=True):
            image = self.decode(data, name)
            found = self._faces(image, name)
            if len(found) > 1:
                raise MultipleFaces(
                    f"{name}: {len(found)} faces found; 1:1 verification needs exactly one.",
                    faces=len(found),
                )
            faces.append(found[0])
            hashes.append(image.sha256)
        distance = float(np.linalg.norm(faces[0].unit_embedding - faces[1].unit_embedding))
        threshold = self.settings.match_threshold
        with self.db.transaction() as session:
            entry = self.ledger.append(
                session,
                actor=actor,
                action="verify.run",
                object_type="probe_pair",
                object_id=f"{hashes[0]}:{hashes[1]}",
                payload={
                    "sha256_a": hashes[0],
                    "sha256_b": hashes[1],
                    "distance_micro": round(distance * 1_000_000),
                    "threshold_micro": round(threshold * 1_000_000),
                    "model": self.pipeline.embedder.model.to_dict(),
                },
            )
        return VerifyResult(
            hashes[0], hashes[1], distance, similarity(distance), threshold, entry.seq
        )

    def reset_index_files(self) -> None:
        """Delete every index file; they are rebuilt from the database on next use."""
        shutil.rmtree(self.settings.data_dir / "index", ignore_errors=True)
