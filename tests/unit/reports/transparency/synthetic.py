"""SYNTHETIC request histories for the transparency report's tests and benchmark.

:func:`history` draws requests over a year (searches, outcomes, lead uses, emergencies,
denials, violations) and returns them twice: as the report's facts, and as the ledger entries'
public fields a real unit would write (the schema of ``faceledger.service.public_record``).
:func:`signed_export` turns the entries into a public ledger export (payloads redacted) signed
by one checkpoint, which the real verifier accepts. Nothing here is a real record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.governance.violations import ViolationKind
from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.envelope import envelope_bytes, format_ts
from faceledger.ledger.merkle import CompactRange, leaf_hash
from faceledger.ledger.records import CheckpointRecord, EntryRecord, ExportHeader, record_to_line
from faceledger.reports.transparency import LeadUseFacts, RequestFacts, ViolationFacts
from faceledger.service.ledger_actions import LedgerAction as A

YEAR = 2025
BASES = (
    ("court_order", 70),
    ("emergency", 15),
    ("investigation", 10),
    ("deceased_or_incapacitated", 5),
)
CLASSES = (("violent_felony", 5), ("felony", 4), ("serious_misdemeanour", 1), ("", 1))
SEXES = (("", 4), ("male", 4), ("female", 2), ("unknown", 1))
RACES = (("", 4), ("white", 3), ("black_or_african_american", 2), ("asian", 1), ("other", 1))
RULES = ("legal_basis.court_order", "offence.allowed_class", "probe.source", "narrative.required")
USES = ("photo_lineup", "warrant", "arrest")
DUMMY_PAYLOAD = hashlib.sha256(b"{}").hexdigest()


@dataclass(frozen=True)
class Entry:
    """One SYNTHETIC ledger entry: what the envelope holds (the payload is redacted)."""

    ts: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    public: dict[str, Any]


@dataclass
class History:
    """A SYNTHETIC history: the facts, and the entries that record the same events."""

    requests: list[RequestFacts] = field(default_factory=list)
    violations: list[ViolationFacts] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def history(n: int, seed: int = 17, agencies: int = 25) -> History:
    """Draw ``n`` SYNTHETIC requests filed during :data:`YEAR` by ``agencies`` agencies."""
    rng = random.Random(seed)
    names = [f"agency-{i:02d}" for i in range(1, agencies + 1)]
    weights = [1 / (i + 1) for i in range(agencies)]  # a few large agencies, many small ones
    start = dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC)
    seconds = 365 * 86400
    out = History()
    for i in range(1, n + 1):
        _request(out, rng, str(i), rng.choices(names, weights)[0], start, seconds)
    for j in range(max(1, n // 200)):  # violations by the local operator, on no request
        ts = start + dt.timedelta(seconds=rng.randrange(seconds))
        kind = str(ViolationKind.FORBIDDEN_ATTEMPT)
        out.violations.append(ViolationFacts(kind, "", ts))
        out.entries.append(
            Entry(ts, "local:ops", A.ACCESS_DENIED, "violation", f"v{j}", _vio(kind, ""))
        )
    out.entries.sort(key=lambda e: e.ts)
    return out


def _vio(kind: str, agency: str) -> dict[str, Any]:
    return {"violation": kind, "agency": agency}


def _request(
    out: History, rng: random.Random, rid: str, agency: str, start: dt.datetime, seconds: int
) -> None:
    filed = start + dt.timedelta(seconds=rng.randrange(seconds), microseconds=rng.randrange(10**6))
    basis, klass = _pick(rng, BASES), _pick(rng, CLASSES)
    sex, race = _pick(rng, SEXES), _pick(rng, RACES)
    emergency = basis == "emergency"
    denied = rng.random() < 0.08
    actor = f"user:det-{agency}"
    log = out.entries.append

    def step(when: dt.datetime, action: str, state: str, outcome: str, **extra: Any) -> None:
        log(
            Entry(
                when, actor, action, "request", rid, {"state": state, "outcome": outcome, **extra}
            )
        )

    def violation(when: dt.datetime, kind: ViolationKind) -> None:
        out.violations.append(ViolationFacts(str(kind), agency, when))
        log(
            Entry(when, "local:scheduler", A.VIOLATION_RECORDED, "request", rid, _vio(kind, agency))
        )

    filed_fields: dict[str, Any] = {
        "agency": agency,
        "legal_basis": basis,
        "offence_class": klass,
        "emergency": emergency,
    }
    if sex:
        filed_fields["described_sex"] = sex
    if race:
        filed_fields["described_race"] = race
    facts: dict[str, Any] = {
        "request_id": rid,
        "agency": agency,
        "filed_at": filed,
        "legal_basis": basis,
        "offence_class": klass,
        "emergency": emergency,
        "described_sex": sex,
        "described_race": race,
    }
    later = _clock(rng, filed)
    if denied:
        rules = tuple(sorted(rng.sample(RULES, rng.choice((1, 1, 2)))))
        step(filed, A.REQUEST_SUBMIT, "denied", "denied", denied_rules=list(rules), **filed_fields)
        out.requests.append(
            RequestFacts(**facts, denied=True, denied_rules=rules, outcome="denied")
        )
        if rng.random() < 0.3:
            violation(next(later), ViolationKind.FORBIDDEN_ATTEMPT)
        return
    state = "submitted" if emergency else "approved"
    step(filed, A.REQUEST_SUBMIT, state, "pending", **filed_fields)
    outcome, uses, searched_at, candidates = "pending", [], None, 0
    if rng.random() < 0.85:
        searched_at, candidates = next(later), rng.randrange(0, 11)
        step(searched_at, A.REQUEST_SEARCH, "searched", "pending", candidates=candidates)
        roll = rng.random()
        if roll < 0.4 or candidates == 0:
            outcome = "no_lead"
            step(next(later), A.REQUEST_CLOSE_NO_LEAD, "no_lead", outcome)
        elif roll < 0.85:
            outcome = "lead"
            step(next(later), A.REQUEST_RELEASE, "released", outcome, released=1)
            if rng.random() < 0.6:
                outcome = "further_investigation"
                uses.append(LeadUseFacts(outcome, False))
                step(
                    next(later),
                    A.REQUEST_LEAD_USE,
                    "released",
                    outcome,
                    use=outcome,
                    corroborated=False,
                )
            if rng.random() < 0.4:
                use, corroborated = rng.choice(USES), rng.random() < 0.9
                outcome = use
                uses.append(LeadUseFacts(use, corroborated))
                step(
                    next(later),
                    A.REQUEST_LEAD_USE,
                    "released",
                    outcome,
                    use=use,
                    corroborated=corroborated,
                )
    filing = ""
    if emergency:
        roll = rng.random()
        if roll < 0.7:
            filing = "on_time"
        elif roll < 0.8:
            filing = "late"
        elif roll < 0.9:
            filing = "overdue"
        else:
            filing = "pending"
        if filing in ("on_time", "late"):
            when = next(later)
            step(when, A.REQUEST_EMERGENCY_FILED, "searched", outcome, filing=filing)
            if filing == "late":
                violation(when, ViolationKind.LATE_EMERGENCY_FILING)
        elif filing == "overdue":
            violation(next(later), ViolationKind.OVERDUE_EMERGENCY_FILING)
    if rng.random() < 0.02:
        when = next(later)
        out.violations.append(ViolationFacts(str(ViolationKind.DENIED_ACTION), agency, when))
        log(
            Entry(
                when,
                actor,
                A.ACCESS_DENIED,
                "request",
                rid,
                _vio(ViolationKind.DENIED_ACTION, agency),
            )
        )
    out.requests.append(
        RequestFacts(
            **facts,
            outcome=outcome,
            uses=tuple(uses),
            filing=filing,
            searched_at=searched_at,
            candidates=candidates,
        )
    )


def _clock(rng: random.Random, start: dt.datetime) -> Iterator[dt.datetime]:
    """Later and later times after ``start`` (minutes to days apart)."""
    now = start
    while True:
        now += dt.timedelta(seconds=rng.randrange(60, 4 * 86400))
        yield now


def signed_export(
    entries: list[Entry], key: Ed25519PrivateKey, log_id: str = "synthetic"
) -> Iterator[str]:
    """The SYNTHETIC entries as a public export (payloads redacted), signed by one checkpoint
    over all of them: the lines a real ``faceledger ledger export --public`` would write."""
    tree = CompactRange()
    yield record_to_line(ExportHeader(len(entries), 1, False))
    last = entries[-1].ts if entries else dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC)
    for seq, e in enumerate(entries):
        ts = format_ts(e.ts)
        envelope = envelope_bytes(
            seq=seq,
            ts=ts,
            actor=e.actor,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            payload_sha256=DUMMY_PAYLOAD,
            public=e.public,
        )
        digest = leaf_hash(envelope)
        tree.append(digest)
        record = EntryRecord(
            seq=seq,
            ts=ts,
            actor=e.actor,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            payload_sha256=DUMMY_PAYLOAD,
            leaf_hash=digest.hex(),
            payload=None,
            public=e.public,
        )
        yield record_to_line(record)
    checkpoint = sign_checkpoint(
        key,
        number=0,
        log_id=log_id,
        tree_size=len(entries),
        root_hash=tree.root(),
        timestamp=last + dt.timedelta(seconds=1),
    )
    yield record_to_line(CheckpointRecord(checkpoint, None))
