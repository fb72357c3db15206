"""The packet for a court: values as people read them, one self-contained HTML page, and the
same page as a PDF carrying packet.json."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from faceledger.reports.disclosure import Packet
from faceledger.reports.disclosure.render import CHECK_COMMAND, format_value
from tests.unit.reports.disclosure.pdf_text import inflated
from tests.unit.reports.disclosure.synthetic import CASE, build


@pytest.mark.parametrize(
    ("value", "key", "shown"),
    [
        (None, "", "—"),
        (True, "", "yes"),
        (False, "calibrated", "no"),
        (1284648, "distance_micro", "1.284648"),
        (0, "distance_micro", "0"),
        (3000000, "target_fpir_nano", "0.003"),
        (54, "gallery_size", "54"),
        (0.985, "rank1", "0.985"),
        ([10, 11], "", "10, 11"),
        ([], "", "none"),
        ("", "unbounded_ratios", "(none)"),
        (
            {"name": "sface", "version": "2021dec", "sha256": "ab"},
            "",
            "sface version 2021dec (SHA-256 ab)",
        ),
        (
            {"name": "lab", "sha256": "cd", "unsafe": True, "banner": "x"},
            "",
            "lab (SHA-256 cd) — UNSAFE profile",
        ),
        ({"distance_micro": 5, "rank": 1}, "", "distance_micro: 0.000005; rank: 1"),
    ],
)
def test_values_read_as_people_read_them(value: Any, key: str, shown: str) -> None:
    assert format_value(value, key) == shown


@pytest.fixture(scope="module")
def packet(tmp_path_factory: pytest.TempPathFactory) -> Packet:
    return build(tmp_path_factory.mktemp("render")).packet(
        recipient="Defence counsel <script>alert(1)</script> for R. v. Doe"
    )


@pytest.fixture(scope="module")
def html(packet: Packet) -> str:
    return packet.html()


def test_the_page_states_every_section_with_its_ledger_entry(packet: Packet, html: str) -> None:
    assert f"case {CASE}" in html
    assert html.count("investigative lead only — not probable cause for arrest") >= 2
    for heading in (
        "Use of face recognition",
        "Legal basis",
        "Galleries searched and their sizes at the time",
        "Measured accuracy of the model",
        "The full candidate list",
        "How the lead was chosen",
        "Uses of the lead",
        "How to check this packet",
    ):
        assert heading in html
    for fact in packet.data["facts"]:
        source = fact["source"]
        assert source["pointer"] in html
        if "seq" in source:
            assert f"entry {source['seq']}" in html
    assert CHECK_COMMAND in html and packet.sha256 in html
    assert "Jane Roe" in html  # the database's name for the rank 1 candidate, marked *
    assert "candidate 32 (rank 2): not match — different ears" in html  # a revealed mark


def test_the_page_is_self_contained_and_escaped(html: str) -> None:
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?://""", html)


def test_an_uncalibrated_threshold_is_shown_as_not_evaluated(tmp_path: Path) -> None:
    html = build(tmp_path, calibrated=False).packet().html()
    assert 'class="alarm"' in html and "NOT EVALUATED" in html
    assert "not evaluated" in html


def test_a_request_never_searched_says_so(tmp_path: Path) -> None:
    html = build(tmp_path, searched=False).packet().html()
    assert "No face search was run for this request" in html
    assert "The full candidate list" not in html


def test_the_pdf_is_the_page_with_packet_json_attached(packet: Packet, html: str) -> None:
    pdf = packet.pdf(html)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 20_000
    content = inflated(pdf)
    assert f"case {CASE}".encode() in content  # the title, from the page's <title>
    assert b"packet.json" in content
    assert packet.text.encode("utf-8") in content  # the attachment, byte for byte
