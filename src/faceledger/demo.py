"""A clearly labelled demo installation: a gallery, agencies, accounts, and one search request
at each stage of the lifecycle, so a newcomer can click through the whole flow.

Everything is made through the service layer (so the ledger records it, labelled ``demo``).
Refused on a data directory that already has accounts: demo accounts share one generated
password and must never appear in a real installation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceledger.errors import Conflict, InvalidInput, PolicyDenied
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.accounts import UserInfo, generate_password
from faceledger.governance.context import (
    DescribedRace,
    DescribedSex,
    LegalBasisKind,
    ProbeSource,
    Purpose,
)
from faceledger.governance.forms import RequestForm
from faceledger.service import FaceLedger

DEMO_GALLERY = "demo-booking-photos"
DEMO_LABEL = "DEMO DATA — fictitious cases for training and evaluation only"
# Photos kept out of the gallery and used as probes, so searches are not trivial self-matches.
PROBES = {
    "obama": "obama/obama_small.jpg",
    "biden": "biden/biden1.jpg",
    "kit": "kit_harington/kit1.jpg",
    "rose": "rose_leslie/rose1.jpg",
    "penny": "penny/penny1.png",
    "sheldon": "sheldon/sheldon1.png",
    "amy": "amy/amy1.png",
    "raj": "raj/raj1.png",
    "howard": "howard/howard1.png",
    "leonard": "leonard/leonard1.png",
}
AGENCIES = (
    ("ma-state-police", "Massachusetts State Police — FR unit (demo)", "operating_unit"),
    ("boston-pd", "Boston Police Department (demo)", "requesting_agency"),
    ("cambridge-pd", "Cambridge Police Department (demo)", "requesting_agency"),
)
PEOPLE = (
    ("det-rivera", "Det. Ana Rivera", "boston-pd", ["requester"]),
    ("det-okafor", "Det. Sam Okafor", "cambridge-pd", ["requester"]),
    ("ex-chen", "Examiner Li Chen", "ma-state-police", ["examiner"]),
    ("ex-novak", "Examiner Eva Novak", "ma-state-police", ["examiner", "reviewer"]),
    ("ex-silva", "Examiner Rui Silva", "ma-state-police", ["reviewer"]),
    ("sup-hale", "Sgt. Rob Hale", "ma-state-police", ["supervisor"]),
    ("aud-kim", "Auditor June Kim", "ma-state-police", ["auditor"]),
)


DEMO_SUPERVISOR = "sup-hale"


@dataclass
class DemoResult:
    """What the demo created: the passwords (shown once) and the requests by stage."""

    admin_username: str
    admin_password: str
    password: str
    usernames: list[str]
    requests: dict[str, int] = field(default_factory=dict)
    enrolled: int = 0


def _form(probe_case: str, **changes: Any) -> RequestForm:
    today = dt.date.today()
    base = RequestForm(
        case_number=f"DEMO-{probe_case}",
        offence_code="armed_robbery",
        narrative=f"{DEMO_LABEL}. Armed robbery of a corner shop; the clerk photographed the "
        "suspect at the counter with a phone camera.",
        legal_basis_kind=LegalBasisKind.COURT_ORDER,
        legal_basis={
            "court": "Suffolk Superior Court (demo)",
            "order_id": f"DEMO-ORDER-{probe_case}",
            "judge": "Hon. Demo Judge",
            "issued_on": (today - dt.timedelta(days=1)).isoformat(),
            "expires_on": (today + dt.timedelta(days=60)).isoformat(),
        },
        probe_source=ProbeSource.STILL_PHOTO,
        attested=True,
        attestation_text="The person is not sought for religion, politics, protected traits "
        "or any First Amendment activity.",
        purpose=Purpose.CRIMINAL_INVESTIGATION,
        galleries=(DEMO_GALLERY,),
    )
    return dataclasses.replace(base, **changes)


def _marks(view: Any, agree: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "candidate_id": c["id"],
            "outcome": "possible_lead" if c["rank"] == 1 and agree else "not_match",
            "note": "face shape, eyes and ears consistent" if c["rank"] == 1 else "",
        }
        for c in view.candidates
    ]


def load_demo(
    service: FaceLedger,
    faces: Path,
    evaluation: Mapping[str, Any],
    say: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    """Create the demo on a data directory with no accounts yet. ``evaluation`` is a real
    evaluation summary of the service's model (``faceledger eval``): the demo gallery is
    activated with it through the deployment gate before any demo search runs.

    Raises:
        Conflict: if the data directory already has accounts.
        InvalidInput: if ``faces`` lacks the shared example photos.
        GateClosed: if the evaluation does not open the gate under the active profile.
    """
    people = faces / "people"
    if not people.is_dir():
        raise InvalidInput(f"The demo needs the example photos at {people}.")
    if service.accounts.has_accounts():
        raise Conflict(
            "This data directory already has accounts; load the demo into a new one "
            "(e.g. --data-dir .faceledger-demo)."
        )
    admin, admin_password = service.accounts.bootstrap_admin(
        "admin", "Demo Administrator", agency_slug=AGENCIES[0][0], agency_name=AGENCIES[0][1]
    )
    say(f"{DEMO_LABEL}: admin account created")
    for slug, name, kind in AGENCIES[1:]:
        service.accounts.create_agency(admin, slug, name, kind, "US-MA (demo)")
    password = generate_password("demo")
    until = dt.date.today() + dt.timedelta(days=300)
    # The second person of the unit: accounts the admin creates are approved by someone else.
    supervisor, _ = service.accounts.bootstrap_supervisor(
        DEMO_SUPERVISOR, "Sgt. Rob Hale", password
    )
    for username, display, agency, roles in PEOPLE:
        if username == DEMO_SUPERVISOR:
            continue
        service.accounts.create_user(admin, username, display, agency, roles, password)
        service.accounts.approve_user(supervisor, username)
        service.accounts.certify_training(supervisor, username, until)
    users = {u: service.accounts.get_user(admin, u) for u, *_ in PEOPLE}
    result = DemoResult("admin", admin_password, password, [u for u, *_ in PEOPLE])

    probes = {people / p for p in PROBES.values()}
    items = [i for i in from_folder_tree(people) if i.path not in probes]
    items = [
        dataclasses.replace(i, provenance={**i.provenance, "label": DEMO_LABEL}) for i in items
    ]
    say(f"enrolling {len(items)} demo gallery photos…")
    result.enrolled = service.galleries.enroll(admin, DEMO_GALLERY, items).enrolled
    stored = service.deployments.record_evaluation(admin, evaluation)
    activation = service.deployments.activate(admin, DEMO_GALLERY, stored.id)
    say(
        f"deployment gate: evaluation {stored.id} ({stored.dataset}) activated for "
        f"{DEMO_GALLERY}, threshold {activation['threshold']:.4f}"
    )
    _requests(service, people, users, result, say)
    return result


def _requests(
    service: FaceLedger,
    people: Path,
    u: dict[str, UserInfo],
    result: DemoResult,
    say: Callable[[str], None],
) -> None:
    def probe(key: str) -> bytes:
        return (people / PROBES[key]).read_bytes()

    requester, other, examiner = u["det-rivera"], u["det-okafor"], u["ex-chen"]
    reviewer, supervisor, peer = u["ex-novak"], u["sup-hale"], u["ex-silva"]
    stages = result.requests

    def file(key: str, stage: str, who: UserInfo = requester, **changes: Any) -> int:
        view = service.requests.submit_request(
            who, _form(f"{len(stages) + 1:03d}", **changes), probe(key), PROBES[key]
        )
        stages[stage] = view.id
        return view.id

    file("obama", "approved")
    rid = file("biden", "searched")
    service.requests.run_request_search(examiner, rid)
    rid = file("kit", "reviewed", other, described_sex=DescribedSex.MALE)
    view = service.requests.run_request_search(examiner, rid)
    service.reviews.submit_review(reviewer, rid, _marks(view))
    rid = file("rose", "peer_reviewed")
    view = service.requests.run_request_search(examiner, rid)
    service.reviews.submit_review(reviewer, rid, _marks(view))
    service.reviews.submit_review(peer, rid, _marks(view))
    rid = file(
        "penny",
        "released",
        described_sex=DescribedSex.FEMALE,
        described_race=DescribedRace.WHITE,
    )
    view = service.requests.run_request_search(examiner, rid)
    service.reviews.submit_review(reviewer, rid, _marks(view))
    service.reviews.submit_review(peer, rid, _marks(view))
    released = service.reviews.release_request(examiner, rid)
    lead = released.release.candidate_ids[0] if released.release else None
    if lead is not None:  # the case moves on: the lead is investigated, then a warrant issues
        service.reviews.record_lead_use(requester, rid, lead, "further_investigation")
        service.reviews.record_lead_use(
            requester,
            rid,
            lead,
            "warrant",
            "DEMO: independent eyewitness identification in a photo array, report DEMO-77",
        )
    rid = file("sheldon", "no_lead", other)
    view = service.requests.run_request_search(examiner, rid)
    service.reviews.submit_review(reviewer, rid, _marks(view, agree=True))
    service.reviews.submit_review(peer, rid, _marks(view, agree=False))
    service.reviews.close_no_lead(examiner, rid, "The reviewers did not agree on any candidate.")
    emergency: dict[str, Any] = {
        "legal_basis_kind": "emergency",
        "legal_basis": {
            "facts": f"{DEMO_LABEL}. A child was taken from a playground "
            "an hour ago; a parent photographed the man leaving."
        },
    }
    file("amy", "submitted_emergency", **emergency)
    rid = file("raj", "approved_emergency", **emergency)
    service.requests.approve_emergency(supervisor, rid)
    rid = file("howard", "sealed", **emergency)
    service.requests.approve_emergency(supervisor, rid)
    service.requests.run_request_search(examiner, rid)
    service.emergencies.record_court_refusal(
        supervisor, rid, "Demo: the court found no imminent danger."
    )
    try:
        file("leonard", "denied", offence_code="shoplifting")
    except PolicyDenied:  # as intended: the denied request is kept with its reasons
        denied, _ = service.requests.list_requests(supervisor, "denied", limit=1)
        stages["denied"] = denied[0].id
    say(f"demo requests by stage: {stages}")


__all__ = ["DEMO_GALLERY", "DEMO_LABEL", "DemoResult", "load_demo"]
