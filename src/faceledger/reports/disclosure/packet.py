"""The disclosure packet (R14) as a JSON bundle: what it holds and how it is written.

::

    {"header": {"format": "faceledger-disclosure-packet", "version": 1, "facts_version": 1,
                "request_id", "case_number", "produced_at", "produced_by", "recipient",
                "purpose", "system": {"name", "version"}, "log_id", "caveat", "notes": [...]},
     "checkpoint": {<one signed checkpoint, covering every entry below>},
     "entries": [{<an export entry record, with its payload>, "proof": {"leaf_index",
                  "tree_size", "hashes"}}, ...],
     "documents": [{"id", "label", "media_type", "text", "sha256_in": {"seq", "pointer"}}],
     "facts": [{"id", "section", "label", "value", "source"}, ...],
     "records": {"note": "...", "candidates": [{"fact", "candidate_id", "external_id",
                 "display_name"}, ...]}}

Entries, documents and facts are checked offline by :func:`~.check.check_packet` with the
ledger's public key alone. The header and ``records`` are not in the ledger: the
``report.disclosure`` entry that producing the packet appends records the packet's SHA-256, so
the unit's ledger vouches for the whole file afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.proofs import InclusionProof
from faceledger.ledger.records import EntryRecord
from faceledger.reports.disclosure.collect import ActionNames, Document
from faceledger.reports.disclosure.facts import FACTS_VERSION, extract_facts

__all__ = [
    "CAVEAT",
    "PACKET_FORMAT",
    "PACKET_VERSION",
    "RECORDS_NOTE",
    "Packet",
    "PacketHeader",
    "build_packet",
    "packet_text",
]

CAVEAT = "investigative lead only — not probable cause for arrest"
"""What every output of a search says (R9), on the packet's first and last page."""
PACKET_FORMAT = "faceledger-disclosure-packet"
PACKET_VERSION = 1
RECORDS_NOTE = (
    "From the unit's records database, not from the ledger: the ledger names each candidate "
    "by gallery subject and template ids only. These names are not checked by check-packet."
)


@dataclass(frozen=True)
class PacketHeader:
    """Who produced the packet, when and for whom, and what it is about."""

    request_id: int
    case_number: str
    produced_at: str
    produced_by: str
    recipient: str
    purpose: str
    system_name: str
    system_version: str
    log_id: str
    caveat: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (module doc)."""
        return {
            "format": PACKET_FORMAT,
            "version": PACKET_VERSION,
            "facts_version": FACTS_VERSION,
            "request_id": self.request_id,
            "case_number": self.case_number,
            "produced_at": self.produced_at,
            "produced_by": self.produced_by,
            "recipient": self.recipient,
            "purpose": self.purpose,
            "system": {"name": self.system_name, "version": self.system_version},
            "log_id": self.log_id,
            "caveat": self.caveat,
            "notes": list(self.notes),
        }


def packet_text(data: Mapping[str, Any]) -> str:
    """Return the packet as the text of ``packet.json`` (sorted keys, indented, UTF-8)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Packet:
    """A produced packet: its data, the exact text of ``packet.json`` and that text's SHA-256.

    :meth:`html` and :meth:`pdf` render the same packet for a court (see :mod:`.render`).
    """

    data: dict[str, Any] = field(repr=False)
    text: str = field(repr=False)
    sha256: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Packet:
        """Return the packet of ``data``."""
        text = packet_text(data)
        return cls(data, text, hashlib.sha256(text.encode("utf-8")).hexdigest())

    @property
    def request_id(self) -> int:
        """The request the packet is about."""
        return int(self.data["header"]["request_id"])

    @property
    def fact_count(self) -> int:
        """How many facts the packet states."""
        return len(self.data["facts"])

    @property
    def checkpoint_size(self) -> int:
        """The tree size of the checkpoint every entry is proven against."""
        return int(self.data["checkpoint"]["tree_size"])

    def html(self) -> str:
        """Return the packet as one self-contained HTML page."""
        from faceledger.reports.disclosure.render import render_html

        return render_html(self.data, self.sha256)

    def pdf(self, html: str | None = None) -> bytes:
        """Return the packet as a PDF (``html`` if already rendered), with packet.json
        attached."""
        from faceledger.reports.disclosure.render import render_pdf

        return render_pdf(html if html is not None else self.html(), self.text)


def build_packet(
    header: PacketHeader,
    checkpoint: Checkpoint,
    entries: Sequence[tuple[EntryRecord, InclusionProof]],
    documents: Sequence[Document],
    actions: ActionNames,
    candidate_records: Sequence[Mapping[str, Any]] = (),
) -> Packet:
    """Assemble the packet: the entries (``seq`` order) with their proofs against
    ``checkpoint``, the documents, the facts :func:`~.facts.extract_facts` reads from them, and
    the database records of the candidates (``{"fact", ...}``, not checked)."""
    ordered = sorted(entries, key=lambda pair: pair[0].seq)
    entry_data = [{**record.to_dict(), "proof": proof.to_dict()} for record, proof in ordered]
    by_id = {d.id: d for d in documents}
    facts = extract_facts(header.request_id, entry_data, by_id, actions)
    data = {
        "header": header.to_dict(),
        "checkpoint": checkpoint.to_dict(),
        "entries": entry_data,
        "documents": [d.to_dict() for d in documents],
        "facts": [f.to_dict() for f in facts],
        "records": {"note": RECORDS_NOTE, "candidates": [dict(c) for c in candidate_records]},
    }
    return Packet.of(data)
