"""Search latency with a gallery of the 54 shared photos plus 100,000 random unit vectors.

Reports, all measured in this run so machine noise cancels in the ratios:
  * index search alone (FAISS, exact, one thread) for one probe face;
  * the face pipeline alone on the probe (decode, detect, align, embed) — the baseline;
  * the whole service search (pipeline + index + candidate lookup + ledger append);
and the ratio of the last to the baseline (what search and the ledger add on top of the models).

Ad hoc search outside a request is allowed only under an unsafe profile, so the data directory
is initialised with the ``lab`` profile and the local operator searches.

    .venv/bin/python benchmarks/bench_search.py [--extra 100000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the budget is for one core

import faiss
import numpy as np
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import describe, percentile, require_faces, timed
from faceledger import FaceLedger, load_settings
from faceledger.biometrics.image import DecodedImage, read_image_file
from faceledger.biometrics.pipeline import normalise
from faceledger.gallery import store
from faceledger.gallery.models import Gallery, Photo, Subject, Template
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.policy import UnsafeProfileWarning

OPERATOR = LocalOperator("bench")


def add_random_templates(service: FaceLedger, gallery_name: str, count: int) -> None:
    """Insert ``count`` synthetic subjects, each with one photo and a random unit template."""
    rng = np.random.default_rng(42)
    vectors = normalise(rng.normal(size=(count, 128)).astype(np.float32))
    with service.context.db.transaction() as session:
        gallery = store.get_gallery(session, gallery_name)
        base = 1 + max(
            session.scalar(select(func.max(model.id))) or 0 for model in (Subject, Photo, Template)
        )
        model = service.context.pipeline.embedder.model
        for start in range(0, count, 10_000):
            ids = range(base + start, base + min(count, start + 10_000))
            session.execute(
                insert(Subject),
                [
                    {
                        "id": i,
                        "gallery_id": gallery.id,
                        "external_id": f"synthetic-{i}",
                        "display_name": "synthetic",
                    }
                    for i in ids
                ],
            )
            session.execute(
                insert(Photo),
                [
                    {
                        "id": i,
                        "gallery_id": gallery.id,
                        "subject_id": i,
                        "sha256": f"{i:064x}",
                        "source_uri": "synthetic",
                        "provenance": {},
                        "image_format": "none",
                        "width": 0,
                        "height": 0,
                    }
                    for i in ids
                ],
            )
            session.execute(
                insert(Template),
                [
                    {
                        "id": i,
                        "gallery_id": gallery.id,
                        "subject_id": i,
                        "photo_id": i,
                        "embedding": vectors[i - base].tobytes(),
                        "box_left": 0,
                        "box_top": 0,
                        "box_right": 0,
                        "box_bottom": 0,
                        "eye_distance_px": 0.0,
                        "sharpness": 0.0,
                        "yaw_degrees": 0.0,
                        "brightness": 0.0,
                        "model_name": "random",
                        "model_version": "bench",
                        "model_sha256": model.sha256,
                    }
                    for i in ids
                ],
            )
        session.get(Gallery, gallery.id)
        store.bump_generation(session, gallery)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=100_000, help="random vectors to add")
    parser.add_argument("--repeat", type=int, default=30, help="timed repetitions")
    args = parser.parse_args()
    faces = require_faces()
    faiss.omp_set_num_threads(1)
    warnings.filterwarnings("ignore", category=UnsafeProfileWarning)  # lab profile, on purpose
    probe = faces / "groups" / "kit_with_rose.jpg"

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"data_dir": Path(tmp) / "data", "policy_profile": "lab"}, environ={}
        )
        service = FaceLedger.initialise(settings, OPERATOR.ledger_actor)
        ctx = service.context
        service.galleries.enroll(OPERATOR, "people", from_folder_tree(faces / "people"))
        start = time.perf_counter()
        add_random_templates(service, "people", args.extra)
        insert_s = time.perf_counter() - start
        start = time.perf_counter()
        first = service.searches.search(OPERATOR, probe, ["people"])  # builds and saves the index
        build_s = time.perf_counter() - start
        leads = sorted(f.candidates[0].external_id for f in first.faces)
        size = service.galleries.list_galleries(OPERATOR)[0].templates

        with ctx.db.read() as session:
            gallery = store.get_gallery(session, "people")
            gid, generation = gallery.id, gallery.generation
        index = ctx.indexes.get(gid, generation, lambda: (_ for _ in ()).throw(RuntimeError))
        query = first.faces[0]

        def decode() -> DecodedImage:
            return read_image_file(probe, settings.max_image_pixels, settings.max_image_bytes)

        unit = ctx.pipeline.analyse(decode())[0].unit_embedding
        index_times = timed(lambda: index.search(unit[None, :], 10), args.repeat * 10)
        pipeline_times = timed(lambda: ctx.pipeline.analyse(decode()), args.repeat)
        service_times = timed(
            lambda: service.searches.search(OPERATOR, probe, ["people"]), args.repeat
        )
        service.close()

    base = percentile(pipeline_times, 50)
    print(f"gallery: {size:,} templates (54 real + {args.extra:,} random unit vectors)")
    print(
        f"probe: {probe.name}, {len(first.faces)} faces, rank-1 leads {leads}, query face "
        f"{query.index}"
    )
    print(
        f"bulk insert of random templates: {insert_s:.1f} s; first search incl. index build: "
        f"{build_s:.2f} s"
    )
    print(f"index search, 1 face, k=10 (exact, 1 thread):  {describe(index_times)}")
    print(f"pipeline only (baseline: decode+detect+embed): {describe(pipeline_times)}")
    print(f"service search (pipeline+index+ledger):        {describe(service_times)}")
    print(f"ratio service/pipeline (p50): {percentile(service_times, 50) / base:.3f}")
    print(f"ratio index-only/pipeline (p50): {percentile(index_times, 50) / base:.4f}")


if __name__ == "__main__":
    main()
