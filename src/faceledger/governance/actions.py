"""The registry of actions: who may do what, to which objects, under which requirement.

One table, as data (STYLE.md 15). Every use case of the service names its action here and asks
:class:`faceledger.service.access.Access`, which reads this table, before it acts; the policy
engine's ``role_for_action`` rule reads the same roles; interfaces show the actions the service
computes from it and keep no role table of their own. The README's access section is generated
from :func:`access_table` (a test checks it).

A *scope* says which objects an action may touch besides the role: a request of one's own
agency, a request routed to one's operating unit once approved, one's own account. An object
outside the scope is answered as if it did not exist (404). *Distinct parties* are the people
of a request (or account) who may not be the actor: requester, operator, first reviewer and
peer reviewer are four different people (R10, EU AI Act Art 14(5)), and whoever created an
account cannot approve it or certify its training (R2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from faceledger.governance.context import Action, Role


class Scope(StrEnum):
    """Which objects an action may touch, besides the role it needs."""

    NONE = "none"
    """No object: the role is enough."""
    OWN_ACCOUNT = "own_account"
    """An account: one's own for anyone, any account for the roles listed."""
    OTHER_ACCOUNT = "other_account"
    """An account that is neither one's own nor one the actor created."""
    OWN_AGENCY_REQUEST = "own_agency_request"
    """A request filed by the actor's own agency."""
    VISIBLE_REQUEST = "visible_request"
    """A request the actor may read: requesters their agency's; examiners and reviewers those
    routed to their unit once approved; supervisors of the unit and auditors every one."""
    UNIT_REQUEST = "unit_request"
    """A request routed to the actor's operating unit, once approved."""
    UNIT_PENDING_REQUEST = "unit_pending_request"
    """A request routed to the actor's operating unit, in any state (supervisors)."""


class Party(StrEnum):
    """A person attached to a request or an account, who may have to differ from the actor."""

    REQUESTER = "requester"
    OPERATOR = "operator"
    FIRST_REVIEWER = "first_reviewer"
    PEER_REVIEWER = "peer_reviewer"
    ACCOUNT_CREATOR = "account_creator"


@dataclass(frozen=True)
class ActionSpec:
    """One action: its name, what it does, who may, on what, and the requirement behind it."""

    name: str
    description: str
    roles: frozenset[Role]
    scope: Scope
    requirement: str
    local_operator: bool = False
    """The local operator of the data directory (a command run with no login) may do it."""
    distinct_from: tuple[Party, ...] = ()
    unsafe_profile_only: bool = False
    """Only under an unsafe profile (lab): ad hoc searches outside any request."""

    @property
    def phrase(self) -> str:
        """The description as it reads inside a sentence ("may not run an approved ...")."""
        return self.description[0].lower() + self.description[1:]


R = Role
ALL_ROLES = frozenset(Role)
UNIT_EXAMINERS = frozenset({R.EXAMINER, R.REVIEWER})
REQUEST_READERS = frozenset({R.REQUESTER, R.EXAMINER, R.REVIEWER, R.SUPERVISOR, R.AUDITOR})

_SPECS = (
    # -- requests (the search lifecycle; the policy engine is asked as well) -----------------
    ActionSpec(
        "request.submit", "File a search request", frozenset({R.REQUESTER}), Scope.NONE, "R1"
    ),
    ActionSpec(
        "request.faces",
        "List the faces of a probe photo, to choose the one to search",
        frozenset({R.REQUESTER}),
        Scope.NONE,
        "R1",
    ),
    ActionSpec(
        "request.read",
        "Read a search request and list requests",
        REQUEST_READERS,
        Scope.VISIBLE_REQUEST,
        "R1",
    ),
    ActionSpec(
        "request.probe",
        "See a request's probe photo and its faces",
        REQUEST_READERS,
        Scope.VISIBLE_REQUEST,
        "R1",
    ),
    ActionSpec(
        "request.candidates",
        "See a request's candidate list and face chips",
        frozenset({R.EXAMINER, R.REVIEWER, R.SUPERVISOR, R.AUDITOR}),
        Scope.VISIBLE_REQUEST,
        "R9",
    ),
    ActionSpec(
        "request.approve_emergency",
        "Approve an emergency request",
        frozenset({R.SUPERVISOR}),
        Scope.UNIT_PENDING_REQUEST,
        "R4",
        distinct_from=(Party.REQUESTER,),
    ),
    ActionSpec(
        "request.search",
        "Run an approved request's search",
        frozenset({R.EXAMINER}),
        Scope.UNIT_REQUEST,
        "R1",
        distinct_from=(Party.REQUESTER,),
    ),
    ActionSpec(
        "request.review.first",
        "First review of a candidate list",
        frozenset({R.EXAMINER}),
        Scope.UNIT_REQUEST,
        "R10",
        distinct_from=(Party.REQUESTER, Party.OPERATOR),
    ),
    ActionSpec(
        "request.review.peer",
        "Blind peer review of a candidate list",
        UNIT_EXAMINERS,
        Scope.UNIT_REQUEST,
        "R10",
        distinct_from=(Party.REQUESTER, Party.OPERATOR, Party.FIRST_REVIEWER),
    ),
    ActionSpec(
        "request.release",
        "Release the agreed candidates to the requester",
        frozenset({R.EXAMINER, R.SUPERVISOR}),
        Scope.UNIT_REQUEST,
        "R9",
        distinct_from=(Party.REQUESTER,),
    ),
    ActionSpec(
        "request.close",
        "Close a searched request with no lead",
        frozenset({R.EXAMINER}),
        Scope.UNIT_REQUEST,
        "R9",
        distinct_from=(Party.REQUESTER,),
    ),
    ActionSpec(
        "request.lead_use",
        "Record a use of a released lead",
        frozenset({R.REQUESTER}),
        Scope.OWN_AGENCY_REQUEST,
        "R11",
    ),
    ActionSpec(
        "request.file_statement",
        "Record an emergency's court filing",
        frozenset({R.REQUESTER, R.SUPERVISOR}),
        Scope.OWN_AGENCY_REQUEST,
        "R4",
    ),
    ActionSpec(
        "request.court_refused",
        "Record a court's refusal of an emergency (seals it)",
        frozenset({R.SUPERVISOR, R.ADMIN}),
        Scope.UNIT_PENDING_REQUEST,
        "R4",
    ),
    ActionSpec(
        "jobs.run_due",
        "Run the due scheduled jobs (overdue emergency filings, misuse scan, alert delivery)",
        frozenset({R.SUPERVISOR, R.ADMIN}),
        Scope.NONE,
        "R4",
        local_operator=True,
    ),
    ActionSpec(
        "retention.purge",
        "Apply the profile's retention periods: purge probes, candidate lists and released "
        "results, redact the ledger payloads of purged and sealed requests",
        frozenset({R.ADMIN}),
        Scope.NONE,
        "R13",
        local_operator=True,
    ),
    # -- ad hoc face search outside any request: research under an unsafe profile only -------
    ActionSpec(
        "search.adhoc",
        "Search a photo against galleries outside any request",
        frozenset({R.EXAMINER}),
        Scope.NONE,
        "R3",
        local_operator=True,
        unsafe_profile_only=True,
    ),
    ActionSpec(
        "verify.adhoc",
        "Compare two photos 1:1 outside any request",
        frozenset({R.EXAMINER}),
        Scope.NONE,
        "R3",
        local_operator=True,
        unsafe_profile_only=True,
    ),
    # -- galleries ---------------------------------------------------------------------------
    ActionSpec(
        "gallery.read",
        "List galleries and their subjects",
        frozenset({R.EXAMINER, R.REVIEWER, R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
        Scope.NONE,
        "R1",
        local_operator=True,
    ),
    ActionSpec(
        "gallery.names",
        "List gallery names, to choose where a request searches",
        frozenset({R.REQUESTER, R.EXAMINER, R.REVIEWER, R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
        Scope.NONE,
        "R1",
    ),
    ActionSpec(
        "gallery.manage",
        "Create galleries, enrol, delete and reindex",
        frozenset({R.SUPERVISOR, R.ADMIN}),
        Scope.NONE,
        "R1",
        local_operator=True,
    ),
    ActionSpec(
        "gallery.reembed",
        "Re-embed a gallery's photos with another face model",
        frozenset({R.SUPERVISOR, R.ADMIN}),
        Scope.NONE,
        "R15",
        local_operator=True,
    ),
    # -- models: evaluation and the deployment gate -------------------------------------------
    ActionSpec(
        "model.read",
        "Read stored model evaluations and gallery activations",
        frozenset({R.EXAMINER, R.REVIEWER, R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
        Scope.NONE,
        "R15",
        local_operator=True,
    ),
    ActionSpec(
        "model.evaluate",
        "Store a model's accuracy evaluation for the deployment gate",
        frozenset({R.SUPERVISOR, R.ADMIN}),
        Scope.NONE,
        "R15",
        local_operator=True,
    ),
    ActionSpec(
        "model.activate",
        "Activate a model and operating threshold for a gallery through the deployment gate",
        frozenset({R.SUPERVISOR, R.ADMIN}),
        Scope.NONE,
        "R16",
        local_operator=True,
    ),
    # -- the ledger --------------------------------------------------------------------------
    ActionSpec(
        "ledger.read",
        "Read, export and prove ledger entries",
        frozenset({R.AUDITOR, R.SUPERVISOR, R.ADMIN}),
        Scope.NONE,
        "R13",
        local_operator=True,
    ),
    ActionSpec(
        "ledger.checkpoint",
        "Sign a ledger checkpoint",
        frozenset({R.AUDITOR, R.ADMIN}),
        Scope.NONE,
        "R13",
        local_operator=True,
    ),
    ActionSpec(
        "ledger.rotate_key",
        "Rotate the ledger's checkpoint signing key, announcing the new key in the log",
        frozenset({R.ADMIN}),
        Scope.NONE,
        "R13",
        local_operator=True,
    ),
    ActionSpec(
        "keys.rotate_data_key",
        "Rotate the data keys that seal biometrics at rest, or re-wrap them under a new KEK",
        frozenset({R.ADMIN}),
        Scope.NONE,
        "R13",
        local_operator=True,
    ),
    ActionSpec(
        "ledger.witness",
        "Push the latest checkpoint to the witnesses and store their cosignatures",
        frozenset({R.ADMIN}),
        Scope.NONE,
        "R13",
        local_operator=True,
    ),
    # -- policy ------------------------------------------------------------------------------
    ActionSpec("policy.read", "Read the active policy profile", ALL_ROLES, Scope.NONE, "R1"),
    ActionSpec(
        "policy.propose",
        "Propose a change of the policy profile",
        frozenset({R.ADMIN}),
        Scope.NONE,
        "R1",
    ),
    ActionSpec(
        "policy.approve",
        "Approve another admin's proposed profile change",
        frozenset({R.ADMIN}),
        Scope.NONE,
        "R1",
    ),
    ActionSpec(
        "violations.read",
        "List violations",
        frozenset({R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
        Scope.NONE,
        "R18",
    ),
    # -- accountability outputs: disclosure, transparency, misuse, alerts ----------------------
    ActionSpec(
        "report.disclosure",
        "Produce a request's disclosure packet for defence counsel or the court",
        frozenset({R.SUPERVISOR, R.AUDITOR}),
        Scope.VISIBLE_REQUEST,
        "R14",
    ),
    ActionSpec(
        "report.transparency",
        "Produce the transparency report for a period, by requesting agency",
        frozenset({R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
        Scope.NONE,
        "R17",
        local_operator=True,
    ),
    ActionSpec(
        "report.purge",
        "List what retention, sealing and gallery deletions removed, by category and count",
        frozenset({R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
        Scope.NONE,
        "R13",
    ),
    ActionSpec(
        "report.dashboard",
        "See the oversight dashboard: requests, outcomes, violations and open alerts",
        frozenset({R.SUPERVISOR, R.AUDITOR}),
        Scope.NONE,
        "R18",
    ),
    ActionSpec(
        "report.misuse",
        "Scan the records for patterns of misuse and list the findings",
        frozenset({R.SUPERVISOR, R.AUDITOR}),
        Scope.NONE,
        "R18",
        local_operator=True,
    ),
    ActionSpec(
        "alerts.read",
        "List alerts raised by violations and misuse findings",
        frozenset({R.SUPERVISOR, R.AUDITOR}),
        Scope.NONE,
        "R18",
    ),
    ActionSpec(
        "alerts.ack",
        "Acknowledge an alert with a note",
        frozenset({R.SUPERVISOR, R.AUDITOR}),
        Scope.NONE,
        "R18",
    ),
    # -- agencies and accounts ---------------------------------------------------------------
    ActionSpec("agency.create", "Create an agency", frozenset({R.ADMIN}), Scope.NONE, "R1"),
    ActionSpec("agency.list", "List agencies", ALL_ROLES, Scope.NONE, "R1"),
    ActionSpec("user.create", "Create an account", frozenset({R.ADMIN}), Scope.NONE, "R2"),
    ActionSpec(
        "user.approve",
        "Approve an account",
        frozenset({R.SUPERVISOR}),
        Scope.OTHER_ACCOUNT,
        "R2",
        distinct_from=(Party.ACCOUNT_CREATOR,),
    ),
    ActionSpec(
        "user.certify_training",
        "Certify an account's training",
        frozenset({R.SUPERVISOR}),
        Scope.OTHER_ACCOUNT,
        "R2",
        distinct_from=(Party.ACCOUNT_CREATOR,),
    ),
    ActionSpec(
        "user.disable",
        "Disable an account (its sessions and API tokens end)",
        frozenset({R.ADMIN, R.SUPERVISOR}),
        Scope.NONE,
        "R2",
    ),
    ActionSpec(
        "user.enable",
        "Enable a disabled account",
        frozenset({R.ADMIN, R.SUPERVISOR}),
        Scope.NONE,
        "R2",
    ),
    ActionSpec(
        "user.set_password",
        "Change a password (one's own with the current one; anyone's as admin)",
        frozenset({R.ADMIN}),
        Scope.OWN_ACCOUNT,
        "R2",
    ),
    ActionSpec(
        "user.list",
        "List accounts",
        frozenset({R.ADMIN, R.SUPERVISOR, R.AUDITOR}),
        Scope.NONE,
        "R2",
    ),
    ActionSpec(
        "user.show",
        "Look at an account (one's own, or anyone's)",
        frozenset({R.ADMIN, R.SUPERVISOR, R.AUDITOR}),
        Scope.OWN_ACCOUNT,
        "R2",
    ),
    ActionSpec(
        "token.create",
        "Issue an API token for one's own account",
        ALL_ROLES,
        Scope.NONE,
        "R1",
    ),
    ActionSpec(
        "token.manage",
        "List and revoke API tokens (one's own, or anyone's as admin)",
        frozenset({R.ADMIN}),
        Scope.OWN_ACCOUNT,
        "R1",
    ),
)

POLICY_ACTIONS: Mapping[Action, str] = MappingProxyType(
    {
        Action.SUBMIT: "request.submit",
        Action.APPROVE_EMERGENCY: "request.approve_emergency",
        Action.RUN_SEARCH: "request.search",
        Action.FIRST_REVIEW: "request.review.first",
        Action.PEER_REVIEW: "request.review.peer",
        Action.RELEASE: "request.release",
        Action.CLOSE_NO_LEAD: "request.close",
        Action.USE_LEAD: "request.lead_use",
        Action.FILE_EMERGENCY_STATEMENT: "request.file_statement",
        Action.SEAL: "request.court_refused",
    }
)
"""The registry's name of each step the policy engine decides."""

ACTIONS: Mapping[str, ActionSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Every action by name."""


def action(name: str) -> ActionSpec:
    """Return the action ``name``.

    Raises:
        KeyError: for a name not in the registry (a programming error).
    """
    return ACTIONS[name]


def _roles(spec: ActionSpec) -> str:
    names = sorted(r.value for r in spec.roles)
    shown = "any role" if spec.roles == ALL_ROLES else ", ".join(names)
    return shown + (", local operator" if spec.local_operator else "")


_SCOPE_WORDS = {
    Scope.NONE: "—",
    Scope.OWN_ACCOUNT: "own account (others: the roles)",
    Scope.OTHER_ACCOUNT: "another's account",
    Scope.OWN_AGENCY_REQUEST: "request of own agency",
    Scope.VISIBLE_REQUEST: "visible request",
    Scope.UNIT_REQUEST: "request routed to own unit, approved",
    Scope.UNIT_PENDING_REQUEST: "request routed to own unit",
}


def access_table() -> str:
    """Return the registry as the Markdown table of the README's access section."""
    lines = [
        "| action | does | roles | scope | not the same person as | requirement |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in _SPECS:
        distinct = ", ".join(p.value.replace("_", " ") for p in spec.distinct_from) or "—"
        note = " (unsafe profile only)" if spec.unsafe_profile_only else ""
        lines.append(
            f"| `{spec.name}` | {spec.description}{note} | {_roles(spec)} | "
            f"{_SCOPE_WORDS[spec.scope]} | {distinct} | {spec.requirement} |"
        )
    return "\n".join(lines) + "\n"
