"""Loosening detection: where a profile is weaker than the strictest shipped profile.

A custom profile must not quietly relax the rules. :func:`loosenings` compares every parameter
of a profile with the :data:`STRICTEST_PROFILE` and returns one sentence per parameter that is
looser; :func:`faceledger.governance.profiles.load_profile` marks a custom profile with any
loosening unsafe, so its banner shows on every decision and output, as the ``lab`` profile's
does. Each parameter is compared in the direction that makes it stricter:

- what is allowed (agency kinds and ids, legal bases, order authorities, severity classes,
  probe sources, and the offence codes those classes allow) must be a subset;
- what is required or forbidden (rules, forbidden purposes, forbidden role combinations, uses
  that need corroboration) must be a superset;
- limits must not rise (candidates, filing hours, training validity, probe and result
  retention; ``None`` is no limit) and minimums must not fall (reviews, narrative length,
  audit log days);
- the caveat must be the same text;
- the deployment gate (``accuracy``) must stay on if the strictest has it, its operating FPIR
  and maximum error rates and ratios must not rise, and its minimum rank-1 must not fall.

Every field of a profile is either compared (:data:`COMPARED_FIELDS`) or listed with the reason
it is not (:data:`NOT_COMPARED`); a test checks that no field is left out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from faceledger.governance.context import Role

if TYPE_CHECKING:
    from faceledger.governance.profiles import Profile

STRICTEST_PROFILE = "massachusetts"
"""The shipped profile every custom profile is compared with."""

NOT_COMPARED: Mapping[str, str] = MappingProxyType(
    {
        "name": "it identifies the profile; a new name loosens no rule",
        "title": "a label for people; no rule reads it",
        "jurisdiction": "a label for people; the parameters say what the law allows",
        "sources": "citations for people; no rule reads them",
        "unsafe": "the outcome of the comparison, not a parameter; a file's own true is kept",
        "unsafe_warning": "written with unsafe; the loosenings are added to it",
        "sha256": "derived from the content that is compared",
        "source": "where the file was read from, not what it says",
        "request.offence_catalogue": "a catalogue name; what it allows is compared as offences",
        "misuse.odd_hours_start": "local working hours differ by unit; the count of odd-hour "
        "searches that makes a finding is compared",
        "misuse.odd_hours_end": "as misuse.odd_hours_start",
        "misuse.timezone": "where the unit is, not how strict it is",
    }
)
"""Profile fields (dotted, by section) deliberately not compared, each with the reason."""

_Check = Callable[["Profile", "Profile"], "str | None"]
_SHOWN = 10  # offence codes named in one sentence before "and N more"


def _get(profile: Profile, path: str) -> Any:
    return functools.reduce(getattr, path.split("."), profile)


def _show(items: Iterable[object]) -> str:
    return ", ".join(sorted(_name(item) for item in items))


def _name(item: object) -> str:
    if isinstance(item, frozenset):  # a role pair, in the order Role declares the roles
        return "+".join(str(r) for r in sorted(item, key=list(Role).index))
    return str(item)


def _subset(path: str) -> _Check:
    """What ``path`` allows must be allowed by the strictest profile too."""

    def check(profile: Profile, strictest: Profile) -> str | None:
        extra = set(_get(profile, path)) - set(_get(strictest, path))
        if not extra:
            return None
        return f"{path} allows {_show(extra)}, which the {strictest.name} profile does not."

    return check


def _superset(path: str, missing: str) -> _Check:
    """What ``path`` requires or forbids must include all the strictest profile's."""

    def check(profile: Profile, strictest: Profile) -> str | None:
        lacking = set(_get(strictest, path)) - set(_get(profile, path))
        if not lacking:
            return None
        return f"{path} {missing} {_show(lacking)}, as the {strictest.name} profile does."

    return check


def _at_most(path: str, unit: str) -> _Check:
    """A limit (``None``: no limit) must not be higher than the strictest profile's."""

    def check(profile: Profile, strictest: Profile) -> str | None:
        mine, theirs = _get(profile, path), _get(strictest, path)
        if theirs is None:
            return None
        if mine is None:
            return f"{path} sets no limit, where the {strictest.name} profile sets {theirs} {unit}."
        if mine > theirs:
            return f"{path} is {mine} {unit}, above the {strictest.name} profile's {theirs}."
        return None

    return check


def _at_least(path: str, unit: str) -> _Check:
    """A minimum must not be lower than the strictest profile's."""

    def check(profile: Profile, strictest: Profile) -> str | None:
        mine, theirs = _get(profile, path), _get(strictest, path)
        if mine < theirs:
            return f"{path} is {mine} {unit}, below the {strictest.name} profile's {theirs}."
        return None

    return check


def _at_least_optional(path: str, unit: str) -> _Check:
    """A minimum (``None``: none) must not be lower than the strictest profile's."""

    def check(profile: Profile, strictest: Profile) -> str | None:
        mine, theirs = _get(profile, path), _get(strictest, path)
        if theirs is None:
            return None
        if mine is None:
            return f"{path} sets no minimum, where the {strictest.name} profile sets {theirs}."
        return _at_least(path, unit)(profile, strictest)

    return check


def _kept_on(path: str) -> _Check:
    """A requirement switched on in the strictest profile must stay on."""

    def check(profile: Profile, strictest: Profile) -> str | None:
        if _get(strictest, path) and not _get(profile, path):
            return f"{path} is off, where the {strictest.name} profile requires it."
        return None

    return check


def _same_text(path: str) -> _Check:
    def check(profile: Profile, strictest: Profile) -> str | None:
        mine, theirs = _get(profile, path), _get(strictest, path)
        if mine == theirs:
            return None
        return f"{path} is {mine!r}, not the {strictest.name} profile's {theirs!r}."

    return check


def _agency_ids(profile: Profile, strictest: Profile) -> str | None:
    # An empty list means any agency of the allowed kinds: the loosest value, not the strictest.
    path = "access.operating_agency_ids"
    mine, theirs = set(profile.access.operating_agency_ids), strictest.access.operating_agency_ids
    if not theirs:
        return None
    if not mine:
        return (
            f"{path} is empty (any agency of the allowed kinds), where the {strictest.name} "
            f"profile allows only {_show(theirs)}."
        )
    return _subset(path)(profile, strictest)


def _allowed_offences(profile: Profile) -> set[str]:
    allowed = profile.request.allowed_severity_classes
    return {o.code for o in profile.offences if o.severity in allowed}


def _offences(profile: Profile, strictest: Profile) -> str | None:
    extra = sorted(_allowed_offences(profile) - _allowed_offences(strictest))
    if not extra:
        return None
    more = f" and {len(extra) - _SHOWN} more" if len(extra) > _SHOWN else ""
    return (
        f"offences: the catalogue and allowed severity classes allow offence codes the "
        f"{strictest.name} profile refuses: {', '.join(extra[:_SHOWN])}{more}."
    )


_CHECKS: tuple[tuple[str, _Check], ...] = (
    ("rules", _superset("rules", "does not run")),
    ("access.operating_agency_kinds", _subset("access.operating_agency_kinds")),
    ("access.operating_agency_ids", _agency_ids),
    ("access.training_validity_days", _at_most("access.training_validity_days", "days")),
    (
        "access.forbidden_role_combinations",
        _superset("access.forbidden_role_combinations", "does not forbid"),
    ),
    ("legal_basis.allowed", _subset("legal_basis.allowed")),
    ("legal_basis.court_order_authorities", _subset("legal_basis.court_order_authorities")),
    ("legal_basis.emergency_filing_hours", _at_most("legal_basis.emergency_filing_hours", "h")),
    ("request.allowed_severity_classes", _subset("request.allowed_severity_classes")),
    ("request.min_narrative_chars", _at_least("request.min_narrative_chars", "characters")),
    ("request.allowed_probe_sources", _subset("request.allowed_probe_sources")),
    ("request.forbidden_purposes", _superset("request.forbidden_purposes", "does not forbid")),
    ("results.max_candidates", _at_most("results.max_candidates", "candidates")),
    ("results.required_reviews", _at_least("results.required_reviews", "reviews")),
    ("results.caveat", _same_text("results.caveat")),
    (
        "results.corroboration_required_for",
        _superset("results.corroboration_required_for", "does not require corroboration for"),
    ),
    ("retention.probe_days", _at_most("retention.probe_days", "days")),
    ("retention.result_days", _at_most("retention.result_days", "days")),
    ("retention.audit_log_min_days", _at_least("retention.audit_log_min_days", "days")),
    ("accuracy.gate", _kept_on("accuracy.gate")),
    ("accuracy.operating_fpir", _at_most("accuracy.operating_fpir", "FPIR")),
    ("accuracy.min_rank1", _at_least_optional("accuracy.min_rank1", "rank-1")),
    ("accuracy.max_fnir", _at_most("accuracy.max_fnir", "FNIR")),
    ("accuracy.max_fte", _at_most("accuracy.max_fte", "FTE")),
    ("accuracy.require_demographics", _kept_on("accuracy.require_demographics")),
    ("accuracy.max_fmr_ratio", _at_most("accuracy.max_fmr_ratio", "times")),
    ("accuracy.max_fnmr_ratio", _at_most("accuracy.max_fnmr_ratio", "times")),
    ("transparency.small_cell_min", _at_least("transparency.small_cell_min", "requests")),
    ("misuse.window_days", _at_least("misuse.window_days", "days")),
    ("misuse.searches_per_case", _at_most("misuse.searches_per_case", "searches")),
    ("misuse.cases_per_requester", _at_most("misuse.cases_per_requester", "cases")),
    ("misuse.requester_days", _at_least("misuse.requester_days", "days")),
    ("misuse.odd_hour_searches", _at_most("misuse.odd_hour_searches", "searches")),
    ("misuse.probe_similarity", _at_most("misuse.probe_similarity", "cosine")),
    ("misuse.probe_cases", _at_most("misuse.probe_cases", "cases")),
    ("misuse.subject_cases", _at_most("misuse.subject_cases", "cases")),
    ("misuse.narrative_similarity", _at_most("misuse.narrative_similarity", "Jaccard")),
    ("misuse.narrative_cases", _at_most("misuse.narrative_cases", "cases")),
    ("offences", _offences),
)

COMPARED_FIELDS: frozenset[str] = frozenset(path for path, _ in _CHECKS)
"""Profile fields (dotted, by section) that :func:`loosenings` compares."""


def loosenings(profile: Profile, strictest: Profile) -> list[str]:
    """Return one sentence per parameter of ``profile`` looser than ``strictest``'s.

    An empty list means ``profile`` is at least as strict as ``strictest`` everywhere. The
    sentences name the parameter by its dotted key (``results.max_candidates``) and follow the
    profile's field order.
    """
    found = (check(profile, strictest) for _, check in _CHECKS)
    return [sentence for sentence in found if sentence is not None]
