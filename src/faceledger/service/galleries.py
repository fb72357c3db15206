"""Gallery use cases: create, enrol, inspect, delete, reindex."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceledger.biometrics.pipeline import FacePipeline
from faceledger.errors import Conflict, InvalidInput, NotFound
from faceledger.gallery import store
from faceledger.gallery.analysis import PhotoAnalysis, analyse_photos, hash_photos
from faceledger.gallery.executors import photo_runner
from faceledger.gallery.face_choice import FaceChoice, choose_face
from faceledger.gallery.index_store import RebuildProgress
from faceledger.gallery.models import Gallery, Photo, Template
from faceledger.gallery.sources import EnrolItem
from faceledger.governance.accounts import Principal
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext
from faceledger.service.deployments import OperatingPoints, gallery_model, same_model
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.reembed import (
    ProgressHook,
    ReembedSummary,
    reembed_one,
    refuse_failures,
    sources_of,
)
from faceledger.service.results import EnrolSummary

ENROL_BATCH = 64  # photos written per transaction during bulk enrolment

EnrolProgress = Callable[[str, int, int], None]
"""Told ``(phase, done, total)`` during an enrolment; phases ``"hashing"``, ``"analysing"``."""


class GalleryUseCases:
    """Managing galleries (``gallery.manage``) and reading them (``gallery.read``); each change
    lands with its ledger entry."""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._ctx, self._access = ctx, access
        self.db, self.ledger, self.indexes = ctx.db, ctx.ledger, ctx.indexes

    def create_gallery(
        self, acting: Principal, name: str, description: str = ""
    ) -> store.GallerySummary:
        """Create an empty gallery.

        Raises:
            PermissionDenied: without ``gallery.manage`` (recorded).
            Conflict: if the name is taken.
        """

        with self._access.transaction(acting, "gallery.manage") as (session, fresh):
            gallery = self._add_gallery(session, fresh.ledger_actor, name, description)
            return store.GallerySummary(gallery.id, name, description, 0, 0, 0)

    def _add_gallery(self, session: Session, actor: str, name: str, description: str) -> Gallery:
        """Create a gallery and its ledger entry in the caller's transaction."""
        gallery = store.create_gallery(session, name, description)
        self.ledger.append(
            session,
            actor=actor,
            action=LedgerAction.GALLERY_CREATE,
            object_type="gallery",
            object_id=name,
            payload={"name": name, "description": description},
        )
        return gallery

    def list_galleries(self, acting: Principal) -> list[store.GallerySummary]:
        """Return every gallery with its counts.

        Raises:
            PermissionDenied: without ``gallery.read`` (recorded).
        """

        with self._access.transaction(acting, "gallery.read", write=False) as (session, _):
            return store.summaries(session)

    def gallery_names(self, acting: Principal) -> list[str]:
        """Return the gallery names, for a requester choosing where to search (names only).

        Raises:
            PermissionDenied: without ``gallery.names`` (recorded).
        """
        with self._access.transaction(acting, "gallery.names", write=False) as (session, _):
            return [g.name for g in store.summaries(session)]

    def gallery_detail(self, acting: Principal, name: str) -> dict[str, Any]:
        """Return a gallery's counts and its subjects with their photos.

        Raises:
            PermissionDenied: without ``gallery.read`` (recorded).
            NotFound: for an unknown gallery.
        """

        with self._access.transaction(acting, "gallery.read", write=False) as (session, _):
            gallery = store.get_gallery(session, name)
            summary = next(s for s in store.summaries(session) if s.id == gallery.id)
            return {**summary.to_dict(), "subjects": store.subjects_of(session, gallery)}

    def enroll(
        self,
        acting: Principal,
        gallery_name: str,
        items: Sequence[EnrolItem],
        progress: EnrolProgress | None = None,
        create_gallery: bool = True,
        scheduler: str | None = None,
        batch_size: int = ENROL_BATCH,
    ) -> EnrolSummary:
        """Enrol photos: one face each, idempotent by photo SHA-256, on every core or a cluster.

        1. Every file is hashed first; photos already in the gallery, and repeats of the same
           bytes within ``items``, are skipped before any decoding (``known_before_analysis``).
        2. The rest are analysed where :func:`~faceledger.gallery.executors.photo_runner`
           decides: the Dask scheduler ``scheduler`` (default: the ``dask_scheduler`` setting;
           ``""`` for none), else a LocalCluster for a large job, else this process.
        3. Results are written here as they arrive, ``batch_size`` photos per transaction, each
           photo with its ledger entry; the index follows each commit.

        Photos with no face, several faces, an unusable face or an unreadable file are skipped
        and listed in the summary with the reason. Results arrive in completion order, so new
        subjects may be created in another order than ``items`` lists them; which photos are
        enrolled, and under whom, does not depend on it. A run stopped half-way resumes when
        re-run: its committed batches are then known by hash. ``progress(phase, done, total)``
        is called as files are hashed (phase ``"hashing"``) and analysed (``"analysing"``).

        Raises:
            PermissionDenied: without ``gallery.manage`` (recorded).
            NotFound: for an unknown gallery when ``create_gallery`` is False.
            ConfigError: if the named scheduler cannot be reached (nothing is written).
            InvalidInput: if ``batch_size`` is below 1.
        """
        if batch_size < 1:
            raise InvalidInput(f"The enrolment batch size must be at least 1, not {batch_size}.")
        settings, pipeline = self._ctx.settings, self._ctx.pipeline
        model = pipeline.embedder.model
        with self._access.transaction(acting, "gallery.manage", write=False) as (session, _):
            if not create_gallery:
                store.get_gallery(session, gallery_name)  # NotFound before anything is done
        address = settings.dask_scheduler if scheduler is None else scheduler
        # Connecting first: a wrong scheduler address fails before anything is written.
        with photo_runner(settings, address) as runner:
            with self._access.transaction(acting, "gallery.manage") as (session, fresh):
                actor = fresh.ledger_actor
                try:
                    gallery = store.get_gallery(session, gallery_name)
                except NotFound:
                    if not create_gallery:
                        raise
                    gallery = self._add_gallery(session, actor, gallery_name, "")
                OperatingPoints.require_model(gallery, model)  # before any photo is analysed
                gallery_id = gallery.id
            summary = EnrolSummary(gallery=gallery_name)
            todo = self._not_yet_enrolled(gallery_id, items, summary, progress)
            by_path = {item.path: item for item in todo}
            pending: list[tuple[EnrolItem, PhotoAnalysis, FaceChoice]] = []
            ratio = settings.enrol_dominance_ratio
            if progress:
                progress("analysing", 0, len(todo))
            paths = [item.path for item in todo]
            analyses = analyse_photos(paths, settings, pipeline, runner=runner)
            for done, analysis in enumerate(analyses, start=1):
                item = by_path[analysis.path]
                if progress:
                    progress("analysing", done, len(todo))
                if analysis.error_message is not None:
                    summary.rejected.append((str(item.path), analysis.error_message))
                    continue
                choice = choose_face(analysis.faces, ratio)
                if not analysis.faces:
                    summary.no_face.append(str(item.path))
                elif choice.face is None and choice.multiple and choice.record is None:
                    summary.multiple_faces.append((str(item.path), choice.refusal or ""))
                elif choice.face is None:
                    summary.rejected.append((str(item.path), choice.refusal or ""))
                else:
                    pending.append((item, analysis, choice))
                if len(pending) >= batch_size:
                    self._enrol_batch(actor, gallery_name, pending, summary)
                    pending = []
            if pending:
                self._enrol_batch(actor, gallery_name, pending, summary)
            summary.analysed_on = runner.where
        return summary

    def _not_yet_enrolled(
        self,
        gallery_id: int,
        items: Sequence[EnrolItem],
        summary: EnrolSummary,
        progress: EnrolProgress | None,
    ) -> list[EnrolItem]:
        """Hash every file and return the items worth analysing: not in the gallery yet, and
        not a repeat of an earlier item's bytes. One lookup per chunk of hashes."""
        todo: list[EnrolItem] = []
        seen: set[str] = set()
        done = 0
        if progress:
            progress("hashing", 0, len(items))
        for hashes in hash_photos([i.path for i in items], self._ctx.settings):
            chunk = items[done : done + len(hashes)]
            with self.db.read() as session:
                known = store.known_hashes(session, gallery_id, (h for h in hashes if h))
            for item, sha256 in zip(chunk, hashes, strict=True):
                if sha256 is None:  # unreadable or too large: the analysis says which
                    todo.append(item)
                elif sha256 in known or sha256 in seen:
                    summary.known_before_analysis += 1
                    summary.duplicates_skipped += 1
                else:
                    seen.add(sha256)
                    todo.append(item)
            done += len(hashes)
            if progress:
                progress("hashing", done, len(items))
        return todo

    def _enrol_batch(
        self,
        actor: str,
        gallery_name: str,
        batch: list[tuple[EnrolItem, PhotoAnalysis, FaceChoice]],
        summary: EnrolSummary,
    ) -> None:
        model = self._ctx.pipeline.embedder.model
        added_ids: list[int] = []
        added_vectors: list[Any] = []
        with self.db.transaction() as session:
            gallery = store.get_gallery(session, gallery_name)
            known = store.known_hashes(session, gallery.id, (a.sha256 or "" for _, a, _ in batch))
            for item, analysis, choice in batch:
                assert analysis.sha256 is not None and choice.face is not None
                if analysis.sha256 in known:
                    summary.duplicates_skipped += 1
                    continue
                known.add(analysis.sha256)
                face = choice.face
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
                    face_choice=choice.record,
                )
                if choice.record is not None:
                    summary.largest_face_taken.append(str(item.path))
                self.ledger.append(
                    session,
                    actor=actor,
                    action=LedgerAction.GALLERY_ENROLL,
                    object_type="photo",
                    object_id=str(photo.id),
                    payload={
                        "gallery": gallery.name,
                        "subject": subject.external_id,
                        "photo_sha256": photo.sha256,
                        "template_id": template.id,
                        "model": model.to_dict(),
                        "quality": face.quality.to_dict(),
                        "face_choice": choice.record,
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
            self._ctx.vectors_of(gallery_id),
            add=(np.array(added_ids, dtype=np.int64), np.vstack(added_vectors)),
        )

    def delete_subject(
        self, acting: Principal, gallery_name: str, external_id: str
    ) -> dict[str, Any]:
        """Delete a subject with every photo, template and face chip; they leave the index
        too. The ``gallery.delete_subject`` entry is the proof (R13): the photo hashes and
        template ids removed and their counts; its public fields ``{"items": {category:
        count}}`` name no one. Candidate lists of past searches keep their copies until the
        results retention purges them (R12).

        Raises:
            PermissionDenied: without ``gallery.manage`` (recorded).
            NotFound: for an unknown gallery or subject.
        """
        with self._access.transaction(acting, "gallery.manage") as (session, fresh):
            actor = fresh.ledger_actor
            gallery = store.get_gallery(session, gallery_name)
            subject = store.get_subject(session, gallery, external_id)
            template_ids = store.subject_template_ids(session, subject)
            photo_hashes = sorted(p.sha256 for p in subject.photos)
            items = {"subjects": 1, "photos": len(photo_hashes)} | _template_items(
                session, template_ids
            )
            session.delete(subject)
            # Templates (with their chips) go by the database's ON DELETE CASCADE; deleted by
            # id too, so that none is left behind where foreign keys are not enforced.
            store.delete_templates(session, template_ids)
            old, new = store.bump_generation(session, gallery)
            self.ledger.append(
                session,
                actor=actor,
                action=LedgerAction.GALLERY_DELETE_SUBJECT,
                object_type="subject",
                object_id=f"{gallery_name}/{external_id}",
                payload={
                    "gallery": gallery_name,
                    "subject": external_id,
                    "photo_sha256s": photo_hashes,
                    "template_ids": template_ids,
                    "counts": items,
                },
                public={"items": items},
            )
            gallery_id = gallery.id
        self.indexes.apply(
            gallery_id, old, new, self._ctx.vectors_of(gallery_id), remove=template_ids
        )
        return {
            "gallery": gallery_name,
            "subject": external_id,
            "photos": len(photo_hashes),
            "templates": len(template_ids),
        }

    def delete_photo(self, acting: Principal, gallery_name: str, photo_id: int) -> dict[str, Any]:
        """Delete one photo and its templates; they leave the index too.

        Raises:
            PermissionDenied: without ``gallery.manage`` (recorded).
            NotFound: for an unknown gallery or photo.
        """
        with self._access.transaction(acting, "gallery.manage") as (session, fresh):
            actor = fresh.ledger_actor
            gallery = store.get_gallery(session, gallery_name)
            photo = store.get_photo(session, gallery, photo_id)
            template_ids = store.photo_template_ids(session, photo)
            sha256 = photo.sha256
            items = {"photos": 1} | _template_items(session, template_ids)
            session.delete(photo)
            store.delete_templates(session, template_ids)
            old, new = store.bump_generation(session, gallery)
            self.ledger.append(
                session,
                actor=actor,
                action=LedgerAction.GALLERY_DELETE_PHOTO,
                object_type="photo",
                object_id=str(photo_id),
                payload={
                    "gallery": gallery_name,
                    "photo_sha256": sha256,
                    "template_ids": template_ids,
                    "counts": items,
                },
                public={"items": items},
            )
            gallery_id = gallery.id
        self.indexes.apply(
            gallery_id, old, new, self._ctx.vectors_of(gallery_id), remove=template_ids
        )
        return {"gallery": gallery_name, "photo_id": photo_id, "templates": len(template_ids)}

    def reindex(
        self,
        acting: Principal,
        gallery_name: str,
        progress: Callable[[RebuildProgress], None] | None = None,
        wait: bool = True,
    ) -> RebuildProgress:
        """Rebuild a gallery's vector index from the database in the background; searches
        keep the current index until the new one is swapped in. With ``wait``, block until it
        is done, telling ``progress`` where it is a few times a second; without, return at
        once (see :meth:`reindex_progress`). Return the rebuild's progress (``done`` is the
        vector count once ``state`` is "done").

        Raises:
            PermissionDenied: without ``gallery.manage`` (recorded).
            NotFound: for an unknown gallery.
            FaceLedgerError, OSError: if the rebuild fails (with ``wait``).
        """
        with self._access.transaction(acting, "gallery.manage", write=False) as (session, _):
            gallery = store.get_gallery(session, gallery_name)
            gallery_id, generation = gallery.id, gallery.generation
        job = self.indexes.start_rebuild(gallery_id, generation, self._ctx.vectors_of(gallery_id))
        while wait:
            state = job.wait(timeout=0.25)
            if progress:
                progress(state)
            if state.finished:
                job.raise_for_failure()
                break
        return job.progress()

    def reindex_progress(self, acting: Principal, gallery_name: str) -> RebuildProgress | None:
        """Return the progress of a gallery's running or last rebuild in this process, if any.

        Raises:
            PermissionDenied: without ``gallery.read`` (recorded).
            NotFound: for an unknown gallery.
        """
        with self._access.transaction(acting, "gallery.read", write=False) as (session, _):
            gallery_id = store.get_gallery(session, gallery_name).id
        job = self.indexes.job(gallery_id)
        return None if job is None else job.progress()

    def reembed(
        self,
        acting: Principal,
        gallery_name: str,
        pipeline: FacePipeline,
        progress: ProgressHook | None = None,
        drop_failed: bool = False,
    ) -> ReembedSummary:
        """Replace every template of a gallery with one from ``pipeline``'s model
        (see :mod:`faceledger.service.reembed`).

        Raises:
            PermissionDenied: without ``gallery.reembed`` (recorded).
            NotFound: for an unknown gallery.
            Conflict: if the gallery already belongs to that model, or a photo cannot be
                re-embedded and ``drop_failed`` is False (nothing is changed then).
        """
        model = pipeline.embedder.model
        with self._access.transaction(acting, "gallery.reembed", write=False) as (session, _):
            gallery = store.get_gallery(session, gallery_name)
            old = gallery_model(gallery)
            if old is not None and same_model(old, model):
                raise Conflict(
                    f"Gallery {gallery_name!r} already holds templates of {model.name} "
                    f"({model.version}).",
                    gallery=gallery_name,
                )
            sources = sources_of(session, gallery.id)
        results = []
        for source in sources:
            result = reembed_one(source, pipeline, self._ctx.settings)
            results.append(result)
            if progress:
                progress(result)
        failed = [r for r in results if r.face is None]
        if failed and not drop_failed:
            raise refuse_failures(gallery_name, failed)
        summary = ReembedSummary(gallery_name, old.to_dict() if old else None, model.to_dict())
        with self._access.transaction(acting, "gallery.reembed") as (session, fresh):
            gallery = store.get_gallery(session, gallery_name)
            store.set_model(gallery, model)
            previous_activation, gallery.activation_id = gallery.activation_id, None
            for result in results:
                photo = session.get(Photo, result.source.photo_id)
                assert photo is not None
                if result.face is None:
                    summary.removed.append((photo.id, result.problem or ""))
                    session.delete(photo)
                    continue
                template = store.add_template(session, photo, result.face, model)
                summary.photos += 1
                summary.from_file += result.read_from == "file"
                summary.from_chip += result.read_from == "chip"
                self.ledger.append(
                    session,
                    actor=fresh.ledger_actor,
                    action=LedgerAction.GALLERY_REEMBED_PHOTO,
                    object_type="photo",
                    object_id=str(photo.id),
                    payload={
                        "gallery": gallery_name,
                        "photo_sha256": photo.sha256,
                        "old_template_ids": list(result.source.old_template_ids),
                        "template_id": template.id,
                        "read_from": result.read_from,
                        "model": model.to_dict(),
                        "quality": result.face.quality.to_dict(),
                    },
                )
            # The old templates go after the new ones are in, so no id is ever reused.
            store.delete_templates(session, [t for r in results for t in r.source.old_template_ids])
            _, generation = store.bump_generation(session, gallery)
            summary.ledger_seq = self.ledger.append(
                session,
                actor=fresh.ledger_actor,
                action=LedgerAction.GALLERY_REEMBED,
                object_type="gallery",
                object_id=gallery_name,
                payload={
                    "gallery": gallery_name,
                    "old_model": summary.old_model,
                    "new_model": summary.new_model,
                    "photos": summary.photos,
                    "from_file": summary.from_file,
                    "from_chip": summary.from_chip,
                    "removed": [{"photo_id": p, "reason": r} for p, r in summary.removed],
                    "cleared_activation_id": previous_activation,
                },
            ).seq
            gallery_id = gallery.id
        loader = self._ctx.vectors_of(gallery_id)
        self.indexes.rebuild(gallery_id, generation, loader)
        return summary


def _template_items(session: Session, template_ids: list[int]) -> dict[str, int]:
    """What deleting ``template_ids`` removes: the templates, their stored face chips, and
    their vectors in the gallery's index (one each)."""
    chips = 0
    for start in range(0, len(template_ids), 500):
        batch = template_ids[start : start + 500]
        chips += (
            session.scalar(
                select(func.count())
                .select_from(Template)
                .where(Template.id.in_(batch), Template.chip_jpeg.is_not(None))
            )
            or 0
        )
    return {
        "templates": len(template_ids),
        "face_chips": chips,
        "index_entries": len(template_ids),
    }
