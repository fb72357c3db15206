"""Search use cases: 1:N search of a probe photo and 1:1 verification."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from faceledger.biometrics.image import DecodedImage, decode_image, read_image_file
from faceledger.biometrics.pipeline import Face
from faceledger.db import utcnow
from faceledger.errors import (
    InvalidImage,
    InvalidInput,
    MultipleFaces,
    NoFaceFound,
    PoorQuality,
)
from faceledger.gallery import store
from faceledger.gallery.index import Hit
from faceledger.gallery.search import ProbeFace, rank_candidates, similarity
from faceledger.service.core import ServiceCore
from faceledger.service.results import SearchResult, VerifyResult


class SearchUseCases(ServiceCore):
    """Searching and comparing faces; each run is recorded in the ledger."""

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
        hits = self._nearest(faces, targets, k)
        models = {key: m.to_dict() for key, m in self.pipeline.models.items()}
        with self.db.transaction() as session:
            probe_faces = self._rank(session, faces, hits, k)
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
                    "models": models,
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
            models=models,
            started_at=started,
            finished_at=finished,
            ledger_seq=entry.seq,
        )

    def _nearest(
        self, faces: Sequence[Face], targets: Sequence[tuple[int, int, str]], k: int
    ) -> list[list[Hit]]:
        """Return the nearest templates of each usable face across the target galleries."""
        usable = [f for f in faces if not f.problems]
        if not usable:
            return []
        queries = np.vstack([f.unit_embedding for f in usable])
        hits_per_face: list[list[Hit]] = [[] for _ in usable]
        for gallery_id, generation, _ in targets:
            index = self.indexes.get(gallery_id, generation, self._loader(gallery_id))
            # Several templates of one subject may crowd the list; over-fetch, then dedupe.
            for i, hits in enumerate(index.search(queries, k * 4)):
                hits_per_face[i].extend(hits)
        return hits_per_face

    def _rank(
        self, session: Session, faces: Sequence[Face], hits: list[list[Hit]], k: int
    ) -> tuple[ProbeFace, ...]:
        """Turn nearest templates into ranked candidate lists, one per face (empty if unusable)."""
        refs = store.template_refs(session, (h.template_id for row in hits for h in row))
        threshold = self.settings.match_threshold
        ranked = iter([rank_candidates(row, refs, k, threshold) for row in hits])
        return tuple(
            ProbeFace(f.index, f.box, f.quality, f.problems, () if f.problems else next(ranked))
            for f in faces
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
