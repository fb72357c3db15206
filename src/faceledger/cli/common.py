"""Shared CLI plumbing: settings from the global options, output, and error handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from faceledger.config import Settings, load_settings
from faceledger.errors import FaceLedgerError

if TYPE_CHECKING:
    from faceledger.biometrics.pipeline import FacePipeline

EXIT_OK = 0
EXIT_NO_RESULT = 1
EXIT_ERROR = 2

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class CliState:
    """Options given before the command name."""

    overrides: dict[str, Any] = field(default_factory=dict)
    pipeline: FacePipeline | None = None
    """The face pipeline of the service the commands open (None: the configured one). A caller
    that runs the CLI in-process may hand one in, e.g. tests a FAKE one (tests/fakes.py)."""
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """Settings from the environment, config file and global options (read once)."""
        if self._settings is None:
            self._settings = load_settings(self.overrides)
        return self._settings


def state(ctx: typer.Context) -> CliState:
    """Return the CLI state stored by the main callback."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


def fail(error: FaceLedgerError) -> NoReturn:
    """Print an error for a person and exit with status 2."""
    err_console.print(f"[bold red]error:[/] {error.message}", highlight=False)
    for key, value in error.details.items():
        if isinstance(value, list):
            for item in value:
                err_console.print(f"  - {key}: {item}", highlight=False)
        else:
            err_console.print(f"  {key}: {value}", highlight=False)
    raise typer.Exit(EXIT_ERROR)


@contextmanager
def handled() -> Iterator[None]:
    """Turn faceledger errors into a message and exit status 2."""
    try:
        yield
    except FaceLedgerError as error:
        fail(error)


def bounded(minimum: int = 1) -> Callable[[typer.CallbackParam, int | None], int | None]:
    """Return a typer callback that takes a whole number from ``minimum`` to
    :data:`~faceledger.governance.inputs.MAX_ID` (None, an option not given, passes): ids,
    entry numbers, limits and offsets, so none reaches the database beyond what it can hold
    (a Python int past 2**63 - 1 would overflow the driver). Out of range, the error names
    the option and the range, and the command exits 2 without opening the service."""
    from faceledger.governance.inputs import check_id

    def check(param: typer.CallbackParam, value: int | None) -> int | None:
        if value is None:
            return None
        with handled():
            check_id(value, str(param.name), minimum=minimum)
        return value

    return check


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to standard output."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def open_service(ctx: typer.Context) -> Any:
    """Open the service on the configured data directory."""
    from faceledger.service import FaceLedger

    return FaceLedger(state(ctx).settings, pipeline=state(ctx).pipeline)


def path_argument(help: str) -> Any:
    """A Typer argument for an existing file or folder."""
    return typer.Argument(..., help=help, exists=True, resolve_path=True)


def run(ctx: typer.Context, body: Callable[[Any], int | None]) -> None:
    """Open the service, run ``body`` with it, close it, and exit with body's status."""
    with handled():
        service = open_service(ctx)
        try:
            code = body(service)
        finally:
            service.close()
    if code:
        raise typer.Exit(code)


def progress_bar(label: str, disable: bool = False) -> Progress:
    """A progress bar on stderr: ``label``, the bar, done of total, time elapsed."""
    return Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable,
    )
