"""Turning a request view (``RequestView.to_dict()``) into what the request pages show.

The service has already decided what the caller may see; these helpers only arrange it and
work out which forms to offer. Offering a form is a convenience: the service decides (and
records) every action whatever the page offered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from faceledger.governance.context import FilingStatus, Role
from faceledger.web.auth import Viewer

R = Role
SEARCHABLE = ("approved", "approved_emergency")
REVIEWABLE = ("searched", "reviewed")
CLOSABLE = ("searched", "reviewed", "peer_reviewed")


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def filing_status(emergency: dict[str, Any] | None, now: dt.datetime) -> str:
    """Where an emergency's court filing stands (a FilingStatus value; "" if no emergency)."""
    if not emergency:
        return ""
    deadline, filed = _time(emergency["filing_deadline"]), _time(emergency["filed_at"])
    if deadline is None:
        return FilingStatus.NOT_REQUIRED.value
    if filed is None:
        return (FilingStatus.OVERDUE if now > deadline else FilingStatus.PENDING).value
    return (FilingStatus.LATE if filed > deadline else FilingStatus.ON_TIME).value


def probe_faces(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The searched faces of the probe with readable quality measures (staff only)."""
    run = data.get("run") or {}
    faces = []
    for face in run.get("faces", []):
        q = face.get("quality") or {}
        quality = []
        if q:
            quality = [
                ("face width", f"{q['face_width_px']} px"),
                ("eye distance", f"{q['eye_distance_centipx'] / 100:.1f} px"),
                ("sharpness", f"{q['sharpness_centi'] / 100:.1f}"),
                ("yaw", f"{q['yaw_centidegrees'] / 100:.0f}°"),
                ("brightness", f"{q['brightness_centi'] / 100:.0f}"),
            ]
        faces.append(
            {"index": face["index"], "quality": quality, "problems": face.get("problems", [])}
        )
    return faces


def notices(data: dict[str, Any], banner: str) -> list[str]:
    """The view's notices, less the unsafe banner that every page shows anyway."""
    return [n for n in data.get("notices", []) if n != banner]


def offered(viewer: Viewer, data: dict[str, Any]) -> dict[str, bool]:
    """Which action forms to show this person on this request."""
    state = data["state"]
    emergency = data["legal_basis"]["kind"] == "emergency"
    own = data["requester"] == viewer.user.username
    filed = bool(data["emergency"] and data["emergency"]["filed_at"])
    workers = viewer.has(R.EXAMINER, R.REVIEWER, R.SUPERVISOR)
    reviewed = any(r["reviewer"] == viewer.user.username for r in data["reviews"])
    return {
        "run_search": viewer.has(R.EXAMINER) and state in SEARCHABLE,
        "review": viewer.has(R.EXAMINER, R.REVIEWER) and state in REVIEWABLE and not reviewed,
        "release": workers and state == "peer_reviewed",
        "close": workers and state in CLOSABLE,
        "approve_emergency": viewer.has(R.SUPERVISOR) and emergency and state == "submitted",
        "file_statement": emergency
        and not filed
        and state not in ("denied", "sealed")
        and (own or viewer.has(R.SUPERVISOR)),
        "court_refusal": emergency
        and viewer.has(R.SUPERVISOR)
        and state not in ("denied", "sealed", "submitted"),
        "lead_use": own and state == "released",
        # Mirrors the service's image rules so that no broken image is offered.
        "probe_images": state != "sealed" and (own or workers),
        "candidate_images": state != "sealed" and (own or workers or viewer.has(R.AUDITOR)),
    }


def review_marks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The reviews the caller may see, each mark with its candidate's subject."""
    run = data.get("run") or {}
    subjects = {c["id"]: c["external_id"] for c in run.get("candidates", [])}
    return [
        {
            **review,
            "marks": [
                {**m, "subject": subjects.get(m["candidate_id"], "?")} for m in review["marks"]
            ],
        }
        for review in data.get("reviews", [])
    ]
