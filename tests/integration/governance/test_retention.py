"""Retention with proof (R13) on the governed unit: purges on a clock moved past the profile's
periods (massachusetts: probes 365 days, results 2555 days, ledger entries at least 2555
days), ledger payload redaction, sealed requests, gallery deletion proofs and the purge report.

Retention reads :attr:`RetentionUseCases.clock`; the tests move it, nothing sleeps. The ledger
keeps stamping its entries with the wall clock.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.cli.session import SESSION_FILE_ENV, save_session
from faceledger.errors import InvalidInput, PermissionDenied
from faceledger.gallery.models import Photo, Subject, Template
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.models import (
    CandidateRow,
    ProbeImage,
    RequestRow,
    ReviewRow,
    SearchRun,
)
from faceledger.governance.retention import PROBE_ITEMS, RESULT_ITEMS, PurgeKind
from faceledger.ledger import load_public_key, verify_database, verify_export
from faceledger.ledger.envelope import format_ts
from faceledger.ledger.models import EntryRow
from faceledger.reports.transparency.facts import Period
from faceledger.service.retention import RetentionRun
from tests.conftest import GALLERY, make_settings
from tests.factories import PASSWORD
from tests.integration.governance.conftest import Governed, marks

SCHEDULER = LocalOperator("scheduler")
PROBE_DAYS, RESULT_DAYS, LOG_DAYS = 365, 2555, 2555
ENVELOPE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
runner = CliRunner()


# -- helpers ---------------------------------------------------------------------------------


def run_at(governed: Governed, when: dt.datetime) -> RetentionRun:
    """Run the retention job as the scheduler with its clock at ``when``."""
    governed.service.retention.clock = lambda: when
    return governed.service.retention.run(SCHEDULER)


def request_row(governed: Governed, request_id: int) -> RequestRow:
    with governed.service.context.db.read() as session:
        row = session.get(RequestRow, request_id)
        assert row is not None
        session.expunge(row)
        return row


def run_of(governed: Governed, request_id: int) -> SearchRun:
    with governed.service.context.db.read() as session:
        run = session.scalar(select(SearchRun).where(SearchRun.request_id == request_id))
        assert run is not None
        session.expunge(run)
        return run


def candidates_of(governed: Governed, request_id: int) -> int:
    with governed.service.context.db.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(CandidateRow)
                .join(SearchRun, SearchRun.id == CandidateRow.run_id)
                .where(SearchRun.request_id == request_id)
            )
            or 0
        )


def probe_image(governed: Governed) -> ProbeImage:
    """The one probe photo of the governed unit (every request was filed with it)."""
    with governed.service.context.db.read() as session:
        [probe] = session.scalars(select(ProbeImage)).all()
        session.expunge(probe)
        return probe


def request_entries(governed: Governed, request_id: int) -> list[EntryRow]:
    """The stored rows of a request's ledger entries, oldest first."""
    with governed.service.context.db.read() as session:
        rows = session.scalars(
            select(EntryRow)
            .where(EntryRow.object_type == "request", EntryRow.object_id == str(request_id))
            .order_by(EntryRow.seq)
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def entries_of(governed: Governed, action: str, request_id: int | None = None) -> list[EntryRow]:
    with governed.service.context.db.read() as session:
        query = select(EntryRow).where(EntryRow.action == action)
        if request_id is not None:
            query = query.where(EntryRow.object_id == str(request_id))
        rows = session.scalars(query.order_by(EntryRow.seq)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def public_of(row: EntryRow) -> dict[str, Any]:
    assert row.public is not None
    data = json.loads(row.public)
    assert isinstance(data, dict)
    return data


def payload_of(row: EntryRow) -> dict[str, Any]:
    assert row.payload is not None
    data = json.loads(row.payload)
    assert isinstance(data, dict)
    return data


def assert_verifies(governed: Governed) -> int:
    """The ledger verifies from the database and from a full export; return its size."""
    service = governed.service
    with service.context.db.transaction() as session:
        service.context.ledger.checkpoint(session)
    key = load_public_key(service.public_key_path)
    from_db = verify_database(service.settings.db_url, key)
    out = io.StringIO()
    with service.context.db.read() as session:
        service.context.ledger.export(session, out)
    lines = out.getvalue().splitlines()
    from_export = verify_export(lines, key)
    assert from_db.tree_size == from_export.tree_size
    assert from_db.payloads_redacted == from_export.payloads_redacted
    with service.context.db.read() as session:
        stored = session.scalar(select(func.count()).select_from(EntryRow))
        redacted = set(session.scalars(select(EntryRow.seq).where(EntryRow.payload.is_(None))))
    assert stored == from_db.tree_size  # no entry was ever deleted
    assert from_db.payloads_redacted == len(redacted)
    # The full export leaves out exactly the redacted payloads and keeps their hashes.
    exported = [json.loads(line) for line in lines]
    entries = [d for d in exported if d.get("type") == "entry"]
    assert {d["seq"] for d in entries if "payload" not in d} == redacted
    assert all("payload_sha256" in d for d in entries)
    return from_db.tree_size


def check_purge_entry(row: EntryRow, kind: PurgeKind, due: dt.datetime) -> dict[str, int]:
    """A ``retention.purge`` entry has exactly the public shape helper monitors read."""
    public = public_of(row)
    assert set(public) == {"kind", "due", "items"}
    assert public["kind"] == kind.value
    assert ENVELOPE_TIME.match(public["due"]) and public["due"] == format_ts(due)
    expected = PROBE_ITEMS if kind is PurgeKind.PROBE else RESULT_ITEMS
    assert set(public["items"]) == set(expected)
    assert all(isinstance(n, int) and n >= 0 for n in public["items"].values())
    assert row.object_type == "request"
    payload = payload_of(row)
    assert payload["kind"] == kind.value and payload["deleted"] == public["items"]
    items: dict[str, int] = public["items"]
    return items


# -- probe and results purges, redaction ------------------------------------------------------


def test_purges_on_a_moved_clock_then_redaction_and_the_ledger_still_verifies(
    governed: Governed,
) -> None:
    service, ids = governed.service, governed.requests
    released, searched = ids["released"], ids["searched"]
    # A first review with notes on the searched request: the results purge empties them.
    view = service.requests.get_request(governed.who("ex1"), searched)
    noted = [{**m, "note": "Scar above the left eye, like the clerk said."} for m in marks(view)]
    service.reviews.submit_review(governed.who("ex2"), searched, noted)
    before = {rid: request_row(governed, rid) for rid in ids.values()}
    listed = candidates_of(governed, released)
    released_ids = list(before[released].released_candidate_ids)
    assert listed > 0 and released_ids and probe_image(governed).data is not None
    sizes = [assert_verifies(governed)]
    hashes = {e.seq: (e.payload_sha256, e.leaf_hash) for e in request_entries(governed, released)}

    # 1. Not yet: a day before the probe period ends nothing is due.
    filed = min(r.created_at for r in before.values())
    counts = governed.counts()
    assert run_at(governed, filed + dt.timedelta(days=PROBE_DAYS - 1)).requests == ()
    assert governed.counts() == counts

    # 2. Past probe_days: every request's probe purge, one entry each.
    now = max(r.created_at for r in before.values()) + dt.timedelta(days=PROBE_DAYS, hours=1)
    done = run_at(governed, now)
    assert sorted(done.purged(PurgeKind.PROBE)) == sorted(ids.values())
    assert done.purged(PurgeKind.RESULTS) == [] and done.entries_redacted == 0
    probe = probe_image(governed)
    assert probe.data is None and probe.deleted_at == now
    assert probe.sha256 == before[released].probe_sha256  # the hash stays
    run = run_of(governed, released)
    assert run.probe_embedding is None and run.faces == []
    assert candidates_of(governed, released) == listed  # results are not due yet
    purges = entries_of(governed, "retention.purge")
    assert len(purges) == len(ids)
    shared = 0
    for row in purges:
        rid = int(row.object_id)
        due = before[rid].created_at + dt.timedelta(days=PROBE_DAYS)
        items = check_purge_entry(row, PurgeKind.PROBE, due)
        shared += items["probe_image"]
        assert payload_of(row)["kept"]["probe_sha256"] == before[rid].probe_sha256
    assert shared == 1  # one photo, shared by every request: deleted once
    [mine] = entries_of(governed, "retention.purge", released)
    assert public_of(mine)["items"]["probe_embedding"] == 1
    assert public_of(mine)["items"]["detected_faces"] == 1
    assert request_row(governed, released).purged_at == now
    assert entries_of(governed, "ledger.redact") == []
    sizes.append(assert_verifies(governed))

    # A second run at the same time does nothing.
    counts = governed.counts()
    assert run_at(governed, now).requests == ()
    assert governed.counts() == counts

    # 3. Past result_days of the released request's search: its results go. Its payloads are
    # redacted as they pass audit_log_min_days: at this instant only those up to its search.
    finished = run_of(governed, released).finished_at
    now = finished + dt.timedelta(days=RESULT_DAYS)
    done = run_at(governed, now)
    assert released in done.purged(PurgeKind.RESULTS)
    assert candidates_of(governed, released) == 0
    row = request_row(governed, released)
    assert row.released_candidate_ids == [] and row.purged_at == now
    [results] = [
        r for r in entries_of(governed, "retention.purge", released) if "results" in r.public
    ]
    items = check_purge_entry(results, PurgeKind.RESULTS, finished + dt.timedelta(days=RESULT_DAYS))
    assert items == {
        "candidates": listed,
        "released_results": len(released_ids),
        "review_notes": 0,
    }
    kept = payload_of(results)["kept"]
    assert kept["search_entry"]["seq"] == run_of(governed, released).ledger_seq
    assert kept["review_marks"] == 2 * listed  # the marks' outcomes stay
    # The searched request was searched earlier: its results went too, with the notes.
    assert searched in done.purged(PurgeKind.RESULTS)
    with service.context.db.read() as session:
        reviews = session.scalars(select(ReviewRow).where(ReviewRow.request_id == searched))
        notes = [m["note"] for r in reviews for m in r.marks]
    assert notes and all(n == "" for n in notes)
    [noted_purge] = [
        r for r in entries_of(governed, "retention.purge", searched) if "results" in r.public
    ]
    assert public_of(noted_purge)["items"]["review_notes"] == len(notes)

    stored = request_entries(governed, released)
    [redact] = entries_of(governed, "ledger.redact", released)
    redacted = [e for e in stored if e.payload is None]
    assert redacted and all(e.redacted_by == redact.seq for e in redacted)
    assert all(e.ts <= finished for e in redacted)
    assert public_of(redact) == {"reason": "retention", "entries": len(redacted)}
    assert payload_of(redact)["seqs"] == [e.seq for e in redacted]
    submit = stored[0]
    assert submit.action == "request.submit" and submit.payload is None
    release = [e for e in stored if e.action == "request.release"]
    assert release and release[0].payload is not None  # younger than the minimum still
    assert request_row(governed, released).ledger_redacted_at is None
    # Proof entries are never redacted.
    assert all(
        e.payload is not None for e in stored if e.action in ("retention.purge", "ledger.redact")
    )
    sizes.append(assert_verifies(governed))

    # 4. A day later every payload of the request is past the minimum: the rest go.
    later = now + dt.timedelta(days=1)
    done = run_at(governed, later)
    assert released in done.to_dict()["redacted"]
    stored = request_entries(governed, released)
    proof = {"retention.purge", "ledger.redact"}
    assert all(e.payload is None for e in stored if e.action not in proof)
    assert all(e.payload is not None for e in stored if e.action in proof)
    assert len(entries_of(governed, "ledger.redact", released)) == 2
    assert request_row(governed, released).ledger_redacted_at == later
    # The payload hashes and leaf hashes stay with the redacted entries.
    assert {e.seq: (e.payload_sha256, e.leaf_hash) for e in stored if e.seq in hashes} == hashes
    sizes.append(assert_verifies(governed))

    # The transparency report still counts the purged list: the search entry's public fields.
    with service.context.db.read() as session:
        facts = service.transparency._request_facts(
            session, Period(dt.date(2000, 1, 1), dt.date(2999, 12, 31))
        )
    [purged_facts] = [f for f in facts if f.request_id == str(released)]
    assert purged_facts.candidates == listed

    # 5. Idempotent: another run changes nothing; the ledger only ever grew.
    counts = governed.counts()
    assert run_at(governed, later).requests == ()
    assert governed.counts() == counts
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)


def test_a_request_not_yet_due_is_untouched_and_a_shared_probe_is_kept(
    governed: Governed,
) -> None:
    ids = governed.requests
    released = ids["released"]
    # The released request was filed 30 days before the others (the only change to the rows).
    with governed.service.context.db.transaction() as session:
        row = session.get(RequestRow, released)
        assert row is not None
        row.created_at -= dt.timedelta(days=30)
        filed = row.created_at
    others = [rid for rid in ids.values() if rid != released]
    now = filed + dt.timedelta(days=PROBE_DAYS, hours=1)
    done = run_at(governed, now)
    assert done.purged(PurgeKind.PROBE) == [released]
    [entry] = entries_of(governed, "retention.purge")
    items = check_purge_entry(entry, PurgeKind.PROBE, filed + dt.timedelta(days=PROBE_DAYS))
    # The photo is also the probe of requests still within their period: it stays.
    assert items["probe_image"] == 0
    assert payload_of(entry)["kept"]["probe_image_held_by"] == sorted(others)
    assert probe_image(governed).data is not None
    assert run_of(governed, released).probe_embedding is None
    for stage in ("searched", "reviewed", "peer_reviewed"):
        assert run_of(governed, ids[stage]).probe_embedding is not None
    for rid in others:
        assert request_row(governed, rid).purged_at is None
        assert entries_of(governed, "retention.purge", rid) == []


# -- sealing ---------------------------------------------------------------------------------


def test_a_sealed_request_is_redacted_at_the_next_run(governed: Governed) -> None:
    rid = governed.requests["emergency_approved"]
    governed.service.emergencies.record_court_refusal(
        governed.who("sup"), rid, "Refused by Hon. B. Judge."
    )
    sealed = request_entries(governed, rid)
    assert any(e.action == "request.sealed" for e in sealed)
    assert all(e.payload is not None for e in sealed)

    done = run_at(governed, dt.datetime.now(dt.UTC))  # nothing is due by time
    [result] = done.requests
    assert (result.request_id, result.purged, result.reason) == (rid, (), "sealed")
    assert result.redacted == len(sealed)
    [redact] = entries_of(governed, "ledger.redact", rid)
    assert public_of(redact) == {"reason": "sealed", "entries": len(sealed)}
    assert payload_of(redact)["seqs"] == [e.seq for e in sealed]
    after = {e.seq: e for e in request_entries(governed, rid)}
    for entry in sealed:
        stored = after[entry.seq]
        assert stored.payload is None and stored.redacted_by == redact.seq
        assert (stored.payload_sha256, stored.leaf_hash) == (entry.payload_sha256, entry.leaf_hash)
    assert request_row(governed, rid).ledger_redacted_at is not None
    # No other request was touched.
    assert entries_of(governed, "retention.purge") == []
    assert len(entries_of(governed, "ledger.redact")) == 1
    report = verify_database(
        governed.service.settings.db_url, load_public_key(governed.service.public_key_path)
    )
    assert report.payloads_redacted >= len(sealed)
    assert_verifies(governed)

    counts = governed.counts()
    assert run_at(governed, dt.datetime.now(dt.UTC)).requests == ()
    assert governed.counts() == counts


# -- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["req_a", "ex1", "aud", "sup"])
def test_a_principal_without_the_action_is_refused_and_nothing_is_purged(
    governed: Governed, persona: str
) -> None:
    before = governed.counts()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=RESULT_DAYS + 10)
    governed.service.retention.clock = lambda: later
    with pytest.raises(PermissionDenied):
        governed.service.retention.run(governed.who(persona))
    after = governed.counts()
    # Only the refusal is recorded: one violation (and its alert), one access.denied entry.
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "violations": 1,
        "alerts": 1,
        "ledger": 1,
    }
    [entry] = governed.last_entries(1)
    assert entry.action == "access.denied" and entry.payload["action"] == "retention.purge"
    assert entries_of(governed, "retention.purge") == []
    assert probe_image(governed).data is not None


def test_an_admin_may_run_retention(governed: Governed) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=PROBE_DAYS + 1)
    governed.service.retention.clock = lambda: later
    done = governed.service.retention.run(governed.who("admin"))
    assert len(done.purged(PurgeKind.PROBE)) == len(governed.requests)


# -- gallery deletion ------------------------------------------------------------------------


def gallery_rows(governed: Governed, external_id: str) -> dict[str, int]:
    """Rows of every table that holds the subject, its photos or what was derived from them."""
    with governed.service.context.db.read() as session:
        subject = session.scalar(select(Subject.id).where(Subject.external_id == external_id))
        photo_ids = (
            list(session.scalars(select(Photo.id).where(Photo.subject_id == subject)))
            if subject is not None
            else []
        )

        def count(query: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

        return {
            "subjects": count(select(Subject.id).where(Subject.external_id == external_id)),
            "photos": count(select(Photo.id).where(Photo.subject_id == subject)),
            "templates": count(select(Template.id).where(Template.subject_id == subject)),
            "templates_of_photos": count(
                select(Template.id).where(Template.photo_id.in_(photo_ids))
            ),
            "face_chips": count(
                select(Template.id).where(
                    Template.subject_id == subject, Template.chip_jpeg.is_not(None)
                )
            ),
            "all_templates": count(select(Template.id)),
            "all_photos": count(select(Photo.id)),
        }


def test_deleting_a_subject_removes_every_derived_row_and_leaves_a_proof(
    governed: Governed,
) -> None:
    service = governed.service
    admin = governed.who("admin")
    searched = service.requests.get_request(admin, governed.requests["searched"])
    assert "obama" in {c["external_id"] for c in searched.candidates}
    before = gallery_rows(governed, "obama")
    assert before["photos"] == 4 and before["templates"] == 4 and before["face_chips"] == 4
    with service.context.db.read() as session:
        template_ids = sorted(
            session.scalars(select(Template.id).join(Subject).where(Subject.external_id == "obama"))
        )
        hashes = sorted(
            session.scalars(
                select(Photo.sha256).join(Subject).where(Subject.external_id == "obama")
            )
        )
    kept_candidates = candidates_of(governed, governed.requests["searched"])

    service.galleries.delete_subject(admin, GALLERY, "obama")
    after = gallery_rows(governed, "obama")
    assert {
        k: after[k] for k in ("subjects", "photos", "templates", "face_chips")
    } == dict.fromkeys(("subjects", "photos", "templates", "face_chips"), 0)
    assert after["templates_of_photos"] == 0
    assert after["all_templates"] == before["all_templates"] - 4
    assert after["all_photos"] == before["all_photos"] - 4
    # Past candidate lists keep their copies (R12) until the results retention purges them.
    assert candidates_of(governed, governed.requests["searched"]) == kept_candidates

    [proof] = entries_of(governed, "gallery.delete_subject")
    items = {"subjects": 1, "photos": 4, "templates": 4, "face_chips": 4, "index_entries": 4}
    assert public_of(proof) == {"items": items}
    assert "obama" not in (proof.public or "")  # no subject id in the public fields
    payload = payload_of(proof)
    assert payload["photo_sha256s"] == hashes
    assert sorted(payload["template_ids"]) == template_ids
    assert payload["counts"] == items

    # A new search no longer finds the subject, nor does an index rebuilt from the database.
    view = service.requests.run_request_search(governed.who("ex1"), governed.requests["approved"])
    assert view.candidates and "obama" not in {c["external_id"] for c in view.candidates}
    assert not set(hashes) & {c["photo_sha256"] for c in view.candidates}
    assert_verifies(governed)


def test_deleting_a_photo_leaves_a_proof(governed: Governed) -> None:
    service = governed.service
    with service.context.db.read() as session:
        photo_id = session.scalar(
            select(Photo.id).join(Subject).where(Subject.external_id == "obama").limit(1)
        )
    assert photo_id is not None
    service.galleries.delete_photo(governed.who("admin"), GALLERY, photo_id)
    [proof] = entries_of(governed, "gallery.delete_photo")
    items = {"photos": 1, "templates": 1, "face_chips": 1, "index_entries": 1}
    assert public_of(proof) == {"items": items}
    with service.context.db.read() as session:
        left = select(func.count()).select_from(Template).where(Template.photo_id == photo_id)
        assert session.scalar(left) == 0


# -- the purge report ------------------------------------------------------------------------


def test_the_purge_report_counts_what_went(governed: Governed) -> None:
    service = governed.service
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=PROBE_DAYS + 1)
    run_at(governed, later)
    rid = governed.requests["emergency_approved"]
    service.emergencies.record_court_refusal(governed.who("sup"), rid, "Refused.")
    run_at(governed, later)  # the sealed request's payloads
    service.galleries.delete_subject(governed.who("admin"), GALLERY, "obama")

    before = governed.counts()
    report = service.retention.report(governed.who("aud"))
    data = report.to_dict()
    n = len(governed.requests)
    assert data["purges"]["probe"]["requests"] == n
    assert data["purges"]["probe"]["items"]["probe_image"] == 1
    assert data["purges"]["probe"]["items"]["probe_embedding"] == 4  # the searched requests
    assert data["purges"]["results"] == {"requests": 0, "items": {}}
    sealed = len([e for e in request_entries(governed, rid) if e.redacted_by is not None])
    assert data["redactions"]["sealed"] == {"redactions": 1, "entries": sealed}
    assert data["redactions"]["retention"] == {"redactions": 0, "entries": 0}
    assert data["gallery"]["subjects"] == 1 and data["gallery"]["photos"] == 4
    assert data["totals"]["ledger_payloads"] == sealed
    # Producing it is recorded, as the transparency report is.
    assert governed.counts()["ledger"] == before["ledger"] + 1
    [entry] = governed.last_entries(1)
    assert entry.action == "report.purge" and entry.seq == report.ledger_seq
    assert entry.payload["totals"] == data["totals"]

    # A period before any of it counts nothing.
    old = dt.date.today() - dt.timedelta(days=10)
    empty = service.retention.report(governed.who("sup"), old, old).to_dict()
    assert empty["totals"]["ledger_payloads"] == 0 and empty["gallery"]["photos"] == 0
    with pytest.raises(InvalidInput, match="starts"):
        service.retention.report(governed.who("aud"), dt.date.today(), old)


@pytest.mark.parametrize("persona", ["req_a", "ex1", "rev"])
def test_the_purge_report_is_refused_to_others(governed: Governed, persona: str) -> None:
    before = governed.counts()
    with pytest.raises(PermissionDenied):
        governed.service.retention.report(governed.who(persona))
    after = governed.counts()
    assert after["ledger"] == before["ledger"] + 1
    [entry] = governed.last_entries(1)
    assert entry.action == "access.denied" and entry.payload["action"] == "report.purge"


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def old_unit(governed: Governed) -> Iterator[Governed]:
    """The governed unit as if its requests were filed and searched years ago, and its
    emergency's court filing overdue (rows moved back in time; the ledger is untouched)."""
    years = dt.timedelta(days=RESULT_DAYS + 5)
    with governed.service.context.db.transaction() as session:
        for row in session.scalars(select(RequestRow)):
            row.created_at -= years
            if row.id == governed.requests["emergency_approved"]:
                row.filing_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        for run in session.scalars(select(SearchRun)):
            run.finished_at -= years
    yield governed


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["--data-dir", str(data_dir), *args], env={"COLUMNS": "200", **(env or {})}
    )
    return result.exit_code, result.stdout, result.stderr


def test_jobs_run_due_prints_what_retention_did(old_unit: Governed) -> None:
    data_dir = old_unit.service.settings.data_dir
    code, out, err = cli(data_dir, "jobs", "run-due", "--json")
    assert code == 0, out + err
    done = json.loads(out)
    retention = done["retention"]
    n = len(old_unit.requests)
    assert sorted(retention["purged"]["probe"]) == sorted(old_unit.requests.values())
    assert len(retention["purged"]["results"]) == n
    assert retention["items"]["probe_image"] == 1
    assert retention["items"]["candidates"] > 0
    # The overdue emergency was sealed by the first job and redacted by retention, same run.
    rid = old_unit.requests["emergency_approved"]
    assert done["emergencies"]["sealed"] == [rid]
    assert retention["redacted"] == [rid] and retention["entries_redacted"] > 0
    assert_verifies(old_unit)

    code, out, err = cli(data_dir, "jobs", "run-due")
    assert code == 0, out + err
    text = " ".join(out.split())
    assert "retention (profile massachusetts): 0 probe purge(s), 0 results purge(s)" in text
    assert "0 ledger payload(s) redacted" in text


def test_report_purge_from_the_command_line(old_unit: Governed, tmp_path: Path) -> None:
    data_dir = old_unit.service.settings.data_dir
    assert cli(data_dir, "jobs", "run-due")[0] == 0
    session_file = tmp_path / "aud.session"
    token = old_unit.service.accounts.login(old_unit.people["aud"].username, PASSWORD)
    save_session(session_file, old_unit.people["aud"].username, token, make_settings(data_dir))
    env = {SESSION_FILE_ENV: str(session_file)}
    code, out, err = cli(data_dir, "report", "purge", "--json", env=env)
    assert code == 0, out + err
    data = json.loads(out)
    assert data["purges"]["results"]["requests"] == len(old_unit.requests)
    assert data["redactions"]["sealed"]["redactions"] == 1
    code, out, err = cli(data_dir, "report", "purge", "--since", "2020-01-01", env=env)
    assert code == 0, out + err
    assert "retention: probe" in out and "ledger redaction: sealed" in out
    code, out, err = cli(data_dir, "report", "purge", "--since", "yesterday", env=env)
    assert code == 2 and "--since must be a date" in err


# -- the due jobs ----------------------------------------------------------------------------


def test_the_scheduler_runs_retention_with_the_other_due_jobs(governed: Governed) -> None:
    from faceledger.scheduler import DueJobScheduler

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=PROBE_DAYS + 1)
    governed.service.retention.clock = lambda: later
    report = DueJobScheduler(governed.service, 60).run_once()
    assert report.retention is not None and report.errors == ()
    assert len(report.retention.purged(PurgeKind.PROBE)) == len(governed.requests)
    assert report.to_dict()["retention"]["items"]["probe_image"] == 1


def test_due_jobs_run_by_a_supervisor_report_retention_as_refused(governed: Governed) -> None:
    """A supervisor may run the due jobs but not retention (admins and the scheduler): the
    refusal is recorded and listed, the other jobs still ran."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=PROBE_DAYS + 1)
    governed.service.retention.clock = lambda: later
    report = governed.service.jobs.run_due(governed.who("sup"))
    assert report.retention is None and report.misuse is not None
    assert any(e.startswith("retention:") and "retention.purge" in e for e in report.errors)
    assert entries_of(governed, "retention.purge") == []
