"""Synthetic request histories for the misuse rules: record factories, an Evansville-style
history (an officer hiding personal searches behind a real case number) and a clean history
of the same size."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import zoneinfo

import numpy as np
from numpy.typing import NDArray

from faceledger.governance.profiles import MisusePolicy, load_profile
from faceledger.reports.misuse import CaseRecord

POLICY: MisusePolicy = load_profile("massachusetts").misuse
"""The shipped massachusetts thresholds (New York time, odd hours 23:00-05:00)."""
ZONE = zoneinfo.ZoneInfo(POLICY.timezone)
NOW = dt.datetime(2024, 6, 1, 16, 0, tzinfo=dt.UTC)  # 12:00 in New York (EDT)

_ids = itertools.count(1)
_rng = np.random.default_rng(2024)
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ar", "en")]


def at(days_ago: float, hour: int, minute: int = 0) -> dt.datetime:
    """An aware UTC time ``days_ago`` days before NOW's date, at ``hour:minute`` New York
    time."""
    local_day = (NOW.astimezone(ZONE) - dt.timedelta(days=days_ago)).date()
    local = dt.datetime.combine(local_day, dt.time(hour, minute), tzinfo=ZONE)
    return local.astimezone(dt.UTC)


def unit_vector(seed: int | None = None) -> NDArray[np.float32]:
    """A random 128-d unit vector (a distinct face)."""
    rng = _rng if seed is None else np.random.default_rng(seed)
    v = rng.standard_normal(128)
    return (v / np.linalg.norm(v)).astype(np.float32)


def near(v: NDArray[np.float32], cosine: float) -> NDArray[np.float32]:
    """A unit vector whose cosine similarity with unit vector ``v`` is ``cosine``."""
    other = _rng.standard_normal(v.size)
    other -= other.dot(v) * v
    other /= np.linalg.norm(other)
    w = cosine * v.astype(np.float64) + np.sqrt(1 - cosine**2) * other
    return np.asarray(w, dtype=np.float32)


def prose(words: int = 24) -> str:
    """A narrative of made-up words that shares no shingle with another (letters only:
    digits would all normalise alike)."""
    picked = _rng.choice(len(_SYLLABLES), size=(words, 3))
    return " ".join("".join(_SYLLABLES[i] for i in row) for row in picked) + "."


def sha(label: object) -> str:
    """A probe SHA-256 standing for the photo ``label``."""
    return hashlib.sha256(str(label).encode()).hexdigest()


def record(
    *,
    case: str = "C-1",
    requester: str = "det-a",
    agency: str = "boston-pd",
    filed_at: dt.datetime | None = None,
    narrative: str | None = None,
    probe: str | None = None,
    embedding: NDArray[np.float32] | None = None,
    subjects: tuple[tuple[str, int], ...] = (),
    searched: bool = True,
) -> CaseRecord:
    """One request: by default a distinct probe (hash and embedding), a unique narrative, at
    10:00 New York time a day before NOW."""
    rid = next(_ids)
    return CaseRecord(
        request_id=rid,
        case_number=case,
        requester=requester,
        agency=agency,
        filed_at=filed_at or at(1, 10),
        narrative=prose() if narrative is None else narrative,
        probe_sha256=probe or sha(f"photo-{rid}"),
        probe_embedding=unit_vector() if embedding is None else embedding,
        subjects=subjects,
        searched=searched,
    )


BOILERPLATE = (
    "Suspect in an ongoing investigation; photo received from a confidential source on {d}/{m}. "
    "Identity needed to locate the subject for follow-up interview."
)
"""What the Evansville officer pasted into every personal search (only the date changes)."""

OFFICER = "det-evans"
REAL_CASE = "EPD-24-0117"


def evansville_history() -> list[CaseRecord]:
    """An officer's real burglary case, then personal searches of unrelated people filed at
    night behind that case number (and two other real ones) with one boilerplate narrative,
    among a unit's ordinary work: 16 requests."""
    agency = "evansville-pd"
    history = [
        record(
            case=REAL_CASE,
            requester=OFFICER,
            agency=agency,
            filed_at=at(30, 10),
            narrative="Residential burglary on Riverside Drive; a neighbour's doorbell camera "
            "caught the intruder at the back gate.",
        )
    ]
    personal = [
        (REAL_CASE, 26, 23, 40),
        (REAL_CASE, 22, 0, 15),
        (REAL_CASE, 19, 1, 30),
        ("EPD-24-0342", 15, 23, 55),
        (REAL_CASE, 11, 2, 5),
        ("EPD-24-0409", 8, 0, 45),
        (REAL_CASE, 4, 1, 10),
    ]
    for i, (case, days, hour, minute) in enumerate(personal):
        history.append(
            record(
                case=case,
                requester=OFFICER,
                agency=agency,
                filed_at=at(days, hour, minute),
                narrative=BOILERPLATE.format(d=i + 3, m=5),
            )
        )
    return history + _ordinary_work(8, agency)


def _ordinary_work(n: int, agency: str, start: int = 0) -> list[CaseRecord]:
    """Colleagues' ordinary requests: each under its own case, unique narratives, office
    hours, distinct probes, spread over four requesters and a month."""
    people = ["det-king", "det-lowe", "det-moss", "det-nash"]
    return [
        record(
            case=f"EPD-24-{500 + start + i:04d}",
            requester=people[i % len(people)],
            agency=agency,
            filed_at=at(2 + 3.5 * i, 9 + i % 8, 20),
        )
        for i in range(n)
    ]


def clean_history() -> list[CaseRecord]:
    """A unit's ordinary month of the same size as :func:`evansville_history`: two cases of
    two requests each (a second photo of the same case), the rest one request per case, all in
    office hours, each narrative its own, every probe distinct."""
    agency = "evansville-pd"
    history = _ordinary_work(12, agency)
    for case, requester in (("EPD-24-0700", "det-evans"), ("EPD-24-0701", "det-king")):
        history += [
            record(case=case, requester=requester, agency=agency, filed_at=at(d, h))
            for d, h in ((20, 11), (18, 15))
        ]
    return history
