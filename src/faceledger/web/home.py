"""The home page (what the signed-in person can do) and the active policy profile."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from faceledger.errors import FaceLedgerError, InvalidInput
from faceledger.governance.context import Role
from faceledger.governance.profiles import Profile, shipped_profiles
from faceledger.web.auth import CurrentViewer, FormPost, Viewer
from faceledger.web.params import RecordId
from faceledger.web.render import page
from faceledger.web.state import web_of

router = APIRouter()

R = Role
TASKS = (
    (("request.submit",), "/requests/new", "File a search request", "task-new-request"),
    (
        ("request.submit",),
        "/requests",
        "My agency's requests and released leads",
        "task-my-requests",
    ),
    (
        ("request.search", "request.review.first", "request.review.peer"),
        "/queue",
        "Queue: run searches, review candidates, release",
        "task-queue",
    ),
    (
        ("request.approve_emergency",),
        "/supervise",
        "Emergency approvals and court-filing deadlines",
        "task-supervise",
    ),
    (("user.list",), "/users", "Accounts: approvals and training", "task-users"),
    (("violations.read",), "/violations", "Violations (R18)", "task-violations"),
    (("ledger.read",), "/audit/ledger", "Ledger: browse, verify, prove entries", "task-ledger"),
    (("agency.create",), "/admin/agencies", "Agencies", "task-agencies"),
    (("policy.propose",), "/policy", "Active policy profile", "task-policy"),
    (("token.create",), "/admin/tokens", "API tokens", "task-tokens"),
)
"""Home-page tasks and the registry actions any of which offers them."""


@router.get("/")
def home(request: Request, viewer: CurrentViewer) -> Response:
    """What the signed-in person can do, as the access registry says."""
    allowed = web_of(request).service.access.allowed(viewer.user)
    tasks = [(path, label, testid) for needs, path, label, testid in TASKS if allowed & set(needs)]
    return page(request, viewer, "home.html", title="Home", tasks=tasks)


def _profile_facts(profile: Profile) -> list[tuple[str, str]]:
    def listed(values: tuple[object, ...]) -> str:
        return ", ".join(str(v) for v in values) or "—"

    hours = profile.legal_basis.emergency_filing_hours
    days = profile.access.training_validity_days
    return [
        ("Jurisdiction", profile.jurisdiction),
        ("Content hash (SHA-256)", profile.sha256),
        ("Rules", listed(profile.rules)),
        ("Legal bases allowed", listed(profile.legal_basis.allowed)),
        ("Emergency court filing within", f"{hours} hours" if hours is not None else "no filing"),
        ("Offence severity classes", listed(profile.request.allowed_severity_classes)),
        ("Minimum narrative", f"{profile.request.min_narrative_chars} characters"),
        ("Probe sources allowed", listed(profile.request.allowed_probe_sources)),
        ("Forbidden purposes", listed(profile.request.forbidden_purposes)),
        ("Operating agency kinds", listed(profile.access.operating_agency_kinds)),
        ("Training valid for", f"{days} days" if days is not None else "no requirement"),
        ("Maximum candidate list", str(profile.results.max_candidates)),
        ("Reviews required", str(profile.results.required_reviews)),
        ("Caveat on released results", profile.results.caveat),
        ("Corroboration required for", listed(profile.results.corroboration_required_for)),
        ("Probes kept", f"{profile.retention.probe_days} days"),
        ("Results kept", f"{profile.retention.result_days} days"),
        ("Ledger kept at least", f"{profile.retention.audit_log_min_days} days"),
    ]


def _policy_page(
    request: Request, viewer: Viewer, error: FaceLedgerError | None = None
) -> Response:
    service = web_of(request).service
    profile = service.policy.active_profile()
    return page(
        request,
        viewer,
        "policy.html",
        title="Policy profile",
        status=error.status if error else 200,
        error=error,
        active=profile,
        facts=_profile_facts(profile),
        offences=sorted(profile.offences, key=lambda o: o.code),
        shipped=shipped_profiles(),
        history=service.policy.profile_history()[::-1],
        can_propose=service.access.allows(viewer.user, "policy.propose"),
        proposals=service.policy.list_proposals(viewer.user)
        if service.access.allows(viewer.user, "policy.propose")
        else [],
    )


@router.get("/policy")
def policy(request: Request, viewer: CurrentViewer) -> Response:
    """The active profile, its parameters and offence catalogue; admins may change it."""
    return _policy_page(request, viewer)


@router.post("/policy")
def set_policy(request: Request, post: FormPost) -> Response:
    """Propose another shipped profile (the service allows admins only); a different admin
    approves it below."""
    name, service = post.text("profile"), web_of(request).service
    try:
        if name not in shipped_profiles() and service.access.allows(post.user, "policy.propose"):
            # The service also loads profile files by path; the web offers shipped ones only.
            # (Anyone else is refused, and recorded, by the service before it loads anything.)
            raise InvalidInput(f"Choose one of the shipped profiles, not {name!r}.")
        service.policy.propose_profile(post.user, name, post.text("confirm") or None)
    except FaceLedgerError as exc:
        return _policy_page(request, post.viewer, exc)
    return RedirectResponse("/policy", status_code=303)


@router.post("/policy/proposals/{proposal_id}/approve")
def approve_policy(request: Request, proposal_id: RecordId, post: FormPost) -> Response:
    """Approve another admin's proposed profile change (the service decides who may)."""
    try:
        web_of(request).service.policy.approve_proposal(
            post.user, proposal_id, post.text("confirm") or None
        )
    except FaceLedgerError as exc:
        return _policy_page(request, post.viewer, exc)
    return RedirectResponse("/policy", status_code=303)
