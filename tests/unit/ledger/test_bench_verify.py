"""The verification benchmark runs end to end on a small ledger and reports sane figures."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_benchmark_runs_on_2000_entries(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_verify.py"),
        "--entries",
        "2000",
        "--dir",
        str(tmp_path / "cache"),
        "--json",
        str(figures),
    ]
    first = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    assert "wrote 2,000 rows" in first.stdout
    assert "(b) verify_export" in first.stdout and "(c) verify_database" in first.stdout
    report = json.loads(figures.read_text())
    assert (report["entries"], report["checkpoints"]) == (2000, 2)
    assert report["bytes_hashed"] > 2000 * 300  # the lines carry 300-600 byte payloads
    for name in ("baseline", "verify_export", "verify_database"):
        seconds = report["seconds"][name]
        assert all(math.isfinite(seconds[k]) and seconds[k] >= 0 for k in ("wall", "cpu"))
        assert math.isfinite(report["ratios"][name]) and report["ratios"][name] > 0
    assert report["ratios"]["baseline"] == 1
    # Every synthetic entry is one the fast path decides on.
    assert report["paths"] == {
        "export": {"fast": 2000, "exact": 0},
        "database": {"fast": 2000, "exact": 0},
    }
    # A second run reuses the cached ledger instead of writing it again.
    second = subprocess.run(
        [*command, "--no-paths"], capture_output=True, text=True, check=True, timeout=300
    )
    assert "wrote" not in second.stdout and "(a) baseline" in second.stdout
