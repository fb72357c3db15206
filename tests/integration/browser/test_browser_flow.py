"""A whole request in a real browser: Playwright drives Debian's Chromium against the real
server process — file → search → first review → blind peer review → release → audit verify.
Screenshots of each main page are saved under test-output/browser/."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.backends import copy_data_dir
from tests.conftest import GALLERY, make_settings
from tests.factories import (
    PASSWORD,
    UNIT_AGENCY,
    Bootstrap,
    FastFaceLedger,
    make_staff,
    persona,
)
from tests.integration.conftest import (
    RunningServer,
    chromium_or_skip,
    start_server,
    stop_server,
)

SHOTS = Path(__file__).resolve().parents[3] / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


CAST = {
    name: persona(name, agency, *roles)
    for name, agency, roles in (
        ("det-jones", "boston-pd", ["requester"]),
        ("ex-smith", UNIT_AGENCY, ["examiner"]),
        ("ex-patel", UNIT_AGENCY, ["examiner"]),
        ("ex-lee", UNIT_AGENCY, ["examiner", "reviewer"]),
        ("aud-green", UNIT_AGENCY, ["auditor"]),
    )
}
BOOTSTRAP = Bootstrap(
    admin_name="Ada Admin",
    unit_name="MSP face recognition unit",
    supervisor_name="Sam Supervisor",
    jurisdiction="",
)
"""The browser's unit (:func:`tests.factories.make_staff`). The server is a real `faceledger
serve` process, so its face pipeline is the real one: these tests are in the slow tier."""
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(
    enrolled_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """The real server on a data directory with the gallery and a unit's accounts."""
    data = tmp_path_factory.mktemp("browser") / "data"
    copy_data_dir(enrolled_template, data)
    service = FastFaceLedger(make_settings(data))
    try:
        make_staff(service, CAST, BOOTSTRAP, trained_days=100)
    finally:
        service.close()
    running = start_server(data)
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def log_in(browser: Browser, server: RunningServer, username: str) -> Page:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(username)
    return page


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def images_loaded(page: Page, testid: str) -> int:
    return int(
        page.evaluate(
            """(id) => [...document.querySelectorAll(`[data-testid="${id}"]`)]
                   .filter(img => img.complete && img.naturalWidth > 0).length""",
            testid,
        )
    )


def test_request_to_release_to_audit_in_a_browser(
    browser: Browser, server: RunningServer, faces_dir: Path
) -> None:
    # 1. The requester files a request with a photo and the legal-basis fields.
    detective = log_in(browser, server, "det-jones")
    expect(detective.get_by_test_id("profile-name")).to_have_text("massachusetts")
    shot(detective, "01-requester-home")
    detective.goto("/requests/new")
    detective.set_input_files("#probe", str(faces_dir / "people/obama/obama_small.jpg"))
    detective.fill("#case_number", "BPD-2026-0420")
    detective.select_option("#offence_code", "armed_robbery")
    detective.fill(
        "#narrative",
        "Armed robbery at a pharmacy; the pharmacist photographed the "
        "robber at the counter with a phone camera.",
    )
    detective.select_option("#legal_basis_kind", "court_order")
    detective.fill("#court", "Suffolk Superior Court")
    detective.fill("#order_id", "SUCR2026-0420")
    detective.fill("#judge", "Hon. A. Justice")
    today = dt.date.today()
    detective.fill("#issued_on", (today - dt.timedelta(days=1)).isoformat())
    detective.fill("#expires_on", (today + dt.timedelta(days=20)).isoformat())
    detective.check("#attested")
    detective.fill("#attestation_text", "Not sought for any protected activity.")
    detective.locator(f'input[name="galleries"][value="{GALLERY}"]').check()
    shot(detective, "02-new-request-form")
    detective.get_by_test_id("submit-request").click()
    expect(detective.get_by_test_id("request-state")).to_have_text("approved")
    request_url = detective.url
    request_id = int(re.search(r"/requests/(\d+)", request_url).group(1))  # type: ignore[union-attr]
    shot(detective, "03-request-approved")

    # 2. The examiner runs the search from the queue and sees faces side by side.
    examiner = log_in(browser, server, "ex-smith")
    examiner.goto("/queue")
    row = examiner.locator(f'[data-testid="queue-row"][data-request-id="{request_id}"]')
    shot(examiner, "04-examiner-queue")
    row.get_by_test_id("run-search").click()
    expect(examiner.get_by_test_id("request-state")).to_have_text("searched")
    rows = examiner.get_by_test_id("candidate-row")
    expect(rows.first).to_contain_text("obama")
    examiner.wait_for_load_state("networkidle")
    assert images_loaded(examiner, "candidate-chip") == rows.count()
    assert images_loaded(examiner, "probe-crop") == rows.count()
    shot(examiner, "05-candidate-list")

    # 3. First review, by another examiner than the operator (requester, operator, first and
    # peer reviewer are four different people, R10): the rank-1 candidate is a possible
    # lead, the rest are not.
    def review(page: Page) -> None:
        page.goto(f"/requests/{request_id}/review")
        selects = page.get_by_test_id("outcome")
        for i in range(selects.count()):
            selects.nth(i).select_option("possible_lead" if i == 0 else "not_match")
        page.get_by_test_id("note").first.fill("eyes, nose bridge and ears agree")
        page.get_by_test_id("submit-review").click()

    first = log_in(browser, server, "ex-patel")
    review(first)
    expect(first.get_by_test_id("request-state")).to_have_text("reviewed")

    # 4. The peer reviewer works blind: the first review is hidden until they submit.
    reviewer = log_in(browser, server, "ex-lee")
    reviewer.goto(f"/requests/{request_id}/review")
    expect(reviewer.get_by_test_id("blind-notice")).to_be_visible()
    expect(reviewer.get_by_test_id("review-first")).to_have_count(0)
    shot(reviewer, "06-blind-peer-review")
    review(reviewer)
    expect(reviewer.get_by_test_id("request-state")).to_have_text("peer reviewed")

    # 5. Release; the requester sees the released lead with the caveat.
    examiner.goto(request_url)
    examiner.get_by_test_id("release").click()
    expect(examiner.get_by_test_id("request-state")).to_have_text("released")
    detective.goto(request_url)
    expect(detective.get_by_test_id("caveat")).to_contain_text(
        "investigative lead only — not probable cause for arrest"
    )
    expect(detective.get_by_test_id("candidate-row")).to_have_count(1)
    shot(detective, "07-released-to-requester")

    # 6. The auditor verifies the ledger and opens an inclusion proof.
    auditor = log_in(browser, server, "aud-green")
    auditor.goto("/audit/ledger")
    shot(auditor, "08-ledger-browser")
    auditor.get_by_test_id("verify-ledger").click()
    expect(auditor.get_by_test_id("verify-result")).to_contain_text("Verified")
    shot(auditor, "09-ledger-verified")
    auditor.get_by_test_id("proof-link").first.click()
    expect(auditor.get_by_test_id("proof-json")).to_contain_text("faceledger-inclusion-proof")
    shot(auditor, "10-inclusion-proof")


def test_the_api_docs_render_from_bundled_assets_under_their_policy(
    browser: Browser, server: RunningServer
) -> None:
    """Swagger UI renders FastAPI's OpenAPI 3.1 document under the docs page's
    Content-Security-Policy, loading nothing from another origin, with no console error."""
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    problems: list[str] = []
    origins: set[str] = set()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: origins.add(re.sub(r"^(\w+://[^/]+).*", r"\1", r.url)))
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("faceledger API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 50
    assert page.get_by_text("Unable to render this definition").count() == 0
    assert problems == []
    assert origins == {server.url.rstrip("/")}
    context.close()
