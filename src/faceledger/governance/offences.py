"""Offence catalogues: codes, names and severity classes, one YAML file per jurisdiction.

A catalogue file looks like::

    name: massachusetts
    title: Massachusetts offences (illustrative)
    offences:
      - {code: murder, name: Murder, severity: violent_felony, citation: "M.G.L. c. 265 § 1"}

Shipped catalogues live in ``governance/offences/``; an agency adds its own codes with
:func:`extend_catalogue`. Loading is strict: an unknown key, a wrong type, an unknown severity
class or a duplicate code is a :class:`~faceledger.errors.ConfigError` naming file and key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from faceledger.errors import ConfigError, InvalidInput

_CATALOGUE_KEYS = frozenset({"name", "title", "sources", "offences"})
_OFFENCE_KEYS = frozenset({"code", "name", "severity", "citation"})
_CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class SeverityClass(StrEnum):
    """How serious an offence is; profiles allow some classes (R6)."""

    VIOLENT_FELONY = "violent_felony"
    FELONY = "felony"
    GROSS_MISDEMEANOUR = "gross_misdemeanour"
    MISDEMEANOUR = "misdemeanour"
    INFRACTION = "infraction"
    NON_CRIMINAL = "non_criminal"


@dataclass(frozen=True)
class Offence:
    """One catalogue entry."""

    code: str
    name: str
    severity: SeverityClass
    citation: str = ""


@dataclass(frozen=True)
class OffenceCatalogue:
    """Offences by code. Look up with :meth:`get`, which names the catalogue when it fails."""

    name: str
    title: str
    offences: Mapping[str, Offence]
    sources: tuple[str, ...] = ()

    def get(self, code: str) -> Offence:
        """Return the offence with ``code``.

        Raises:
            InvalidInput: if the code is not in this catalogue.
        """
        try:
            return self.offences[code]
        except KeyError:
            raise InvalidInput(
                f"Offence code {code!r} is not in the {self.name} offence catalogue.",
                catalogue=self.name,
                code=code,
            ) from None

    def __contains__(self, code: object) -> bool:
        return code in self.offences

    def __iter__(self) -> Iterator[Offence]:
        return iter(self.offences.values())

    def __len__(self) -> int:
        return len(self.offences)

    def to_dict(self) -> dict[str, Any]:
        """Return the catalogue as canonical, JSON-ready data (codes sorted)."""
        return {
            "name": self.name,
            "title": self.title,
            "sources": list(self.sources),
            "offences": [
                {
                    "code": o.code,
                    "name": o.name,
                    "severity": str(o.severity),
                    "citation": o.citation,
                }
                for o in sorted(self.offences.values(), key=lambda o: o.code)
            ],
        }


def shipped_catalogues() -> tuple[str, ...]:
    """Return the names of the catalogues shipped with faceledger."""
    folder = resources.files("faceledger.governance") / "offences"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


def load_catalogue(name_or_path: str | Path) -> OffenceCatalogue:
    """Load a shipped catalogue by name, or any catalogue file by path.

    Raises:
        ConfigError: if the name is unknown or the file is malformed.
    """
    if isinstance(name_or_path, str) and _NAME.fullmatch(name_or_path):
        if name_or_path not in shipped_catalogues():
            raise ConfigError(
                f"Unknown offence catalogue {name_or_path!r}; shipped catalogues: "
                f"{', '.join(shipped_catalogues())}.",
                catalogue=name_or_path,
            )
        resource = resources.files("faceledger.governance") / "offences" / f"{name_or_path}.yaml"
        return parse_catalogue(resource.read_text(encoding="utf-8"), source=str(resource))
    path = Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read offence catalogue {path}: {exc}", file=str(path)) from exc
    return parse_catalogue(text, source=str(path))


def parse_catalogue(text: str, *, source: str) -> OffenceCatalogue:
    """Parse and strictly validate catalogue YAML; ``source`` names it in errors.

    Raises:
        ConfigError: naming ``source`` and the offending key.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"Offence catalogue {source} is not valid YAML: {exc}", file=source
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Offence catalogue {source} must be a mapping.", file=source)
    _no_unknown(data, _CATALOGUE_KEYS, source, "")
    name = _text(data, "name", source, "")
    if not _NAME.fullmatch(name):
        raise _bad(source, "name", "a lower-case name like 'massachusetts'", name)
    sources = data.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise _bad(source, "sources", "a list of strings", sources)
    entries = data.get("offences")
    if not isinstance(entries, list) or not entries:
        raise _bad(source, "offences", "a non-empty list of offences", entries)
    offences: dict[str, Offence] = {}
    for index, entry in enumerate(entries):
        where = f"offences[{index}]."
        if not isinstance(entry, dict):
            raise _bad(source, f"offences[{index}]", "a mapping", entry)
        _no_unknown(entry, _OFFENCE_KEYS, source, where)
        code = _text(entry, "code", source, where)
        if not _CODE.fullmatch(code):
            raise _bad(source, where + "code", "a lower-case code like 'armed_robbery'", code)
        severity = _text(entry, "severity", source, where)
        if severity not in {s.value for s in SeverityClass}:
            raise _bad(source, where + "severity", f"one of {', '.join(SeverityClass)}", severity)
        if code in offences:
            raise ConfigError(
                f"Offence catalogue {source}: code {code!r} appears twice.", file=source, key=code
            )
        citation = entry.get("citation", "")
        if not isinstance(citation, str):
            raise _bad(source, where + "citation", "a string", citation)
        offences[code] = Offence(
            code, _text(entry, "name", source, where), SeverityClass(severity), citation
        )
    return OffenceCatalogue(
        name=name,
        title=_text(data, "title", source, ""),
        offences=MappingProxyType(offences),
        sources=tuple(sources),
    )


def merge_catalogues(base: OffenceCatalogue, extra: OffenceCatalogue) -> OffenceCatalogue:
    """Return ``base`` with the offences of ``extra`` added.

    Raises:
        ConfigError: if ``extra`` redefines a code of ``base`` differently.
    """
    merged = dict(base.offences)
    for code, offence in extra.offences.items():
        if code in merged and merged[code] != offence:
            raise ConfigError(
                f"Offence code {code!r} in catalogue {extra.name} conflicts with the {base.name} "
                f"catalogue ({merged[code].severity} there, {offence.severity} here).",
                key=code,
            )
        merged[code] = offence
    return OffenceCatalogue(
        name=base.name,
        title=base.title,
        offences=MappingProxyType(merged),
        sources=base.sources + tuple(s for s in extra.sources if s not in base.sources),
    )


def extend_catalogue(base: OffenceCatalogue, path: str | Path) -> OffenceCatalogue:
    """Load the catalogue file at ``path`` and merge it into ``base``.

    Raises:
        ConfigError: if the file is malformed or conflicts with ``base``.
    """
    return merge_catalogues(base, load_catalogue(Path(path)))


def _no_unknown(data: dict[Any, Any], known: frozenset[str], source: str, where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise ConfigError(
            f"Offence catalogue {source}: unknown key {where}{unknown[0]}; "
            f"allowed keys: {', '.join(sorted(known))}.",
            file=source,
            key=where + unknown[0],
        )


def _text(data: dict[Any, Any], key: str, source: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(source, where + key, "a non-empty string", value)
    return value


def _bad(source: str, key: str, expected: str, got: object) -> ConfigError:
    return ConfigError(
        f"Offence catalogue {source}: key {key} must be {expected}, got {got!r}.",
        file=source,
        key=key,
    )
