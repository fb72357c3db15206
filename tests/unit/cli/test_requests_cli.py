"""The request lifecycle from the command line, each person with their own session file."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceledger.cli import app

pytestmark = pytest.mark.slow  # the real face models

runner = CliRunner()
PASSWORD = "correct horse battery staple"


class Desk:
    """One data directory; each username acts through its own session file."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def run(self, who: str | None, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        env = {"FACELEDGER_SESSION_FILE": str(self.data_dir.parent / f"{who}.session")}
        result = runner.invoke(app, ["--data-dir", str(self.data_dir), *args], input=stdin, env=env)
        return result.exit_code, result.stdout, result.stderr

    def ok(self, who: str | None, *args: str, stdin: str | None = None) -> str:
        code, out, err = self.run(who, *args, stdin=stdin)
        assert code == 0, f"{args}: {err}"
        return out

    def json(self, who: str | None, *args: str) -> dict:  # type: ignore[type-arg]
        return json.loads(self.ok(who, *args, "--json"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, sface_evaluation: Path) -> Desk:
    root = tmp_path_factory.mktemp("desk")
    tree = root / "people"
    for name in ("obama", "biden", "amy"):
        shutil.copytree(faces_dir / "people" / name, tree / name)
    desk = Desk(root / "data")
    desk.ok(None, "init")
    desk.ok(None, "enroll", str(tree), "--gallery", "booking")
    # The deployment gate, by the local operator: the real evaluation of the model, stored
    # and activated for the gallery.
    stored = desk.ok(None, "model", "store", str(sface_evaluation))
    assert "stored evaluation 1 of opencv_zoo_sface_2021dec" in stored
    listed = desk.json(None, "model", "evaluations")
    assert [e["figures"]["unmeasured_ratios"] for e in listed] == [["race_id:fnmr"]]
    activated = desk.json(None, "gallery", "activate", "booking", "--evaluation", "1")
    assert activated["gallery_size"] == 11 and activated["target_fpir"] == 0.003
    boot = desk.json(
        None,
        "user",
        "bootstrap-admin",
        "admin",
        "--display-name",
        "Ada Admin",
        "--agency-slug",
        "ma-state-police",
        "--agency-name",
        "MSP unit",
    )
    desk.ok("admin", "login", "admin", "--password-stdin", stdin=boot["password"] + "\n")
    desk.ok(
        "admin",
        "agency",
        "create",
        "boston-pd",
        "--name",
        "Boston PD",
        "--kind",
        "requesting_agency",
    )
    # Whoever created an account may not approve it or certify its training (R2): the unit's
    # second supervisor, made once with bootstrap-supervisor, does both.
    sup = desk.json("admin", "user", "bootstrap-supervisor", "sup", "--display-name", "Sue Sup")
    desk.ok("sup", "login", "sup", "--password-stdin", stdin=sup["password"] + "\n")
    until = (dt.date.today() + dt.timedelta(days=100)).isoformat()
    # Four different people per request: requester, operator, first and peer reviewer.
    for user, agency, roles in (
        ("det", "boston-pd", ["requester"]),
        ("ex1", "ma-state-police", ["examiner"]),
        ("ex2", "ma-state-police", ["examiner"]),
        ("ex3", "ma-state-police", ["examiner", "reviewer"]),
    ):
        role_args = [a for r in roles for a in ("--role", r)]
        desk.ok(
            "admin",
            "user",
            "create",
            user,
            "--display-name",
            user.upper(),
            "--agency",
            agency,
            *role_args,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        code, _, err = desk.run("admin", "user", "approve", user)
        assert code == 2 and "admin created account" in err
        desk.ok("sup", "user", "approve", user)
        desk.ok("sup", "user", "certify-training", user, "--until", until)
        desk.ok(user, "login", user, "--password-stdin", stdin=PASSWORD + "\n")
    return desk


def file_args(faces_dir: Path, offence: str) -> list[str]:
    today = dt.date.today()
    return [
        "request",
        "file",
        "--probe",
        str(faces_dir / "people/obama/obama_small.jpg"),
        "--case",
        "BPD-77",
        "--offence",
        offence,
        "--narrative",
        "Armed robbery at a bank; the teller photographed the robber at the counter.",
        "--basis",
        "court_order",
        "--court",
        "Suffolk Superior",
        "--order-id",
        "SO-9",
        "--judge",
        "Hon. B",
        "--issued",
        (today - dt.timedelta(days=1)).isoformat(),
        "--expires",
        (today + dt.timedelta(days=9)).isoformat(),
        "--attest",
        "--attestation",
        "Not sought for any protected activity.",
        "-g",
        "booking",
    ]


def test_file_search_review_release_and_use(desk: Desk, faces_dir: Path) -> None:
    filed = desk.json("det", *file_args(faces_dir, "armed_robbery"))
    assert filed["state"] == "approved"
    rid = str(filed["id"])
    searched = desk.json("ex1", "request", "search", rid)
    candidates = searched["run"]["candidates"]
    assert candidates[0]["external_id"] == "obama"
    marks = [f"{c['id']}={'possible_lead' if c['rank'] == 1 else 'not_match'}" for c in candidates]
    mark_args = [a for m in marks for a in ("--mark", m)]
    code, _, err = desk.run("ex1", "review", "submit", rid, *mark_args)
    assert code == 2 and "request.review.first" in err  # the operator may not review
    assert desk.json("ex2", "review", "submit", rid, *mark_args)["state"] == "reviewed"
    code, _, err = desk.run("ex2", "review", "submit", rid, *mark_args)
    assert code == 2 and "ex2 is the first reviewer of request 1" in err
    assert "(request.review.peer)" in err and "four different people (R10)" in err
    assert desk.json("ex3", "review", "submit", rid, *mark_args)["state"] == "peer_reviewed"
    released = desk.json("ex1", "request", "release", rid)
    assert released["release"]["caveat"].startswith("investigative lead only")
    seen = desk.json("det", "request", "show", rid)
    assert [c["external_id"] for c in seen["run"]["candidates"]] == ["obama"]
    lead = str(seen["run"]["candidates"][0]["id"])
    code, _, err = desk.run(
        "det", "request", "use-lead", rid, "--candidate", lead, "--use", "warrant"
    )
    assert code == 2 and "corroborating evidence" in err
    used = desk.json(
        "det",
        "request",
        "use-lead",
        rid,
        "--candidate",
        lead,
        "--use",
        "warrant",
        "--corroboration",
        "Witness ID W-3",
    )
    assert used["lead_uses"][0]["use"] == "warrant"
    violations = desk.json("admin", "violations", "list")
    assert any("R11" in v["requirements"] for v in violations["items"])
    assert "OK" in desk.ok(None, "ledger", "verify")


def test_denied_request_lists_every_reason(desk: Desk, faces_dir: Path) -> None:
    code, _, err = desk.run(
        "det", *file_args(faces_dir, "shoplifting"), "--probe-source", "video_frame"
    )
    assert code == 2
    assert "misdemeanour" in err and "video_frame" in err
    listed = desk.json("admin", "request", "list", "--state", "denied")
    assert listed["total"] >= 1


def test_role_and_session_errors(desk: Desk, faces_dir: Path) -> None:
    code, _, err = desk.run("nobody", "request", "list")
    assert code == 2 and "faceledger login" in err
    code, _, err = desk.run("det", "violations", "list")
    assert code == 2 and "det may not list violations (violations.read)" in err
    assert "needs one of the roles admin, auditor, supervisor" in err
    code, _, err = desk.run("det", "policy", "set", "lab")
    assert code == 2 and "(policy.propose)" in err and "roles admin; det has requester" in err


def test_policy_show_and_offences(desk: Desk) -> None:
    shown = desk.json("admin", "policy", "show")
    assert shown["name"] == "massachusetts" and shown["max_candidates"] >= 1
    offences = desk.json("admin", "policy", "offences")
    assert any(o["code"] == "armed_robbery" for o in offences["offences"])
