"""The parts a disclosure packet's facts are made of: sections, facts, their sources,
documents (evaluation summaries, anchored by their SHA-256 in an entry), and the collector
that reads a value at a pointer and keeps it with where it came from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from faceledger.reports.digest import summary_text
from faceledger.reports.disclosure.pointer import PointerError, resolve

__all__ = [
    "SECTIONS",
    "ActionNames",
    "Collector",
    "Document",
    "Fact",
    "Source",
    "entry_view",
    "summary_text",
]

SECTIONS: tuple[tuple[str, str], ...] = (
    ("use", "Use of face recognition: the system and the model"),
    ("request", "The request"),
    ("legal_basis", "Legal basis"),
    ("probe", "The probe photo"),
    ("search", "The search"),
    ("galleries", "Galleries searched and their sizes at the time"),
    ("accuracy", "Measured accuracy of the model"),
    ("candidates", "The full candidate list"),
    ("reviews", "How the lead was chosen: the two reviews"),
    ("release", "Release"),
    ("lead_uses", "Uses of the lead"),
    ("emergency", "Emergency approval, court filing and violations"),
    ("sealing", "Sealing"),
    ("refusals", "Refused attempts on this request"),
    ("disclosures", "Earlier disclosure packets of this request"),
    ("other", "Other ledger entries on this request"),
)
"""Every section of a packet, in order, with its heading."""

_NOT_IN_VIEW = frozenset({"proof", "type"})


@dataclass(frozen=True)
class ActionNames:
    """The ledger action names a packet reads. The caller hands them in (the catalogue is the
    service's ``LedgerAction``), so this domain package needs nothing from the service."""

    submit: str
    search: str
    review_first: str
    review_peer: str
    release: str
    close_no_lead: str
    lead_use: str
    approve_emergency: str
    emergency_filed: str
    sealed: str
    access_denied: str
    violation: str
    disclosure: str
    model_evaluation: str
    model_activate: str


@dataclass(frozen=True)
class Source:
    """Where a fact's value is: a pointer into entry ``seq``, or into document ``document``."""

    pointer: str
    seq: int | None = None
    document: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        if self.document is not None:
            return {"document": self.document, "pointer": self.pointer}
        return {"seq": self.seq, "pointer": self.pointer}


@dataclass(frozen=True)
class Fact:
    """One statement of a packet, with the value it was read from and where."""

    id: str
    section: str
    label: str
    value: Any
    source: Source

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (module :mod:`.facts` doc)."""
        return {
            "id": self.id,
            "section": self.section,
            "label": self.label,
            "value": self.value,
            "source": self.source.to_dict(),
        }


@dataclass(frozen=True)
class Document:
    """A JSON document in a packet (an evaluation summary) whose SHA-256 is the string at
    ``anchor`` (an entry's pointer). ``text`` is kept exactly as hashed, so any JSON reader can
    check it; ``data`` is the same parsed."""

    id: str
    label: str
    text: str
    anchor: Source
    data: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, id: str, label: str, text: str, anchor: Source) -> Document:
        """Return the document, parsed.

        Raises:
            ValueError: if ``text`` is not a JSON object.
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a document must be a JSON object")
        return cls(id, label, text, anchor, data)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the text's UTF-8 bytes."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "id": self.id,
            "label": self.label,
            "media_type": "application/json",
            "text": self.text,
            "sha256_in": self.anchor.to_dict(),
        }


def entry_view(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry as a fact's pointer reads it: every exported field, without its proof."""
    return {k: v for k, v in entry.items() if k not in _NOT_IN_VIEW}


class Collector:
    """Collects facts by section, each value read at its pointer (absent values are skipped,
    and so are nulls unless asked for)."""

    def __init__(self) -> None:
        self._sections: dict[str, list[Fact]] = {name: [] for name, _ in SECTIONS}
        self._ids: set[str] = set()

    def entry(
        self,
        section: str,
        fid: str,
        label: str,
        entry: Mapping[str, Any],
        pointer: str,
        *,
        keep_null: bool = False,
    ) -> bool:
        """Add the fact read at ``pointer`` in ``entry``; return whether there was a value."""
        source = Source(pointer, seq=int(entry["seq"]))
        return self._add(section, fid, label, entry_view(entry), source, keep_null)

    def document(
        self,
        section: str,
        fid: str,
        label: str,
        document: Document,
        pointer: str,
        *,
        keep_null: bool = False,
    ) -> bool:
        """Add the fact read at ``pointer`` in ``document``; return whether there was one."""
        source = Source(pointer, document=document.id)
        return self._add(section, fid, label, document.data, source, keep_null)

    def _add(
        self, section: str, fid: str, label: str, data: Any, source: Source, keep_null: bool
    ) -> bool:
        try:
            value = resolve(data, source.pointer)
        except PointerError:
            return False
        if value is None and not keep_null:
            return False
        if fid in self._ids:
            raise ValueError(f"two facts have the id {fid!r}")
        self._ids.add(fid)
        self._sections[section].append(Fact(fid, section, label, value, source))
        return True

    def facts(self) -> list[Fact]:
        """Every fact collected, in section order."""
        return [fact for name, _ in SECTIONS for fact in self._sections[name]]
