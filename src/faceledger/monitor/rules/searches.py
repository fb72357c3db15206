"""Rules on searches: each follows an approval the profile allowed, and none runs once the
request's authority has lapsed."""

from __future__ import annotations

from faceledger.monitor import names
from faceledger.monitor.log import Entry, RequestHistory, public_time
from faceledger.monitor.profiles import ProfileInForce
from faceledger.monitor.rules.base import Check, Context, filing_deadline

__all__ = ["SearchAfterApproval", "SearchWhileAuthorised"]


class SearchAfterApproval:
    """Every search follows an approval of its request, on a legal basis (and offence class,
    where the profile lists classes) that the profile in force at the approval allowed, and the
    profile in force at the search still allowed."""

    id = "search_after_approval"
    requirement = "R3"
    description = (
        "every request.search follows an approval of that request, whose legal-basis kind "
        "(and offence class) the profile then in force allowed"
    )

    def check(self, ctx: Context, out: Check) -> None:
        """Check every ``request.search`` entry."""
        for history in ctx.log.requests.values():
            for search in history.of(names.SEARCH):
                out.counted()
                self._search(ctx, out, history, search)

    def _search(self, ctx: Context, out: Check, history: RequestHistory, search: Entry) -> None:
        approvals = history.approvals(before=search.seq)
        submit = history.submit
        if not approvals:
            if submit is not None and submit.seq < search.seq and not submit.public:
                out.unchecked(
                    f"Request {history.ident}'s filing (seq {submit.seq}) has no public fields "
                    "(written before ledger envelope version 2): whether it was approved is "
                    "not in the log.",
                    [submit, search],
                    history.ident,
                )
            elif submit is None and ctx.log.split():
                out.unchecked(
                    f"The search at seq {search.seq} names its request by pseudonym; its "
                    "approval may be among the entries written before envelope version 3, "
                    "which name requests in clear.",
                    [search],
                    history.ident,
                )
            else:
                out.finding(
                    f"The search at seq {search.seq} of request {history.ident} follows no "
                    "approval of that request.",
                    [search, *([submit] if submit else [])],
                    history.ident,
                    [search.actor],
                )
            return
        approval = approvals[-1]
        if submit is None:
            out.unchecked(
                f"Request {history.ident}'s filing is not in the log, so its legal basis and "
                f"offence class are unknown (search at seq {search.seq}).",
                [approval, search],
                history.ident,
            )
            return
        at_approval = ctx.profiles.at(approval.seq)
        _allowed(out, history, submit, approval, at_approval, "approval", [approval, search])
        at_search = ctx.profiles.at(search.seq)
        if at_search is not None and (at_approval is None or at_search.entry != at_approval.entry):
            _allowed(out, history, submit, search, at_search, "search", [approval, search])


def _allowed(
    out: Check,
    history: RequestHistory,
    submit: Entry,
    step: Entry,
    profile: ProfileInForce | None,
    what: str,
    shown: list[Entry],
) -> None:
    """Record a finding if ``profile`` did not allow the request's legal basis or offence."""
    if profile is None:
        out.unchecked(
            f"No policy profile was set before the {what} at seq {step.seq}.", shown, history.ident
        )
        return
    name = profile.name or "?"
    seqs = [*shown, submit, profile.entry]
    basis = history.legal_basis
    bases = profile.allowed("legal_bases")
    if basis is None or bases is None:
        out.unchecked(
            f"The legal basis of request {history.ident} or the bases the {name} profile "
            f"(seq {profile.entry.seq}) allows are not in the log.",
            seqs,
            history.ident,
        )
    elif profile.runs(names.RULE_LEGAL_BASIS) and basis not in bases:
        out.finding(
            f"Request {history.ident} rests on a {basis} basis, which the {name} profile in "
            f"force at its {what} (seq {step.seq}) does not allow ({', '.join(sorted(bases))}).",
            seqs,
            history.ident,
        )
    if not profile.runs(names.RULE_OFFENCE):
        return
    offence = submit.public.get("offence_class")
    classes = profile.allowed("offence_classes")
    if not isinstance(offence, str) or classes is None:
        out.unchecked(
            f"The offence class of request {history.ident} or the classes the {name} profile "
            f"(seq {profile.entry.seq}) allows are not in the log.",
            seqs,
            history.ident,
        )
    elif offence == "" and basis != names.DECEASED:
        out.finding(
            f"Request {history.ident} names no offence, which the {name} profile in force at "
            f"its {what} (seq {step.seq}) requires for a {basis} basis.",
            seqs,
            history.ident,
        )
    elif offence and offence not in classes:
        out.finding(
            f"Request {history.ident} is for a {offence}, which the {name} profile in force at "
            f"its {what} (seq {step.seq}) does not allow ({', '.join(sorted(classes))}).",
            seqs,
            history.ident,
        )


class SearchWhileAuthorised:
    """No search after the court order expired, after the request was sealed, or after an
    emergency's filing deadline passed without a filed statement."""

    id = "search_while_authorised"
    requirement = "R4"
    description = (
        "no search after the order's expiry, after a sealing, or after an emergency's filing "
        "deadline passed without a filed statement"
    )

    def check(self, ctx: Context, out: Check) -> None:
        """Check every ``request.search`` entry."""
        for history in ctx.log.requests.values():
            for search in history.of(names.SEARCH):
                out.counted()
                self._search(ctx, out, history, search)

    @staticmethod
    def _search(ctx: Context, out: Check, history: RequestHistory, search: Entry) -> None:
        rid = history.ident
        for sealed in history.of(names.SEALED, before=search.seq):
            out.finding(
                f"Request {rid} was searched at seq {search.seq} after it was sealed at seq "
                f"{sealed.seq}.",
                [sealed, search],
                rid,
                [search.actor],
            )
        approval = next(iter(history.approvals(before=search.seq)[-1:]), None)
        # Without an approval there is no order in force to expire: search_after_approval
        # reports that search already.
        if history.legal_basis == names.COURT_ORDER and approval is not None:
            expires = public_time(approval.public, "order_expires")
            if expires is None:
                out.unchecked(
                    f"The expiry of request {rid}'s court order is not in the log (search at "
                    f"seq {search.seq}).",
                    [approval, search],
                    rid,
                )
            elif search.ts >= expires:
                out.finding(
                    f"Request {rid} was searched at seq {search.seq} "
                    f"({search.ts.isoformat()}), after its court order expired "
                    f"({expires.isoformat()}).",
                    [approval, search],
                    rid,
                    [search.actor],
                )
        if history.emergency and approval is not None:
            deadline = filing_deadline(history, ctx)
            shown = [search, *([deadline.approval] if deadline.approval else [])]
            if not deadline.known:
                out.unchecked(
                    f"The filing deadline of emergency request {rid} cannot be told: "
                    f"{deadline.why} (search at seq {search.seq}).",
                    shown,
                    rid,
                )
            elif (
                deadline.at is not None
                and search.ts > deadline.at
                and not history.of(names.EMERGENCY_FILED, before=search.seq)
            ):
                out.finding(
                    f"Emergency request {rid} was searched at seq {search.seq} "
                    f"({search.ts.isoformat()}), after its filing deadline ({deadline.why}) "
                    "passed without a filed statement.",
                    shown,
                    rid,
                    [search.actor],
                )
