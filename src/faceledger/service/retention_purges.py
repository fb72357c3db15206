"""What a retention purge deletes from a request's records (R13), in the caller's transaction.

Each function returns what went, by category (the counts of the ``retention.purge`` entry's
public ``items``), and what was kept as proof (its payload's ``kept``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.governance.models import ProbeImage, RequestRow
from faceledger.ledger.models import EntryRow

Deletion = tuple[dict[str, int], dict[str, Any]]
"""What went, by category, and what was kept."""


def purge_probe(session: Session, row: RequestRow, probe_days: int, now: dt.datetime) -> Deletion:
    """Delete the probe's bytes (unless another request still holds them), the searched face's
    embedding and the detected face boxes; keep the probe's SHA-256.

    No face crop of a probe is stored: crops are cut from the bytes when asked for, so they go
    with them.
    """
    run = row.run
    embedding = int(run is not None and run.probe_embedding is not None)
    faces = 0 if run is None else len(run.faces or [])
    if run is not None:
        run.probe_embedding, run.faces = None, []
    # Another request filed with the same photo and still within its probe period keeps the
    # bytes; the last one due deletes them.
    holders = sorted(
        session.scalars(
            select(RequestRow.id).where(
                RequestRow.probe_sha256 == row.probe_sha256,
                RequestRow.id != row.id,
                RequestRow.sealed_at.is_(None),
                RequestRow.created_at > now - dt.timedelta(days=probe_days),
            )
        )
    )
    probe = session.get(ProbeImage, row.probe_sha256)
    image = 0
    if probe is not None and probe.data is not None and not holders:
        probe.data, probe.deleted_at, image = None, now, 1
    deleted = {"probe_image": image, "probe_embedding": embedding, "detected_faces": faces}
    kept: dict[str, Any] = {"probe_sha256": row.probe_sha256}
    if holders:
        kept["probe_image_held_by"] = holders
    session.flush()
    return deleted, kept


def purge_results(session: Session, row: RequestRow) -> Deletion:
    """Delete the candidate list, empty the released candidate ids and the reviewers' notes;
    keep the marks' outcomes (their candidate ids name rows that are gone) and the search
    entry's payload hash, which the ledger keeps after any redaction."""
    run = row.run
    candidates = 0 if run is None else len(run.candidates)
    if run is not None:
        run.candidates.clear()  # delete-orphan: the rows go at flush
    released = len(row.released_candidate_ids or [])
    row.released_candidate_ids = []
    notes = marks = 0
    for review in row.reviews:
        cleaned = []
        for mark in review.marks:
            marks += 1
            notes += bool(str(mark.get("note") or "").strip())
            cleaned.append({**mark, "note": ""})
        review.marks = cleaned
    deleted = {"candidates": candidates, "released_results": released, "review_notes": notes}
    kept: dict[str, Any] = {"review_marks": marks}
    if run is not None and run.ledger_seq >= 0:
        digest = session.scalar(
            select(EntryRow.payload_sha256).where(EntryRow.seq == run.ledger_seq)
        )
        kept["search_entry"] = {"seq": run.ledger_seq, "payload_sha256": digest}
    session.flush()
    return deleted, kept
