"""Disclosure packets (R14): what a search did, for defence counsel and the court, each fact
backed by its ledger entry with an inclusion proof against one signed checkpoint.

:mod:`.facts` reads a request's entries into facts (one pure function, run again by the
checker); :mod:`.packet` assembles the JSON bundle; :mod:`.check` checks one offline with the
public key alone; :mod:`.render` writes the same packet as HTML and PDF. Nothing here imports
the service layer: the caller hands in the entries, proofs and documents, and the ledger
action names (:class:`ActionNames`).
"""

from __future__ import annotations

from faceledger.reports.disclosure.accuracy import evaluation_document, evaluation_document_id
from faceledger.reports.disclosure.check import PacketReport, check_packet
from faceledger.reports.disclosure.collect import (
    SECTIONS,
    ActionNames,
    Document,
    Fact,
    Source,
    summary_text,
)
from faceledger.reports.disclosure.facts import FACTS_VERSION, extract_facts
from faceledger.reports.disclosure.packet import (
    PACKET_FORMAT,
    PACKET_VERSION,
    Packet,
    PacketHeader,
    build_packet,
)

__all__ = [
    "FACTS_VERSION",
    "PACKET_FORMAT",
    "PACKET_VERSION",
    "SECTIONS",
    "ActionNames",
    "Document",
    "Fact",
    "Packet",
    "PacketHeader",
    "PacketReport",
    "Source",
    "build_packet",
    "check_packet",
    "evaluation_document",
    "evaluation_document_id",
    "extract_facts",
    "summary_text",
]
