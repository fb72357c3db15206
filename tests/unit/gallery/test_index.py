"""What every index shares: the distance between unit vectors, and the one path that reads
templates for an index (a rebuild's loader), streamed in chunks from a real SQLite database."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert, update

from faceledger.at_rest.sealing import Sealer
from faceledger.biometrics.pipeline import normalise
from faceledger.db import Database
from faceledger.errors import InvalidInput
from faceledger.gallery import store
from faceledger.gallery.index import distance_from_cosine
from faceledger.gallery.models import Photo, Subject, Template

DIM = 128


def test_distance_from_cosine_is_the_euclidean_distance_of_unit_vectors() -> None:
    vectors = normalise(np.random.default_rng(0).normal(size=(20, DIM)).astype(np.float32))
    cosines = (vectors[:10] * vectors[10:]).sum(axis=1)
    expected = np.linalg.norm(vectors[:10] - vectors[10:], axis=1)
    assert np.allclose(distance_from_cosine(cosines), expected, atol=1e-5)
    # Rounding past +-1 never yields NaN.
    assert distance_from_cosine(np.array([1.0000001, -1.0000001], dtype=np.float32)).tolist() == [
        0.0,
        2.0,
    ]


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'faceledger.db'}")
    db.upgrade()
    # Templates are sealed at rest: a throwaway data key (the service unwraps real ones).
    db.attach_sealer(Sealer({1: os.urandom(32)}, 1))
    return db


def add_templates(
    db: Database, vectors: np.ndarray, gallery_name: str = "g"
) -> tuple[int, list[int]]:
    """Insert one subject, photo and template per vector; return the gallery id and the ids."""
    with db.transaction() as session:
        gallery = store.create_gallery(session, gallery_name)
        ids = []
        for i, vector in enumerate(vectors):
            subject = session.execute(
                insert(Subject).values(gallery_id=gallery.id, external_id=f"s{i}", display_name="")
            ).inserted_primary_key[0]
            photo = session.execute(
                insert(Photo).values(
                    gallery_id=gallery.id,
                    subject_id=subject,
                    sha256=f"{gallery_name}{i:062x}",
                    source_uri="synthetic",
                    provenance={},
                    image_format="none",
                    width=0,
                    height=0,
                )
            ).inserted_primary_key[0]
            template = session.execute(
                insert(Template).values(
                    gallery_id=gallery.id,
                    subject_id=subject,
                    photo_id=photo,
                    embedding=np.asarray(vector, dtype="<f4").tobytes(),
                    box_left=0,
                    box_top=0,
                    box_right=0,
                    box_bottom=0,
                    eye_distance_px=0.0,
                    sharpness=0.0,
                    yaw_degrees=0.0,
                    brightness=0.0,
                    model_name="m",
                    model_version="1",
                    model_sha256="0" * 64,
                )
            ).inserted_primary_key[0]
            ids.append(int(template))
        return gallery.id, ids


def test_the_loader_streams_every_template_in_chunks_in_id_order(database: Database) -> None:
    vectors = np.random.default_rng(1).normal(size=(23, DIM)).astype(np.float32) * 3
    gallery_id, ids = add_templates(database, vectors)
    add_templates(database, vectors[:4], "other")  # another gallery's templates stay out
    with database.read() as session:
        chunks = list(store.load_vectors(session, gallery_id, DIM, chunk_rows=10))
    assert [len(c.ids) for c in chunks] == [10, 10, 3]
    assert {c.total for c in chunks} == {23}
    assert np.concatenate([c.ids for c in chunks]).tolist() == sorted(ids)
    loaded = np.vstack([c.vectors for c in chunks])
    assert np.allclose(loaded, normalise(vectors), atol=1e-6)  # made unit length
    assert all(c.ids.dtype == np.int64 and c.vectors.dtype == np.float32 for c in chunks)


def test_the_loader_of_an_empty_gallery_yields_nothing(database: Database) -> None:
    gallery_id, _ = add_templates(database, np.zeros((0, DIM), dtype=np.float32))
    with database.read() as session:
        assert list(store.load_vectors(session, gallery_id, DIM)) == []


def test_a_descriptor_of_the_wrong_size_is_named(database: Database) -> None:
    gallery_id, ids = add_templates(database, np.ones((3, DIM), dtype=np.float32))
    with database.transaction() as session:
        session.execute(
            update(Template).where(Template.id == ids[1]).values(embedding=b"\x00" * 12)
        )
    with database.read() as session, pytest.raises(InvalidInput, match=f"Template {ids[1]}"):
        list(store.load_vectors(session, gallery_id, DIM))
