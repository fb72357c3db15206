"""Account commands over a real data directory: login sessions, role refusals, exit codes."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from faceledger.cli import app
from faceledger.cli.session import SESSION_FILE_ENV, session_path
from faceledger.service import FaceLedger
from tests.backends import copy_data_dir
from tests.conftest import make_settings

PASSWORD = "a long enough passphrase"

runner = CliRunner()


class Cli:
    """Runs command lines on one data directory, as whoever's session file is named."""

    def __init__(self, data_dir: Path, sessions: Path) -> None:
        self.data_dir, self.sessions = data_dir, sessions

    def session_file(self, who: str) -> Path:
        return self.sessions / f"{who}.json"

    def __call__(self, line: str, who: str, input: str | None) -> Any:
        args = ["--data-dir", str(self.data_dir), *shlex.split(line)]
        env = {SESSION_FILE_ENV: str(self.session_file(who))}
        return runner.invoke(app, args, input=input, env=env)

    def ok(self, line: str, who: str = "root", input: str | None = None) -> str:
        result = self(line, who, input)
        assert result.exit_code == 0, result.stderr
        return str(result.stdout)

    def fails(self, line: str, who: str = "root", input: str | None = None) -> str:
        result = self(line, who, input)
        assert result.exit_code == 2, result.stdout
        return str(result.stderr)

    def login(self, who: str, password: str = PASSWORD) -> None:
        self.ok(f"login {who} --password-stdin", who, password + "\n")

    def create(self, username: str, role: str, agency: str = "operating-unit") -> None:
        """Create an account with password PASSWORD (as root), approved by the second
        supervisor 'sam' (whoever created an account may not approve it, R2)."""
        line = f"user create {username} --display-name 'The {role.title()}' --agency {agency}"
        self.ok(f"{line} --role {role} --password-stdin", input=PASSWORD + "\n")
        self.ok(f"user approve {username}", "sam")


@pytest.fixture(scope="module")
def root_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the bootstrap admin 'root' and the second supervisor 'sam'
    (bootstrap-supervisor), both with password PASSWORD, logged out."""
    folder = tmp_path_factory.mktemp("accounts-cli")
    shell = Cli(folder / "data", folder / "sessions")
    FaceLedger.initialise(make_settings(shell.data_dir), "test").close()
    out = shell.ok("user bootstrap-admin root --display-name 'Rosa Root' --json")
    generated = json.loads(out)["password"]
    shell.login("root", generated)
    # One's own password: the current one, then the new one.
    shell.ok("user set-password --password-stdin", input=f"{generated}\n{PASSWORD}\n")
    shell.login("root")
    out = shell.ok("user bootstrap-supervisor sam --display-name 'Sam Second' --json")
    sam = json.loads(out)
    assert sam["user"]["roles"] == ["supervisor"] and sam["user"]["approved"] is True
    shell.login("sam", sam["password"])
    shell.ok("user set-password --password-stdin", "sam", f"{sam['password']}\n{PASSWORD}\n")
    return shell.data_dir


@pytest.fixture
def cli(root_template: Path, tmp_path: Path) -> Iterator[Cli]:
    """A private copy of the template data directory, with 'root' logged in."""
    shell = Cli(tmp_path / "data", tmp_path / "sessions")
    copy_data_dir(root_template, shell.data_dir)
    shell.login("root")
    shell.login("sam")
    yield shell


def test_bootstrap_prints_the_password_once_and_refuses_a_second_time(cli: Cli) -> None:
    assert "Accounts exist already" in cli.fails("user bootstrap-admin other --display-name O")
    assert json.loads(cli.ok("whoami --json"))["roles"] == ["admin", "supervisor"]


def test_an_account_goes_from_creation_to_login(cli: Cli) -> None:
    until = str(dt.date.today() + dt.timedelta(days=100))
    cli.ok("agency create boston-pd --name 'Boston Police' --kind requesting_agency")
    agencies = json.loads(cli.ok("agency list --json"))
    assert [a["slug"] for a in agencies] == ["boston-pd", "operating-unit"]
    line = "user create alice --display-name 'Alice Adams' --agency boston-pd --role requester"
    cli.ok(f"{line} --password-stdin", input=PASSWORD + "\n")
    login = cli.fails("login alice --password-stdin", "alice", PASSWORD + "\n")
    assert "not been approved" in login
    refused = cli.fails("user approve alice")
    assert "root created account 'alice' and may not approve" in refused
    refused = cli.fails(f"user certify-training alice --until {until}")
    assert "root created account 'alice' and may not certify" in refused
    assert "approved alice" in cli.ok("user approve alice", "sam")
    cli.ok(f"user certify-training alice --until {until}", "sam")
    shown = json.loads(cli.ok("user show alice --json"))
    assert (shown["approved_by"], shown["training_certified_until"]) == ("sam", until)
    cli.login("alice")
    assert json.loads(cli.ok("whoami --json", "alice"))["agency"] == "boston-pd"
    listed = json.loads(cli.ok("user list --agency boston-pd --json"))
    assert [u["username"] for u in listed] == ["alice"]
    assert "alice" in cli.ok("user list") and "Alice Adams" in cli.ok("user show alice")


def test_a_generated_initial_password_is_printed_once(cli: Cli) -> None:
    line = "user create bob --display-name Bob --agency operating-unit --role examiner"
    created = json.loads(cli.ok(f"{line} --generate-password --json"))
    assert created["user"]["approved"] is False and len(created["password"]) == 24
    cli.ok("user approve bob", "sam")
    cli.login("bob", created["password"])


def test_the_session_file_is_private_and_holds_no_password(cli: Cli) -> None:
    path = cli.session_file("root")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = json.loads(path.read_text())
    assert set(record) == {"version", "username", "token", "data_dir", "logged_in_at"}
    assert record["username"] == "root" and PASSWORD not in path.read_text()
    path.chmod(0o644)
    assert "may be read by other users" in cli.fails("whoami")


def test_without_a_session_commands_ask_to_log_in(cli: Cli) -> None:
    assert "run `faceledger login USERNAME` first" in cli.fails("user list", "nobody")


def test_a_session_file_of_another_data_directory_is_refused(cli: Cli, tmp_path: Path) -> None:
    other = Cli(tmp_path / "other", cli.sessions)
    FaceLedger.initialise(make_settings(other.data_dir), "test").close()
    assert "is for the data directory" in other.fails("whoami")


def test_the_default_session_file_lives_in_the_data_directory(cli: Cli) -> None:
    env = {SESSION_FILE_ENV: None}  # unset: use <data_dir>/sessions/<os user>.json
    base = ["--data-dir", str(cli.data_dir)]
    result = runner.invoke(app, [*base, "login", "root", "--password-stdin"], PASSWORD, env=env)
    assert result.exit_code == 0, result.stderr
    path = session_path(make_settings(cli.data_dir), environ={})
    assert path.parent == cli.data_dir / "sessions" and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert runner.invoke(app, [*base, "logout"], env=env).exit_code == 0
    assert not path.exists()


def test_logout_ends_the_session(cli: Cli) -> None:
    assert "logged out" in cli.ok("logout")
    assert not cli.session_file("root").exists()
    assert "faceledger login" in cli.fails("whoami")
    assert "not logged in" in cli.ok("logout")


def test_a_refused_command_exits_2_with_the_reason(cli: Cli) -> None:
    cli.create("rita", "requester")
    cli.login("rita")
    refused = cli.fails("agency create x-pd --name X --kind operating_unit", "rita")
    assert "rita may not create an agency (agency.create)" in refused
    assert "needs one of the roles admin; rita has requester" in refused
    refused = cli.fails("user list", "rita")
    assert "rita may not list accounts (user.list)" in refused
    assert "needs one of the roles admin, auditor, supervisor" in refused


def test_disabling_ends_the_session_and_a_new_password_logs_out(cli: Cli) -> None:
    cli.create("erin", "examiner")
    cli.login("erin")
    cli.ok("user disable erin")
    assert "session was ended" in cli.fails("whoami", "erin")
    assert "is disabled" in cli.fails("login erin --password-stdin", "erin", PASSWORD + "\n")
    cli.ok("user enable erin")
    cli.login("erin")
    refused = cli.fails("user set-password --password-stdin", "erin", "a wrong passphrase\n" * 2)
    assert "password" in refused.lower() and cli.session_file("erin").exists()
    new = f"{PASSWORD}\na fresh new passphrase\n"
    out = cli.ok("user set-password --password-stdin", "erin", new)
    assert "log in again" in out and not cli.session_file("erin").exists()
    cli.login("erin", "a fresh new passphrase")


@pytest.mark.parametrize(
    ("line", "words", "stdin"),
    [
        ("user certify-training root --until 31/12/2099", "YYYY-MM-DD", None),
        ("user certify-training root --until 2099-12-31", "another supervisor", None),
        ("user show ghost", "No account named 'ghost'", None),
        ("user disable root", "last active admin", None),
        ("agency create 'Bad Slug' --name B --kind operating_unit", "Agency slug", None),
        ("user set-password --password-stdin", "at least 12 characters", f"{PASSWORD}\n"),
        ("user set-password --password-stdin", "No password on standard input", ""),
        ("login root --password-stdin", "Unknown username or wrong password", None),
    ],
)
def test_errors_exit_2_with_a_message(cli: Cli, line: str, words: str, stdin: str | None) -> None:
    # Each command reads "too short" as its (last) password from standard input.
    text = "too short\n" if stdin is None else (f"{stdin}too short\n" if stdin else "")
    assert words in cli.fails(line, input=text)
