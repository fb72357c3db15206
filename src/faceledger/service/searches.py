"""Face matching (:class:`Matcher`: decoding, faces, nearest templates, ranked candidates) and
the ad hoc search and 1:1 verify use cases, which the access registry allows only under an
unsafe (lab) profile: every other search goes through a request with a legal basis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy.orm import Session

from faceledger.biometrics.deadline import Deadline
from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.image import DecodedImage, decode_image, read_image_file
from faceledger.biometrics.pipeline import Face
from faceledger.db import utcnow
from faceledger.errors import (
    ImageTooLarge,
    InvalidInput,
    MultipleFaces,
    NoFaceFound,
    PoorQuality,
)
from faceledger.gallery import store
from faceledger.gallery.index import Hit
from faceledger.gallery.search import ProbeFace, rank_candidates, similarity
from faceledger.gallery.thresholds import OperatingThreshold, strictest
from faceledger.governance.accounts import Principal
from faceledger.service.access import Access
from faceledger.service.analysis_slots import AnalysisSlots
from faceledger.service.context import ServiceContext
from faceledger.service.deployments import OperatingPoints
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.policy import PolicyStore
from faceledger.service.results import SearchResult, VerifyResult


class Nearest(NamedTuple):
    """The nearest templates of each usable face, and the index that answered per gallery."""

    hits: list[list[Hit]]
    indexes: list[dict[str, Any]]


class Matcher:
    """From image bytes to ranked candidates; knows nothing of requests or people.

    Probes are decoded at the working size (``probe_working_pixels``); boxes it returns and
    takes are in the original's coordinates. :attr:`slots` bounds each user's analyses and
    hands out their time boxes.
    """

    def __init__(self, ctx: ServiceContext, points: OperatingPoints) -> None:
        self.settings, self.pipeline, self._ctx = ctx.settings, ctx.pipeline, ctx
        self.points = points
        self.slots = AnalysisSlots(
            ctx.settings.max_concurrent_analyses, ctx.settings.analysis_timeout_seconds
        )

    def decode(self, data: bytes | Path, name: str = "probe") -> DecodedImage:
        """Decode an uploaded image or an image file under the configured limits, scaled to
        the working size (the hash, width and height stay the original's)."""
        working = self.settings.probe_working_pixels
        if isinstance(data, Path):
            return read_image_file(
                data, self.settings.max_image_pixels, self.settings.max_image_bytes, working
            )
        if len(data) > self.settings.max_image_bytes:
            raise ImageTooLarge(
                f"{name}: {len(data)} bytes is over the limit of "
                f"{self.settings.max_image_bytes} bytes.",
                source=name,
                cause="too_large",
                limit_bytes=self.settings.max_image_bytes,
            )
        return decode_image(data, self.settings.max_image_pixels, name=name, working_pixels=working)

    def faces(self, image: DecodedImage, name: str, deadline: Deadline | None = None) -> list[Face]:
        """Return the faces of ``image``.

        Raises:
            NoFaceFound: if there is none.
            PoorQuality: if no face is usable, with each face's reasons.
            PipelineBusy, AnalysisTimedOut: if ``deadline`` passes first (503).
        """
        faces = self.pipeline.analyse(image, deadline)
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

    def probe_boxes(
        self, image: DecodedImage, name: str, deadline: Deadline | None = None
    ) -> list[FaceBox]:
        """Detect the faces of a probe (original coordinates, numbered as ``face_index``).

        Raises:
            NoFaceFound: if the photo shows no face.
            PipelineBusy, AnalysisTimedOut: if ``deadline`` passes first (503).
        """
        boxes = self.pipeline.detect(image, deadline)
        if not boxes:
            raise NoFaceFound(f"{name}: no face was found in the image.", sha256=image.sha256)
        return boxes

    def chosen_face(
        self,
        image: DecodedImage,
        name: str,
        face_index: int | None,
        deadline: Deadline | None = None,
        boxes: Sequence[FaceBox] | None = None,
    ) -> int:
        """Return the index of the one face of a probe to search, checking it is usable.

        A photo of one face needs no choice; with several, ``face_index`` must name one (the
        others are bystanders, never embedded or searched). ``boxes`` are the probe's faces
        when already known (:meth:`probe_boxes`, or cached); otherwise they are detected.

        Raises:
            NoFaceFound: if the photo shows no face.
            InvalidInput: for several faces and no choice, or an index the photo does not have.
            PoorQuality: if the chosen face is not usable.
            PipelineBusy, AnalysisTimedOut: if ``deadline`` passes first (503).
        """
        if boxes is None:
            boxes = self.probe_boxes(image, name, deadline)
        if not boxes:
            raise NoFaceFound(f"{name}: no face was found in the image.", sha256=image.sha256)
        if face_index is None:
            if len(boxes) > 1:
                raise InvalidInput(
                    f"{name}: the photo shows {len(boxes)} faces; choose the one to search "
                    f"(face_index 0 to {len(boxes) - 1}). The others are never searched.",
                    field="face_index",
                    faces=[b.to_dict() for b in boxes],
                )
            face_index = 0
        self.face(image, name, face_index, deadline, boxes)
        return face_index

    def face(
        self,
        image: DecodedImage,
        name: str,
        index: int,
        deadline: Deadline | None = None,
        boxes: Sequence[FaceBox] | None = None,
    ) -> Face:
        """Return face ``index`` of ``image``, embedding that face alone (from ``boxes``, the
        faces already found, when given; else detecting them).

        Raises:
            InvalidInput: if the image has no face ``index``.
            PoorQuality: if that face is not usable, with the reasons.
            PipelineBusy, AnalysisTimedOut: if ``deadline`` passes first (503).
        """
        try:
            face = self.pipeline.analyse_face(image, index, deadline, boxes)
        except IndexError:
            raise InvalidInput(
                f"{name}: there is no face {index} in the photo.", field="face_index"
            ) from None
        if face.problems:
            raise PoorQuality(
                f"{name}: face {index} is not usable ({'; '.join(face.problems)}).",
                sha256=image.sha256,
                reasons=list(face.problems),
            )
        return face

    def faces_record(self, boxes: Sequence[FaceBox]) -> list[dict[str, Any]]:
        """The faces of a probe as stored in ``probe_images.faces``: each box (original
        coordinates) with its score, landmarks and the detector that found it."""
        detector = self.pipeline.detector.model.name
        return [{"index": i, "detector": detector, **b.to_cache()} for i, b in enumerate(boxes)]

    def cached_boxes(self, record: Sequence[Mapping[str, Any]] | None) -> list[FaceBox] | None:
        """The boxes of a ``probe_images.faces`` record, or None when there is none or it is of
        another detector than this pipeline's (then the faces must be detected again: the
        numbering of another detector need not match)."""
        if record is None:
            return None
        detector = self.pipeline.detector.model.name
        if any(entry.get("detector") != detector for entry in record):
            return None
        try:
            ordered = sorted(record, key=lambda entry: int(entry["index"]))
            return [FaceBox.from_cache(dict(entry)) for entry in ordered]
        except (KeyError, TypeError, ValueError):
            return None

    def nearest(
        self, faces: Sequence[Face], targets: Sequence[tuple[int, int, str]], k: int
    ) -> Nearest:
        """Return the nearest templates of each usable face across the target galleries, and
        which index answered for each gallery (R12: ``{"gallery", "backend", "approximate",
        "count", "parameters"}``)."""
        usable = [f for f in faces if not f.problems]
        if not usable:
            return Nearest([], [])
        queries = np.vstack([f.unit_embedding for f in usable])
        hits_per_face: list[list[Hit]] = [[] for _ in usable]
        indexes: list[dict[str, Any]] = []
        for gallery_id, generation, name in targets:
            index = self._ctx.indexes.get(gallery_id, generation, self._ctx.vectors_of(gallery_id))
            # Several templates of one subject may crowd the list; over-fetch, then dedupe.
            for i, hits in enumerate(index.search(queries, k * 4)):
                hits_per_face[i].extend(hits)
            indexes.append({"gallery": name, **index.describe()})
        return Nearest(hits_per_face, indexes)

    def rank(
        self,
        session: Session,
        faces: Sequence[Face],
        hits: list[list[Hit]],
        k: int,
        points: Mapping[str, OperatingThreshold],
    ) -> tuple[ProbeFace, ...]:
        """Turn nearest templates into ranked candidate lists, one per face (empty if unusable),
        flagging candidates within their gallery's operating threshold."""
        refs = store.template_refs(session, (h.template_id for row in hits for h in row))
        thresholds = {name: point.distance for name, point in points.items()}
        ranked = iter([rank_candidates(row, refs, k, thresholds) for row in hits])
        return tuple(
            ProbeFace(f.index, f.box, f.quality, f.problems, () if f.problems else next(ranked))
            for f in faces
        )

    def targets(self, session: Session, names: Sequence[str]) -> list[tuple[int, int, str]]:
        """Return (id, generation, name) of the galleries named (every gallery if none).

        Raises:
            NotFound: for an unknown gallery.
            InvalidInput: if there is no gallery at all.
        """
        if names:
            chosen = [store.get_gallery(session, n) for n in dict.fromkeys(names)]
        else:
            chosen = [store.get_gallery(session, s.name) for s in store.summaries(session)]
        if not chosen:
            raise InvalidInput("There is no gallery to search; enrol photos first.")
        return [(g.id, g.generation, g.name) for g in chosen]


class SearchUseCases:
    """Ad hoc 1:N search and 1:1 verify, outside any request: research under an unsafe
    profile only (registry actions ``search.adhoc`` and ``verify.adhoc``)."""

    def __init__(
        self, ctx: ServiceContext, matcher: Matcher, access: Access, store: PolicyStore
    ) -> None:
        self._ctx, self._matcher, self._access, self._store = ctx, matcher, access, store

    def search(
        self,
        acting: Principal,
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
            PermissionDenied: under a profile that is not unsafe, or for a role the registry
                does not allow (``search.adhoc``; recorded as a violation).
            TooManyAnalyses: if the caller already has their analyses running (429).
            PipelineBusy, AnalysisTimedOut: past the time box (503; nothing recorded).
        """
        self._access.check(acting, "search.adhoc")
        started = utcnow()
        k = self._ctx.settings.top_k if top_k is None else top_k
        if not 1 <= k <= self._ctx.settings.max_top_k:
            raise InvalidInput(
                f"Candidate list length must be between 1 and "
                f"{self._ctx.settings.max_top_k}, got {k}.",
                top_k=k,
            )
        name = name or (probe.name if isinstance(probe, Path) else "probe")
        with self._ctx.db.read() as session:
            targets = self._matcher.targets(session, galleries)
            points = self._matcher.points.for_targets(session, targets)
        with self._matcher.slots.hold(acting) as deadline:
            image = self._matcher.decode(probe, name)
            faces = self._matcher.faces(image, name, deadline)
        hits, indexes = self._matcher.nearest(faces, targets, k)
        models = {key: m.to_dict() for key, m in self._ctx.pipeline.models.items()}
        with self._ctx.db.transaction() as session:
            probe_faces = self._matcher.rank(session, faces, hits, k, points)
            finished = utcnow()
            entry = self._ctx.ledger.append(
                session,
                actor=acting.ledger_actor,
                action=LedgerAction.SEARCH_RUN,
                object_type="probe",
                object_id=image.sha256,
                payload={
                    "profile": self._store.notice(session),
                    "probe_sha256": image.sha256,
                    "galleries": [name for _, _, name in targets],
                    "models": models,
                    "threshold_micro": round(strictest(points.values()) * 1_000_000),
                    "thresholds": [p.to_record() for p in points.values()],
                    "top_k": k,
                    "indexes": indexes,
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
            thresholds=tuple(points.values()),
            top_k=k,
            faces=probe_faces,
            models=models,
            started_at=started,
            finished_at=finished,
            ledger_seq=entry.seq,
            indexes=tuple(indexes),
        )

    def verify(
        self,
        acting: Principal,
        first: bytes | Path,
        second: bytes | Path,
        names: tuple[str, str] | None = None,
    ) -> VerifyResult:
        """Compare the single faces of two photos (1:1).

        Raises:
            InvalidImage, NoFaceFound, PoorQuality: for an unusable photo.
            MultipleFaces: if either photo shows more than one face.
            PermissionDenied: under a profile that is not unsafe (``verify.adhoc``; recorded).
            TooManyAnalyses: if the caller already has their analyses running (429).
            PipelineBusy, AnalysisTimedOut: past the time box (503; nothing recorded).
        """
        self._access.check(acting, "verify.adhoc")
        if names is None:
            names = (
                first.name if isinstance(first, Path) else "first photo",
                second.name if isinstance(second, Path) else "second photo",
            )
        faces = []
        hashes = []
        # One slot and one time box for the pair: it is one analysis to the caller.
        with self._matcher.slots.hold(acting) as deadline:
            for data, name in zip((first, second), names, strict=True):
                image = self._matcher.decode(data, name)
                found = self._matcher.faces(image, name, deadline)
                if len(found) > 1:
                    raise MultipleFaces(
                        f"{name}: {len(found)} faces found; 1:1 verification needs exactly one.",
                        faces=len(found),
                    )
                faces.append(found[0])
                hashes.append(image.sha256)
        distance = float(np.linalg.norm(faces[0].unit_embedding - faces[1].unit_embedding))
        with self._ctx.db.transaction() as session:
            point = self._matcher.points.for_verify(session)
            entry = self._ctx.ledger.append(
                session,
                actor=acting.ledger_actor,
                action=LedgerAction.VERIFY_RUN,
                object_type="probe_pair",
                object_id=f"{hashes[0]}:{hashes[1]}",
                payload={
                    "profile": self._store.notice(session),
                    "sha256_a": hashes[0],
                    "sha256_b": hashes[1],
                    "distance_micro": round(distance * 1_000_000),
                    "threshold_micro": round(point.distance * 1_000_000),
                    "threshold": point.to_record(),
                    "model": self._ctx.pipeline.embedder.model.to_dict(),
                },
            )
        return VerifyResult(hashes[0], hashes[1], distance, similarity(distance), point, entry.seq)
