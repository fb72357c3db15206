"""The README stays true: every CLI command and every setting is documented there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from faceledger.cli import app
from faceledger.config import describe_settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def command_paths(command: Any, prefix: str = "faceledger") -> list[str]:
    if hasattr(command, "commands"):  # a group (Typer may ship its own click)
        return [
            path
            for name, sub in sorted(command.commands.items())
            for path in command_paths(sub, f"{prefix} {name}")
        ]
    return [prefix]


COMMANDS = command_paths(typer.main.get_command(app))


def test_there_are_commands_to_check() -> None:
    assert "faceledger ledger verify" in COMMANDS
    assert len(COMMANDS) > 20


@pytest.mark.parametrize("command", COMMANDS)
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    assert f"`{command}" in README, f"README does not document `{command}`"


@pytest.mark.parametrize("setting", [row[1] for row in describe_settings()])
def test_every_setting_is_in_the_readme(setting: str) -> None:
    assert f"`{setting}`" in README, f"README does not document {setting}"


def test_readme_access_and_ledger_tables_are_generated_from_the_registry() -> None:
    from faceledger.docs import render

    assert render(README) == README, "run `python -m faceledger.docs` to regenerate the tables"


def test_readme_access_table_names_every_registry_action() -> None:
    from faceledger.governance.actions import ACTIONS

    for name, spec in ACTIONS.items():
        assert f"| `{name}` | {spec.description}" in README


SRC = Path(__file__).resolve().parents[2] / "src" / "faceledger"


@pytest.mark.parametrize(
    "path", sorted(p for p in SRC.rglob("*.py") if "ledger" not in p.relative_to(SRC).parts[:1])
)
def test_ledger_actions_come_from_the_catalogue(path: Path) -> None:
    """No use case writes an action name of its own: each is a LedgerAction member."""
    import re

    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\baction=\"[a-z]", text), f"{path} writes a literal ledger action"
