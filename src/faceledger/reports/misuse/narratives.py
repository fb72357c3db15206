"""Misuse rule over what requesters wrote (R18): :func:`narrative_cases`, one requester's
near-identical boilerplate narratives across unrelated cases.

Narratives are compared as sets of word shingles (three consecutive words) after
normalising: lower case, every run of digits one placeholder (dates and times differ in
boilerplate), punctuation and extra whitespace dropped. Two narratives are near-identical when
the Jaccard similarity of their shingle sets is at least ``narrative_similarity``. The text
itself never leaves this module: findings name the requests, not the words.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

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

__all__ = ["SHINGLE_WORDS", "jaccard", "narrative_cases", "normalise", "shingles"]

SHINGLE_WORDS = 3
_DIGITS = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> list[str]:
    """The words of ``text``: lower case, digit runs as ``0``, punctuation dropped."""
    return _NOT_WORD.sub(" ", _DIGITS.sub(" 0 ", text.lower())).split()


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[tuple[str, ...]]:
    """The word shingles of ``text`` (all its words as one shingle if it has fewer than
    ``size``; none for a text without words)."""
    words = normalise(text)
    if len(words) < size:
        return frozenset({tuple(words)}) if words else frozenset()
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """The Jaccard similarity: shingles in both over shingles in either; 0 when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def narrative_cases(records: Sequence[CaseRecord], policy: MisusePolicy) -> list[Finding]:
    """Requesters with near-identical narratives under at least ``policy.narrative_cases``
    different cases: narratives are linked pairwise, and each connected group is one
    boilerplate."""
    by_requester: dict[str, list[CaseRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.filed_at, r.request_id)):
        by_requester[record.requester].append(record)
    found = []
    bound = policy.narrative_similarity
    for requester, filed in sorted(by_requester.items()):
        if len({r.case for r in filed}) < policy.narrative_cases:
            continue
        sets = [shingles(r.narrative) for r in filed]
        links = Links(len(filed))
        pairs: list[tuple[int, float]] = []
        for i in range(len(filed)):
            if not sets[i]:
                continue
            for j in range(i + 1, len(filed)):
                if sets[j]:
                    similarity = jaccard(sets[i], sets[j])
                    if similarity >= bound:
                        links.link(i, j)
                        pairs.append((i, similarity))
        groups = links.groups()
        group_of = {i: g for g, group in enumerate(groups) for i in group}
        least_of: dict[int, float] = {}
        for i, similarity in pairs:
            g = group_of[i]
            least_of[g] = min(similarity, least_of.get(g, similarity))
        for g, group in enumerate(groups):
            members = [filed[i] for i in group]
            cases = sorted({r.case for r in members})
            if len(cases) < policy.narrative_cases:
                continue
            least = least_of[g]
            first, last = span(members)
            alike = (
                "identical once digits and punctuation are set aside"
                if least >= 0.9995
                else f"word-shingle Jaccard similarity at least {least:.2f} between linked ones"
            )
            explanation = (
                f"{requester} filed {plural(len(members), 'request')} under {len(cases)} "
                f"different case numbers between {first} and {last} with near-identical "
                f"narratives ({alike}; the profile's bound is {bound:.2f}). The profile flags "
                f"boilerplate across {policy.narrative_cases} or more unrelated cases: the same "
                "words pasted into every request suggest the narrative does not describe a case."
            )
            found.append(
                Finding(
                    rule=MisuseRule.NARRATIVE_CASES,
                    title=f"{requester}: one boilerplate narrative in {len(cases)} cases",
                    explanation=explanation,
                    request_ids=ids_of(members),
                    details={
                        "requester": requester,
                        "cases": [case_label(c) for c in cases],
                        "count": len(cases),
                        "threshold": policy.narrative_cases,
                        "similarity_bound": f"{bound:.3f}",
                        "min_similarity": f"{least:.3f}",
                        "first": first,
                        "last": last,
                    },
                    key=requester,
                )
            )
    return found
