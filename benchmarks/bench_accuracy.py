"""Accuracy of the two face pipelines (sface, dlib) on lfw-dev, side by side, with intervals.

Both pipelines are evaluated in this run with the same protocol as ``faceledger eval`` (see
``faceledger.reports.evaluation.runner``): people/ and distractors/ of the set, LFW's centre face,
identity-level bootstrap intervals, and the demographic table from labels.csv (predicted,
perceived attributes, not self-reported) over ``--group-columns``. Printed, one column per
pipeline:

  * rank-1 of the mated searches, FNIR at FPIR 0.003 and 0.01 (with their thresholds), failure
    to enrol, and EER, each with its 95 % interval;
  * the worst-to-best FMR and FNMR ratios between groups, then FMR and FNMR per group at the
    demographic operating threshold, with group sizes and which groups were left out of the
    ratios and why;
  * the deployment gate's verdict under the ``--profile`` (massachusetts) accuracy bounds.

Each evaluation folder (report.html, plots, evaluation.json, CSVs) is written under ``--out``,
outside the repository. Photos are embedded on one process per core (``--workers``).

    .venv/bin/python benchmarks/bench_accuracy.py [--dataset ../shared/data/lfw-dev]
        [--limit-identities N] [--bootstrap 1000] [--out /tmp/bench-accuracy]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faceledger import load_settings
from faceledger.governance.deployment import gate_reasons
from faceledger.governance.profiles import load_profile
from faceledger.reports.evaluation import (
    EvaluationOptions,
    load_folder,
    read_labels,
    run_evaluation,
    write_report,
)

ROOT = Path(__file__).resolve().parents[1]
LFW_DEV = (ROOT / ".." / "shared" / "data" / "lfw-dev").resolve()
PIPELINES = ("sface", "dlib")
FPIRS = ("0.003", "0.01")
Summary = Mapping[str, Any]


def evaluate(name: str, args: argparse.Namespace, tmp: Path) -> tuple[dict[str, Any], float, Path]:
    """Evaluate pipeline ``name``; return its summary, the wall time and the report folder."""
    settings = load_settings(
        {
            "data_dir": tmp / name,
            "pipeline": name,
            "model_threads": 1,
            "enroll_workers": args.workers,
        },
        environ={},
    )
    dataset = load_folder(args.dataset, None, args.limit_identities)
    options = EvaluationOptions(
        face_choice="centre",
        replicates=args.bootstrap,
        labels=read_labels(args.dataset / "labels.csv"),
        label_source=args.label_source,
        group_columns=tuple(args.group_columns.split(",")),
    )
    total, done = len(dataset.photos), [0]

    def progress() -> None:
        done[0] += 1
        if done[0] % 250 == 0 or done[0] == total:
            print(f"  {name}: {done[0]}/{total} photos embedded", file=sys.stderr, flush=True)

    start = time.perf_counter()
    report = run_evaluation(settings, dataset, options, progress=progress)
    elapsed = time.perf_counter() - start
    folder = args.out / name
    write_report(report, folder)
    return report.to_summary(), elapsed, folder


def pct(value: float | None, ci: Sequence[float] | None = None, digits: int = 2) -> str:
    """``12.34% [11.00, 13.50]``; ``n/a`` for None."""
    if value is None:
        return "n/a"
    text = f"{100 * value:.{digits}f}%"
    if ci is not None:
        text += f" [{100 * ci[0]:.{digits}f}, {100 * ci[1]:.{digits}f}]"
    return text


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def headline(
    summaries: Mapping[str, Summary], reasons: Mapping[str, list[str]], profile: str
) -> list[str]:
    """The side-by-side table of headline figures."""
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, cell: Any) -> None:
        rows.append((label, [cell(s) for s in summaries.values()]))

    add("photos / identities", lambda s: f"{s['dataset']['photos']} / {s['dataset']['identities']}")
    add(
        "gallery / mated / non-mated probes",
        lambda s: (
            f"{s['one_to_n']['gallery_size']} / {s['one_to_n']['mated_probes']} / "
            f"{s['one_to_n']['nonmated_probes']}"
        ),
    )
    add(
        "failure to enrol (photos)",
        lambda s: f"{pct(s['fte']['rate'])} ({s['fte']['failed']})",
    )
    add(
        "  by reason",
        lambda s: ", ".join(f"{k} {v}" for k, v in s["fte"]["by_reason"].items()) or "none",
    )
    add("gallery ids with no usable photo", lambda s: str(s["one_to_n"]["gallery_failed"]))
    add("rank-1 [95% CI]", lambda s: pct(s["one_to_n"]["rank1"], s["one_to_n"]["rank1_ci"]))
    for fpir in FPIRS:

        def fnir(s: Summary, fpir: str = fpir) -> str:
            return pct(
                s["one_to_n"]["fnir_at_fpir"][fpir]["fnir"],
                s["one_to_n"]["fnir_at_fpir"][fpir]["ci"],
            )

        def where(s: Summary, fpir: str = fpir) -> str:
            point = s["one_to_n"]["fnir_at_fpir"][fpir]
            flag = "" if point["within_measured_range"] else " (below measured range)"
            return f"d <= {point['threshold']:.4f}, FPIR {point['fpir']:.4f}{flag}"

        add(f"FNIR @ FPIR {fpir} [95% CI]", fnir)
        add("  threshold, measured FPIR", where)
    add("EER [95% CI]", lambda s: pct(s["one_to_one"]["eer"], s["one_to_one"]["eer_ci"]))
    add("  at distance", lambda s: f"{s['one_to_one']['eer_threshold']:.4f}")
    add(
        "demographic threshold (FMR 1e-3)",
        lambda s: f"d <= {s['demographics']['threshold']:.4f}",
    )
    add("max FMR ratio between groups", lambda s: ratio(s["demographics"]["max_fmr_ratio"]))
    add("max FNMR ratio between groups", lambda s: ratio(s["demographics"]["max_fnmr_ratio"]))
    add(
        "unbounded ratios",
        lambda s: ", ".join(s["demographics"]["unbounded_ratios"]) or "none",
    )
    rows.append(
        (
            "gate (massachusetts)",
            ["PASS" if not r else f"FAIL ({len(r)})" for r in reasons.values()],
        )
    )
    return aligned([("", list(summaries)), *rows])


def aligned(rows: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Left-aligned columns: a label, then one cell per pipeline."""
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(cells[i]) for _, cells in rows) for i in range(len(rows[0][1]))]
    return [
        "  ".join(
            [label.ljust(label_width), *(c.ljust(w) for c, w in zip(cells, widths, strict=True))]
        ).rstrip()
        for label, cells in rows
    ]


def groups(summaries: Mapping[str, Summary]) -> list[str]:
    """Per-group FMR and FNMR at each pipeline's demographic threshold, column by column."""
    first = next(iter(summaries.values()))["demographics"]
    lines = [
        first["label_statement"],
        f"Rates at each pipeline's {first['threshold_source']}; 95% CI over the group's "
        f"identities; ratios need {first['min_mated_pairs']} mated and "
        f"{first['min_nonmated_pairs']} non-mated comparisons and an expected 5 errors.",
    ]
    for column in first["columns"]:
        lines += ["", f"{column} (predicted, perceived labels; not self-reported)"]
        lines.append(
            f"  {'group':<11} {'ids':>4} {'photos':>6} {'mated':>6} {'non-mated':>10}  "
            f"{'':<6} {'FNMR [95% CI] (errors)':<28} {'FMR [95% CI] (errors)':<32} ratios"
        )
        by_pipeline = {n: s["demographics"]["columns"][column] for n, s in summaries.items()}
        first_col = by_pipeline[next(iter(by_pipeline))]["groups"]
        names = [g["group"] for g in first_col]
        for i, group in enumerate(names):
            for j, (pipeline, col) in enumerate(by_pipeline.items()):
                g = col["groups"][i]
                sizes = ("subjects", "photos", "mated_pairs", "nonmated_pairs")
                if [g[k] for k in sizes] != [first_col[i][k] for k in sizes]:  # never expected
                    lines.append(f"  (group sizes of {pipeline} differ: {[g[k] for k in sizes]})")
                size = (
                    f"  {group:<11} {g['subjects']:>4} {g['photos']:>6} {g['mated_pairs']:>6} "
                    f"{g['nonmated_pairs']:>10,}"
                    if j == 0
                    else " " * 43
                )
                fnmr = f"{pct(g['fnmr'], g['fnmr_ci'])} ({g['false_non_matches']})"
                fmr = f"{pct(g['fmr'], g['fmr_ci'], 3)} ({g['false_matches']})"
                lines.append(
                    f"{size}  {pipeline:<6} {fnmr:<28} {fmr:<32} "
                    f"{'in' if g['in_ratios'] else 'out: ' + g['note']}".rstrip()
                )
        for pipeline, col in by_pipeline.items():
            for rate in ("fmr", "fnmr"):
                r = col[f"{rate}_ratio"]
                value = ratio(r["value"])
                between = f" ({r['worst']} / {r['best']})" if r["worst"] else ""
                note = f" {r['note']}" if r["note"] else ""
                lines.append(f"  {pipeline} {rate.upper()} ratio: {value}{between}.{note}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=LFW_DEV, help="lfw-dev layout folder")
    parser.add_argument("--limit-identities", type=int, default=None, help="first N per part")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument("--label-source", default="predicted", help="source of labels.csv")
    parser.add_argument("--group-columns", default="sex_id,race_id,age_group_id")
    parser.add_argument("--profile", default="massachusetts", help="profile for the gate")
    parser.add_argument("--workers", type=int, default=0, help="embedding processes (0: cores)")
    parser.add_argument(
        "--out", type=Path, default=Path("/tmp/bench-accuracy"), help="report folders"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="print from the evaluation.json files already under --out; evaluate nothing",
    )
    args = parser.parse_args()
    if not (args.dataset / "people").is_dir():
        sys.exit(f"benchmark needs the evaluation set at {args.dataset}/people")
    if args.out.resolve().is_relative_to(ROOT):
        sys.exit(f"--out {args.out} is inside the repository; write reports elsewhere")

    summaries: dict[str, Summary] = {}
    timings: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in PIPELINES:
            if args.reuse:
                data = json.loads((args.out / name / "evaluation.json").read_text())
                summaries[name], timings[name] = data["summary"], None
                continue
            summaries[name], timings[name], _ = evaluate(name, args, Path(tmp))
    policy = load_profile(args.profile).accuracy
    reasons = {name: gate_reasons(s, policy) for name, s in summaries.items()}

    sface = summaries["sface"]["dataset"]
    print(
        f"set: {sface['name']} ({sface['photos']} photos, {sface['people_identities']} people + "
        f"{sface['distractor_identities']} distractor identities, fingerprint "
        f"{sface['fingerprint'][:12]}); face: {sface['face_choice']} (LFW rule); "
        f"bootstrap {summaries['sface']['method']['bootstrap_replicates']} over identities"
    )
    for name, s in summaries.items():
        models = ", ".join(f"{m['name']} {m['version']}" for m in s["model"].values())
        took = "" if timings[name] is None else f"; evaluated in {timings[name]:.0f} s"
        print(f"{name}: {models}{took}; report {args.out / name / 'report.html'}")
    print()
    print("\n".join(headline(summaries, reasons, args.profile)))
    print()
    print("\n".join(groups(summaries)))
    print()
    print(
        f"gate under the {args.profile} profile: rank-1 >= {pct(policy.min_rank1, digits=0)}, "
        f"FNIR@FPIR 0.003 <= {pct(policy.max_fnir, digits=0)}, FTE <= "
        f"{pct(policy.max_fte, digits=0)}, max FMR ratio <= {ratio(policy.max_fmr_ratio)}, max "
        f"FNMR ratio <= {ratio(policy.max_fnmr_ratio)}, demographics required: "
        f"{policy.require_demographics}"
    )
    for name, why in reasons.items():
        print(f"  {name}: {'PASS' if not why else 'FAIL'}")
        for reason in why:
            print(f"    - {reason}")


if __name__ == "__main__":
    main()
