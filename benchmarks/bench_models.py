"""Speed of the two face pipelines (sface, dlib) against the face_recognition package, per core.

Everything runs pinned to one CPU core (``--core``; this process and the baseline's), with
one model thread, and the three tools take turns in each of ``--rounds`` rounds, so machine
noise cancels in the ratios. Measured on the same photos:

  * enrolment rate: the 54 shared people photos, each decoded and analysed (detect, align,
    quality, embed: ``pipeline.analyse(read_image_file(path))``) by each faceledger pipeline,
    against face_recognition's load + ``face_locations`` + ``face_encodings``;
  * end-to-end search of a ~1 MP probe (``--probe``, default obama1.jpg, 910x1137) through
    the real service (``service.searches.search``: decode, detect, embed, index, candidate
    lookup, ledger append) in a lab-profile data directory holding the 54 photos, one per
    pipeline, against face_recognition loading, locating and encoding the probe and comparing
    it with the 54 known encodings;
  * 1:1 verification of two photos (``service.searches.verify``) against face_recognition
    encoding both and comparing them.

Ratios are speed-ups against face_recognition in the same round: rate over its rate, its p50
over ours (above 1 is faster).

    make bench   # builds .venv-baseline with face_recognition, then runs this
    .venv/bin/python benchmarks/bench_models.py [--rounds 2] [--repeat 30] [--verify-repeat 16]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the budget is per core

import faiss
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import describe, percentile, require_faces, timed
from faceledger import FaceLedger, load_settings
from faceledger.biometrics.image import read_image_file
from faceledger.biometrics.pipeline import FacePipeline
from faceledger.config import Settings
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.policy import UnsafeProfileWarning

OPERATOR = LocalOperator("bench")
PIPELINES = ("sface", "dlib")
BASELINE = "face_recognition"
SCRIPT = Path(__file__).with_name("baseline_face_recognition.py")


@dataclass
class Samples:
    """What one tool measured, pooled over the rounds."""

    rates: list[float] = field(default_factory=list)  # enrolment photos/s, one per round
    search: list[float] = field(default_factory=list)  # seconds
    verify: list[float] = field(default_factory=list)
    note: str = ""


def settings_for(name: str, data_dir: Path) -> Settings:
    return load_settings(
        {
            "data_dir": data_dir,
            "pipeline": name,
            "model_threads": 1,
            "enroll_workers": 1,
            "policy_profile": "lab",  # ad hoc search and verify are lab-only, on purpose
        },
        environ={},
    )


def enrol_rate(pipeline: FacePipeline, settings: Settings, paths: list[Path]) -> float:
    """Photos per second for decoding and analysing every photo (models already loaded)."""
    start = time.perf_counter()
    for path in paths:
        pipeline.analyse(read_image_file(path, settings.max_image_pixels, settings.max_image_bytes))
    return len(paths) / (time.perf_counter() - start)


def baseline(python: Path, people: Path, core: int, *extra: str) -> dict[str, list[str]]:
    """Run baseline_face_recognition.py pinned to ``core``; return its output lines by key."""
    out = subprocess.run(
        [str(python), str(SCRIPT), str(people), "--core", str(core), *extra],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    ).stdout
    return {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin everything to")
    parser.add_argument("--rounds", type=int, default=2, help="turns of the three tools")
    parser.add_argument("--repeat", type=int, default=30, help="searches per tool, all rounds")
    parser.add_argument(
        "--verify-repeat", type=int, default=16, help="verifications per tool, all rounds"
    )
    parser.add_argument("--probe", type=Path, default=None, help="search probe (~1 MP)")
    parser.add_argument(
        "--verify-pair", type=Path, nargs=2, default=None, help="two photos of one person"
    )
    parser.add_argument(
        "--baseline-python",
        type=Path,
        default=Path(".venv-baseline/bin/python"),
        help="python of the venv holding face_recognition",
    )
    args = parser.parse_args()
    faces = require_faces()
    if not args.baseline_python.exists():
        sys.exit(f"no face_recognition baseline at {args.baseline_python}: run `make bench`")
    os.sched_setaffinity(0, {args.core})  # before any model loads: their threads inherit it
    faiss.omp_set_num_threads(1)
    warnings.filterwarnings("ignore", category=UnsafeProfileWarning)  # lab profile, on purpose
    people = faces / "people"
    probe = args.probe or people / "obama" / "obama1.jpg"
    pair = args.verify_pair or (people / "obama" / "obama1.jpg", people / "obama" / "obama2.jpg")
    paths = [item.path for item in from_folder_tree(people)]
    with Image.open(probe) as image:
        probe_size = image.size
    search_n = max(1, args.repeat // args.rounds)
    verify_n = max(1, args.verify_repeat // args.rounds)
    samples = {name: Samples() for name in (*PIPELINES, BASELINE)}

    with tempfile.TemporaryDirectory() as tmp:
        services: dict[str, FaceLedger] = {}
        for name in PIPELINES:  # set-up, not timed: enrol the 54 photos, build the index
            settings = settings_for(name, Path(tmp) / name)
            service = FaceLedger.initialise(settings, OPERATOR.ledger_actor)
            summary = service.galleries.enroll(OPERATOR, "people", from_folder_tree(people))
            first = service.searches.search(OPERATOR, probe, ["people"])
            lead = first.faces[0].candidates[0]
            check = service.searches.verify(OPERATOR, *pair)
            samples[name].note = (
                f"enrolled {summary.enrolled}/{len(paths)}; probe: {len(first.faces)} face(s), "
                f"rank-1 {lead.external_id} at d={lead.distance:.3f}; verify "
                f"d={check.distance:.3f} (threshold {check.threshold:.3f})"
            )
            services[name] = service

        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}/{args.rounds}…", file=sys.stderr, flush=True)
            out = baseline(args.baseline_python, people, args.core)
            samples[BASELINE].rates.append(float(out["photos_per_second"][0]))
            for name, service in services.items():
                ctx = service.context
                enrol_rate(ctx.pipeline, ctx.settings, paths[:1])  # warm
                samples[name].rates.append(enrol_rate(ctx.pipeline, ctx.settings, paths))

            search = ("--search", str(probe), "--repeat", str(search_n))
            out = baseline(args.baseline_python, people, args.core, *search)
            samples[BASELINE].search += [float(v) for v in out["search_seconds"]]
            best = out["search_best"]
            samples[BASELINE].note = f"probe: rank-1 {best[0]} at d={float(best[1]):.3f}"
            for name, service in services.items():
                samples[name].search += timed(
                    lambda s=service: s.searches.search(OPERATOR, probe, ["people"]), search_n
                )

            verify = ("--verify", *map(str, pair), "--repeat", str(verify_n))
            out = baseline(args.baseline_python, people, args.core, *verify)
            samples[BASELINE].verify += [float(v) for v in out["verify_seconds"]]
            samples[BASELINE].note += f"; verify d={float(out['verify_distance'][0]):.3f}"
            for name, service in services.items():
                samples[name].verify += timed(
                    lambda s=service: s.searches.verify(OPERATOR, *pair), verify_n
                )
        for service in services.values():
            service.close()

    base = samples[BASELINE]
    print(
        f"pinned to core {args.core} of {os.cpu_count()}, model_threads=1, {args.rounds} rounds "
        "(face_recognition, sface, dlib in turn); face_recognition: HOG upsample 1, 5-point, "
        "ResNet; dlib pipeline: the same models, through faceledger"
    )
    print(
        f"photos: {len(paths)} of {people}; probe {probe.name} {probe_size[0]}x{probe_size[1]} "
        f"({probe_size[0] * probe_size[1] / 1e6:.2f} MP), as is; verify pair "
        f"{pair[0].name} + {pair[1].name}; gallery: the 54 photos"
    )
    for name, s in samples.items():
        print(f"  {name}: {s.note}")
    print("enrolment (decode + detect + align + quality + embed), photos/s on one core:")
    for round_no in range(args.rounds):
        b = base.rates[round_no]
        cells = [
            f"{name} {samples[name].rates[round_no]:.1f} ({samples[name].rates[round_no] / b:.2f}x)"
            for name in PIPELINES
        ]
        print(f"  round {round_no + 1}: {BASELINE} {b:.1f}; " + "; ".join(cells))
    for name in PIPELINES:
        ratios = [r / b for r, b in zip(samples[name].rates, base.rates, strict=True)]
        print(
            f"  ratio {name}/{BASELINE}: {min(ratios):.2f}x-{max(ratios):.2f}x"
            + (" (goal >= 2x: met)" if name == "sface" and min(ratios) >= 2 else "")
            + (" (goal >= 2x: NOT met)" if name == "sface" and min(ratios) < 2 else "")
        )
    for what, label in (("search", "end-to-end search"), ("verify", "1:1 verify")):
        print(f"{label}, one core:")
        base_p50 = percentile(getattr(base, what), 50)
        for name, s in samples.items():
            values = getattr(s, what)
            speedup = (
                ""
                if name == BASELINE
                else f"  ({base_p50 / percentile(values, 50):.2f}x as fast, p50)"
            )
            print(f"  {name:<17} {describe(values)}{speedup}")
    sface_p50 = percentile(samples["sface"].search, 50)
    print(
        f"goal sface search p50 < 0.3 s on one core: {ms(sface_p50)}, "
        + ("met" if sface_p50 < 0.3 else "NOT met")
    )


if __name__ == "__main__":
    main()
