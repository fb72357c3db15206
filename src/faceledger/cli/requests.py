"""``faceledger request|review|violations|policy ...``: the search lifecycle, acting as the
logged-in user (see ``faceledger login``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from faceledger.cli.common import bounded, console, err_console, handled, print_json, run
from faceledger.cli.session import current_user
from faceledger.errors import InvalidInput
from faceledger.governance.accounts import UserInfo
from faceledger.governance.context import ReviewStage
from faceledger.governance.forms import enum_value

if TYPE_CHECKING:
    from faceledger.service import FaceLedger
    from faceledger.service.request_views import RequestView

request_app = typer.Typer(help="File and work search requests.", no_args_is_help=True)
review_app = typer.Typer(
    help="Review candidate lists (first and blind peer review).", no_args_is_help=True
)
violations_app = typer.Typer(
    help="Violations for supervisors and auditors (R18).", no_args_is_help=True
)
policy_app = typer.Typer(help="The active policy profile.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of text.")
ID_ARGUMENT = typer.Argument(..., help="Request number.", callback=bounded())


def print_request(view: Any, as_json: bool) -> None:
    """Print a request as the caller may see it."""
    data = view.to_dict()
    if as_json:
        print_json(data)
        return
    for notice in data["notices"]:
        err_console.print(f"[bold yellow]{notice}[/]", highlight=False)
    console.print(
        f"[bold]request {data['id']}[/] — {data['state']} — case {data['case_number']} — "
        f"{data['offence']['code'] or 'no offence'} ({data['offence']['severity'] or '-'}) — "
        f"basis {data['legal_basis']['kind']} — requester {data['requester']} "
        f"({data['agency']}) — profile {data['profile']['name']}",
        highlight=False,
    )
    for reason in data["decision"]["reasons"]:
        console.print(f"  denied: {reason}", highlight=False)
    if data["emergency"]:
        e = data["emergency"]
        console.print(
            f"  emergency: approved by {e['approving_supervisor'] or '-'}; court "
            f"filing due {e['filing_deadline']}; filed {e['filed_at'] or 'no'}",
            highlight=False,
        )
    run_data = data["run"]
    if run_data and run_data["candidates"]:
        table = Table(
            "id",
            "face",
            "rank",
            "subject",
            "name",
            "gallery",
            "distance",
            "similarity",
            "within threshold",
            title=f"candidates (searched by {run_data['operator']})",
        )
        for c in run_data["candidates"]:
            table.add_row(
                str(c["id"]),
                str(c["face_index"] + 1),
                str(c["rank"]),
                c["external_id"],
                c["display_name"],
                c["gallery"],
                f"{c['distance']:.3f}",
                f"{c['similarity']:.3f}",
                "yes" if c["within_threshold"] else "",
            )
        console.print(table)
        for point in run_data["thresholds"]:
            console.print(
                f"  threshold of {point['gallery']}: distance ≤ {point['description']}",
                highlight=False,
            )
    for review in data["reviews"]:
        leads = [m["candidate_id"] for m in review["marks"] if m["outcome"] == "possible_lead"]
        console.print(
            f"  {review['stage']} review by {review['reviewer']}: possible leads {leads or 'none'}",
            highlight=False,
        )
    if data["release"]:
        console.print(
            f"  released {data['release']['at']}: candidates "
            f"{data['release']['candidate_ids']} — [bold]{data['release']['caveat']}[/]",
            highlight=False,
        )
    for use in data["lead_uses"]:
        console.print(
            f"  lead {use['candidate_id']} used for {use['use']} "
            f"(corroboration: {use['corroboration_ref'] or '-'})",
            highlight=False,
        )
    if data["sealed"]:
        console.print(
            f"  sealed {data['sealed']['at']}: {data['sealed']['reason']}", highlight=False
        )


def _act(
    ctx: typer.Context, as_json: bool, step: Callable[[FaceLedger, UserInfo], RequestView]
) -> None:
    """Run one request use case as the logged-in person and print the request it returns."""

    def body(service: FaceLedger) -> int:
        print_request(step(service, current_user(ctx, service)), as_json)
        return 0

    run(ctx, body)


@request_app.command("file")
def file_request(
    ctx: typer.Context,
    probe: Path = typer.Option(..., "--probe", exists=True, help="The probe photo (a still)."),
    case: str = typer.Option(..., "--case", help="Case number."),
    offence: str | None = typer.Option(
        None, "--offence", help="Offence code (see `policy offences`)."
    ),
    narrative: str = typer.Option(..., help="Short factual narrative."),
    basis: str = typer.Option(
        ..., help="court_order, emergency, deceased_or_incapacitated or investigation."
    ),
    court: str = typer.Option("", help="Court order: court."),
    order_id: str = typer.Option("", help="Court order: docket or order id."),
    judge: str = typer.Option("", help="Court order: judge."),
    issued: str = typer.Option("", help="Court order: issued on (YYYY-MM-DD)."),
    expires: str = typer.Option("", help="Court order: expires on (YYYY-MM-DD)."),
    authority: str = typer.Option("judicial", help="Court order: judicial or administrative."),
    facts: str = typer.Option("", help="Emergency: facts of imminent danger."),
    declared_at: str = typer.Option("", help="Emergency: when declared (ISO 8601; default now)."),
    description: str = typer.Option("", help="Deceased/incapacitated: description."),
    probe_source: str = typer.Option(
        "still_photo", help="still_photo, video_frame, live_stream, sketch or composite."
    ),
    attest: bool = typer.Option(
        False, "--attest", help="Attest the subject is not targeted for protected activity (R8)."
    ),
    attestation: str = typer.Option("", help="Attestation text."),
    purpose: str = typer.Option("criminal_investigation", help="Declared purpose."),
    gallery: list[str] = typer.Option(..., "--gallery", "-g", help="Gallery to search."),
    max_candidates: int | None = typer.Option(None, help="Candidate list length (profile cap)."),
    face: int | None = typer.Option(
        None,
        "--face",
        min=0,
        help="The one face of the photo to search (0-based; `request faces PHOTO` lists them). "
        "Needed when the photo shows several faces.",
    ),
    described_sex: str = typer.Option(
        "",
        "--described-sex",
        help="Optional: your description of the unknown person's sex (female, male, other, "
        "unknown); counted in the transparency report, never inferred from the photo.",
    ),
    described_race: str = typer.Option(
        "",
        "--described-race",
        help="Optional: your description of the unknown person's race (e.g. white, "
        "black_or_african_american, asian, hispanic_or_latino, unknown; see the README).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """File a search request; the policy decides at once and gives every reason if it denies."""
    from faceledger.governance.forms import RequestForm

    fields = {
        "case_number": case,
        "offence_code": offence,
        "narrative": narrative,
        "legal_basis_kind": basis,
        "court": court,
        "order_id": order_id,
        "judge": judge,
        "issued_on": issued,
        "expires_on": expires,
        "authority": authority,
        "facts": facts,
        "declared_at": declared_at,
        "description": description,
        "probe_source": probe_source,
        "attestation_text": attestation,
        "purpose": purpose,
        "max_candidates": max_candidates,
        "face_index": face,
        "described_sex": described_sex,
        "described_race": described_race,
    }
    with handled():
        form = RequestForm.parse(fields, gallery, attest)
    data = probe.read_bytes()
    _act(ctx, as_json, lambda s, me: s.requests.submit_request(me, form, data, probe.name))


@request_app.command("faces")
def probe_faces(
    ctx: typer.Context,
    probe: Path = typer.Argument(..., exists=True, help="The probe photo."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the faces of a probe photo, numbered as `request file --face N` names them."""

    def body(service: FaceLedger) -> int:
        found = service.requests.probe_faces(
            current_user(ctx, service), probe.read_bytes(), probe.name
        )
        if as_json:
            print_json([{"index": f.index, "box": f.box.to_dict()} for f in found])
            return 0
        for f in found:
            b = f.box
            console.print(
                f"face {f.index}: box ({b.left}, {b.top}) to ({b.right}, {b.bottom})",
                highlight=False,
            )
        return 0

    run(ctx, body)


@request_app.command("list")
def list_requests(
    ctx: typer.Context,
    state: str | None = typer.Option(None, help="Only requests in this state."),
    limit: int = typer.Option(50, help="At most this many (1-500).", callback=bounded()),
    offset: int = typer.Option(0, help="Skip this many.", callback=bounded(0)),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the requests you may see, newest first."""

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        views, total = service.requests.list_requests(me, state, limit, offset)
        if as_json:
            print_json({"total": total, "items": [v.to_dict() for v in views]})
            return 0
        table = Table(
            "id", "state", "case", "offence", "basis", "requester", title=f"{total} requests"
        )
        for v in views:
            d = v.to_dict()
            table.add_row(
                str(d["id"]),
                d["state"],
                d["case_number"],
                d["offence"]["code"] or "",
                d["legal_basis"]["kind"],
                d["requester"] or "",
            )
        console.print(table)
        return 0

    run(ctx, body)


@request_app.command("show")
def show(ctx: typer.Context, request_id: int = ID_ARGUMENT, as_json: bool = JSON_OPTION) -> None:
    """Show one request as you may see it."""
    _act(ctx, as_json, lambda s, me: s.requests.get_request(me, request_id))


@request_app.command("approve-emergency")
def approve_emergency(
    ctx: typer.Context, request_id: int = ID_ARGUMENT, as_json: bool = JSON_OPTION
) -> None:
    """Approve an emergency request (supervisor); the court-filing deadline runs (R4)."""
    _act(ctx, as_json, lambda s, me: s.requests.approve_emergency(me, request_id))


@request_app.command("search")
def search_request(
    ctx: typer.Context, request_id: int = ID_ARGUMENT, as_json: bool = JSON_OPTION
) -> None:
    """Run the search of an approved request (examiner of the operating unit)."""
    _act(ctx, as_json, lambda s, me: s.requests.run_request_search(me, request_id))


@request_app.command("release")
def release(ctx: typer.Context, request_id: int = ID_ARGUMENT, as_json: bool = JSON_OPTION) -> None:
    """Release the agreed candidates to the requester, with the caveat."""
    _act(ctx, as_json, lambda s, me: s.reviews.release_request(me, request_id))


@request_app.command("close")
def close(
    ctx: typer.Context,
    request_id: int = ID_ARGUMENT,
    reason: str = typer.Option(..., help="Why nothing is released."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Close a searched request as no_lead."""
    _act(ctx, as_json, lambda s, me: s.reviews.close_no_lead(me, request_id, reason))


@request_app.command("use-lead")
def use_lead(
    ctx: typer.Context,
    request_id: int = ID_ARGUMENT,
    candidate: int = typer.Option(..., help="Released candidate id.", callback=bounded()),
    use: str = typer.Option(..., help="further_investigation, arrest, warrant or photo_lineup."),
    corroboration: str = typer.Option(
        "",
        help="Reference to independent corroborating "
        "evidence (required for arrest, warrant, lineup; R11).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record that a released lead was used."""
    _act(
        ctx,
        as_json,
        lambda s, me: s.reviews.record_lead_use(me, request_id, candidate, use, corroboration),
    )


@request_app.command("file-statement")
def file_statement(
    ctx: typer.Context,
    request_id: int = ID_ARGUMENT,
    reference: str = typer.Option(..., help="The court's reference for the sworn statement."),
    filed_at: str | None = typer.Option(None, help="When filed (ISO 8601; default now)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record the court filing of an emergency request (R4)."""
    from faceledger.governance.forms import parse_time

    when = parse_time(filed_at, "filed_at") if filed_at else None
    _act(
        ctx,
        as_json,
        lambda s, me: s.emergencies.file_emergency_statement(me, request_id, reference, when),
    )


@request_app.command("court-refused")
def court_refused(
    ctx: typer.Context,
    request_id: int = ID_ARGUMENT,
    note: str = typer.Option("", help="The court's decision."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record that the court refused an emergency filing: results are sealed (R4)."""
    _act(ctx, as_json, lambda s, me: s.emergencies.record_court_refusal(me, request_id, note))


@request_app.command("overdue")
def overdue(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Run the due jobs as the logged-in supervisor: flag and seal emergency requests whose
    court filing is overdue (R4, R18). `faceledger jobs run-due` does the same from cron."""

    def body(service: FaceLedger) -> int:
        print_report(service.emergencies.run_due(current_user(ctx, service)), as_json)
        return 0

    run(ctx, body)


def print_report(report: Any, as_json: bool) -> None:
    """Print what one run of the due jobs did."""
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"flagged {len(report.flagged)} overdue emergency request(s): {list(report.flagged)}; "
        f"sealed {len(report.sealed)}: {list(report.sealed)} (ledger entry {report.ledger_seq})"
    )


def _parse_mark(text: str) -> dict[str, Any]:
    candidate, _, rest = text.partition("=")
    outcome, _, note = rest.partition(":")
    if not candidate or not outcome:
        raise InvalidInput(f"--mark must look like CANDIDATE=OUTCOME[:note]; got {text!r}.")
    return {"candidate_id": candidate, "outcome": outcome, "note": note}


@review_app.command("submit")
def review_submit(
    ctx: typer.Context,
    request_id: int = ID_ARGUMENT,
    mark: list[str] = typer.Option(
        [],
        "--mark",
        help="CANDIDATE=OUTCOME[:note], OUTCOME one "
        "of possible_lead, not_match, inconclusive (repeat).",
    ),
    marks_file: Path | None = typer.Option(None, exists=True, help="JSON list of marks."),
    stage: str | None = typer.Option(
        None, help="first or peer: the review you mean (a lost race then answers 409)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Submit your review: the first review, or the blind peer review after it."""

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        marks = [_parse_mark(m) for m in mark]
        if marks_file is not None:
            try:
                marks += json.loads(marks_file.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise InvalidInput(f"{marks_file} is not a JSON list of marks: {exc}") from None
        meant = enum_value(ReviewStage, stage, "stage") if stage else None
        print_request(service.reviews.submit_review(me, request_id, marks, meant), as_json)
        return 0

    run(ctx, body)


@violations_app.command("list")
def violations_list(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, help="Only this kind."),
    limit: int = typer.Option(100, help="At most this many.", callback=bounded()),
    as_json: bool = JSON_OPTION,
) -> None:
    """List violations, newest first (supervisors, auditors, admins)."""

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        found, total = service.violations.list_violations(me, kind, limit)
        if as_json:
            print_json({"total": total, "items": [v.to_dict() for v in found]})
            return 0
        table = Table(
            "id",
            "when",
            "kind",
            "requirements",
            "actor",
            "request",
            "reason",
            title=f"{total} violations",
        )
        for v in found:
            table.add_row(
                str(v.id),
                v.created_at[:19],
                v.kind,
                ", ".join(v.requirements),
                v.actor,
                str(v.request_id or ""),
                v.reason,
            )
        console.print(table)
        return 0

    run(ctx, body)


@policy_app.command("show")
def policy_show(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Show the active policy profile and its main parameters."""

    def body(service: FaceLedger) -> int:
        profile = service.policy.active_profile()
        data = {
            **profile.summary(),
            "title": profile.title,
            "banner": profile.unsafe_banner,
            "rules": list(profile.rules),
            "max_candidates": profile.results.max_candidates,
            "required_reviews": profile.results.required_reviews,
            "legal_bases": [str(b) for b in profile.legal_basis.allowed],
            "emergency_filing_hours": profile.legal_basis.emergency_filing_hours,
            "severity_classes": [str(c) for c in profile.request.allowed_severity_classes],
            "probe_sources": [str(p) for p in profile.request.allowed_probe_sources],
            "history": service.policy.profile_history(),
        }
        if as_json:
            print_json(data)
            return 0
        if profile.unsafe:
            err_console.print(f"[bold red]{profile.unsafe_banner}[/]", highlight=False)
        for key, value in data.items():
            if key not in ("history", "banner"):
                console.print(f"{key}: {value}", highlight=False)
        return 0

    run(ctx, body)


CONFIRM_OPTION = typer.Option(
    None, "--confirm", help="For an unsafe profile: type its name to confirm the switch."
)


@policy_app.command("set")
def policy_set(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Profile name or YAML path."),
    confirm: str | None = CONFIRM_OPTION,
) -> None:
    """Propose another profile (admin); a different admin approves it with `policy approve`."""

    def body(service: FaceLedger) -> int:
        proposal = service.policy.propose_profile(current_user(ctx, service), name, confirm)
        console.print(
            f"proposed profile {proposal.profile} ({proposal.sha256[:16]}…) as proposal "
            f"{proposal.id}; a different admin approves it with "
            f"`faceledger policy approve {proposal.id}`",
            highlight=False,
        )
        if proposal.banner:
            err_console.print(f"[bold red]{proposal.banner}[/]", highlight=False)
        return 0

    run(ctx, body)


@policy_app.command("approve")
def policy_approve(
    ctx: typer.Context,
    proposal: int = typer.Argument(..., help="The proposal's number.", callback=bounded()),
    confirm: str | None = CONFIRM_OPTION,
) -> None:
    """Approve another admin's proposed profile change (admin); it becomes active."""

    def body(service: FaceLedger) -> int:
        profile = service.policy.approve_proposal(current_user(ctx, service), proposal, confirm)
        console.print(f"active profile: {profile.name} ({profile.sha256[:16]}…)")
        if profile.unsafe:
            err_console.print(f"[bold red]{profile.unsafe_banner}[/]", highlight=False)
        return 0

    run(ctx, body)


@policy_app.command("proposals")
def policy_proposals(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List proposed profile changes, newest first (admin)."""

    def body(service: FaceLedger) -> int:
        found = service.policy.list_proposals(current_user(ctx, service))
        if as_json:
            print_json([p.to_dict() for p in found])
            return 0
        for p in found:
            console.print(
                f"{p.id}  {p.status:<10} {p.profile}  by {p.proposed_by}"
                + (f", {p.status} by {p.decided_by}" if p.decided_by else ""),
                highlight=False,
            )
        return 0

    run(ctx, body)


@policy_app.command("offences")
def policy_offences(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List the offence catalogue of the active profile."""

    def body(service: FaceLedger) -> int:
        catalogue = service.policy.active_profile().offences.to_dict()
        if as_json:
            print_json(catalogue)
            return 0
        table = Table("code", "name", "severity")
        for offence in catalogue.get("offences", []):
            table.add_row(offence["code"], offence["name"], offence["severity"])
        console.print(table)
        return 0

    run(ctx, body)
