"""Policy profiles: one YAML file per jurisdiction, strictly validated and hashed.

A profile names the rules that run (ids from :data:`faceledger.governance.rules.RULE_TYPES`)
and holds their parameters in eight sections (``access``, ``legal_basis``, ``request``,
``results``, ``retention``, ``accuracy``, ``transparency``, ``misuse``); see
``profiles/massachusetts.yaml`` for a commented example. Every key is required unless noted;
an unknown key, a wrong type, a value out of range or an unknown rule id is a
:class:`~faceledger.errors.ConfigError` naming the file and the key.

:attr:`Profile.sha256` hashes the canonical content (the parsed profile and its offence
catalogue as sorted-key JSON), so the ledger can record exactly which rules were in force;
comments and key order in the YAML do not change it.

A profile loaded from a path (not a shipped one) is compared with the strictest shipped profile
(:mod:`faceledger.governance.strictness`); if it loosens any parameter it is marked unsafe,
with a warning listing each loosening, whatever its own ``unsafe`` key says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from faceledger.errors import ConfigError
from faceledger.governance.context import (
    AgencyKind,
    AuthorityKind,
    LeadUseKind,
    LegalBasisKind,
    ProbeSource,
    Purpose,
    Role,
)
from faceledger.governance.offences import (
    OffenceCatalogue,
    SeverityClass,
    extend_catalogue,
    load_catalogue,
)
from faceledger.governance.rules import RULE_TYPES
from faceledger.governance.strictness import STRICTEST_PROFILE, loosenings

UNSAFE_LAB_PROFILE = "UNSAFE_LAB_PROFILE"
"""Flag carried by every decision made under a profile marked ``unsafe: true``."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_E = TypeVar("_E", bound=StrEnum)
_TOP_KEYS = frozenset(
    {"name", "title", "jurisdiction", "sources", "unsafe", "unsafe_warning", "rules"}
    | {
        "access",
        "legal_basis",
        "request",
        "results",
        "retention",
        "accuracy",
        "transparency",
        "misuse",
    }
)


@dataclass(frozen=True)
class AccessPolicy:
    """Who may operate the system (R1, R2), and which roles one account may not combine (R10)."""

    operating_agency_kinds: tuple[AgencyKind, ...]
    operating_agency_ids: tuple[str, ...]  # empty: any agency of the allowed kinds
    training_validity_days: int | None  # None: no training requirement
    # Pairs of roles no single account may hold: holding both defeats independent review.
    forbidden_role_combinations: tuple[frozenset[Role], ...]


@dataclass(frozen=True)
class LegalBasisPolicy:
    """Which legal bases a request may rest on (R3, R4, R5)."""

    allowed: tuple[LegalBasisKind, ...]
    court_order_authorities: tuple[AuthorityKind, ...]
    emergency_filing_hours: int | None  # None: no court filing after an emergency


@dataclass(frozen=True)
class RequestPolicy:
    """What a request must contain and may ask for (R6, R7, R8)."""

    offence_catalogue: str
    allowed_severity_classes: tuple[SeverityClass, ...]
    min_narrative_chars: int
    allowed_probe_sources: tuple[ProbeSource, ...]
    forbidden_purposes: tuple[Purpose, ...]


@dataclass(frozen=True)
class ResultsPolicy:
    """How results are produced, reviewed and used (R9, R10, R11)."""

    max_candidates: int
    required_reviews: int
    caveat: str
    corroboration_required_for: tuple[LeadUseKind, ...]


@dataclass(frozen=True)
class RetentionPolicy:
    """How long data is kept, in days (R13)."""

    probe_days: int  # delete probe images after
    result_days: int  # delete candidate lists after
    audit_log_min_days: int  # keep ledger entries at least


@dataclass(frozen=True)
class AccuracyPolicy:
    """The deployment gate (R15, R16): what a model's stored evaluation must show before the
    model and an operating threshold may serve a gallery. ``None`` bounds are not checked."""

    gate: bool  # False: galleries are searched at the model's uncalibrated default (lab only)
    operating_fpir: float  # the threshold is calibrated for this FPIR at the gallery's size
    min_rank1: float | None  # rank-1 identification rate of mated probes
    max_fnir: float | None  # FNIR at FPIR = FNIR_FPIR (R15)
    max_fte: float | None  # failure-to-enrol rate
    require_demographics: bool  # the evaluation must carry a demographic table (R16)
    max_fmr_ratio: float | None  # worst-to-best FMR between groups (NIST IR 8280)
    max_fnmr_ratio: float | None  # worst-to-best FNMR between groups


@dataclass(frozen=True)
class TransparencyPolicy:
    """The public transparency report (R17)."""

    small_cell_min: int  # public counts below this (but above 0) are shown as "<N"


@dataclass(frozen=True)
class MisusePolicy:
    """Thresholds of the misuse analytics (R18); a finding needs at least the number named.

    "Unrelated" cases are requests with different case numbers."""

    window_days: int  # how far back a scan looks
    searches_per_case: int  # searches under one case number
    cases_per_requester: int  # unrelated cases of one requester within requester_days
    requester_days: int
    odd_hours_start: int  # local hour at which odd hours begin (0-23) ...
    odd_hours_end: int  # ... and the hour at which they end (may wrap past midnight)
    timezone: str  # IANA name of the unit's local time
    odd_hour_searches: int  # searches of one requester filed at odd hours
    probe_similarity: float  # cosine similarity above which two probes are near-duplicates
    probe_cases: int  # unrelated cases sharing one probe (by hash or near-duplicate)
    subject_cases: int  # unrelated cases in whose candidate lists one gallery subject recurs
    narrative_similarity: float  # word-shingle Jaccard above which narratives are boilerplate
    narrative_cases: int  # unrelated cases of one requester sharing a boilerplate narrative


FNIR_FPIR = 0.003
"""The FPIR at which the gate reads FNIR (R15's example operating point)."""


@dataclass(frozen=True)
class Profile:
    """A validated policy profile with its offence catalogue and content hash."""

    name: str
    title: str
    jurisdiction: str
    sources: tuple[str, ...]
    unsafe: bool
    unsafe_warning: str
    rules: tuple[str, ...]
    access: AccessPolicy
    legal_basis: LegalBasisPolicy
    request: RequestPolicy
    results: ResultsPolicy
    retention: RetentionPolicy
    accuracy: AccuracyPolicy
    transparency: TransparencyPolicy
    misuse: MisusePolicy
    offences: OffenceCatalogue = dataclasses.field(repr=False)
    sha256: str = ""
    source: str = dataclasses.field(default="", compare=False)

    def canonical(self) -> dict[str, Any]:
        """Return the hashed content: every field but ``sha256`` and ``source``."""
        data: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "jurisdiction": self.jurisdiction,
            "sources": self.sources,
            "unsafe": self.unsafe,
            "unsafe_warning": self.unsafe_warning,
            "rules": self.rules,
        }
        data["access"] = dataclasses.asdict(self.access)
        data["legal_basis"] = dataclasses.asdict(self.legal_basis)
        data["request"] = dataclasses.asdict(self.request)
        data["results"] = dataclasses.asdict(self.results)
        data["retention"] = dataclasses.asdict(self.retention)
        data["accuracy"] = dataclasses.asdict(self.accuracy)
        data["transparency"] = dataclasses.asdict(self.transparency)
        data["misuse"] = dataclasses.asdict(self.misuse)
        data["offences"] = self.offences.to_dict()
        return _jsonable(data)  # type: ignore[no-any-return]

    @property
    def unsafe_banner(self) -> str:
        """The text every output of an unsafe profile must show and record ("" if safe)."""
        return f"{UNSAFE_LAB_PROFILE}: {self.unsafe_warning}" if self.unsafe else ""

    def summary(self) -> dict[str, str | bool]:
        """Return what a decision or ledger entry records about the profile."""
        return {"name": self.name, "sha256": self.sha256, "unsafe": self.unsafe}

    def emergency_filing_deadline(self, declared_at: dt.datetime) -> dt.datetime | None:
        """Return when the court filing for an emergency declared at ``declared_at`` is due."""
        hours = self.legal_basis.emergency_filing_hours
        return None if hours is None else declared_at + dt.timedelta(hours=hours)

    def training_certified_until(self, trained_on: dt.date) -> dt.date | None:
        """Return until when training completed on ``trained_on`` counts (None: no limit)."""
        days = self.access.training_validity_days
        return None if days is None else trained_on + dt.timedelta(days=days)


_ROLE_ORDER = {role: index for index, role in enumerate(Role)}


def _role_pair(pair: frozenset[Role]) -> tuple[Role, ...]:
    """The roles of ``pair`` in the order :class:`Role` declares them."""
    return tuple(sorted(pair, key=_ROLE_ORDER.__getitem__))


def _role_pair_order(pair: frozenset[Role]) -> tuple[int, ...]:
    return tuple(_ROLE_ORDER[r] for r in _role_pair(pair))


def role_combination_problems(
    policy: AccessPolicy | Profile, roles: frozenset[Role], *, profile_name: str = ""
) -> list[str]:
    """Return one sentence per forbidden role pair that ``roles`` holds ([] if none; R10).

    ``policy`` is a profile or its access section; a section does not know its profile's
    name, so pass ``profile_name`` with it for the sentences to name the profile.
    """
    if isinstance(policy, Profile):
        profile_name, policy = profile_name or policy.name, policy.access
    which = f"The {profile_name} profile" if profile_name else "The active profile"
    problems = []
    for pair in policy.forbidden_role_combinations:
        if pair <= roles:
            first, second = _role_pair(pair)
            problems.append(
                f"{which} does not let one account hold both {first} and {second}: it would "
                "defeat independent review (R10)."
            )
    return problems


def _keys(section: type[Any]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(section))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def shipped_profiles() -> tuple[str, ...]:
    """Return the names of the profiles shipped with faceledger."""
    folder = resources.files("faceledger.governance") / "profiles"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


def load_profile(name_or_path: str | Path, *, extra_offences: Sequence[Path] = ()) -> Profile:
    """Load a shipped profile by name, or a profile file by path.

    ``extra_offences`` are catalogue files merged into the profile's catalogue; they are part
    of the hashed content.

    A profile loaded by path that loosens the strictest shipped profile
    (:data:`~faceledger.governance.strictness.STRICTEST_PROFILE`) comes back with
    ``unsafe=True`` and an ``unsafe_warning`` that lists every loosening, so its
    :attr:`Profile.unsafe_banner` shows on every output, whatever the file's ``unsafe`` says.

    Raises:
        ConfigError: for an unknown profile name or any problem in the file.
    """
    if isinstance(name_or_path, str) and _NAME.fullmatch(name_or_path):
        if name_or_path not in shipped_profiles():
            raise ConfigError(
                f"Unknown policy profile {name_or_path!r}; shipped profiles: "
                f"{', '.join(shipped_profiles())}.",
                profile=name_or_path,
            )
        resource = resources.files("faceledger.governance") / "profiles" / f"{name_or_path}.yaml"
        text, source, base = resource.read_text(encoding="utf-8"), str(resource), None
    else:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read profile {path}: {exc}", file=str(path)) from exc
        source, base = str(path), path.parent
    profile = parse_profile(text, source=source, base_dir=base, extra_offences=extra_offences)
    return profile if base is None else _flag_loosenings(profile)


LOOSENED_WARNING = (
    "Custom profile {name} loosens the strictest shipped profile ({strictest}), so it is "
    "marked unsafe:"
)
"""How the ``unsafe_warning`` of a custom profile that loosens the strictest one begins."""


def _flag_loosenings(profile: Profile) -> Profile:
    """Mark ``profile`` unsafe if it loosens the strictest shipped profile (and rehash it)."""
    found = loosenings(profile, load_profile(STRICTEST_PROFILE))
    if not found:
        return profile
    head = LOOSENED_WARNING.format(name=profile.name, strictest=STRICTEST_PROFILE)
    # The file's own warning, if it declared itself unsafe, still shows, after the loosenings.
    warning = " ".join([head, *found, *([profile.unsafe_warning] if profile.unsafe else [])])
    return _sealed(dataclasses.replace(profile, unsafe=True, unsafe_warning=warning))


def _sealed(profile: Profile) -> Profile:
    """Return ``profile`` with ``sha256`` computed from its canonical content."""
    canonical = json.dumps(
        profile.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return dataclasses.replace(profile, sha256=hashlib.sha256(canonical.encode()).hexdigest())


def parse_profile(
    text: str,
    *,
    source: str,
    base_dir: Path | None = None,
    extra_offences: Sequence[Path] = (),
) -> Profile:
    """Parse and strictly validate profile YAML. ``source`` names it in errors.

    ``request.offence_catalogue`` is a shipped catalogue name, or a ``.yaml`` path relative to
    ``base_dir``.

    Raises:
        ConfigError: naming ``source`` and the offending key.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Profile {source} is not valid YAML: {exc}", file=source) from exc
    top = _Section(data, source, "", _TOP_KEYS)
    name = top.text("name")
    if not _NAME.fullmatch(name):
        raise top.bad("name", "a lower-case name like 'massachusetts'", name)
    unsafe = top.boolean("unsafe")
    unsafe_warning = top.text("unsafe_warning") if unsafe else top.optional_empty("unsafe_warning")
    rules = top.texts("rules", nonempty=True)
    for index, rule_id in enumerate(rules):
        if rule_id not in RULE_TYPES:
            raise ConfigError(
                f"Profile {source}: key rules[{index}] names unknown rule {rule_id!r}; "
                f"known rules: {', '.join(sorted(RULE_TYPES))}.",
                file=source,
                key=f"rules[{index}]",
            )
    if len(set(rules)) != len(rules):
        raise top.bad("rules", "a list without repeats", list(rules))

    s = top.section("access", _keys(AccessPolicy))
    access = AccessPolicy(
        operating_agency_kinds=s.enums("operating_agency_kinds", AgencyKind, nonempty=True),
        operating_agency_ids=tuple(sorted(s.texts("operating_agency_ids"))),
        training_validity_days=s.optional_integer("training_validity_days", minimum=1),
        forbidden_role_combinations=s.role_pairs("forbidden_role_combinations"),
    )
    s = top.section("legal_basis", _keys(LegalBasisPolicy))
    legal = LegalBasisPolicy(
        allowed=s.enums("allowed", LegalBasisKind, nonempty=True),
        court_order_authorities=s.enums("court_order_authorities", AuthorityKind),
        emergency_filing_hours=s.optional_integer("emergency_filing_hours", minimum=1),
    )
    s = top.section("request", _keys(RequestPolicy))
    request = RequestPolicy(
        offence_catalogue=s.text("offence_catalogue"),
        allowed_severity_classes=s.enums("allowed_severity_classes", SeverityClass, True),
        min_narrative_chars=s.integer("min_narrative_chars", minimum=0),
        allowed_probe_sources=s.enums("allowed_probe_sources", ProbeSource, nonempty=True),
        forbidden_purposes=s.enums("forbidden_purposes", Purpose),
    )
    s = top.section("results", _keys(ResultsPolicy))
    results = ResultsPolicy(
        max_candidates=s.integer("max_candidates", minimum=1, maximum=1000),
        required_reviews=s.integer("required_reviews", minimum=1, maximum=10),
        caveat=s.text("caveat"),
        corroboration_required_for=s.enums("corroboration_required_for", LeadUseKind),
    )
    s = top.section("retention", _keys(RetentionPolicy))
    retention = RetentionPolicy(
        probe_days=s.integer("probe_days", minimum=1),
        result_days=s.integer("result_days", minimum=1),
        audit_log_min_days=s.integer("audit_log_min_days", minimum=1),
    )
    s = top.section("accuracy", _keys(AccuracyPolicy))
    accuracy = AccuracyPolicy(
        gate=s.boolean("gate"),
        operating_fpir=s.number("operating_fpir", minimum=1e-9, maximum=0.5),
        min_rank1=s.optional_number("min_rank1", minimum=0.0, maximum=1.0),
        max_fnir=s.optional_number("max_fnir", minimum=0.0, maximum=1.0),
        max_fte=s.optional_number("max_fte", minimum=0.0, maximum=1.0),
        require_demographics=s.boolean("require_demographics"),
        max_fmr_ratio=s.optional_number("max_fmr_ratio", minimum=1.0, maximum=1e6),
        max_fnmr_ratio=s.optional_number("max_fnmr_ratio", minimum=1.0, maximum=1e6),
    )
    s = top.section("transparency", _keys(TransparencyPolicy))
    transparency = TransparencyPolicy(small_cell_min=s.integer("small_cell_min", minimum=1))
    misuse = _misuse(top.section("misuse", _keys(MisusePolicy)))
    title, jurisdiction, sources = top.text("title"), top.text("jurisdiction"), top.texts("sources")

    if LegalBasisKind.COURT_ORDER in legal.allowed and not legal.court_order_authorities:
        raise top.bad(
            "legal_basis.court_order_authorities", "non-empty when court_order is allowed", []
        )
    offences = _catalogue(request.offence_catalogue, source, base_dir)
    for extra in extra_offences:
        offences = extend_catalogue(offences, extra)
    profile = Profile(
        name=name,
        title=title,
        jurisdiction=jurisdiction,
        sources=tuple(sources),
        unsafe=unsafe,
        unsafe_warning=unsafe_warning,
        rules=tuple(rules),
        access=access,
        legal_basis=legal,
        request=request,
        results=results,
        retention=retention,
        accuracy=accuracy,
        transparency=transparency,
        misuse=misuse,
        offences=offences,
        source=source,
    )
    profile = _sealed(profile)
    for rule_id in profile.rules:
        RULE_TYPES[rule_id](profile)  # a rule whose parameters are missing raises ConfigError
    return profile


def _catalogue(ref: str, source: str, base_dir: Path | None) -> OffenceCatalogue:
    if ref.endswith(".yaml"):
        if base_dir is None:
            raise ConfigError(
                f"Profile {source}: key request.offence_catalogue must name a shipped catalogue, "
                f"got the path {ref!r}.",
                file=source,
                key="request.offence_catalogue",
            )
        return load_catalogue(base_dir / ref)
    try:
        return load_catalogue(ref)
    except ConfigError as exc:
        raise ConfigError(
            f"Profile {source}: key request.offence_catalogue: {exc.message}",
            file=source,
            key="request.offence_catalogue",
        ) from exc


def _misuse(s: _Section) -> MisusePolicy:
    zone = s.text("timezone")
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise s.bad("timezone", "an IANA time zone name such as America/New_York", zone) from None
    return MisusePolicy(
        window_days=s.integer("window_days", minimum=1, maximum=3660),
        searches_per_case=s.integer("searches_per_case", minimum=2),
        cases_per_requester=s.integer("cases_per_requester", minimum=2),
        requester_days=s.integer("requester_days", minimum=1, maximum=366),
        odd_hours_start=s.integer("odd_hours_start", minimum=0, maximum=23),
        odd_hours_end=s.integer("odd_hours_end", minimum=0, maximum=23),
        timezone=zone,
        odd_hour_searches=s.integer("odd_hour_searches", minimum=1),
        probe_similarity=s.number("probe_similarity", minimum=0.5, maximum=1.0),
        probe_cases=s.integer("probe_cases", minimum=2),
        subject_cases=s.integer("subject_cases", minimum=2),
        narrative_similarity=s.number("narrative_similarity", minimum=0.5, maximum=1.0),
        narrative_cases=s.integer("narrative_cases", minimum=2),
    )


class _Section:
    """Reads one YAML mapping strictly: unknown keys fail at once, then typed getters."""

    def __init__(self, data: object, source: str, prefix: str, keys: frozenset[str]) -> None:
        if not isinstance(data, dict):
            where = f"key {prefix.rstrip('.')}" if prefix else "the top level"
            raise ConfigError(
                f"Profile {source}: {where} must be a mapping, got {data!r}.",
                file=source,
                key=prefix.rstrip("."),
            )
        unknown = sorted(str(k) for k in data if k not in keys)
        if unknown:
            raise ConfigError(
                f"Profile {source}: unknown key {prefix}{unknown[0]}; allowed keys here: "
                f"{', '.join(sorted(keys))}.",
                file=source,
                key=prefix + unknown[0],
            )
        self.data: dict[Any, Any] = data
        self.source = source
        self.prefix = prefix

    def bad(self, key: str, expected: str, got: object) -> ConfigError:
        full = key if "." in key else self.prefix + key
        return ConfigError(
            f"Profile {self.source}: key {full} must be {expected}, got {got!r}.",
            file=self.source,
            key=full,
        )

    def _get(self, key: str) -> object:
        if key not in self.data:
            raise ConfigError(
                f"Profile {self.source}: key {self.prefix}{key} is missing.",
                file=self.source,
                key=self.prefix + key,
            )
        return self.data[key]

    def section(self, key: str, keys: frozenset[str]) -> _Section:
        return _Section(self._get(key), self.source, f"{self.prefix}{key}.", keys)

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.bad(key, "a non-empty string", value)
        return value

    def optional_empty(self, key: str) -> str:
        value = self.data.get(key, "")
        if value not in ("", None):
            raise self.bad(key, "absent unless unsafe is true", value)
        return ""

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self.bad(key, "true or false", value)
        return value

    def integer(self, key: str, *, minimum: int, maximum: int | None = None) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.bad(key, "an integer", value)
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise self.bad(key, f"an integer of at least {minimum}{upper}", value)
        return value

    def number(self, key: str, *, minimum: float, maximum: float) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.bad(key, "a number", value)
        if not minimum <= value <= maximum:
            raise self.bad(key, f"a number from {minimum:g} to {maximum:g}", value)
        return float(value)

    def optional_number(self, key: str, *, minimum: float, maximum: float) -> float | None:
        if self._get(key) is None:
            return None
        return self.number(key, minimum=minimum, maximum=maximum)

    def optional_integer(self, key: str, *, minimum: int) -> int | None:
        if self._get(key) is None:
            return None
        return self.integer(key, minimum=minimum)

    def texts(self, key: str, *, nonempty: bool = False) -> list[str]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.bad(key, "a list of strings", value)
        if nonempty and not value:
            raise self.bad(key, "a non-empty list", value)
        return value

    def enums(self, key: str, kind: type[_E], nonempty: bool = False) -> tuple[_E, ...]:
        values = self.texts(key, nonempty=nonempty)
        known = {m.value: m for m in kind}
        for index, value in enumerate(values):
            if value not in known:
                raise self.bad(f"{key}[{index}]", f"one of {', '.join(known)}", value)
        if len(set(values)) != len(values):
            raise self.bad(key, "a list without repeats", values)
        return tuple(sorted(known[v] for v in values))

    def role_pairs(self, key: str) -> tuple[frozenset[Role], ...]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self.bad(key, "a list of role pairs like [requester, examiner]", value)
        known = {m.value: m for m in Role}
        pairs: list[frozenset[Role]] = []
        for index, pair in enumerate(value):
            where = f"{key}[{index}]"
            if not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]:
                raise self.bad(where, "a list of two different roles", pair)
            for inner, role in enumerate(pair):
                if not isinstance(role, str) or role not in known:
                    raise self.bad(f"{where}[{inner}]", f"one of {', '.join(known)}", role)
            roles = frozenset(known[r] for r in pair)
            if roles in pairs:
                raise self.bad(key, "a list without repeats", value)
            pairs.append(roles)
        return tuple(sorted(pairs, key=_role_pair_order))
