"""Biometrics and case facts at rest (issue 13, item 3): what the database holds is sealed.

The governed unit (FAKE face pipeline, the real gallery photos) has filed, searched and
released requests; these tests read its database behind the service's back (tests/rawsql.py,
and on SQLite the raw file and its WAL) and find no probe JPEG, chip, template vector,
narrative or emergency fact in the clear. They then tamper with sealed values, take the KEK
away, rotate the data keys (with a stop half-way) and re-wrap them.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from faceledger.at_rest.kek import kek_file_path
from faceledger.at_rest.keyring import key_id_of_raw, reseal_column
from faceledger.at_rest.models import DataKeyRow
from faceledger.at_rest.sealing import SEALED_COLUMNS, SealedColumn
from faceledger.errors import ConfigError, SealingError
from faceledger.gallery.models import Template
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.models import ProbeImage, RequestRow, SearchRun
from tests import backends, rawsql
from tests.factories import FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.governance.conftest import Governed, emergency_form

ADMIN = LocalOperator("test")
COLUMN = {c.name: c for c in SEALED_COLUMNS}


def _url(g: Governed) -> str:
    return g.service.settings.db_url


def _raw(g: Governed, column: SealedColumn) -> list[tuple[object, object]]:
    """Every stored (primary key, raw value) of a sealed column, bypassing its type."""
    sql = f"SELECT {column.primary_key}, {column.column} FROM {column.table}"
    if column.kind == "json":
        sql = f"SELECT {column.primary_key}, CAST({column.column} AS TEXT) FROM {column.table}"
    return [(row[0], row[1]) for row in rawsql.rows(_url(g), sql)]


def _key_ids(g: Governed) -> dict[str, set[int | None]]:
    return {
        c.name: {key_id_of_raw(raw) for _, raw in _raw(g, c) if raw is not None}
        for c in SEALED_COLUMNS
    }


def _plain(g: Governed) -> dict[str, object]:
    """What the service reads back (opened): one value of each sealed column."""
    with g.service.context.db.read() as session:
        template = session.scalars(select(Template).order_by(Template.id)).first()
        probe = session.scalars(select(ProbeImage).where(ProbeImage.data.is_not(None))).first()
        run = session.scalars(select(SearchRun).order_by(SearchRun.id)).first()
        request = session.get(RequestRow, g.requests["emergency_approved"])
        assert template and probe and run and request and run.probe_embedding
        return {
            "embedding": template.embedding,
            "chip": template.chip_jpeg,
            "probe": probe.data,
            "probe_embedding": run.probe_embedding,
            "narrative": request.narrative,
            "legal_basis": request.legal_basis,
        }


def _reopen(g: Governed, **settings: object) -> FastFaceLedger:
    from tests.conftest import make_settings

    g.service.close()
    return FastFaceLedger(
        make_settings(g.service.settings.data_dir, **settings), pipeline=fake_pipeline()
    )


def test_every_sealed_value_is_sealed_and_none_is_plaintext(governed: Governed) -> None:
    ids = _key_ids(governed)
    for name in ("probe_images.data", "templates.embedding", "templates.chip_jpeg"):
        assert ids[name] and None not in ids[name], name
    for name in ("search_runs.probe_embedding", "search_requests.narrative"):
        assert ids[name] and None not in ids[name], name
    assert None not in ids["search_requests.legal_basis"]
    plain = _plain(governed)
    assert plain["probe"] == governed.probe.read_bytes()
    assert plain["narrative"].startswith("Emergency") or len(plain["narrative"]) > 10
    assert "facts" in plain["legal_basis"]
    # No stored value holds the plaintext: not the JPEG start, not a vector, not the words.
    needles = [
        plain["probe"][100:164],
        plain["chip"][100:164],
        plain["embedding"][:32],
        plain["probe_embedding"][:32],
    ]
    words = [plain["narrative"][:40], plain["legal_basis"]["facts"][:30]]
    for column in SEALED_COLUMNS:
        for _, raw in _raw(governed, column):
            if isinstance(raw, bytes | memoryview):
                assert not any(n in bytes(raw) for n in needles), column.name
            elif isinstance(raw, str):
                assert not any(w in raw for w in words), column.name


@pytest.mark.sqlite_only("reads the SQLite file and its WAL")
def test_the_sqlite_file_and_wal_hold_no_plaintext(governed: Governed) -> None:
    plain = _plain(governed)
    data_dir = governed.service.settings.data_dir
    stored = b"".join(p.read_bytes() for p in data_dir.glob("faceledger.db*") if p.is_file())
    assert len(stored) > 100_000
    for needle in (plain["probe"][200:264], plain["chip"][100:164], plain["embedding"][:32]):
        assert needle not in stored
    # Narratives never enter the ledger. (Ledger payloads do carry a request's legal basis:
    # they are not sealed, as the verifier reads them without any key.)
    assert plain["narrative"][:40].encode("utf-8") not in stored


def test_a_flipped_bit_is_a_clear_error_not_garbage(governed: Governed) -> None:
    column = COLUMN["templates.chip_jpeg"]
    key, raw = _raw(governed, column)[0]
    damaged = bytearray(bytes(raw))  # type: ignore[arg-type]
    damaged[-5] ^= 0x01
    rawsql.execute(
        _url(governed), "UPDATE templates SET chip_jpeg = :v WHERE id = :k", v=bytes(damaged), k=key
    )
    with governed.service.context.db.read() as session, pytest.raises(SealingError) as raised:
        session.scalar(select(Template.chip_jpeg).where(Template.id == key))
    assert "templates.chip_jpeg does not open" in raised.value.message
    assert "altered or damaged" in raised.value.message


def test_a_value_moved_to_another_column_does_not_open(governed: Governed) -> None:
    _, embedding = _raw(governed, COLUMN["search_runs.probe_embedding"])[0]
    key, _ = _raw(governed, COLUMN["templates.embedding"])[0]
    rawsql.execute(
        _url(governed),
        "UPDATE templates SET embedding = :v WHERE id = :k",
        v=bytes(embedding),
        k=key,
    )  # type: ignore[arg-type]
    with governed.service.context.db.read() as session, pytest.raises(SealingError) as raised:
        session.scalar(select(Template.embedding).where(Template.id == key))
    assert "copied from another column" in raised.value.message


def test_without_data_keys_nothing_is_written_in_the_clear(governed: Governed) -> None:
    from faceledger.db import Database

    before = governed.counts()
    other = Database(_url(governed))  # no sealer attached
    try:
        with pytest.raises(SealingError) as raised, other.transaction() as session:
            session.add(
                ProbeImage(
                    sha256="f" * 64, data=b"\xff\xd8 plain", image_format="jpeg", width=1, height=1
                )
            )
    finally:
        other.dispose()
    assert "opened without its data keys" in raised.value.message
    assert governed.counts() == before


def test_a_wrong_or_missing_kek_is_refused_by_name(governed: Governed) -> None:
    settings = governed.service.settings
    path = kek_file_path(settings)
    original = path.read_bytes()
    governed.service.close()
    path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    with pytest.raises(ConfigError) as wrong:
        _reopen(governed)
    assert f"file {path}" in wrong.value.message and "cannot unwrap data key" in wrong.value.message
    path.unlink()
    with pytest.raises(ConfigError) as missing:
        _reopen(governed)
    assert f"{path} is missing" in missing.value.message
    path.write_bytes(original)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError) as loose:
        _reopen(governed)
    assert f"chmod 600 {path}" in loose.value.message
    os.chmod(path, 0o600)
    _reopen(governed).close()


def test_rotation_reseals_everything_with_progress_and_retires_the_old_key(
    governed: Governed,
) -> None:
    before_plain = _plain(governed)
    # A legacy plaintext narrative (stored before sealing existed) reads as it is.
    legacy = governed.requests["approved"]
    rawsql.execute(
        _url(governed),
        "UPDATE search_requests SET narrative = :v WHERE id = :k",
        v="A legacy narrative, stored in the clear.",
        k=legacy,
    )
    with governed.service.context.db.read() as session:
        assert session.get(RequestRow, legacy).narrative.startswith("A legacy")  # type: ignore[union-attr]
    (old,) = {i for ids in _key_ids(governed).values() for i in ids} - {None}
    seen: list[tuple[str, int, int]] = []
    done = governed.service.data_keys.rotate(ADMIN, lambda *step: seen.append(step))
    assert done.key_id != old and done.retired == [old]
    ids = _key_ids(governed)
    assert all(found <= {done.key_id} for found in ids.values()), ids
    assert ids["search_requests.narrative"] == {done.key_id}  # the legacy one sealed too
    tallies = {t.column: t for t in done.columns}
    templates = len(_raw(governed, COLUMN["templates.embedding"]))
    assert tallies["templates.embedding"].resealed == templates
    assert ("templates.embedding", templates, templates) in seen
    assert ("templates.embedding", 0, templates) in seen
    assert _plain(governed) == before_plain
    with governed.service.context.db.read() as session:
        rows = session.scalars(select(DataKeyRow).order_by(DataKeyRow.id)).all()
        keys = [(r.id, r.retired_at is not None) for r in rows]
    assert keys == [(old, True), (done.key_id, False)]
    (entry,) = governed.entries_of("keys.data_key_rotate")
    assert entry.payload["retired_key_ids"] == [old]
    assert entry.payload["columns"]["templates.embedding"]["resealed"] == templates
    assert "wrapped" not in str(entry.payload)
    # A new process reads everything with the keys of the database.
    reopened = _reopen(governed)
    try:
        governed.service = reopened
        assert _plain(governed) == before_plain
    finally:
        reopened.close()


def test_a_rotation_stopped_half_way_leaves_everything_readable_and_resumes(
    governed: Governed,
) -> None:
    before_plain = _plain(governed)
    service, db = governed.service, governed.service.context.db
    # Stopped half-way: a new key, one column and 10 templates re-sealed, then the crash.
    with db.transaction() as session:
        from faceledger.at_rest.kek import kek_from_settings
        from faceledger.at_rest.keyring import add_data_key

        new = add_data_key(session, kek_from_settings(service.settings))
    assert db.sealer is not None
    db.sealer.use(new)
    reseal_column(db, COLUMN["probe_images.data"])

    class Crash(Exception):
        pass

    def crash(_what: str, done: int, _total: int) -> None:
        if done >= 10:
            raise Crash

    with pytest.raises(Crash):
        reseal_column(db, COLUMN["templates.embedding"], crash, batch=10)
    ids = _key_ids(governed)
    assert len(ids["templates.embedding"]) == 2 and len(ids["templates.chip_jpeg"]) == 1
    # Another process, opened now, reads both old and new values.
    governed.service = _reopen(governed)
    assert _plain(governed) == before_plain
    done = governed.service.data_keys.rotate(ADMIN)
    assert done.key_id == new  # went on with the half-done rotation's key
    tallies = {t.column: t for t in done.columns}
    assert tallies["probe_images.data"].resealed == 0 and tallies["templates.embedding"].kept == 10
    assert all(found <= {new} for found in _key_ids(governed).values())
    assert _plain(governed) == before_plain


def test_rewrap_in_place_changes_the_kek_and_keeps_the_data_keys(governed: Governed) -> None:
    before_plain = _plain(governed)
    path = kek_file_path(governed.service.settings)
    old_text, old_ids = path.read_text(), _key_ids(governed)
    done = governed.service.data_keys.rewrap(ADMIN)
    assert path.read_text() != old_text and done.old_fingerprint != done.new_fingerprint
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _key_ids(governed) == old_ids  # values untouched
    assert _plain(governed) == before_plain  # this process goes on
    (entry,) = governed.entries_of("keys.data_key_rotate")
    assert entry.payload["mode"] == "rewrap" and entry.payload["new_kek"] == done.new_fingerprint
    governed.service = _reopen(governed)
    assert _plain(governed) == before_plain
    # The old KEK no longer opens them.
    governed.service.close()
    path.write_text(old_text)
    with pytest.raises(ConfigError, match="cannot unwrap data key"):
        _reopen(governed)


def test_rewrap_to_a_new_file_and_a_crash_before_the_move(
    governed: Governed, tmp_path: Path
) -> None:
    before_plain = _plain(governed)
    new_file = tmp_path / "elsewhere" / "kek"
    done = governed.service.data_keys.rewrap(ADMIN, new_kek_file=new_file)
    assert done.kek_file == new_file and stat.S_IMODE(new_file.stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match="cannot unwrap"):
        _reopen(governed)  # the settings still name the old file
    governed.service = FastFaceLedger(
        governed.service.settings.replace(data_kek_file=str(new_file)), pipeline=fake_pipeline()
    )
    assert _plain(governed) == before_plain
    # Back into the default file, stopped after the commit and before the move: the next start
    # finishes the move.
    from faceledger.at_rest.kek import create_kek_file, load_kek_file, staged_kek_path
    from faceledger.at_rest.keyring import rewrap_keys

    default = kek_file_path(governed.service.settings.replace(data_kek_file=""))
    staged = create_kek_file(staged_kek_path(default))
    with governed.service.context.db.transaction() as session:
        rewrap_keys(session, load_kek_file(new_file), staged)
    governed.service = _reopen(governed, data_kek_file="")
    assert _plain(governed) == before_plain
    assert not staged_kek_path(default).exists()
    assert load_kek_file(default).fingerprint == staged.fingerprint


def test_an_emergency_filed_now_is_sealed(governed: Governed) -> None:
    view = governed.service.requests.submit_request(
        governed.who("req_a"),
        emergency_form(case_number="GOV-EM-9"),
        governed.probe.read_bytes(),
        "probe.jpg",
    )
    sql = "SELECT narrative, CAST(legal_basis AS TEXT) FROM search_requests WHERE id = :k"
    narrative, basis = rawsql.rows(_url(governed), sql, k=view.id)[0]
    assert key_id_of_raw(narrative) is not None and key_id_of_raw(basis) is not None
    with governed.service.context.db.read() as session:
        row = session.get(RequestRow, view.id)
        assert row is not None
        assert row.legal_basis["facts"] == emergency_form().legal_basis["facts"]
        assert row.narrative == emergency_form().narrative.strip()


def test_templates_feed_the_index_after_sealing(governed: Governed) -> None:
    """The vector index is a derived cache: deleted, it is rebuilt from the sealed templates."""
    governed.service.context.reset_index_files()
    view = governed.service.requests.run_request_search(
        governed.who("ex1"), governed.requests["approved"]
    )
    assert view.run is not None
    with governed.service.context.db.read() as session:
        vectors = session.scalars(select(Template.embedding)).all()
    assert all(
        np.frombuffer(v, dtype="<f4").size == governed.service.context.pipeline.embedder.dimension
        for v in vectors
    )


def test_the_data_dir_and_its_files_are_private_after_init(governed: Governed) -> None:
    data_dir = governed.service.settings.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "index").stat().st_mode) == 0o700
    assert stat.S_IMODE(kek_file_path(governed.service.settings).stat().st_mode) == 0o600
    if not backends.on_postgresql():
        for path in data_dir.glob("faceledger.db*"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
