"""The active policy profile: read it (any role), change it (admin), its offences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging, page_of
from faceledger.api.schemas import (
    ConfirmIn,
    OffenceOut,
    PolicyIn,
    PolicyOut,
    ProfileChange,
    ProposalOut,
    id_path,
)
from faceledger.errors import ConfigError, InvalidInput
from faceledger.governance.profiles import Profile, shipped_profiles

router = APIRouter(tags=["policy"])

_SECTIONS = ("access", "legal_basis", "request", "results", "retention", "accuracy")


def _policy(profile: Profile, history: list[ProfileChange]) -> PolicyOut:
    canonical = profile.canonical()
    return PolicyOut(
        name=profile.name,
        title=profile.title,
        jurisdiction=profile.jurisdiction,
        sha256=profile.sha256,
        unsafe=profile.unsafe,
        banner=profile.unsafe_banner,
        rules=list(profile.rules),
        parameters={name: canonical[name] for name in _SECTIONS},
        history=history,
        available=list(shipped_profiles()),
    )


@router.get("/policy", summary="Show the active policy profile", response_model=PolicyOut)
def get_policy(service: Service, acting: Acting) -> PolicyOut:
    """The active profile, its parameters and every change of it (any role). While an unsafe
    profile (`lab`) is active, `unsafe` is true and `banner` says so."""
    service.access.check(acting, "policy.read")
    history = [ProfileChange.model_validate(h) for h in service.policy.profile_history()]
    return _policy(service.policy.active_profile(), history)


@router.put(
    "/policy",
    summary="Propose a change of the active policy profile",
    response_model=ProposalOut,
    status_code=202,
)
def set_policy(service: Service, acting: Acting, body: PolicyIn) -> ProposalOut:
    """Propose a shipped profile (admin); it becomes active only when a different admin
    approves it (`POST /policy/proposals/{id}/approve`). An unsafe profile needs `confirm`
    equal to its name, from both admins."""
    try:
        proposal = service.policy.propose_profile(acting, body.profile, body.confirm)
    except ConfigError as exc:  # an unknown name is the caller's mistake, not the server's
        raise InvalidInput(exc.message, **exc.details) from exc
    return ProposalOut.model_validate(proposal.to_dict())


@router.get(
    "/policy/proposals",
    summary="List proposed profile changes",
    response_model=Page[ProposalOut],
)
def list_proposals(service: Service, acting: Acting, paging: Paging) -> Page[ProposalOut]:
    """Every proposed profile change, newest first (admin)."""
    found = service.policy.list_proposals(acting)
    return page_of([ProposalOut.model_validate(p.to_dict()) for p in found], paging)


@router.post(
    "/policy/proposals/{proposal_id}/approve",
    summary="Approve a proposed profile change",
    response_model=PolicyOut,
)
def approve_proposal(
    service: Service,
    acting: Acting,
    proposal_id: Annotated[int, id_path("Proposal id.")],
    body: ConfirmIn,
) -> PolicyOut:
    """Approve another admin's proposal (admin, not the proposer); its profile becomes active,
    recorded in the ledger with both admins."""
    profile = service.policy.approve_proposal(acting, proposal_id, body.confirm)
    history = [ProfileChange.model_validate(h) for h in service.policy.profile_history()]
    return _policy(profile, history)


@router.get(
    "/policy/offences",
    summary="List the offence catalogue",
    response_model=Page[OffenceOut],
)
def list_offences(service: Service, acting: Acting, paging: Paging) -> Page[OffenceOut]:
    """The offences of the active profile's catalogue, by code, with severity class (any
    role)."""
    service.access.check(acting, "policy.read")
    catalogue = service.policy.active_profile().offences.to_dict()
    return page_of([OffenceOut.model_validate(o) for o in catalogue["offences"]], paging)
