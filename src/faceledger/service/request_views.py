"""How a search request looks to each role.

One function decides what a caller sees, asking the access model: a requester sees their
agency's request and, once released, only the released candidates with the caveat; those the
registry lets see candidates (``request.candidates``) see the list; nobody who could still
peer-review the request sees the first review before the peer review is in (R10); nobody sees
the candidates or probe of a sealed request (R4). The view lists the actions the caller may
take next, so an interface offers exactly those.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from faceledger.governance.accounts import Agency, Principal, User
from faceledger.governance.lifecycle import State
from faceledger.governance.models import RequestRow
from faceledger.governance.profiles import Profile

if TYPE_CHECKING:
    from faceledger.service.access import Access


@dataclass(frozen=True)
class RequestView:
    """A search request as one caller may see it. ``data`` is JSON-ready."""

    id: int
    state: str
    data: dict[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the view as JSON-ready data."""
        return self.data

    @property
    def allowed_actions(self) -> tuple[str, ...]:
        """The registry actions the caller may take next on this request."""
        return tuple(self.data.get("allowed_actions", ()))

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """The candidates the caller may see (released ones only, for a requester)."""
        run = self.data.get("run") or {}
        return list(run.get("candidates", []))


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def username_of(session: Session, user_id: int | None) -> str | None:
    """Return the username of account ``user_id`` (None for None or a missing account)."""
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return None if user is None else user.username


def request_view(
    session: Session,
    acting: Principal,
    row: RequestRow,
    profile: Profile,
    access: Access,
    allowed: tuple[str, ...] = (),
) -> RequestView:
    """Build the view of ``row`` for ``acting`` under the active ``profile``; ``allowed`` are
    the actions the caller may take next."""
    staff = access.may(session, acting, "request.candidates", row)
    agency = session.get(Agency, row.agency_id)
    sealed = row.state == State.SEALED.value
    notices: list[str] = []
    if profile.unsafe:
        notices.append(profile.unsafe_banner)
    decision = row.decision or {}
    data: dict[str, Any] = {
        "id": row.id,
        "state": row.state,
        "case_number": row.case_number,
        "offence": {
            "code": row.offence_code,
            "name": row.offence_name,
            "severity": row.offence_severity,
        },
        "narrative": row.narrative,
        "legal_basis": {"kind": row.legal_basis_kind, **row.legal_basis},
        "probe": {"sha256": row.probe_sha256, "source": row.probe_source, "available": not sealed},
        "attestation": row.attestation,
        "galleries": list(row.galleries),
        "max_candidates": row.max_candidates,
        "requester": username_of(session, row.requester_id),
        "agency": agency.slug if agency else None,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "profile": {"name": row.profile_name, "sha256": row.profile_sha256},
        "decision": {
            "allowed": decision.get("allowed"),
            "reasons": [f["reason"] for f in decision.get("failures", [])],
            "requirements": sorted(
                {f["requirement"] for f in decision.get("failures", []) if f.get("requirement")}
            ),
        },
        "emergency": None,
        "run": None,
        "reviews": [],
        "release": None,
        "lead_uses": [],
        "closed_reason": row.closed_reason or None,
        "sealed": {"at": _iso(row.sealed_at), "reason": row.sealed_reason} if sealed else None,
        "face_index": row.face_index,
        "notices": notices,
        "allowed_actions": list(allowed),
    }
    if row.legal_basis_kind == "emergency":
        data["emergency"] = {
            "approving_supervisor": username_of(session, row.approving_supervisor_id),
            "filing_deadline": _iso(row.filing_deadline),
            "filed_at": _iso(row.filed_at),
            "filing_reference": row.filing_reference or None,
            "court_refused": row.court_refused,
        }
    released = set(row.released_candidate_ids or [])
    if row.run is not None:
        run = row.run
        visible = [c for c in run.candidates if staff or c.id in released]
        data["run"] = {
            "operator": username_of(session, run.operator_id),
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "galleries": list(run.galleries),
            "models": run.models,
            "threshold": run.threshold_micro / 1_000_000,
            "max_candidates": run.max_candidates,
            "faces": run.faces if staff else [],
            "candidates": []
            if sealed
            else [
                {
                    "id": c.id,
                    "face_index": c.face_index,
                    "rank": c.rank,
                    "gallery": c.gallery,
                    "subject_id": c.subject_id,
                    "external_id": c.external_id,
                    "display_name": c.display_name,
                    "photo_id": c.photo_id,
                    "photo_sha256": c.photo_sha256,
                    "distance": c.distance_micro / 1_000_000,
                    "similarity": c.similarity_micro / 1_000_000,
                    "above_threshold": c.above_threshold,
                }
                for c in visible
            ],
        }
    if staff:
        # Until the peer review is in, whoever could still do it must not see the first.
        blind = row.state == State.REVIEWED.value and access.may(
            session, acting, "request.review.peer", row
        )
        if blind:
            notices.append(
                "The first review is hidden until you submit your own (blind peer review)."
            )
        else:
            data["reviews"] = [
                {
                    "reviewer": username_of(session, r.reviewer_id),
                    "stage": r.stage,
                    "submitted_at": _iso(r.submitted_at),
                    "marks": r.marks,
                }
                for r in row.reviews
            ]
    if row.released_at is not None:
        data["release"] = {
            "at": _iso(row.released_at),
            "by": username_of(session, row.released_by_id),
            "candidate_ids": sorted(released),
            "caveat": row.caveat,
        }
    data["lead_uses"] = [
        {
            "candidate_id": u.candidate_id,
            "use": u.use,
            "corroboration_ref": u.corroboration_ref,
            "recorded_at": _iso(u.recorded_at),
        }
        for u in row.lead_uses
    ]
    return RequestView(row.id, row.state, data)
