"""Writing an evaluation to a folder: HTML, plots (PNG and SVG), JSON and CSVs.

``report.html`` needs nothing but the image files next to it: no scripts, no external links.
Plots are drawn on matplotlib :class:`~matplotlib.figure.Figure` objects directly (the Agg
canvas), so no global pyplot state or interactive backend is involved.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from faceledger.errors import InvalidInput
from faceledger.reports.evaluation.metrics import probit
from faceledger.reports.evaluation.results import EvaluationReport

PLOT_FORMATS = ("png", "svg")


@dataclass(frozen=True)
class WrittenReport:
    """Where the files of one report went."""

    folder: Path
    files: tuple[Path, ...]

    @property
    def html(self) -> Path:
        """The report page."""
        return self.folder / "report.html"


def _save(figure: Figure, folder: Path, stem: str, files: list[Path]) -> None:
    for fmt in PLOT_FORMATS:
        path = folder / f"{stem}.{fmt}"
        figure.savefig(path, format=fmt, dpi=110, bbox_inches="tight")
        files.append(path)


def _plots(report: EvaluationReport, folder: Path, files: list[Path]) -> list[tuple[str, str]]:
    curve = report.one_to_one.curve
    shown: list[tuple[str, str]] = []

    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    ax.plot(np.clip(curve.fmr, 1e-7, 1), 1 - curve.fnmr)
    ax.set_xscale("log")
    ax.set_xlabel("FMR (non-mated comparisons within threshold)")
    ax.set_ylabel("1 - FNMR")
    ax.set_title("ROC (1:1)")
    ax.grid(True, which="both", alpha=0.3)
    _save(fig, folder, "roc", files)
    shown.append(("roc", "ROC: true match rate against false match rate (log axis)."))

    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    # Zero rates have no normal deviate: the DET shows the measured, non-zero part only.
    shown_points = (curve.fmr > 0) & (curve.fnmr > 0)
    px, py = probit(curve.fmr[shown_points]), probit(curve.fnmr[shown_points])
    ax.plot(px, py)
    ticks = np.array([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.5])
    if px.size:
        x_ticks = ticks[(ticks >= curve.fmr[shown_points].min() / 2)]
        y_ticks = ticks[(ticks >= curve.fnmr[shown_points].min() / 2)]
        # The low-FMR decades sit close together on a normal-deviate axis: labels slant.
        ax.set_xticks(probit(x_ticks), [f"{t:g}" for t in x_ticks], rotation=45, ha="right")
        ax.set_yticks(probit(y_ticks), [f"{t:g}" for t in y_ticks])
        top = float(probit([0.5])[0]) + 0.2  # rates above one half are of no operational use
        ax.set_xlim(min(px.min(), probit(x_ticks[:1])[0]) - 0.2, top)
        ax.set_ylim(min(py.min(), probit(y_ticks[:1])[0]) - 0.2, max(top, py.max() + 0.2))
    ax.set_xlabel("FMR (normal deviate scale)")
    ax.set_ylabel("FNMR (normal deviate scale)")
    ax.set_title("DET (1:1)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    _save(fig, folder, "det", files)
    shown.append(("det", "DET: FNMR against FMR on normal-deviate axes."))

    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    ranks = np.arange(1, report.one_to_n.cmc.size + 1)
    ax.plot(ranks, report.one_to_n.cmc, marker=".")
    ax.set_xlabel("rank")
    ax.set_ylabel("hit rate (mate at rank <= r)")
    ax.set_title(f"CMC (gallery of {report.one_to_n.gallery_size})")
    ax.grid(True, alpha=0.3)
    _save(fig, folder, "cmc", files)
    shown.append(("cmc", "CMC: share of mated searches with the mate at rank r or better."))

    hist = report.one_to_one.histogram
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    centres = (hist.edges[:-1] + hist.edges[1:]) / 2
    width = float(hist.edges[1] - hist.edges[0])
    for counts, label in ((hist.mated, "mated"), (hist.nonmated, "non-mated")):
        total = counts.sum()
        ax.bar(centres, counts / total if total else counts, width=width, alpha=0.5, label=label)
    ax.axvline(report.operating_threshold, color="black", linestyle="--", label="operating")
    ax.set_xlabel("distance")
    ax.set_ylabel("share of comparisons")
    ax.set_title("Score distributions")
    ax.legend()
    _save(fig, folder, "scores", files)
    shown.append(("scores", "Distance histograms of mated and non-mated comparisons."))

    if report.demographics is not None:
        for column in report.demographics.columns:
            fig = Figure(figsize=(9, 4))
            axes = fig.subplots(1, 2)
            names = [g.group for g in column.groups]
            for ax, rate in zip(axes, ("fmr", "fnmr"), strict=True):
                values = [getattr(g, rate) for g in column.groups]
                cis = [getattr(g, f"{rate}_ci") for g in column.groups]
                y = np.array([np.nan if v is None else v for v in values])
                low = np.array(
                    [
                        0 if c is None or v is None else v - c.low
                        for v, c in zip(values, cis, strict=True)
                    ]
                )
                high = np.array(
                    [
                        0 if c is None or v is None else c.high - v
                        for v, c in zip(values, cis, strict=True)
                    ]
                )
                ax.bar(names, y, yerr=[np.maximum(low, 0), np.maximum(high, 0)], capsize=4)
                ax.set_title(f"{rate.upper()} by {column.column}")
                ax.tick_params(axis="x", rotation=30)
            _save(fig, folder, f"demographics_{column.column}", files)
            shown.append(
                (
                    f"demographics_{column.column}",
                    f"FMR and FNMR per {column.column} group at threshold "
                    f"{report.demographics.threshold:.4f}, with 95% intervals.",
                )
            )
    return shown


def _write_csv(path: Path, header: list[str], rows: list[list[Any]], files: list[Path]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    files.append(path)


def _csvs(report: EvaluationReport, folder: Path, files: list[Path]) -> None:
    curve = report.one_to_one.curve
    _write_csv(
        folder / "roc.csv",
        ["threshold", "fmr", "fnmr"],
        [
            [f"{t:.6f}", f"{a:.9g}", f"{b:.9g}"]
            for t, a, b in zip(curve.thresholds, curve.fmr, curve.fnmr, strict=True)
        ],
        files,
    )
    _write_csv(
        folder / "cmc.csv",
        ["rank", "hit_rate"],
        [[i + 1, f"{v:.6f}"] for i, v in enumerate(report.one_to_n.cmc)],
        files,
    )
    _write_csv(
        folder / "fnir_at_fpir.csv",
        [
            "target_fpir",
            "threshold",
            "fpir",
            "fnir",
            "ci_low",
            "ci_high",
            "within_measured_range",
            "rank",
        ],
        [
            [
                f"{p.target_fpir:g}",
                f"{p.threshold:.6f}",
                f"{p.fpir:.6f}",
                f"{p.fnir:.6f}",
                "" if ci is None else f"{ci.low:.6f}",
                "" if ci is None else f"{ci.high:.6f}",
                p.within_measured_range,
                report.one_to_n.rank,
            ]
            for p, ci in report.one_to_n.fnir_at_fpir
        ],
        files,
    )
    rows: list[list[Any]] = []
    if report.demographics is not None:
        for column in report.demographics.columns:
            for g in column.groups:
                rows.append(
                    [
                        column.column,
                        g.group,
                        g.subjects,
                        g.photos,
                        g.mated_pairs,
                        g.false_non_matches,
                        _num(g.fnmr),
                        _num(None if g.fnmr_ci is None else g.fnmr_ci.low),
                        _num(None if g.fnmr_ci is None else g.fnmr_ci.high),
                        g.nonmated_pairs,
                        g.false_matches,
                        _num(g.fmr),
                        _num(None if g.fmr_ci is None else g.fmr_ci.low),
                        _num(None if g.fmr_ci is None else g.fmr_ci.high),
                        g.in_ratios,
                        g.note,
                    ]
                )
    _write_csv(
        folder / "demographics.csv",
        [
            "column",
            "group",
            "subjects",
            "photos",
            "mated_pairs",
            "false_non_matches",
            "fnmr",
            "fnmr_ci_low",
            "fnmr_ci_high",
            "nonmated_pairs",
            "false_matches",
            "fmr",
            "fmr_ci_low",
            "fmr_ci_high",
            "in_ratios",
            "note",
        ],
        rows,
        files,
    )


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _ci(ci: list[float] | None) -> str:
    return "" if ci is None else f"[{100 * ci[0]:.2f}%, {100 * ci[1]:.2f}%]"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: EvaluationReport, plots: list[tuple[str, str]]) -> str:
    """Return the report page (every text escaped; images referenced by relative name)."""
    s = report.to_summary()
    ds, one, n = s["dataset"], s["one_to_one"], s["one_to_n"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape('Evaluation of ' + ds['name'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
        "padding:.2em .5em;text-align:left}img{max-width:100%}.note{color:#555}</style>",
        "</head><body>",
        f"<h1>{escape('Accuracy evaluation: ' + ds['name'])}</h1>",
        "<h2>Model and data</h2>",
        _table(
            ["item", "value"],
            [
                [k, f"{m['name']} {m['version']} sha256 {m['sha256'][:16]}"]
                for k, m in s["model"].items()
            ]
            + [
                ["dataset fingerprint", ds["fingerprint"]],
                ["identities / photos", f"{ds['identities']} / {ds['photos']}"],
                ["face choice", ds["face_choice"]],
                [
                    "gallery / mated probes / non-mated probes",
                    f"{ds['gallery_size']} / {ds['mated_probes']} / {ds['nonmated_probes']}",
                ],
                ["non-mated probes are", n["nonmated_source"]],
            ],
        ),
        "<h2>Failure to enrol</h2>",
        f"<p>{escape(_pct(s['fte']['rate']))} of photos ({s['fte']['failed']} of "
        f"{s['fte']['photos']}) had no usable chosen face: "
        f"{escape(', '.join(f'{k}: {v}' for k, v in s['fte']['by_reason'].items()) or 'none')}."
        f"</p><p class='note'>{escape(s['fte']['policy'])}</p>",
        "<h2>1:1 verification</h2>",
        f"<p>{escape(one['source'])}: {one['mated_pairs']} mated, {one['nonmated_pairs']} "
        f"non-mated comparisons. EER {escape(_pct(one['eer']))} {escape(_ci(one['eer_ci']))} "
        f"at distance {one['eer_threshold']}.</p>",
        _table(
            ["threshold", "FMR", "FNMR"],
            [
                [f"{r['threshold']:.3f}", f"{r['fmr']:.6f}", f"{r['fnmr']:.4f}"]
                for r in one["at_thresholds"]
            ],
        ),
        "<h2>1:N identification</h2>",
        f"<p>Rank-1 hit rate {escape(_pct(n['rank1']))} {escape(_ci(n['rank1_ci']))}; "
        f"rank-10 {escape(_pct(n['cmc'][min(9, len(n['cmc']) - 1)]))}. FNIR counts mated "
        f"searches whose mate is not at rank &le; {n['rank']} within the threshold.</p>",
        _table(
            ["target FPIR", "threshold", "measured FPIR", "FNIR", "95% interval", "note"],
            [
                [
                    k,
                    f"{v['threshold']:.4f}",
                    f"{v['fpir']:.4f}",
                    _pct(v["fnir"]),
                    _ci(v["ci"]),
                    ""
                    if v["within_measured_range"]
                    else f"below 1/{n['nonmated_probes']} non-mated searches: threshold clamped to "
                    "the smallest measured score",
                ]
                for k, v in n["fnir_at_fpir"].items()
            ],
        ),
        "<h2>Calibration from the impostor distribution</h2>",
        f"<p class='note'>{escape(str(s['impostor']['count']))} impostor comparisons. "
        "Thresholds for FPIR via FMR = 1 - (1 - FPIR)^(1/N), N = gallery size.</p>",
        _table(
            ["target FPIR", "FMR target", "threshold", "note"],
            [
                [k, f"{v['target_fmr']:.3g}", f"{v['threshold']:.4f}", v["note"]]
                for k, v in s["calibration"].items()
            ],
        ),
    ]
    parts.append("<h2>Demographic differentials</h2>")
    demo = s["demographics"]
    if demo is None:
        parts.append("<p>No demographic labels were given: no differentials measured.</p>")
    else:
        parts.append(
            f"<p><strong>{escape(demo['label_statement'])}</strong> (label source: "
            f"{escape(demo['label_source'])})</p>"
        )
        parts.append(
            f"<p>At threshold {demo['threshold']:.4f} ({escape(demo['threshold_source'])}). "
            f"Groups with fewer than {demo['min_mated_pairs']} mated or "
            f"{demo['min_nonmated_pairs']} non-mated comparisons, and unknown labels, are "
            "shown but left out of the worst-to-best ratios.</p>"
        )
        for name, col in demo["columns"].items():
            parts.append(f"<h3>{escape(name)}</h3>")
            ratio_text = []
            for rate in ("fmr", "fnmr"):
                r = col[f"{rate}_ratio"]
                text = (
                    f"{r['value']:.2f} ({r['worst']} / {r['best']})"
                    if r["value"] is not None
                    else f"n/a: {r['note']}"
                )
                ratio_text.append(f"{rate.upper()} max/min {text}")
            parts.append(f"<p>{escape('; '.join(ratio_text))}</p>")
            parts.append(
                _table(
                    [
                        "group",
                        "subjects",
                        "mated",
                        "FNMR",
                        "95% interval",
                        "non-mated",
                        "FMR",
                        "95% interval",
                        "note",
                    ],
                    [
                        [
                            g["group"],
                            str(g["subjects"]),
                            str(g["mated_pairs"]),
                            _pct(g["fnmr"]),
                            _ci(g["fnmr_ci"]),
                            str(g["nonmated_pairs"]),
                            _pct(g["fmr"]),
                            _ci(g["fmr_ci"]),
                            g["note"],
                        ]
                        for g in col["groups"]
                    ],
                )
            )
    parts.append("<h2>Plots</h2>")
    for stem, caption in plots:
        parts.append(
            f"<figure><img src='{escape(stem)}.png' alt='{escape(caption)}'>"
            f"<figcaption>{escape(caption)} (<a href='{escape(stem)}.svg'>SVG</a>)</figcaption>"
            "</figure>"
        )
    parts.append("<h2>Method notes</h2><ul>")
    parts.extend(f"<li>{escape(note)}</li>" for note in s["notes"])
    parts.append("</ul></body></html>\n")
    return "\n".join(parts)


def write_report(report: EvaluationReport, folder: Path) -> WrittenReport:
    """Write report.html, the plots, evaluation.json and the CSVs into ``folder``.

    Raises:
        InvalidInput: if ``folder`` cannot be created or written.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        plots = _plots(report, folder, files)
        _csvs(report, folder, files)
        data = folder / "evaluation.json"
        data.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        files.append(data)
        page = folder / "report.html"
        page.write_text(render_html(report, plots), encoding="utf-8")
        files.append(page)
    except OSError as exc:
        raise InvalidInput(
            f"Cannot write the report to {folder}: {exc}", folder=str(folder)
        ) from exc
    return WrittenReport(folder, tuple(files))
