"""Misuse rules over who was searched for (R18):

- :func:`probe_cases`: the same probe in unrelated cases, by identical SHA-256 of the photo or
  by near-duplicate embedding of the searched face (cosine similarity);
- :func:`subject_cases`: the same gallery subject flagged across unrelated cases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from faceledger.governance.profiles import MisusePolicy
from faceledger.reports.misuse._groups import Links
from faceledger.reports.misuse.records import (
    CaseRecord,
    Finding,
    MisuseRule,
    case_label,
    ids_of,
    plural,
    span,
)

__all__ = ["near_duplicate_pairs", "probe_cases", "subject_cases"]

_BLOCK = 1024
"""Rows of the similarity matrix computed at once (bounds memory at thousands of probes)."""


def near_duplicate_pairs(
    records: Sequence[CaseRecord], similarity: float
) -> list[tuple[int, int, float]]:
    """Every pair (i, j), i < j, of records whose probe embeddings have cosine similarity of
    at least ``similarity``, with that similarity. Embeddings are L2-normalised first; records
    without one, or with a zero or non-finite one, are skipped; only embeddings of one
    dimension are compared."""
    by_dim: dict[int, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        if record.probe_embedding is not None:
            by_dim[int(np.asarray(record.probe_embedding).size)].append(i)
    pairs: list[tuple[int, int, float]] = []
    for indices in by_dim.values():
        matrix = np.stack(
            [np.asarray(records[i].probe_embedding, dtype=np.float64).ravel() for i in indices]
        )
        norms = np.linalg.norm(matrix, axis=1)
        usable = np.flatnonzero(np.isfinite(norms) & (norms > 0))
        if len(usable) < 2:
            continue
        unit = matrix[usable] / norms[usable, None]
        kept = [indices[k] for k in usable]
        for top in range(0, len(kept), _BLOCK):
            sims = unit[top : top + _BLOCK] @ unit.T
            rows, cols = np.nonzero(sims >= similarity)
            for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
                if col > top + row:
                    pairs.append((kept[top + row], kept[col], float(sims[row, col])))
    return pairs


def _cases_text(cases: Sequence[tuple[str, str]]) -> str:
    shown = ", ".join(case_label(c) for c in cases[:10])
    return shown + (f" and {len(cases) - 10} more" if len(cases) > 10 else "")


def probe_cases(records: Sequence[CaseRecord], policy: MisusePolicy) -> list[Finding]:
    """Probes used in at least ``policy.probe_cases`` unrelated cases: requests are linked by
    an identical probe SHA-256 or by embeddings at least ``policy.probe_similarity`` alike,
    and each connected group is one probe."""
    links = Links(len(records))
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_hash[record.probe_sha256].append(i)
    for same in by_hash.values():
        links.link_all(same)
    near = near_duplicate_pairs(records, policy.probe_similarity)
    for i, j, _ in near:
        links.link(i, j)
    groups = links.groups()
    group_of = {i: g for g, group in enumerate(groups) for i in group}
    sims_of: dict[int, list[float]] = defaultdict(list)
    for i, j, similarity in near:
        if records[i].probe_sha256 != records[j].probe_sha256:
            sims_of[group_of[i]].append(similarity)
    found = []
    bound = f"{policy.probe_similarity:.3f}"
    for g, group in enumerate(groups):
        members = [records[i] for i in group]
        cases = sorted({r.case for r in members})
        if len(cases) < policy.probe_cases:
            continue
        hashes = sorted({r.probe_sha256 for r in members})
        sims = sims_of.get(g, [])
        how = "one identical photo file (SHA-256)"
        if len(hashes) > 1:
            how = (
                f"{len(hashes)} photo files whose searched faces are near-duplicates (cosine "
                f"similarity at least {min(sims):.3f} between linked faces; the profile's "
                f"bound is {bound})"
            )
        first, last = span(members)
        explanation = (
            f"One probe was searched in {len(cases)} unrelated cases ({_cases_text(cases)}) "
            f"between {first} and {last}, in {plural(len(members), 'request')} by "
            f"{', '.join(sorted({r.requester for r in members}))}, linked by {how}. The "
            f"profile flags one probe in {policy.probe_cases} or more unrelated cases: the same "
            "person looked for under unrelated cases may be a personal target."
        )
        details = {
            "cases": [case_label(c) for c in cases],
            "count": len(cases),
            "threshold": policy.probe_cases,
            "probe_sha256s": hashes,
            "by_embedding": len(hashes) > 1,
            "similarity_bound": bound,
            "requesters": sorted({r.requester for r in members}),
            "first": first,
            "last": last,
        }
        if sims:
            details["min_similarity"] = f"{min(sims):.3f}"
        found.append(
            Finding(
                rule=MisuseRule.PROBE_CASES,
                title=f"one probe in {len(cases)} unrelated cases",
                explanation=explanation,
                request_ids=ids_of(members),
                details=details,
            )
        )
    return found


def subject_cases(records: Sequence[CaseRecord], policy: MisusePolicy) -> list[Finding]:
    """Gallery subjects flagged (within threshold, or a possible lead) in at least
    ``policy.subject_cases`` unrelated cases."""
    by_subject: dict[tuple[str, int], list[CaseRecord]] = defaultdict(list)
    for record in records:
        for subject in sorted(set(record.subjects)):
            by_subject[subject].append(record)
    found = []
    for (gallery, subject_id), members in sorted(by_subject.items()):
        cases = sorted({r.case for r in members})
        if len(cases) < policy.subject_cases:
            continue
        first, last = span(members)
        who = Counter(r.requester for r in members)
        requesters = ", ".join(f"{n} ({c})" for n, c in sorted(who.items()))
        explanation = (
            f"Subject {subject_id} of gallery {gallery} was flagged in {len(cases)} unrelated "
            f"cases ({_cases_text(cases)}) between {first} and {last}, in "
            f"{plural(len(members), 'request')} by {requesters}. A subject counts only where it "
            "was within the gallery's threshold or a reviewer marked it a possible lead, since "
            "every candidate list names somebody. The profile flags one subject in "
            f"{policy.subject_cases} or more unrelated cases: a person found again and again "
            "under different cases may be a personal target."
        )
        found.append(
            Finding(
                rule=MisuseRule.SUBJECT_CASES,
                title=f"subject {subject_id} of {gallery} in {len(cases)} unrelated cases",
                explanation=explanation,
                request_ids=ids_of(members),
                details={
                    "gallery": gallery,
                    "subject_id": subject_id,
                    "cases": [case_label(c) for c in cases],
                    "count": len(cases),
                    "threshold": policy.subject_cases,
                    "requesters": sorted(who),
                    "first": first,
                    "last": last,
                },
                key=f"{gallery}:{subject_id}",
            )
        )
    return found
