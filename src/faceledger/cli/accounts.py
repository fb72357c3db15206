"""CLI commands for agencies, accounts and the login session.

Every command here except ``login`` and ``user bootstrap-admin`` acts as the person logged in
with ``faceledger login`` (see :mod:`faceledger.cli.session`). Passwords are read from a hidden
prompt, or with ``--password-stdin`` from the first line of standard input (for scripts).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from faceledger.cli.common import console, err_console, handled, print_json, run, state
from faceledger.cli.session import (
    clear_session,
    current_user,
    load_session,
    save_session,
    session_path,
)
from faceledger.errors import InvalidInput, Unauthenticated
from faceledger.governance.accounts import UserInfo, generate_password
from faceledger.service.accounts import SESSION_LIFETIME

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

agency_app = typer.Typer(help="Create and list agencies (admin).", no_args_is_help=True)
user_app = typer.Typer(
    help="Create, approve, certify, disable and list user accounts.", no_args_is_help=True
)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")
PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of standard input."
)


def _read_password(from_stdin: bool, prompt: str, confirm: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInput("No password on standard input.")
        return line
    password: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return password


def _print_user(user: UserInfo) -> None:
    table = Table(show_header=False, title=user.username)
    for key, value in user.to_dict().items():
        shown = ", ".join(value) if isinstance(value, list) else value
        table.add_row(key, "" if shown is None else str(shown))
    console.print(table)


# -- session -------------------------------------------------------------------------------


def login(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Your username."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Log in: check your password and keep a session on this machine for 12 hours."""
    with handled():
        password = _read_password(password_stdin, "Password", confirm=False)

    def body(service: FaceLedger) -> int:
        settings = state(ctx).settings
        token = service.accounts.login(username, password)
        path = session_path(settings)
        save_session(path, username, token, settings)
        hours = SESSION_LIFETIME.total_seconds() / 3600
        console.print(f"logged in as {username} for {hours:g} hours", highlight=False)
        return 0

    run(ctx, body)


def logout(ctx: typer.Context) -> None:
    """Log out: end the session on the server and delete the local session file."""

    def body(service: FaceLedger) -> int:
        settings = state(ctx).settings
        path = session_path(settings)
        try:
            service.accounts.logout(load_session(path, settings).token)
        except Unauthenticated as error:
            err_console.print(f"no live session: {error.message}", highlight=False)
        cleared = clear_session(path)
        console.print("logged out" if cleared else "not logged in")
        return 0

    run(ctx, body)


def whoami(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Show the account you are logged in as."""

    def body(service: FaceLedger) -> int:
        user = current_user(ctx, service)
        if as_json:
            print_json(user.to_dict())
        else:
            _print_user(user)
        return 0

    run(ctx, body)


# -- agencies ------------------------------------------------------------------------------


@agency_app.command("create")
def agency_create(
    ctx: typer.Context,
    slug: str = typer.Argument(..., help="Short id: lowercase words joined by '-'."),
    name: str = typer.Option(..., "--name", help="Full name of the agency."),
    kind: str = typer.Option(
        ..., "--kind", help="operating_unit (runs searches) or requesting_agency (files them)."
    ),
    jurisdiction: str = typer.Option("", "--jurisdiction", help="State, county or city served."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an agency (admin)."""

    def body(service: FaceLedger) -> int:
        agency = service.accounts.create_agency(
            current_user(ctx, service), slug, name, kind, jurisdiction
        )
        if as_json:
            print_json(agency.to_dict())
        else:
            console.print(f"created agency {agency.slug} ({agency.kind})", highlight=False)
        return 0

    run(ctx, body)


@agency_app.command("list")
def agency_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List agencies."""

    def body(service: FaceLedger) -> int:
        agencies = service.accounts.list_agencies(current_user(ctx, service))
        if as_json:
            print_json([a.to_dict() for a in agencies])
            return 0
        table = Table("slug", "name", "kind", "jurisdiction")
        for a in agencies:
            table.add_row(a.slug, a.name, a.kind.value, a.jurisdiction)
        console.print(table)
        return 0

    run(ctx, body)


# -- accounts ------------------------------------------------------------------------------


@user_app.command("bootstrap-admin")
def user_bootstrap_admin(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Username of the first administrator."),
    display_name: str = typer.Option(..., "--display-name", help="The person's full name."),
    agency_slug: str = typer.Option("operating-unit", help="Slug of the administrator's agency."),
    agency_name: str = typer.Option("Operating unit", help="Full name of that agency."),
    agency_kind: str = typer.Option("operating_unit", help="Kind of that agency."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create the first account, an administrator and supervisor; prints its password once."""

    def body(service: FaceLedger) -> int:
        user, password = service.accounts.bootstrap_admin(
            username, display_name, agency_slug, agency_name, agency_kind
        )
        if as_json:
            print_json({"user": user.to_dict(), "password": password})
            return 0
        console.print(f"created {user.username} (admin, supervisor) in {user.agency}")
        console.print(f"one-time password: {password}", highlight=False)
        err_console.print(
            "Write it down now: it is not stored and will not be shown again. "
            "Log in and change it with `faceledger user set-password`."
        )
        return 0

    run(ctx, body)


@user_app.command("bootstrap-supervisor")
def user_bootstrap_supervisor(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Username of the unit's second supervisor."),
    display_name: str = typer.Option(..., "--display-name", help="The person's full name."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create the second person of the unit, a supervisor, once; prints its password once.

    Accounts the admin creates must be approved by someone who did not create them (R2)."""

    def body(service: FaceLedger) -> int:
        user, password = service.accounts.bootstrap_supervisor(username, display_name)
        if as_json:
            print_json({"user": user.to_dict(), "password": password})
            return 0
        console.print(f"created {user.username} (supervisor) in {user.agency}")
        console.print(f"one-time password: {password}", highlight=False)
        err_console.print("Hand it to that person; it is not stored and will not be shown again.")
        return 0

    run(ctx, body)


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Username: lowercase letters, digits, . _ -"),
    display_name: str = typer.Option(..., "--display-name", help="The person's full name."),
    agency: str = typer.Option(..., "--agency", help="Slug of the person's agency."),
    role: list[str] = typer.Option(
        ..., "--role", help="requester, examiner, reviewer, supervisor, auditor or admin (repeat)."
    ),
    password_stdin: bool = PASSWORD_STDIN,
    generate: bool = typer.Option(
        False, "--generate-password", help="Generate the initial password and print it once."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an account (admin). A supervisor must approve it before it can log in."""
    with handled():
        if generate and password_stdin:
            raise InvalidInput("Give at most one of --password-stdin and --generate-password.")
        password = (
            generate_password(username)
            if generate
            else _read_password(password_stdin, "Initial password", confirm=True)
        )

    def body(service: FaceLedger) -> int:
        user = service.accounts.create_user(
            current_user(ctx, service), username, display_name, agency, role, password
        )
        if as_json:
            print_json({"user": user.to_dict(), **({"password": password} if generate else {})})
            return 0
        console.print(f"created {user.username}; a supervisor must approve it", highlight=False)
        if generate:
            console.print(f"initial password: {password}", highlight=False)
        return 0

    run(ctx, body)


def _change(
    ctx: typer.Context, verb: str, step: Callable[[FaceLedger, UserInfo], UserInfo]
) -> None:
    """Run one account use case as the logged-in person and say what it did."""

    def body(service: FaceLedger) -> int:
        user = step(service, current_user(ctx, service))
        console.print(f"{verb} {user.username}", highlight=False)
        return 0

    run(ctx, body)


@user_app.command("approve")
def user_approve(ctx: typer.Context, username: str = typer.Argument(..., help="Account.")) -> None:
    """Approve an account so it may log in (supervisor; not your own)."""
    _change(ctx, "approved", lambda s, me: s.accounts.approve_user(me, username))


@user_app.command("certify-training")
def user_certify_training(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Account."),
    until: str = typer.Option(..., "--until", help="Last day the training is valid (YYYY-MM-DD)."),
) -> None:
    """Record a person's training as valid through a date (supervisor; not your own)."""
    with handled():
        try:
            day = dt.date.fromisoformat(until)
        except ValueError:
            raise InvalidInput(f"--until must be a date as YYYY-MM-DD, got {until!r}.") from None
    _change(
        ctx,
        f"training valid through {day.isoformat()} for",
        lambda s, me: s.accounts.certify_training(me, username, day),
    )


@user_app.command("disable")
def user_disable(ctx: typer.Context, username: str = typer.Argument(..., help="Account.")) -> None:
    """Disable an account and end its sessions (admin or supervisor)."""
    _change(ctx, "disabled", lambda s, me: s.accounts.disable_user(me, username))


@user_app.command("enable")
def user_enable(ctx: typer.Context, username: str = typer.Argument(..., help="Account.")) -> None:
    """Enable a disabled account again (admin or supervisor)."""
    _change(ctx, "enabled", lambda s, me: s.accounts.enable_user(me, username))


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context,
    username: str | None = typer.Argument(None, help="Account (default: your own)."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set a password: your own (give the current one first; with --password-stdin, the
    current and the new password on two lines), or anyone's as admin. Ends that account's
    sessions and revokes its API tokens."""

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        target = username or me.username
        current = None
        if target == me.username:
            current = _read_password(password_stdin, "Current password", confirm=False)
        password = _read_password(password_stdin, "New password", confirm=True)
        service.accounts.set_password(me, target, password, current_password=current)
        console.print(
            f"password set for {target}; its sessions and API tokens have ended",
            highlight=False,
        )
        if target == me.username:
            clear_session(session_path(state(ctx).settings))
            console.print("log in again with the new password")
        return 0

    run(ctx, body)


@user_app.command("list")
def user_list(
    ctx: typer.Context,
    agency: str | None = typer.Option(None, "--agency", help="Only accounts of this agency."),
    active_only: bool = typer.Option(False, "--active-only", help="Leave out disabled accounts."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List accounts (admin, supervisor or auditor)."""

    def body(service: FaceLedger) -> int:
        users = service.accounts.list_users(current_user(ctx, service), agency, not active_only)
        if as_json:
            print_json([u.to_dict() for u in users])
            return 0
        table = Table("username", "name", "agency", "roles", "approved", "active", "trained until")
        for u in users:
            until = u.training_certified_until
            table.add_row(
                u.username,
                u.display_name,
                u.agency,
                ", ".join(sorted(r.value for r in u.roles)),
                "yes" if u.approved else "NO",
                "yes" if u.active else "NO",
                until.isoformat() if until else "",
            )
        console.print(table)
        return 0

    run(ctx, body)


@user_app.command("show")
def user_show(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Account."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one account: your own, or anyone's as admin, supervisor or auditor."""

    def body(service: FaceLedger) -> int:
        user = service.accounts.get_user(current_user(ctx, service), username)
        if as_json:
            print_json(user.to_dict())
        else:
            _print_user(user)
        return 0

    run(ctx, body)
