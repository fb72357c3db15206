"""The command line over a real data directory: output, JSON, exit codes 0/1/2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.models import ViolationRow
from faceledger.governance.policy import UNSAFE_LAB_PROFILE
from faceledger.service import FaceLedger
from tests.conftest import make_settings

# Ad-hoc search and verify run only under the (unsafe) lab profile, which warns on every use.
pytestmark = [
    pytest.mark.slow,  # the real face models enrol the gallery the tests use
    pytest.mark.filterwarnings("ignore::faceledger.governance.policy.UnsafeProfileWarning"),
]

runner = CliRunner()


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path) -> Path:
    """A lab data directory (ad-hoc search and verify allowed) with gallery 'g'."""
    folder = tmp_path_factory.mktemp("cli") / "data"
    tree = folder.parent / "people"
    for name in ("obama", "biden", "kit_harington"):
        shutil.copytree(faces_dir / "people" / name, tree / name)
    assert cli(folder, "init", env={"FACELEDGER_POLICY_PROFILE": "lab"})[0] == 0
    code, out, err = cli(folder, "enroll", str(tree), "--gallery", "g", "--json")
    assert code == 0, err
    assert json.loads(out)["enrolled"] == 9
    return folder


def test_gallery_list_and_show(data_dir: Path) -> None:
    code, out, _ = cli(data_dir, "gallery", "list", "--json")
    assert code == 0
    (listed,) = json.loads(out)
    assert listed == {
        "id": 1,
        "name": "g",
        "description": "",
        "subjects": 3,
        "photos": 9,
        "templates": 9,
        "model": listed["model"],
        "activation_id": None,
    }
    assert listed["model"].startswith("opencv_zoo_sface_2021dec ")
    code, out, _ = cli(data_dir, "gallery", "show", "g", "--json")
    assert {s["external_id"] for s in json.loads(out)["subjects"]} == {
        "obama",
        "biden",
        "kit_harington",
    }


def test_search_json_and_table(data_dir: Path, faces_dir: Path) -> None:
    probe = faces_dir / "groups" / "two_people.jpg"
    code, out, _ = cli(data_dir, "search", str(probe), "-g", "g", "-k", "2", "--json")
    assert code == 0
    result = json.loads(out)
    assert sorted(f["candidates"][0]["external_id"] for f in result["faces"]) == ["biden", "obama"]
    assert all(len(f["candidates"]) == 2 for f in result["faces"])
    code, out, _ = cli(data_dir, "search", str(probe))
    assert code == 0
    assert "investigative leads only" in out and "obama" in out


def test_search_and_verify_are_refused_outside_the_lab_profile(
    tmp_path: Path, faces_dir: Path
) -> None:
    data = tmp_path / "data"
    assert cli(data, "init")[0] == 0  # the default profile, massachusetts
    people = faces_dir / "people"
    code, out, err = cli(data, "search", str(people / "obama/obama1.jpg"))
    assert code == 2 and out == ""
    assert "massachusetts profile refuses" in err and "search.adhoc" in err
    pair = (str(people / "obama/obama1.jpg"), str(people / "amy/amy1.png"))
    code, out, err = cli(data, "verify", *pair)
    assert code == 2 and out == ""
    assert "massachusetts profile refuses" in err and "verify.adhoc" in err
    assert UNSAFE_LAB_PROFILE not in err
    code, out, _ = cli(data, "ledger", "entries", "--action", "access.denied", "--json")
    denied = json.loads(out)
    assert code == 0 and len(denied) == 2
    code, out, _ = cli(data, "ledger", "entries", "--action", "search.run", "--json")
    assert json.loads(out) == []
    service = FaceLedger(make_settings(data))
    try:
        with service.context.db.read() as session:
            rows = session.scalars(select(ViolationRow).order_by(ViolationRow.id)).all()
            found = [(r.kind, r.details["attempted"], r.actor) for r in rows]
    finally:
        service.close()
    me = LocalOperator.current().ledger_actor
    assert found == [
        ("forbidden_attempt", "search.adhoc", me),
        ("forbidden_attempt", "verify.adhoc", me),
    ]


def test_search_with_nobody_within_threshold_exits_1(data_dir: Path, faces_dir: Path) -> None:
    code, out, _ = cli(data_dir, "search", str(faces_dir / "people/amy/amy1.png"), "--json")
    assert code == 1
    assert not any(c["within_threshold"] for c in json.loads(out)["faces"][0]["candidates"])


def test_verify_exit_codes(data_dir: Path, faces_dir: Path) -> None:
    people = faces_dir / "people"
    same = cli(
        data_dir, "verify", str(people / "obama/obama1.jpg"), str(people / "obama/obama2.jpg")
    )
    other = cli(data_dir, "verify", str(people / "obama/obama1.jpg"), str(people / "amy/amy1.png"))
    assert same[0] == 0 and "within the threshold" in same[1]
    assert other[0] == 1 and "beyond the threshold" in other[1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["search", "{edge}/no_face_white.png"], "no face was found"),
        (["search", "{people}/obama/obama1.jpg", "-g", "nope"], "No gallery named 'nope'"),
        (["gallery", "delete", "g"], "Give exactly one of --subject or --photo"),
        (["gallery", "delete", "g", "--subject", "ghost"], "has no subject 'ghost'"),
        (["gallery", "create", "Bad Name"], "is not allowed"),
    ],
)
def test_errors_exit_2_with_a_message(
    data_dir: Path, faces_dir: Path, args: list[str], words: str
) -> None:
    filled = [a.format(edge=faces_dir / "edge", people=faces_dir / "people") for a in args]
    code, _, err = cli(data_dir, *filled)
    assert code == 2
    assert words in err


def test_uninitialised_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = cli(tmp_path / "nothing", "gallery", "list")
    assert code == 2
    assert "faceledger init" in err


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--data-dir", str(tmp_path), "config"], env={"FACELEDGER_TOP_K": "many"}
    )
    assert result.exit_code == 2
    assert "top_k" in result.stderr and "'many'" in result.stderr


def test_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("faceledger")
    completed = subprocess.run(
        [str(script), "--data-dir", str(tmp_path / "d"), "init"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "d" / "keys" / "ledger_public_key.pem").is_file()
