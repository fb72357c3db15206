"""The galleries a search ran against and the measured accuracy behind each one's threshold.

For each gallery's threshold record in the search entry (``thresholds[i]``: gallery size,
distance, calibrated, activation and evaluation ids), the packet states the size and threshold
at the time; then, if the threshold was calibrated, the deployment gate's ``model.activate``
entry, the ``model.evaluation`` entry and the figures of the stored evaluation summary (a
packet document whose SHA-256 that entry records). A threshold that was not calibrated says
so plainly: the model's accuracy was **not evaluated** for that gallery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from faceledger.reports.disclosure.collect import ActionNames, Collector, Document, Source
from faceledger.reports.disclosure.pointer import pointer

__all__ = ["evaluation_document", "evaluation_document_id", "gallery_facts"]

Entry = Mapping[str, Any]

_FIGURES = (
    ("rank1_micro", "rank-1 identification rate"),
    ("fnir_at_fpir_0_003_micro", "FNIR at FPIR 0.003 (misses when a mate is enrolled)"),
    ("fte_micro", "failure-to-enrol rate"),
    ("label_source", "source of the demographic labels"),
    ("max_fmr_ratio_micro", "largest FMR ratio between demographic groups"),
    ("max_fnmr_ratio_micro", "largest FNMR ratio between demographic groups"),
    ("unbounded_ratios", "ratios without a bound (a best group with no errors)"),
    ("unmeasured_ratios", "ratios the evaluation set was too small to measure"),
)
"""The figures the gate reads, as the evaluation entry records them (millionths)."""


def evaluation_document_id(evaluation_id: object) -> str:
    """The packet document id of stored evaluation ``evaluation_id``'s summary."""
    return f"evaluation-{evaluation_id}"


def evaluation_document(seq: int, payload: Mapping[str, Any], text: str) -> Document:
    """The packet document of an evaluation summary ``text``, named and anchored by the
    ``model.evaluation`` entry ``seq`` (with ``payload``) that records its SHA-256.

    Raises:
        ValueError: if ``text`` is not a JSON object, or the payload names no evaluation.
    """
    evaluation_id = payload.get("evaluation_id")
    if isinstance(evaluation_id, bool) or not isinstance(evaluation_id, int):
        raise ValueError("the evaluation entry names no evaluation id")
    return Document.of(
        evaluation_document_id(evaluation_id),
        f"Stored summary of evaluation {evaluation_id} ({payload.get('dataset', '')})",
        text,
        Source("/payload/summary_sha256", seq=seq),
    )


def _find(entries: Sequence[Entry], action: str, key: str, value: Any) -> Entry | None:
    if value is None:
        return None
    for entry in entries:
        payload = entry.get("payload")
        if entry.get("action") != action or not isinstance(payload, Mapping):
            continue
        if payload.get(key) == value:
            return entry
    return None


def gallery_facts(
    out: Collector,
    prefix: str,
    search: Entry,
    entries: Sequence[Entry],
    documents: Mapping[str, Document],
    actions: ActionNames,
) -> None:
    """Add the galleries and accuracy facts of search entry ``search``."""
    payload = search.get("payload")
    thresholds = payload.get("thresholds") if isinstance(payload, Mapping) else None
    if not isinstance(thresholds, list):
        return
    for i, record in enumerate(thresholds):
        if not isinstance(record, Mapping):
            continue
        g = f"gallery.{i}" if prefix == "search" else f"gallery.{prefix}.{i}"
        name = record.get("gallery")
        at = f"/payload/thresholds/{i}"
        add = out.entry
        add("galleries", f"{g}.name", f"Gallery {i + 1} searched", search, f"{at}/gallery")
        add(
            "galleries",
            f"{g}.size",
            f"{name}: templates searched (the gallery's size at the time)",
            search,
            f"{at}/gallery_size",
        )
        add(
            "galleries",
            f"{g}.threshold",
            f"{name}: operating threshold (distance at most)",
            search,
            f"{at}/distance_micro",
        )
        add("galleries", f"{g}.model", f"{name}: model of its templates", search, f"{at}/model")
        add("galleries", f"{g}.target", f"{name}: target FPIR", search, f"{at}/target_fpir_nano")
        add(
            "galleries",
            f"{g}.in_range",
            f"{name}: threshold within the evaluation's measured range",
            search,
            f"{at}/within_measured_range",
        )
        a = g.replace("gallery", "accuracy", 1)
        if record.get("calibrated") is not True:
            add(
                "accuracy",
                f"{a}.evaluated",
                f"{name}: accuracy NOT EVALUATED — the threshold was not calibrated from a "
                "stored evaluation; it is the model's uncalibrated default",
                search,
                f"{at}/calibrated",
                keep_null=True,
            )
            continue
        add(
            "accuracy",
            f"{a}.evaluated",
            f"{name}: calibrated from a stored evaluation",
            search,
            f"{at}/calibrated",
        )
        add("accuracy", f"{a}.evaluation", f"{name}: evaluation id", search, f"{at}/evaluation_id")
        activation = _find(
            entries, actions.model_activate, "activation_id", record.get("activation_id")
        )
        if activation is not None:
            _activation_facts(out, a, str(name), activation)
        evaluation = _find(
            entries, actions.model_evaluation, "evaluation_id", record.get("evaluation_id")
        )
        if evaluation is None:
            continue
        _evaluation_facts(out, a, str(name), evaluation)
        document = documents.get(evaluation_document_id(record["evaluation_id"]))
        if document is not None and document.anchor.seq == evaluation["seq"]:
            _summary_facts(out, a, str(name), document)


def _activation_facts(out: Collector, a: str, name: str, e: Entry) -> None:
    add = out.entry
    add(
        "accuracy",
        f"{a}.activated",
        f"{name}: deployment gate passed, model activated at (UTC)",
        e,
        "/ts",
    )
    add("accuracy", f"{a}.activated_by", f"{name}: activated by (ledger actor)", e, "/actor")
    add(
        "accuracy",
        f"{a}.activation_profile",
        f"{name}: profile whose bounds were met",
        e,
        "/payload/profile",
    )
    add(
        "accuracy",
        f"{a}.activation_target",
        f"{name}: target FPIR at activation",
        e,
        "/payload/target_fpir_nano",
    )
    add(
        "accuracy",
        f"{a}.activation_size",
        f"{name}: gallery size at activation",
        e,
        "/payload/gallery_size",
    )
    add(
        "accuracy",
        f"{a}.activation_threshold",
        f"{name}: threshold at activation (distance at most)",
        e,
        "/payload/threshold_micro",
    )


def _evaluation_facts(out: Collector, a: str, name: str, e: Entry) -> None:
    add = out.entry
    add("accuracy", f"{a}.model", f"{name}: model evaluated", e, "/payload/model")
    add("accuracy", f"{a}.dataset", f"{name}: evaluation data set", e, "/payload/dataset")
    add(
        "accuracy",
        f"{a}.fingerprint",
        f"{name}: fingerprint of the evaluation data set",
        e,
        "/payload/dataset_fingerprint",
    )
    add("accuracy", f"{a}.recorded", f"{name}: evaluation stored at (UTC)", e, "/ts")
    for key, label in _FIGURES:
        add("accuracy", f"{a}.figure.{key}", f"{name}: {label}", e, f"/payload/figures/{key}")
    add(
        "accuracy",
        f"{a}.summary_sha256",
        f"{name}: SHA-256 of the stored evaluation summary",
        e,
        "/payload/summary_sha256",
    )


def _summary_facts(out: Collector, a: str, name: str, doc: Document) -> None:
    """Figures of the evaluation summary (floats as measured, with 95% intervals)."""
    data: Mapping[str, Any] = doc.data
    s = f"{a}.summary"

    def add(key: str, label: str, *tokens: str) -> None:
        out.document("accuracy", f"{s}.{key}", f"{name}: {label}", doc, pointer(*tokens))

    add("rank1", "rank-1 identification rate (evaluation summary)", "one_to_n", "rank1")
    add("rank1_ci", "rank-1 rate, 95% interval", "one_to_n", "rank1_ci")
    add("rank", "candidate list length R of the rank figures", "one_to_n", "rank")
    add("gallery", "evaluation gallery size", "one_to_n", "gallery_size")
    one_to_n = data.get("one_to_n") if isinstance(data.get("one_to_n"), Mapping) else {}
    fnir = one_to_n.get("fnir_at_fpir") if isinstance(one_to_n, Mapping) else None
    if isinstance(fnir, Mapping):
        for fpir in sorted(fnir):
            add(f"fnir.{fpir}", f"FNIR at FPIR {fpir}", "one_to_n", "fnir_at_fpir", fpir, "fnir")
            add(
                f"fnir.{fpir}.ci",
                f"FNIR at FPIR {fpir}, 95% interval",
                "one_to_n",
                "fnir_at_fpir",
                fpir,
                "ci",
            )
    add("fte", "failure-to-enrol rate (evaluation summary)", "fte", "rate")
    add("eer", "equal error rate, one-to-one", "one_to_one", "eer")
    add("eer_ci", "equal error rate, 95% interval", "one_to_one", "eer_ci")
    add("labels", "demographic labels", "demographics", "label_statement")
    add("label_source", "demographic label source", "demographics", "label_source")
    add("max_fmr_ratio", "largest FMR ratio between groups", "demographics", "max_fmr_ratio")
    add("max_fnmr_ratio", "largest FNMR ratio between groups", "demographics", "max_fnmr_ratio")
    add("unbounded", "ratios without a bound", "demographics", "unbounded_ratios")
    demographics = data.get("demographics")
    columns = demographics.get("columns") if isinstance(demographics, Mapping) else None
    if isinstance(columns, Mapping):
        for column in sorted(columns):
            groups = columns[column].get("groups") if isinstance(columns[column], Mapping) else None
            for j, group in enumerate(groups if isinstance(groups, list) else []):
                label = group.get("group") if isinstance(group, Mapping) else j
                add(
                    f"group.{column}.{j}",
                    f"{column} = {label}: FMR and FNMR with 95% intervals",
                    "demographics",
                    "columns",
                    column,
                    "groups",
                    str(j),
                )
            add(
                f"ratio.{column}.fmr",
                f"{column}: FMR ratio",
                "demographics",
                "columns",
                column,
                "fmr_ratio",
            )
            add(
                f"ratio.{column}.fnmr",
                f"{column}: FNMR ratio",
                "demographics",
                "columns",
                column,
                "fnmr_ratio",
            )
    if data.get("notes"):
        add("notes", "notes of the evaluation", "notes")
