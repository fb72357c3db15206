"""The whole search lifecycle through the web forms, on a real photo and the real service:
file, search, first review, blind peer review, release, the requester's view, a lead's use,
and the auditor's verification and proof."""

from __future__ import annotations

import json
import re

from faceledger.ledger import load_public_key, verify_inclusion_bundle
from tests.integration.web.conftest import Site

ROW = re.compile(r'<tr data-testid="candidate-row" data-candidate-id="(\d+)">(.*?)</tr>', re.S)
IMAGE = re.compile(r'src="(/requests/\d+/(?:faces|candidates)/\d+\.jpg)"')
FIRST_NOTE = "eyes, nose bridge and ear shape agree"
CAVEAT = "investigative lead only — not probable cause for arrest"


def candidates(html: str) -> dict[int, str]:
    """Candidate id -> the row's text, from a page's candidate table."""
    return {int(cid): body for cid, body in ROW.findall(html)}


def review_fields(rows: dict[int, str], lead: str, note: str) -> dict[str, str | list[str]]:
    """The review form filled in: ``lead`` marked possible_lead, everyone else not_match."""
    fields: dict[str, str | list[str]] = {"candidate": [str(cid) for cid in rows]}
    for cid, body in rows.items():
        is_lead = f"subject {lead}," in body
        fields[f"outcome-{cid}"] = "possible_lead" if is_lead else "not_match"
        fields[f"note-{cid}"] = note if is_lead else ""
    return fields


def assert_jpeg(site: Site, user: str, src: str) -> None:
    image = site.as_(user).get(src)
    assert image.status_code == 200, (src, image.text)
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["cache-control"] == "no-store"
    assert image.content[:2] == b"\xff\xd8"


def test_request_to_release_through_the_pages(site: Site) -> None:
    # 1. The requester files a request with a real photo.
    form = site.as_("det-jones").get("/requests/new")
    assert form.status_code == 200
    assert 'value="armed_robbery"' in form.text and 'type="file"' in form.text
    filed = site.file_request()
    assert filed.status_code == 303, filed.text
    request_id = int(filed.headers["location"].rsplit("/", 1)[1])
    page = f"/requests/{request_id}"
    mine = site.as_("det-jones").get(page).text
    assert 'data-testid="request-state">approved<' in mine
    assert "Allowed under massachusetts" in mine
    assert 'data-testid="candidate-row"' not in mine

    # 2. The examiner finds it in the queue, runs the search and sees the candidates.
    queue = site.as_("ex-smith").get("/queue").text
    assert f'data-request-id="{request_id}"' in queue and 'data-testid="run-search"' in queue
    assert site.post("ex-smith", f"{page}/search", page).status_code == 303
    result = site.as_("ex-smith").get(page).text
    rows = candidates(result)
    assert rows and any("subject obama," in body for body in rows.values())
    assert 'data-testid="similarity"' in result and 'data-testid="within-threshold"' in result
    assert "calibrated for FPIR 0.003 at 54 templates from evaluation" in result
    assert 'data-testid="probe-quality"' in result and "eye distance" in result
    assert site.service.context.pipeline.embedder.model.name in result  # the model, named
    images = set(IMAGE.findall(result))
    assert {f"{page}/faces/0.jpg", *(f"{page}/candidates/{c}.jpg" for c in rows)} <= images
    for src in images - {f"{page}/faces/0.jpg"}:
        assert_jpeg(site, "ex-smith", src)

    # 3. The first review, by another examiner than the one who ran the search (R10): one
    # outcome and note per candidate. The operator may not review their own search.
    review = f"{page}/review"
    fields = review_fields(rows, "obama", FIRST_NOTE)
    own = site.post("ex-smith", review, review, data=fields)
    assert own.status_code == 403 and "four different people" in own.text
    assert 'data-testid="request-state">searched<' in site.as_("ex-smith").get(page).text
    first = site.as_("ex-patel").get(review).text
    fields = review_fields(candidates(first), "obama", FIRST_NOTE)
    assert site.post("ex-patel", review, review, data=fields).status_code == 303
    assert 'data-testid="request-state">reviewed<' in site.as_("ex-smith").get(page).text

    # 4. The peer reviewer sees the blind notice and not the first review, then submits.
    blind = site.as_("ex-lee").get(review).text
    assert 'data-testid="blind-notice"' in blind and "blind peer review" in blind
    assert FIRST_NOTE not in blind and FIRST_NOTE not in site.as_("ex-lee").get(page).text
    fields = review_fields(candidates(blind), "obama", "agree: likely the same person")
    assert site.post("ex-lee", review, review, data=fields).status_code == 303
    after = site.as_("ex-lee").get(page).text
    assert FIRST_NOTE in after and 'data-testid="review-peer"' in after

    # 5. Release.
    assert site.post("ex-smith", f"{page}/release", page).status_code == 303

    # 6. The requester sees the released candidate only, with the caveat.
    released = site.as_("det-jones").get(page).text
    assert 'data-testid="caveat"' in released and CAVEAT in released
    shown = candidates(released)
    assert len(shown) == 1 and "subject obama," in next(iter(shown.values()))
    (lead,) = shown
    assert f"{page}/candidates/{lead}.jpg" in released

    # An arrest needs independent corroboration (R11): every reason is shown.
    use = {"candidate_id": str(lead), "use": "arrest", "corroboration_ref": ""}
    refused = site.post("det-jones", f"{page}/lead-use", page, data=use)
    assert refused.status_code == 403
    assert (
        'data-testid="error-reasons"' in refused.text and "corroborating evidence" in refused.text
    )
    use["corroboration_ref"] = "Latent print ID LP-778"
    assert site.post("det-jones", f"{page}/lead-use", page, data=use).status_code == 303
    assert "Latent print ID LP-778" in site.as_("det-jones").get(page).text

    # 7. The auditor verifies the ledger and opens the proof of the release.
    ledger = site.as_("aud-green").get("/audit/ledger?action=request.release").text
    seq = re.search(r'data-testid="ledger-row" data-seq="(\d+)"', ledger)
    assert seq, ledger
    verified = site.post("aud-green", "/audit/verify", "/audit/ledger")
    assert verified.status_code == 200 and 'data-testid="verify-result"' in verified.text
    assert "OK: the ledger verifies." in verified.text and "Verified " in verified.text
    # A proof is given against a signed checkpoint; opening the page signs none.
    site.post("aud-green", "/audit/checkpoint", "/audit/ledger")
    proof = site.as_("aud-green").get(f"/audit/entries/{seq.group(1)}")
    assert proof.status_code == 200 and 'data-testid="proof-json"' in proof.text
    download = site.as_("aud-green").get(f"/audit/entries/{seq.group(1)}/proof.json")
    assert download.headers["content-type"] == "application/json"
    assert "attachment" in download.headers["content-disposition"]
    bundle = json.loads(download.text)
    verify_inclusion_bundle(bundle, load_public_key(site.service.public_key_path))
    assert bundle["entry"]["action"] == "request.release"


def test_probe_crops_and_released_chips_load(module_site: Site) -> None:
    request_id, lead, hidden = module_site.released_request()
    page = f"/requests/{request_id}"
    for user in ("ex-smith", "ex-lee", "sup-brown", "det-jones"):
        assert_jpeg(module_site, user, f"{page}/faces/0.jpg")
    assert_jpeg(module_site, "det-jones", f"{page}/candidates/{lead}.jpg")
    refused = module_site.as_("det-jones").get(f"{page}/candidates/{hidden}.jpg")
    assert refused.status_code == 403
