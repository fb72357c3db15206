import json, time
from faceledger.ledger import load_public_key
from faceledger.reports.disclosure import check_packet
from faceledger.service.disclosures import ACTION_NAMES
from tests.integration.governance.conftest import Governed


def test_dump(governed: Governed, tmp_path) -> None:
    g = governed
    rid = g.requests["released"]
    g.service.reviews.record_lead_use(
        g.who("req_a"), rid, 10, "arrest", "Fingerprint match, lab report 24-77"
    )
    t = time.time()
    packet = g.service.disclosures.produce(
        g.who("aud"), rid, "Defence counsel for R. v. Doe, docket 24-123"
    )
    print("produce", time.time() - t, len(packet.text), packet.fact_count)
    key = load_public_key(g.service.public_key_path)
    t = time.time()
    print(check_packet(packet.text, key, ACTION_NAMES).summary(), time.time() - t)
    for f in packet.data["facts"]:
        print(f["id"], "|", f["label"], "|", json.dumps(f["value"])[:100], "|", f["source"])
    t = time.time()
    html = packet.html()
    (tmp_path / "p.html").write_text(html)
    print("html", time.time() - t, len(html))
    t = time.time()
    pdf = packet.pdf(html)
    print("pdf", time.time() - t, len(pdf))
    open("/tmp/packet.pdf", "wb").write(pdf)
    open("/tmp/packet.html", "w").write(html)
    open("/tmp/packet.json", "w").write(packet.text)
