"""Filing-time cost of a probe by its size: a 1 MP photo against a 40 MP one (issue 13, item 2).

What filing runs on a probe, with the real default pipeline (sface): decode (scaled to
``probe_working_pixels``, a JPEG through Pillow's draft), detect, and align and embed the chosen
face. The probes are built at run time from a shared photo: the face upscaled to 1000 x 1000
(1 MP) and to 8000 x 5000 (40 MP, the pixel limit), and the attack's solid-colour 8000 x 5000
JPEG (no face: decode and detect only). A fourth case runs the 40 MP probe without a working
size, as filing did before.

Printed: the median of each case over ``--repeat`` interleaved rounds (one process, models
warm), the ratio 40 MP / 1 MP (the target is under 2), and each case's peak resident memory
growth, measured in a fresh process per case after a warm-up on a small photo.

    .venv/bin/python benchmarks/bench_probe_size.py [--repeat 15] [--working-pixels N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import require_faces
from faceledger import load_settings
from faceledger.biometrics.image import decode_image
from faceledger.biometrics.pipeline import FacePipeline

SOURCE = Path("people") / "obama" / "obama1.jpg"
WARM_UP = Path("people") / "obama" / "obama_small.jpg"
CASES = ("1mp", "40mp", "solid_40mp", "40mp_full_size")
SIZES = {"1mp": (1000, 1000), "40mp": (8000, 5000)}


def build_probes(folder: Path) -> dict[str, Path]:
    """Write the probe JPEGs of every case to ``folder``; return their paths by case."""
    from PIL import Image

    face = Image.open(require_faces() / SOURCE).convert("RGB")
    made = {}
    for case, size in SIZES.items():
        made[case] = _save(face.resize(size, Image.Resampling.LANCZOS), folder / f"{case}.jpg")
    made["solid_40mp"] = _save(Image.new("RGB", (8000, 5000), (96, 128, 160)), folder / "solid.jpg")
    made["40mp_full_size"] = made["40mp"]
    return made


def _save(image: object, path: Path) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)  # type: ignore[attr-defined]
    path.write_bytes(buffer.getvalue())
    return path


def analysis(pipeline: FacePipeline, data: bytes, working: int | None) -> Callable[[], int]:
    """Filing's analysis of ``data``: decode at the working size, detect, embed face 0."""

    def run() -> int:
        image = decode_image(data, working_pixels=working)
        boxes = pipeline.detect(image)
        if boxes:
            pipeline.analyse_face(image, 0, boxes=boxes)
        return len(boxes)

    return run


def _working(case: str, setting: int) -> int | None:
    return None if case == "40mp_full_size" else setting


def _peak_rss_kib() -> int:
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec from the parent.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def one_case(case: str, path: Path, working: int, repeat: int) -> dict[str, float]:
    """In this (fresh) process: warm up on a small photo, then run ``case``; return its peak
    RSS growth (MiB) and the resident size before it."""
    settings = load_settings({"data_dir": tempfile.gettempdir()}, environ={})
    pipeline = FacePipeline.from_settings(settings)
    analysis(pipeline, (require_faces() / WARM_UP).read_bytes(), working)()
    data = path.read_bytes()
    before = _peak_rss_kib()
    run = analysis(pipeline, data, _working(case, working))
    for _ in range(repeat):
        run()
    return {"before_mib": before / 1024, "growth_mib": (_peak_rss_kib() - before) / 1024}


def timings(probes: dict[str, Path], working: int, repeat: int) -> dict[str, list[float]]:
    """Each case's durations (seconds), rounds interleaved so load drift hits all alike."""
    settings = load_settings({"data_dir": tempfile.gettempdir()}, environ={})
    pipeline = FacePipeline.from_settings(settings)
    runs = {
        case: analysis(pipeline, path.read_bytes(), _working(case, working))
        for case, path in probes.items()
    }
    for run in runs.values():
        run()  # warm: models loaded, buffers sized
    found = {case: run() for case, run in runs.items()}
    print("faces found: " + ", ".join(f"{case} {n}" for case, n in found.items()))
    durations: dict[str, list[float]] = {case: [] for case in runs}
    for round_ in range(repeat):
        for case, run in runs.items():
            if case == "40mp_full_size" and round_ >= max(3, repeat // 3):
                continue  # the old way is slow; a few rounds show it
            start = time.perf_counter()
            run()
            durations[case].append(time.perf_counter() - start)
    return durations


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    default = load_settings({"data_dir": tempfile.gettempdir()}, environ={})
    parser.add_argument("--working-pixels", type=int, default=default.probe_working_pixels)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # a child process: one case's memory
        print(json.dumps(one_case(args.case, args.file, args.working_pixels, 3)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        probes = build_probes(Path(tmp))
        sizes = {case: path.stat().st_size for case, path in probes.items()}
        print(
            f"working size {args.working_pixels:,} px; load average "
            f"{os.getloadavg()[0]:.2f}; {args.repeat} rounds"
        )
        durations = timings(probes, args.working_pixels, args.repeat)
        memory = {
            case: json.loads(
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        *("--case", case, "--file", str(path)),
                        *("--working-pixels", str(args.working_pixels)),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.strip()
            )
            for case, path in probes.items()
        }
    print(f"{'case':16} {'file':>9} {'median':>10} {'p90':>10} {'peak RSS growth':>16}")
    for case in CASES:
        values = sorted(durations[case])
        p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
        print(
            f"{case:16} {sizes[case] / 1024:7.0f} KB {statistics.median(values) * 1000:7.0f} ms "
            f"{p90 * 1000:7.0f} ms {memory[case]['growth_mib']:12.0f} MiB"
            f"  (n={len(values)}, RSS before {memory[case]['before_mib']:.0f} MiB)"
        )
    ratio = statistics.median(durations["40mp"]) / statistics.median(durations["1mp"])
    solid = statistics.median(durations["solid_40mp"]) / statistics.median(durations["1mp"])
    print(f"ratio 40 MP / 1 MP: {ratio:.2f} (target < 2): {'met' if ratio < 2 else 'NOT met'}")
    print(f"ratio solid 40 MP / 1 MP: {solid:.2f}")


if __name__ == "__main__":
    main()
