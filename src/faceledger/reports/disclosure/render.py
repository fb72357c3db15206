"""The disclosure packet for a court: one self-contained HTML page, and the same page as a PDF.

The HTML is rendered from the packet's data with the Jinja2 template ``templates/packet.html``
(read with :mod:`importlib.resources`, autoescaped): inline CSS, no scripts, no external
resources. The PDF is WeasyPrint's rendering of that page with a URL fetcher that refuses every
fetch, with ``packet.json`` attached, so the file a court keeps carries the checkable bundle.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import jinja2

from faceledger.reports.disclosure.collect import SECTIONS

__all__ = ["format_value", "render_html", "render_pdf"]

_PACKAGE = "faceledger.reports.disclosure"
TEMPLATE = "packet.html"
CHECK_COMMAND = "faceledger ledger check-packet packet.json --public-key faceledger.pub"

_CANDIDATE_COLUMNS = (
    ("rank", "rank"),
    ("gallery", "gallery"),
    ("subject_id", "subject id"),
    ("template_id", "template id"),
    ("distance_micro", "distance"),
    ("similarity_micro", "similarity"),
    ("within_threshold", "within threshold"),
)


def _scaled(value: int, scale: int) -> str:
    text = f"{value / scale:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def format_value(value: Any, key: str = "") -> str:
    """Return a fact's value as a person reads it: ``*_micro`` integers in millionths and
    ``*_nano`` in billionths written as decimals, booleans as yes/no, lists and objects
    spelled out. ``key`` is the name the value has in its entry."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and key.endswith("_micro"):
        return _scaled(value, 1_000_000)
    if isinstance(value, int) and key.endswith("_nano"):
        return _scaled(value, 1_000_000_000)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        if not value:
            return "none"
        return ", ".join(format_value(v, key) for v in value)
    if isinstance(value, Mapping):
        if {"name", "sha256"} <= set(value) <= {"name", "version", "sha256", "unsafe", "banner"}:
            version = f" version {value['version']}" if "version" in value else ""
            unsafe = " — UNSAFE profile" if value.get("unsafe") else ""
            return f"{value['name']}{version} (SHA-256 {value['sha256']}){unsafe}"
        return "; ".join(f"{k}: {format_value(v, str(k))}" for k, v in value.items())
    if value == "":
        return "(none)"
    return str(value)


def _key_of(pointer: str) -> str:
    return pointer.rsplit("/", 1)[-1]


def _source_text(source: Mapping[str, Any], anchors: Mapping[str, Any]) -> str:
    if "document" in source:
        return f"{source['document']} (hash in entry {anchors.get(source['document'], '?')})"
    return f"entry {source.get('seq')}"


def _marks(value: Any, ranks: Mapping[int, str]) -> list[str] | None:
    """Review marks, one line each, naming the candidate's rank where the records know it."""
    if not isinstance(value, list) or not all(isinstance(m, Mapping) for m in value):
        return None
    lines = []
    for mark in value:
        cid = mark.get("candidate_id")
        where = f" ({ranks[cid]})" if isinstance(cid, int) and cid in ranks else ""
        note = f" — {mark['note']}" if mark.get("note") else ""
        lines.append(
            f"candidate {cid}{where}: {str(mark.get('outcome', '')).replace('_', ' ')}{note}"
        )
    return lines


def _candidates(
    facts: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    by_fact = {r.get("fact"): r for r in records}
    rows = []
    for fact in facts:
        value = fact["value"] if isinstance(fact["value"], Mapping) else {}
        record = by_fact.get(fact["id"], {})
        rows.append(
            {
                "cells": [format_value(value.get(k), k) for k, _ in _CANDIDATE_COLUMNS],
                "candidate_id": record.get("candidate_id", "—"),
                "external_id": record.get("external_id", "—"),
                "display_name": record.get("display_name", "—"),
                "within": value.get("within_threshold") is True,
                "source": f"entry {fact['source'].get('seq')}",
                "pointer": fact["source"].get("pointer", ""),
            }
        )
    return rows


def _context(data: Mapping[str, Any], sha256: str) -> dict[str, Any]:
    facts: list[Mapping[str, Any]] = list(data.get("facts", []))
    records = list((data.get("records") or {}).get("candidates", []))
    ranks = {
        r["candidate_id"]: f"rank {r['rank']}"
        for r in records
        if isinstance(r.get("candidate_id"), int) and "rank" in r
    }
    anchors = {d["id"]: d["sha256_in"].get("seq") for d in data.get("documents", [])}
    by_id = {f["id"]: f for f in facts}
    sections = []
    for name, title in SECTIONS:
        mine = [f for f in facts if f.get("section") == name]
        if not mine:
            continue
        if name == "candidates":
            sections.append(
                {"name": name, "title": title, "candidates": _candidates(mine, records)}
            )
            continue
        rows = []
        for fact in mine:
            source = fact["source"]
            rows.append(
                {
                    "label": fact["label"],
                    "text": format_value(fact["value"], _key_of(source.get("pointer", ""))),
                    "lines": _marks(fact["value"], ranks),
                    "alarm": "NOT EVALUATED" in fact["label"],
                    "source": _source_text(source, anchors),
                    "pointer": source.get("pointer", ""),
                }
            )
        sections.append({"name": name, "title": title, "rows": rows})
    searched = any(f["id"].startswith("use.") for f in facts)
    not_evaluated = [f for f in facts if "NOT EVALUATED" in f["label"]]
    return {
        "header": data["header"],
        "checkpoint": data["checkpoint"],
        "sha256": sha256,
        "sections": sections,
        "columns": [title for _, title in _CANDIDATE_COLUMNS],
        "searched": searched,
        "not_evaluated": not_evaluated,
        "model": by_id.get("search.model.embedder"),
        "format_value": format_value,
        "fact_count": len(facts),
        "entries": data.get("entries", []),
        "documents": data.get("documents", []),
        "records_note": (data.get("records") or {}).get("note", ""),
        "check_command": CHECK_COMMAND,
    }


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    text = importlib.resources.files(_PACKAGE).joinpath("templates", TEMPLATE).read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(text)


def render_html(data: Mapping[str, Any], sha256: str) -> str:
    """Return the packet ``data`` (whose ``packet.json`` has SHA-256 ``sha256``) as HTML."""
    return _template().render(**_context(data, sha256))


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    """WeasyPrint's URL fetcher: the page is self-contained, so every fetch is refused."""
    raise ValueError(f"The disclosure packet's PDF fetches nothing (asked for {url[:80]!r}).")


def render_pdf(html: str, packet_json: str | None = None) -> bytes:
    """Return ``html`` as a PDF (WeasyPrint, no fetches), with ``packet_json`` attached as
    ``packet.json`` when given."""
    import weasyprint  # type: ignore[import-untyped]  # slow to import: only when asked

    attachments = []
    if packet_json is not None:
        attachments.append(
            weasyprint.Attachment(
                string=packet_json,
                name="packet.json",
                description="The disclosure packet as JSON, for faceledger ledger check-packet",
                url_fetcher=_refuse_fetch,
            )
        )
    document = weasyprint.HTML(string=html, url_fetcher=_refuse_fetch)
    pdf: bytes = document.write_pdf(attachments=attachments)
    return pdf
