"""Witnesses as real processes: three `faceledger witness serve` on loopback (one stopped), a
unit with a real ledger pushing its checkpoints to them, the quorum over what they cosigned, a
split view by a forked copy of the unit, and pull mode (`faceledger witness cosign`) against a
unit whose app (what `faceledger serve` runs) is served by uvicorn on loopback."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger import FaceLedger
from faceledger.config import Settings
from faceledger.errors import VerificationFailed
from faceledger.ledger import load_public_key, load_signing_key
from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.cosignature import check_quorum, parse_vkey
from faceledger.ledger.cosignature_store import check_database_quorum, cosignatures_for
from faceledger.ledger.note import CheckpointNote, checkpoint_note, parse_checkpoint_note
from faceledger.server import create_app
from faceledger.service import local_operator
from faceledger.service.ledger_actions import LedgerAction
from faceledger.witness import WitnessDir, cosign_from_unit
from faceledger.witness.client import post_add_checkpoint
from tests.backends import copy_data_dir
from tests.conftest import ACTOR, make_settings
from tests.integration.api.conftest import serving

FACELEDGER = str(Path(sys.executable).with_name("faceledger"))
QUIET = {"checkpoint_every_entries": 0, "checkpoint_every_minutes": 0, "jobs_every_seconds": 0}
"""Checkpoints only when the test signs one, so every size below is the test's own."""


@dataclass
class Witness:
    """A witness directory and, while it runs, its `faceledger witness serve` process."""

    name: str
    path: Path
    vkey: str
    process: subprocess.Popen[str] | None = None
    url: str = ""
    stderr: str = ""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FACELEDGER, *args], capture_output=True, text=True, timeout=120)


def _init_witnesses(root: Path, log_key: Path, names: list[str]) -> list[Witness]:
    # The first through the real command; the rest through the same code in-process, to spare
    # the suite the CLI's start-up.
    made = []
    for i, name in enumerate(names):
        if i == 0:
            done = _run(
                "witness", "init", str(root / name), "--name", name, "--log-key", str(log_key)
            )
            assert done.returncode == 0, done.stderr
            vkey = done.stdout.strip().splitlines()[-1]
            assert (root / name / "witness_private_key.pem").stat().st_mode & 0o077 == 0
        else:
            vkey = WitnessDir.create(root / name, name, load_public_key(log_key)).identity.vkey()
        assert parse_vkey(vkey).name == name
        made.append(Witness(name, root / name, vkey))
    return made


def _start(witnesses: list[Witness]) -> None:
    for w in witnesses:
        w.process = subprocess.Popen(
            [FACELEDGER, "witness", "serve", str(w.path), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for w in witnesses:
        assert w.process is not None and w.process.stdout is not None
        line = w.process.stdout.readline()  # printed once listening
        found = re.search(r"listening on (http://\S+)", line)
        assert found, f"{w.name} did not start: {line!r}"
        w.url = found.group(1)


def _stop(w: Witness) -> None:
    if w.process is None:
        return
    w.process.terminate()
    try:
        _, w.stderr = w.process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        w.process.kill()
        w.process.communicate()
    assert w.process.returncode == 0, f"{w.name} did not stop cleanly: {w.stderr}"
    w.process = None


@pytest.fixture
def witnesses(tmp_path: Path, unit_dir: Path) -> Iterator[list[Witness]]:
    made = _init_witnesses(
        tmp_path / "witnesses",
        unit_dir / "keys" / "ledger_public_key.pem",
        ["w1.example/clerk", "w2.example/aclu", "w3.example/press", "w4.example/pull"],
    )
    try:
        _start(made[:3])
        yield made
    finally:
        for w in made:
            if w.process is not None:
                w.process.kill()
                w.process.communicate()


@pytest.fixture
def unit_dir(tmp_path: Path) -> Path:
    data = tmp_path / "unit"
    FaceLedger.initialise(make_settings(data, **QUIET), ACTOR.ledger_actor).close()
    return data


def _open(data: Path, witnesses: list[Witness], keys: list[Witness]) -> FaceLedger:
    settings: Settings = make_settings(
        data,
        **QUIET,
        witness_urls=",".join(w.url for w in witnesses),
        witness_keys=",".join(w.vkey for w in keys),
    )
    return FaceLedger(settings)


def _grow_and_sign(service: FaceLedger, n: int, tag: str) -> int:
    with service.context.db.transaction() as session:
        for i in range(n):
            service.context.ledger.append(
                session,
                actor="local:test",
                action=LedgerAction.JOBS_RUN,
                object_type="test",
                object_id=f"{tag}-{i}",
                payload={"tag": tag, "i": i},
            )
    return service.audit.sign_checkpoint(ACTOR).tree_size


def _submissions_are_checked(
    client: httpx.Client, data: Path, log_key: Ed25519PublicKey, note: CheckpointNote, size: int
) -> None:
    """The unit stores only cosignatures that verify under a trusted key, on a checkpoint it
    signed: 422 for a tampered note or an untrusted one, 404 for a checkpoint never signed."""
    path = "/api/v1/ledger/cosignatures"
    lines = checkpoint_note(note.checkpoint(0), log_key, note.others).split("\n")
    lines[1] = str(size + 1)
    assert client.post(path, content="\n".join(lines)).status_code == 422  # log signature
    never = sign_checkpoint(
        load_signing_key(data / "keys" / "ledger_private_key.pem"),
        number=0,
        log_id=note.log_id,
        tree_size=size + 100,
        root_hash=bytes(32),
        timestamp=dt.datetime.now(dt.UTC),
    )
    unknown = client.post(path, content=checkpoint_note(never, log_key, note.others))
    assert unknown.status_code == 404, unknown.text
    bare = client.post(path, content=checkpoint_note(note.checkpoint(0), log_key))
    assert bare.status_code == 422 and "trusts" in bare.text


def test_witnesses_cosign_refuse_a_split_view_and_pull(
    tmp_path: Path, unit_dir: Path, witnesses: list[Witness]
) -> None:
    w1, w2, w3, w4 = witnesses
    _stop(w3)  # offline from now on: its URL answers nothing
    keys = [parse_vkey(w.vkey) for w in (w1, w2, w3)]
    log_key = load_public_key(unit_dir / "keys" / "ledger_public_key.pem")

    # -- push: two of three witnesses cosign, the offline one is reported --------------------
    service = _open(unit_dir, [w1, w2, w3], [w1, w2, w3, w4])
    try:
        first = _grow_and_sign(service, 3, "a")
        report = service.witnesses.collect(ACTOR)
        status = {o.url: o.status for o in report.outcomes}
        assert status == {w1.url: "ok", w2.url: "ok", w3.url: "offline"}, report.to_dict()
        assert all(o.stored for o in report.outcomes if o.status == "ok")
        # The log grows; the witnesses check the consistency proof from `first`.
        second = _grow_and_sign(service, 5, "b")
        report = service.witnesses.collect(ACTOR)
        assert [o.old_size for o in report.outcomes if o.status == "ok"] == [first, first]
        assert report.cosigned == 2 and report.tree_size == second
        with service.context.db.read() as session:
            stored = cosignatures_for(session.connection(), report.checkpoint or 0)
        assert [s.name for s in stored] == [w1.name, w2.name]

        # -- the quorum: 2 met, 3 not met --------------------------------------------------
        note = parse_checkpoint_note(service.witnesses.witnessed_note(), log_key)
        assert note.tree_size == second
        assert check_quorum(note, keys, 2) == [w1.name, w2.name]
        with pytest.raises(VerificationFailed) as caught:
            check_quorum(note, keys, 3)
        assert caught.value.details["reason"] == "quorum_not_met"
        assert caught.value.details["missing"] == [w3.name]
        db_url = service.settings.db_url
        assert check_database_quorum(db_url, log_key, keys, 2) == [w1.name, w2.name]

        # -- the due jobs push a new checkpoint to the witnesses by themselves ---------------
        third = _grow_and_sign(service, 2, "jobs")
        done = service.jobs.run_due(local_operator())
        assert done.errors == (), done.errors
        assert done.witnesses is not None and done.witnesses.tree_size == third
        assert done.witnesses.cosigned == 2, done.witnesses.to_dict()
    finally:
        service.close()

    # -- a split view: a copy of the unit, same key, different entries, same size -----------
    fork_dir = tmp_path / "fork"
    copy_data_dir(unit_dir, fork_dir)
    service = _open(unit_dir, [w1, w2], [w1, w2, w3, w4])
    try:
        size = _grow_and_sign(service, 2, "original")
        assert service.witnesses.collect(ACTOR).cosigned == 2
    finally:
        service.close()
    fork = _open(fork_dir, [w1], [w1, w2, w3, w4])
    try:
        assert _grow_and_sign(fork, 2, "forked") == size
        report = fork.witnesses.collect(ACTOR)
        (outcome,) = report.outcomes
        assert outcome.status == "refused" and "Split view" in outcome.reason, outcome
        assert outcome.old_size == size  # it retried with the size the witness reported
        with fork.context.db.read() as session:
            assert cosignatures_for(session.connection(), report.checkpoint or 0) == []
        forked_note = fork.witnesses.witnessed_note()
        with httpx.Client(timeout=10) as client:
            answer = post_add_checkpoint(client, w1.url, size, (), forked_note)
        assert answer.status == 409 and "Split view" in answer.text
    finally:
        fork.close()
    evidence = list((w1.path / "evidence").glob("split-view-*.txt"))
    assert len(evidence) == 1
    assert forked_note.split("\n\n")[0] in evidence[0].read_text()
    assert list((w2.path / "evidence").iterdir()) == []  # w2 never saw the fork

    # -- pull mode against the forked unit, its app served by uvicorn on loopback ----------
    fork = _open(fork_dir, [], [w4, w1])
    try:
        with serving(create_app(fork)) as client:
            url = str(client.base_url)
            fresh = _run("witness", "cosign", str(w4.path), "--log", url)
            assert fresh.returncode == 0, fresh.stdout + fresh.stderr
            assert f"at size {size}" in fresh.stdout and "stored" in fresh.stdout
            again = cosign_from_unit(WitnessDir.open(w4.path), url + "/api/v1")
            assert again.again and again.stored == []
            served = client.get("/api/v1/ledger/checkpoints/latest/note")
            assert served.status_code == 200
            assert served.headers["content-type"].startswith("text/plain")
            pulled = parse_checkpoint_note(served.text, log_key)
            assert check_quorum(pulled, [parse_vkey(w4.vkey)], 1) == [w4.name]
            # w1 cosigned the original at this size: pulling the fork is a split view, exit 2.
            split = _run("witness", "cosign", str(w1.path), "--log", url)
            assert split.returncode == 2, split.stdout + split.stderr
            assert "Split view" in split.stderr and "split_view" in split.stderr
            _submissions_are_checked(client, fork_dir, log_key, pulled, size)
            proof = client.get("/api/v1/ledger/consistency", params={"old": first, "new": size})
            assert proof.status_code == 200 and proof.json()["old_size"] == first
    finally:
        fork.close()
    _stop(w1)
    _stop(w2)
    assert "SPLIT VIEW" in w1.stderr
