"""The facts of a disclosure packet (R14), each read from a ledger entry by one pure function.

A fact is a statement for a court with the exact value it was read from::

    {"id": "candidate.0", "section": "candidates", "label": "Rank 1 in gallery people",
     "value": {...}, "source": {"seq": 101, "pointer": "/payload/candidates/0"}}

``source.pointer`` is an RFC 6901 pointer into the entry as exported (``/ts``, ``/actor``,
``/action``, ``/payload/...``, ``/public/...``: every field the entry's leaf hash covers). A
fact of an evaluation summary names a packet document instead (``{"document": "evaluation-1",
"pointer": "/one_to_n/rank1"}``), and the document's SHA-256 is in an entry's payload.

:func:`extract_facts` is the one reading of entries into facts: the service builds a packet's
facts with it, and the checker runs it again on the packet's own entries, so that a fact whose
value, label or source was changed, or a fact added or left out, is caught.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from faceledger.reports.disclosure.accuracy import gallery_facts
from faceledger.reports.disclosure.collect import SECTIONS, ActionNames, Collector, Document, Fact

__all__ = ["FACTS_VERSION", "SECTIONS", "ActionNames", "Document", "Fact", "extract_facts"]

FACTS_VERSION = 1
"""The version of :func:`extract_facts`' reading; a packet records the one that made it."""

Entry = Mapping[str, Any]

_BASIS_LABELS = {
    "court": "Court",
    "order_id": "Docket or order id",
    "judge": "Judge",
    "issued_on": "Issued on",
    "expires_on": "Expires on",
    "authority": "Issued by (judicial or administrative authority)",
    "facts": "Facts of the imminent danger (emergency)",
    "declared_at": "Emergency declared at",
    "description": "Description (deceased or incapacitated person)",
}


@dataclass
class _Reading:
    """One pass over a request's entries."""

    request_id: int
    entries: Sequence[Entry]
    documents: Mapping[str, Document]
    actions: ActionNames
    out: Collector = field(default_factory=Collector)
    seen: dict[str, int] = field(default_factory=dict)
    first_review_seq: int | None = None

    def occurrence(self, kind: str) -> int:
        """How many entries of ``kind`` came before this one (0 for the first)."""
        count = self.seen.get(kind, 0)
        self.seen[kind] = count + 1
        return count

    def prefix(self, kind: str, many: bool = False) -> str:
        """The fact id prefix of this entry of ``kind``: indexed when there may be several."""
        n = self.occurrence(kind)
        return f"{kind}.{n}" if many or n else kind


def _at(entry: Entry, *keys: str) -> Any:
    """The value at ``keys`` in ``entry`` (None where a level is missing or not an object)."""
    value: Any = entry
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _about_request(entry: Entry, request_id: int) -> bool:
    return entry.get("object_type") == "request" and entry.get("object_id") == str(request_id)


def extract_facts(
    request_id: int,
    entries: Sequence[Entry],
    documents: Mapping[str, Document],
    actions: ActionNames,
) -> list[Fact]:
    """Return the facts of request ``request_id`` that ``entries`` (export form, ``seq``
    order) and the evaluation-summary ``documents`` (by id, already checked against their
    entries) establish, in section order. Pure and deterministic."""
    reading = _Reading(request_id, entries, documents, actions)
    handlers: dict[str, Callable[[_Reading, Entry], None]] = {
        actions.submit: _submit,
        actions.search: _search,
        actions.review_first: _review_first,
        actions.review_peer: _review_peer,
        actions.release: _release,
        actions.close_no_lead: _close,
        actions.lead_use: _lead_use,
        actions.approve_emergency: _approve_emergency,
        actions.emergency_filed: _emergency_filed,
        actions.sealed: _sealed,
        actions.access_denied: _refusal,
        actions.violation: _violation,
        actions.disclosure: _disclosure,
    }
    for entry in entries:
        if _about_request(entry, request_id):
            handlers.get(str(entry.get("action")), _other)(reading, entry)
    return reading.out.facts()


def _when_who(r: _Reading, section: str, prefix: str, entry: Entry, what: str) -> None:
    r.out.entry(section, f"{prefix}.time", f"{what}: recorded at (UTC)", entry, "/ts")
    r.out.entry(section, f"{prefix}.actor", f"{what}: by (ledger actor)", entry, "/actor")


def _submit(r: _Reading, e: Entry) -> None:
    p = r.prefix("request")
    add = r.out.entry
    add("request", f"{p}.case_number", "Case number", e, "/payload/case_number")
    add("request", f"{p}.requester", "Requesting officer", e, "/payload/requester")
    add("request", f"{p}.agency", "Requesting agency", e, "/payload/agency")
    _when_who(r, "request", p, e, "Request filed")
    add("request", f"{p}.offence", "Offence code", e, "/payload/offence/code")
    add("request", f"{p}.severity", "Offence severity class", e, "/payload/offence/severity")
    add("request", f"{p}.purpose", "Declared purpose", e, "/payload/attestation/purpose")
    add(
        "request",
        f"{p}.attested",
        "Attested that the person is not sought for protected activity (R8)",
        e,
        "/payload/attestation/attested",
    )
    add("request", f"{p}.attestation", "Attestation", e, "/payload/attestation/text")
    add("request", f"{p}.galleries", "Galleries asked for", e, "/payload/galleries")
    add(
        "request",
        f"{p}.max_candidates",
        "Candidate list length asked",
        e,
        "/payload/max_candidates",
    )
    add("request", f"{p}.profile", "Policy profile at filing", e, "/payload/profile")
    add(
        "request",
        f"{p}.allowed",
        "Policy decision on filing: allowed",
        e,
        "/payload/decision/allowed",
    )
    if _at(e, "payload", "decision", "failures"):
        add("request", f"{p}.failures", "Reasons the policy gave", e, "/payload/decision/failures")
    add("request", f"{p}.state", "State after filing", e, "/payload/state")
    basis = _at(e, "payload", "legal_basis")
    b = "legal_basis" if p == "request" else f"legal_basis.{p}"
    add("legal_basis", f"{b}.kind", "Kind of legal basis", e, "/payload/legal_basis/kind")
    if isinstance(basis, Mapping):
        for key in sorted(k for k in basis if k != "kind"):
            label = _BASIS_LABELS.get(key, key.replace("_", " ").capitalize())
            add("legal_basis", f"{b}.{key}", label, e, f"/payload/legal_basis/{key}")
    add(
        "legal_basis",
        f"{b}.filing_deadline",
        "Deadline for the court filing (emergency, R4)",
        e,
        "/payload/filing_deadline",
    )
    q = "probe" if p == "request" else f"probe.{p}"
    add("probe", f"{q}.sha256", "SHA-256 of the probe photo", e, "/payload/probe/sha256")
    add("probe", f"{q}.source", "Declared source of the probe (R7)", e, "/payload/probe/source")
    add(
        "probe", f"{q}.face", "Face of the photo searched (0-based)", e, "/payload/probe/face_index"
    )


def _search(r: _Reading, e: Entry) -> None:
    p = r.prefix("search")
    add = r.out.entry
    add(
        "use",
        f"use.{p}",
        "Face recognition was used: a one-to-many face search ran (its ledger action)",
        e,
        "/action",
    )
    _when_who(r, "search", p, e, "Search")
    add("search", f"{p}.operator", "Examiner who ran the search", e, "/payload/operator")
    add("search", f"{p}.started", "Search started at", e, "/payload/started_at")
    add("search", f"{p}.finished", "Search finished at", e, "/payload/finished_at")
    models = _at(e, "payload", "models")
    if isinstance(models, Mapping):
        for role in sorted(models):
            label = {
                "detector": "Face detector model (name, version, SHA-256 of its weights)",
                "embedder": "Face recognition model (name, version, SHA-256 of its weights)",
            }.get(role, f"Model: {role}")
            add("use", f"{p}.model.{role}", label, e, f"/payload/models/{role}")
    add("search", f"{p}.profile", "Policy profile at the search", e, "/payload/profile")
    add("search", f"{p}.probe", "SHA-256 of the probe searched", e, "/payload/probe_sha256")
    add("search", f"{p}.face", "Face of the photo searched (0-based)", e, "/payload/face_index")
    add("search", f"{p}.galleries", "Galleries searched", e, "/payload/galleries")
    add("search", f"{p}.cap", "Candidate list length (cap)", e, "/payload/max_candidates")
    add("search", f"{p}.count", "Candidates returned", e, "/payload/candidate_count")
    add(
        "search",
        f"{p}.threshold",
        "Strictest operating threshold (distance at most)",
        e,
        "/payload/threshold_micro",
    )
    gallery_facts(r.out, p, e, r.entries, r.documents, r.actions)
    candidates = _at(e, "payload", "candidates")
    if isinstance(candidates, list):
        c = "candidate" if p == "search" else f"candidate.{p}"
        for i, candidate in enumerate(candidates):
            rank = candidate.get("rank") if isinstance(candidate, Mapping) else None
            gallery = candidate.get("gallery") if isinstance(candidate, Mapping) else None
            label = f"Rank {rank} in gallery {gallery}"
            add("candidates", f"{c}.{i}", label, e, f"/payload/candidates/{i}")


def _review_first(r: _Reading, e: Entry) -> None:
    p = r.prefix("review.first")
    if r.first_review_seq is None:
        r.first_review_seq = int(e["seq"])
    add = r.out.entry
    add("reviews", f"{p}.reviewer", "First review: reviewer", e, "/payload/reviewer")
    _when_who(r, "reviews", p, e, "First review")
    add("reviews", f"{p}.count", "First review: candidates marked", e, "/payload/candidate_count")
    add(
        "reviews",
        f"{p}.commitment",
        "First review: salted commitment to its marks (opened by the peer review's entry)",
        e,
        "/payload/commitments/marks",
    )


def _review_peer(r: _Reading, e: Entry) -> None:
    p = r.prefix("review.peer")
    add = r.out.entry
    reveals = _at(e, "payload", "reveals")
    if isinstance(reveals, list):
        for k, reveal in enumerate(reveals):
            if not isinstance(reveal, Mapping) or reveal.get("name") != "marks":
                continue
            if reveal.get("seq") != r.first_review_seq:
                continue
            add(
                "reviews",
                "review.first.marks",
                "First review: marks (revealed by the peer review, checked against the commitment)",
                e,
                f"/payload/reveals/{k}/value/marks",
            )
            add(
                "reviews",
                "review.first.leads",
                "First review: candidates marked possible lead",
                e,
                f"/payload/reveals/{k}/value/possible_leads",
            )
            break
    add("reviews", f"{p}.reviewer", "Blind peer review: reviewer", e, "/payload/reviewer")
    _when_who(r, "reviews", p, e, "Blind peer review")
    add("reviews", f"{p}.marks", "Blind peer review: marks", e, "/payload/marks")
    add(
        "reviews",
        f"{p}.leads",
        "Blind peer review: candidates marked possible lead",
        e,
        "/payload/possible_leads",
    )


def _release(r: _Reading, e: Entry) -> None:
    p = r.prefix("release")
    _when_who(r, "release", p, e, "Release")
    r.out.entry(
        "release",
        f"{p}.candidates",
        "Candidates released (marked possible lead in both reviews)",
        e,
        "/payload/released_candidate_ids",
    )
    r.out.entry("release", f"{p}.caveat", "Caveat released with them", e, "/payload/caveat")


def _close(r: _Reading, e: Entry) -> None:
    p = r.prefix("closed")
    _when_who(r, "release", p, e, "Closed with no lead")
    r.out.entry("release", f"{p}.reason", "Reason for closing with no lead", e, "/payload/reason")


def _lead_use(r: _Reading, e: Entry) -> None:
    p = r.prefix("lead_use", many=True)
    n = int(p.rsplit(".", 1)[1]) + 1
    add = r.out.entry
    add("lead_uses", f"{p}.candidate", f"Use {n}: candidate used", e, "/payload/candidate_id")
    add("lead_uses", f"{p}.use", f"Use {n}: use made of the lead", e, "/payload/use")
    add(
        "lead_uses",
        f"{p}.corroboration",
        f"Use {n}: reference to independent corroborating evidence (R11)",
        e,
        "/payload/corroboration_ref",
    )
    add("lead_uses", f"{p}.outcome", f"Use {n}: outcome recorded", e, "/payload/outcome")
    _when_who(r, "lead_uses", p, e, f"Use {n}")


def _approve_emergency(r: _Reading, e: Entry) -> None:
    p = r.prefix("emergency.approval")
    _when_who(r, "emergency", p, e, "Emergency approved by a supervisor")
    r.out.entry("emergency", f"{p}.deadline", "Court filing due by", e, "/payload/filing_deadline")


def _emergency_filed(r: _Reading, e: Entry) -> None:
    p = r.prefix("emergency.filing")
    add = r.out.entry
    add(
        "emergency",
        f"{p}.filed_at",
        "Sworn statement filed with the court at",
        e,
        "/payload/filed_at",
    )
    add("emergency", f"{p}.reference", "Court filing reference", e, "/payload/reference")
    add("emergency", f"{p}.late", "Filed after the deadline", e, "/payload/late")
    _when_who(r, "emergency", p, e, "Court filing")


def _sealed(r: _Reading, e: Entry) -> None:
    p = r.prefix("sealing")
    _when_who(r, "sealing", p, e, "Sealed")
    r.out.entry("sealing", f"{p}.reason", "Why the results were sealed", e, "/payload/reason")


def _refusal(r: _Reading, e: Entry) -> None:
    p = r.prefix("refusal", many=True)
    n = int(p.rsplit(".", 1)[1]) + 1
    add = r.out.entry
    add("refusals", f"{p}.action", f"Refusal {n}: action attempted", e, "/payload/action")
    _when_who(r, "refusals", p, e, f"Refusal {n}")
    add("refusals", f"{p}.kind", f"Refusal {n}: kind of violation", e, "/payload/kind")
    add("refusals", f"{p}.reason", f"Refusal {n}: reason", e, "/payload/reason")


def _violation(r: _Reading, e: Entry) -> None:
    p = r.prefix("violation", many=True)
    n = int(p.rsplit(".", 1)[1]) + 1
    add = r.out.entry
    add("emergency", f"{p}.kind", f"Violation {n}: kind", e, "/payload/kind")
    add("emergency", f"{p}.reason", f"Violation {n}: reason", e, "/payload/reason")
    _when_who(r, "emergency", p, e, f"Violation {n}")


def _disclosure(r: _Reading, e: Entry) -> None:
    p = r.prefix("disclosure", many=True)
    n = int(p.rsplit(".", 1)[1]) + 1
    add = r.out.entry
    add("disclosures", f"{p}.recipient", f"Packet {n}: produced for", e, "/payload/recipient")
    add("disclosures", f"{p}.purpose", f"Packet {n}: purpose", e, "/payload/purpose")
    _when_who(r, "disclosures", p, e, f"Packet {n}")
    add("disclosures", f"{p}.sha256", f"Packet {n}: SHA-256", e, "/payload/packet_sha256")


def _other(r: _Reading, e: Entry) -> None:
    p = f"entry.{e['seq']}"
    r.out.entry("other", f"{p}.action", "Ledger action", e, "/action")
    _when_who(r, "other", p, e, f"Entry {e['seq']}")
