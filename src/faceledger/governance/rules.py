"""The rules of REQUIREMENTS.md R1-R11, one small class each, and the R18 violation records.

Each rule is built from a :class:`~faceledger.governance.profiles.Profile`, reads its
parameters there, and answers :meth:`ProfileRule.check` with ``None`` (passes) or one sentence
naming what failed, the profile and the requirement, e.g. "Offence 'shoplifting' is a
misdemeanour; the massachusetts profile allows only: felony, violent_felony (R6)." A rule that
finds several problems joins them in that one sentence with "; ".

Rules never read the clock: the time is ``PolicyContext.now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar

from faceledger.errors import ConfigError, InvalidInput
from faceledger.governance.actions import ACTIONS, POLICY_ACTIONS
from faceledger.governance.context import (
    Action,
    CandidateMark,
    CourtOrder,
    DeceasedOrIncapacitated,
    Emergency,
    PolicyContext,
    ReviewOutcome,
    ReviewStage,
    Role,
)

if TYPE_CHECKING:
    from faceledger.governance.profiles import Profile

ALL_ACTIONS = frozenset(Action)
OPERATING_ACTIONS = frozenset(
    {
        Action.RUN_SEARCH,
        Action.FIRST_REVIEW,
        Action.PEER_REVIEW,
        Action.RELEASE,
        Action.CLOSE_NO_LEAD,
    }
)
"""Actions only the profile's operating agencies may take (R1)."""
EXAMINING_ACTIONS = frozenset({Action.RUN_SEARCH, Action.FIRST_REVIEW, Action.PEER_REVIEW})
REQUEST_ACTIONS = frozenset({Action.SUBMIT, Action.APPROVE_EMERGENCY, Action.RUN_SEARCH})
"""Actions at which the request itself (basis, offence, probe, purpose) is checked again."""

ACTION_ROLES: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {step: ACTIONS[name].roles for step, name in POLICY_ACTIONS.items()}
)
"""Roles that may attempt each action: the registry's (:mod:`faceledger.governance.actions`)."""


def _names(values: Iterable[object]) -> str:
    return ", ".join(sorted(str(v) for v in values)) or "(none)"


class ProfileRule:
    """Base of the shipped rules: built from a profile, checked against a context."""

    id: ClassVar[str]
    requirement: ClassVar[str]
    applies_to: ClassVar[frozenset[Action]]

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    def check(self, ctx: PolicyContext) -> str | None:
        """Return ``None`` if the rule passes, else one sentence saying why it fails."""
        problems = [p for p in self.problems(ctx) if p]
        if not problems:
            return None
        rest = "".join(f"; {p[0].lower()}{p[1:]}" for p in problems[1:])
        return f"{problems[0]}{rest} ({self.requirement})."

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        """Yield each problem as a clause without the requirement tag."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(profile={self.profile.name!r})"


# --- R1: access -------------------------------------------------------------------------


class NamedActor(ProfileRule):
    """R1: only named, individually identified people act; no shared or anonymous accounts."""

    id, requirement, applies_to = "named_actor", "R1", ALL_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        if not ctx.actor.user_id.strip():
            yield "The actor has no individual user id; shared or anonymous accounts may not act"


class RoleForAction(ProfileRule):
    """R1: each action needs one of the roles in :data:`ACTION_ROLES`."""

    id, requirement, applies_to = "role_for_action", "R1", ALL_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        needed = ACTION_ROLES[ctx.action]
        if not needed & ctx.actor.roles:
            yield (
                f"User {ctx.actor.user_id!r} (roles: {_names(ctx.actor.roles)}) may not "
                f"{ctx.action}; it needs one of: {_names(needed)}"
            )


class OperatingAgency(ProfileRule):
    """R1: searches and reviews only by the profile's operating agencies."""

    id, requirement, applies_to = "operating_agency", "R1", OPERATING_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        access, actor = self.profile.access, ctx.actor
        kind_ok = actor.agency_kind in access.operating_agency_kinds
        id_ok = not access.operating_agency_ids or actor.agency_id in access.operating_agency_ids
        if not (kind_ok and id_ok):
            only = f"{_names(access.operating_agency_kinds)} agencies"
            if access.operating_agency_ids:
                only += f" ({_names(access.operating_agency_ids)})"
            yield (
                f"User {actor.user_id!r} of agency {actor.agency_id!r} ({actor.agency_kind}) may "
                f"not {ctx.action}; under the {self.profile.name} profile only {only} may"
            )


# --- R2: accounts and training ----------------------------------------------------------


class AccountActive(ProfileRule):
    """R2: the account was approved by a supervisor and is not deactivated."""

    id, requirement, applies_to = "account_active", "R2", ALL_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        if not ctx.actor.account_approved:
            yield f"Account {ctx.actor.user_id!r} has not been approved by a supervisor"
        if not ctx.actor.active:
            yield f"Account {ctx.actor.user_id!r} is deactivated"


class TrainingCurrent(ProfileRule):
    """R2: examiners and reviewers hold a training certificate valid today."""

    id, requirement, applies_to = "training_current", "R2", EXAMINING_ACTIONS

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        if profile.access.training_validity_days is None:
            raise ConfigError(
                f"Profile {profile.source}: rule training_current needs "
                "access.training_validity_days to be a number of days.",
                file=profile.source,
                key="access.training_validity_days",
            )
        self.validity_days: int = profile.access.training_validity_days

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        until, today = ctx.actor.training_certified_until, ctx.now.date()
        who = f"User {ctx.actor.user_id!r}"
        every = f"the {self.profile.name} profile requires training every {self.validity_days} days"
        if until is None:
            yield f"{who} has no training certificate on record; {every}"
        elif until < today:
            yield f"{who} has a training certificate that expired on {until.isoformat()}; {every}"
        elif until > today + dt.timedelta(days=self.validity_days):
            yield (
                f"{who} has a training certificate running to {until.isoformat()}, longer than "
                f"the {self.validity_days} days the {self.profile.name} profile allows"
            )


# --- R3, R4, R5: legal basis ------------------------------------------------------------


class LegalBasisAllowed(ProfileRule):
    """R3: a request carries a legal basis the profile accepts; a court order is complete and
    in force."""

    id, requirement, applies_to = "legal_basis", "R3", REQUEST_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        basis, policy = ctx.request.legal_basis, self.profile.legal_basis
        accepts = f"the {self.profile.name} profile accepts: {_names(policy.allowed)}"
        if basis is None:
            yield f"Request {ctx.request.request_id!r} has no legal basis; {accepts}"
            return
        if basis.kind not in policy.allowed:
            yield f"Legal basis {str(basis.kind)!r} is not accepted; {accepts}"
            return
        if isinstance(basis, CourtOrder):
            yield from self._court_order(basis, ctx.now.date())

    def _court_order(self, order: CourtOrder, today: dt.date) -> Iterable[str]:
        authorities = self.profile.legal_basis.court_order_authorities
        if order.authority not in authorities:
            yield (
                f"An order by an authority of kind {str(order.authority)!r} is not accepted; "
                f"the {self.profile.name} profile accepts orders by: {_names(authorities)}"
            )
        missing = [f for f in ("court", "order_id", "judge") if not getattr(order, f).strip()]
        if missing:
            yield f"The court order lacks: {', '.join(missing)}"
        if order.issued_on > today:
            yield f"Court order {order.order_id!r} is dated {order.issued_on}, in the future"
        if order.expires_on < today:
            yield f"Court order {order.order_id!r} expired on {order.expires_on.isoformat()}"


class EmergencyBasis(ProfileRule):
    """R4: an emergency has written facts, an approving supervisor other than the requester,
    a filing deadline within the profile's hours, and is not sealed."""

    id, requirement = "emergency_basis", "R4"
    applies_to = REQUEST_ACTIONS | {Action.RELEASE, Action.USE_LEAD}

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        basis, request = ctx.request.legal_basis, ctx.request
        if not isinstance(basis, Emergency):
            if ctx.action is Action.APPROVE_EMERGENCY:
                yield f"Request {request.request_id!r} is not an emergency request"
            return
        if ctx.action in REQUEST_ACTIONS:
            yield from self._declaration(basis, ctx)
        if ctx.action is Action.APPROVE_EMERGENCY and ctx.actor.user_id == request.requester_id:
            yield "The requester may not approve their own emergency request"
        if ctx.action is Action.RUN_SEARCH:
            if not basis.approving_supervisor_id:
                yield "The emergency request has not been approved by a supervisor"
            elif basis.approving_supervisor_id == request.requester_id:
                yield "The emergency request was approved by its own requester"
        sealed = basis.sealing_reason(ctx.now)
        if sealed and ctx.action is not Action.SUBMIT:
            yield sealed

    def _declaration(self, basis: Emergency, ctx: PolicyContext) -> Iterable[str]:
        if not basis.facts.strip():
            yield "The emergency request gives no written facts of imminent danger"
        if basis.declared_at > ctx.now:
            yield f"The emergency is declared at {basis.declared_at.isoformat()}, in the future"
        hours = self.profile.legal_basis.emergency_filing_hours
        if hours is None:
            return
        latest = basis.declared_at + dt.timedelta(hours=hours)
        if basis.filing_deadline is None:
            yield (
                f"The emergency request has no court filing deadline; the {self.profile.name} "
                f"profile requires a filing within {hours} hours"
            )
        elif basis.filing_deadline > latest:
            yield (
                f"The court filing deadline {basis.filing_deadline.isoformat()} is later than the "
                f"{hours} hours after the declaration that the {self.profile.name} profile allows"
            )


class EmergencyFiling(ProfileRule):
    """R4: a court filing is recorded once, for an emergency; sealing needs a refused or late
    filing."""

    id, requirement = "emergency_filing", "R4"
    applies_to = frozenset({Action.FILE_EMERGENCY_STATEMENT, Action.SEAL})

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        basis, request_id = ctx.request.legal_basis, ctx.request.request_id
        if not isinstance(basis, Emergency):
            yield f"Request {request_id!r} is not an emergency request, so it has no court filing"
            return
        if ctx.action is Action.FILE_EMERGENCY_STATEMENT and basis.filed_at is not None:
            yield f"The court filing for request {request_id!r} was already recorded"
        if ctx.action is Action.SEAL and basis.sealing_reason(ctx.now) is None:
            yield (
                f"Request {request_id!r} cannot be sealed: its court filing is "
                f"{basis.filing_status(ctx.now)} and the court has not refused it"
            )


class DeceasedBasis(ProfileRule):
    """R5: identifying a deceased or incapacitated person needs a description of the case."""

    id, requirement, applies_to = "deceased_basis", "R5", REQUEST_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        basis = ctx.request.legal_basis
        if isinstance(basis, DeceasedOrIncapacitated) and not basis.description.strip():
            yield (
                "The request to identify a deceased or incapacitated person gives no "
                "description of the person and circumstances"
            )


# --- R6: offence and case ---------------------------------------------------------------


class OffenceAllowed(ProfileRule):
    """R6: the offence is in the profile's catalogue and of an allowed severity class.

    Identifying a deceased or incapacitated person (R5) needs no offence.
    """

    id, requirement, applies_to = "offence_allowed", "R6", REQUEST_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        code = ctx.request.offence_code
        if code is None or not code.strip():
            if not isinstance(ctx.request.legal_basis, DeceasedOrIncapacitated):
                yield "The request names no offence"
            return
        try:
            offence = self.profile.offences.get(code)
        except InvalidInput:
            yield f"Offence {code!r} is not in the {self.profile.offences.name} offence catalogue"
            return
        allowed = self.profile.request.allowed_severity_classes
        if offence.severity not in allowed:
            yield (
                f"Offence {code!r} is a {offence.severity}; the {self.profile.name} profile "
                f"allows only: {_names(allowed)}"
            )


class CaseDetails(ProfileRule):
    """R6: a case number and a short factual narrative."""

    id, requirement, applies_to = "case_details", "R6", REQUEST_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        if not ctx.request.case_number.strip():
            yield "The request has no case number"
        length, least = len(ctx.request.narrative.strip()), self.profile.request.min_narrative_chars
        if length < least:
            yield (
                f"The narrative has {length} characters; the {self.profile.name} profile "
                f"requires at least {least}"
            )


# --- R7, R8: inputs and forbidden uses --------------------------------------------------


class ProbeSourceAllowed(ProfileRule):
    """R7: only the probe sources the profile allows (still photos, in most)."""

    id, requirement, applies_to = "probe_source", "R7", REQUEST_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        allowed = self.profile.request.allowed_probe_sources
        if ctx.request.probe_source not in allowed:
            yield (
                f"Probe source {str(ctx.request.probe_source)!r} is not allowed; the "
                f"{self.profile.name} profile accepts only: {_names(allowed)}"
            )


class ProtectedActivity(ProfileRule):
    """R8: an attestation that the subject is not targeted for protected activity, and a
    purpose that is not forbidden."""

    id, requirement, applies_to = "protected_activity", "R8", REQUEST_ACTIONS

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        attestation = ctx.request.attestation
        if not attestation.attested:
            yield (
                "The requester has not attested that the subject is not targeted for "
                "religion, politics, protected traits or First Amendment activity"
            )
        elif not attestation.text.strip():
            yield "The protected-activity attestation has no text"
        if attestation.purpose in self.profile.request.forbidden_purposes:
            yield (
                f"The declared purpose {str(attestation.purpose)!r} is forbidden under the "
                f"{self.profile.name} profile"
            )


# --- R9, R10, R11: results, review and use ----------------------------------------------


class CandidateListCap(ProfileRule):
    """R9: candidate lists no longer than the profile's cap."""

    id, requirement = "candidate_cap", "R9"
    applies_to = frozenset({Action.RUN_SEARCH, Action.RELEASE})

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        cap = self.profile.results.max_candidates
        if ctx.action is Action.RUN_SEARCH:
            asked = ctx.request.max_candidates
            if not 1 <= asked <= cap:
                yield (
                    f"Requested candidate list length {asked} is outside 1 to {cap}, the "
                    f"{self.profile.name} profile's cap"
                )
        elif ctx.release is not None and len(ctx.release.candidate_ids) > cap:
            yield (
                f"The release lists {len(ctx.release.candidate_ids)} candidates; the "
                f"{self.profile.name} profile's cap is {cap}"
            )


class ReleaseCaveat(ProfileRule):
    """R9: every release carries the profile's caveat (and an unsafe profile's banner)."""

    id, requirement, applies_to = "release_caveat", "R9", frozenset({Action.RELEASE})

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        release, caveat = ctx.release, self.profile.results.caveat
        if release is None:
            yield "Nothing to release: the release carries no candidates and no caveat"
            return
        if release.caveat != caveat:
            yield f"The release must carry the caveat {caveat!r}, not {release.caveat!r}"
        if self.profile.unsafe and self.profile.unsafe_banner not in release.notices:
            yield f"The release must show the notice {self.profile.unsafe_banner!r}"


class IndependentReview(ProfileRule):
    """R10: reviews by distinct named people; only candidates every reviewer marked
    ``possible_lead`` are released."""

    id, requirement = "independent_review", "R10"
    applies_to = frozenset({Action.PEER_REVIEW, Action.RELEASE})

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        reviews = ctx.request.reviews
        first = {r.reviewer_id for r in reviews if r.stage is ReviewStage.FIRST}
        if ctx.action is Action.PEER_REVIEW:
            if not first:
                yield "A peer review needs a first review to exist"
            if ctx.actor.user_id in first:
                yield f"User {ctx.actor.user_id!r} did the first review and may not peer-review it"
            if ctx.actor.user_id == ctx.request.requester_id:
                yield f"User {ctx.actor.user_id!r} filed this request and may not review it"
            return
        reviewers = {r.reviewer_id for r in reviews if r.reviewer_id.strip()}
        needed = self.profile.results.required_reviews
        if len(reviewers) < needed:
            yield (
                f"Release needs {needed} reviews by different people under the "
                f"{self.profile.name} profile; this request has {len(reviewers)} "
                f"({_names(reviewers)})"
            )
        for candidate in ctx.release.candidate_ids if ctx.release else ():
            if not reviews or any(_outcome(r.marks, candidate) is not _LEAD for r in reviews):
                yield f"Candidate {candidate!r} was not marked possible_lead by every reviewer"


_LEAD = ReviewOutcome.POSSIBLE_LEAD


def _outcome(marks: Iterable[CandidateMark], candidate: str) -> ReviewOutcome | None:
    return next((m.outcome for m in marks if m.candidate_id == candidate), None)


class CorroboratedLead(ProfileRule):
    """R11: a lead used for arrest, warrant or lineup cites independent corroborating evidence."""

    id, requirement, applies_to = "corroborated_lead", "R11", frozenset({Action.USE_LEAD})

    def problems(self, ctx: PolicyContext) -> Iterable[str]:
        lead = ctx.lead_use
        if lead is None:
            yield "The lead use does not say which candidate or what for"
            return
        needs = self.profile.results.corroboration_required_for
        if lead.use in needs and not lead.corroboration_ref.strip():
            yield (
                f"Using candidate {lead.candidate_id!r} for {lead.use} needs a recorded reference "
                "to independent corroborating evidence; a face search result alone is never "
                "enough"
            )


RULE_TYPES: Mapping[str, Callable[[Profile], ProfileRule]] = MappingProxyType(
    {
        cls.id: cls
        for cls in (
            NamedActor,
            RoleForAction,
            OperatingAgency,
            AccountActive,
            TrainingCurrent,
            LegalBasisAllowed,
            EmergencyBasis,
            EmergencyFiling,
            DeceasedBasis,
            OffenceAllowed,
            CaseDetails,
            ProbeSourceAllowed,
            ProtectedActivity,
            CandidateListCap,
            ReleaseCaveat,
            IndependentReview,
            CorroboratedLead,
        )
    }
)
"""Every rule a profile may name, by id."""


def build_rules(profile: Profile) -> tuple[ProfileRule, ...]:
    """Return the rules ``profile`` names, in its order.

    Raises:
        ConfigError: if a rule id is unknown or a rule's parameters are missing.
    """
    try:
        return tuple(RULE_TYPES[rule_id](profile) for rule_id in profile.rules)
    except KeyError as exc:
        raise ConfigError(
            f"Profile {profile.name} names unknown rule {exc.args[0]!r}.", key="rules"
        ) from None
