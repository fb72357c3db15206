"""Turning a request view (``RequestView.to_dict()``) into what the request pages show.

The service has already decided what the caller may see; these helpers only arrange it and
work out which forms to offer. Offering a form is a convenience: the service decides (and
records) every action whatever the page offered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from faceledger.governance.context import FilingStatus


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


def offered(data: dict[str, Any]) -> dict[str, bool]:
    """Which action forms to show on this request: exactly the actions the service says the
    caller may take next (``allowed_actions`` of the request's view)."""
    allowed = set(data.get("allowed_actions", ()))
    return {
        "run_search": "request.search" in allowed,
        "review": bool(allowed & {"request.review.first", "request.review.peer"}),
        "release": "request.release" in allowed,
        "close": "request.close" in allowed,
        "approve_emergency": "request.approve_emergency" in allowed,
        "file_statement": "request.file_statement" in allowed,
        "court_refusal": "request.court_refused" in allowed,
        "lead_use": "request.lead_use" in allowed,
        "probe_images": "request.probe" in allowed,
        "candidate_images": "request.candidates" in allowed or bool(data.get("release")),
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
