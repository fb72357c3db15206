"""What the face use cases return: plain, JSON-ready records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from faceledger.gallery.search import ProbeFace
from faceledger.gallery.thresholds import OperatingThreshold, strictest


@dataclass
class EnrolSummary:
    """What a bulk enrolment did, photo by photo.

    ``duplicates_skipped`` counts every photo skipped because its bytes were enrolled already
    or came earlier in the same run; ``known_before_analysis`` is the part of them found by
    hash before any analysis (all of them, unless another enrolment wrote the same photo in
    the meantime). ``analysed_on`` says where the analysis ran.
    """

    gallery: str
    enrolled: int = 0
    duplicates_skipped: int = 0
    known_before_analysis: int = 0
    no_face: list[str] = field(default_factory=list)
    multiple_faces: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    largest_face_taken: list[str] = field(default_factory=list)  # enrolled by the rule
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    new_subjects: int = 0
    analysed_on: str = ""

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
            "known_before_analysis": self.known_before_analysis,
            "analysed_on": self.analysed_on,
            "no_face": self.no_face,
            "multiple_faces": [{"path": p, "reason": r} for p, r in self.multiple_faces],
            "largest_face_taken": self.largest_face_taken,
            "rejected": [{"path": p, "reason": r} for p, r in self.rejected],
        }


@dataclass(frozen=True)
class SearchResult:
    """A 1:N search of one probe photo."""

    probe_sha256: str
    galleries: tuple[str, ...]
    thresholds: tuple[OperatingThreshold, ...]  # each gallery's, with its source
    top_k: int
    faces: tuple[ProbeFace, ...]
    models: dict[str, dict[str, str]]
    started_at: dt.datetime
    finished_at: dt.datetime
    ledger_seq: int
    # Which index answered for each gallery and whether it was approximate (R12).
    indexes: tuple[dict[str, Any], ...] = ()

    @property
    def threshold(self) -> float:
        """The strictest gallery's threshold (distance)."""
        return strictest(self.thresholds)

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
            "thresholds": [t.to_dict() for t in self.thresholds],
            "top_k": self.top_k,
            "models": self.models,
            "indexes": list(self.indexes),
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
    point: OperatingThreshold
    ledger_seq: int

    @property
    def threshold(self) -> float:
        """The 1:1 threshold (distance)."""
        return self.point.distance

    @property
    def within_threshold(self) -> bool:
        """True when the distance is within the threshold (worth an examiner's comparison)."""
        return self.distance <= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {
            "sha256_a": self.sha256_a,
            "sha256_b": self.sha256_b,
            "distance": round(self.distance, 4),
            "similarity": round(self.similarity, 4),
            "threshold": self.threshold,
            "threshold_source": self.point.to_dict(),
            "within_threshold": self.within_threshold,
            "ledger_seq": self.ledger_seq,
        }
