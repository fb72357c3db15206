"""Rendering pages: the template environment and what every page shows.

Every page carries the signed-in person, the CSRF token of its forms, the active policy profile
(and the unsafe banner when the profile is ``lab``), the navigation for the person's roles and
an error box when the last action failed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from faceledger.errors import FaceLedgerError
from faceledger.governance.context import Role
from faceledger.web.auth import CSRF_FIELD, Viewer
from faceledger.web.state import web_of

TITLES = {
    400: "Please check the form",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "Not possible now",
    413: "Too large",
    422: "Cannot use this input",
    500: "Something went wrong",
    503: "Not available",
}
R = Role


@dataclass(frozen=True)
class ErrorInfo:
    """An error as a page shows it: a title, a sentence, and the policy's reasons if any."""

    status: int
    message: str
    reasons: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    code: str = ""
    """The error's machine code (``invalid_image``, ...), as the API names it; "" for errors
    of the pages themselves."""

    @property
    def title(self) -> str:
        """A short heading for the status."""
        return TITLES.get(self.status, "Error")

    @classmethod
    def of(cls, error: FaceLedgerError) -> ErrorInfo:
        """Return what a person should read about ``error``."""
        reasons = error.details.get("reasons") or ()
        requirements = error.details.get("requirements") or ()
        return cls(
            error.status,
            error.message,
            tuple(str(r) for r in reasons) if isinstance(reasons, list | tuple) else (),
            tuple(str(r) for r in requirements) if isinstance(requirements, list | tuple) else (),
            error.code,
        )


def _when(value: object) -> str:
    """Format an ISO 8601 time or datetime as 'YYYY-MM-DD HH:MM UTC' ('—' for none)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def make_templates() -> Environment:
    """Return the template environment: autoescaped HTML, strict about undefined names."""
    env = Environment(
        loader=PackageLoader("faceledger.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["pretty"] = _pretty
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


MENU = (
    ("/requests/new", "New request", ("request.submit",)),
    ("/queue", "Queue", ("request.search", "request.review.first", "request.review.peer")),
    ("/supervise", "Supervise", ("request.approve_emergency",)),
    ("/dashboard", "Dashboard", ("report.dashboard",)),
    ("/alerts", "Alerts", ("alerts.read",)),
    ("/violations", "Violations", ("violations.read",)),
    ("/misuse", "Misuse", ("report.misuse",)),
    ("/cases", "Case queries", ("request.read",)),
    ("/reports/transparency", "Transparency", ("report.transparency",)),
    ("/audit/ledger", "Ledger", ("ledger.read",)),
    ("/users", "Users", ("user.list",)),
    ("/admin/agencies", "Agencies", ("agency.create",)),
    ("/admin/tokens", "API tokens", ("token.create",)),
)
"""Menu entries and the registry actions any of which shows them."""


def navigation(allowed: frozenset[str]) -> list[tuple[str, str]]:
    """The menu for a person who may take the ``allowed`` actions: (path, label) pairs."""
    items = [("/", "Home"), ("/requests", "Requests")]
    items += [(path, label) for path, label, needs in MENU if allowed & set(needs)]
    items.append(("/policy", "Policy"))
    return items


def page(
    request: Request,
    viewer: Viewer | None,
    template: str,
    *,
    title: str,
    status: int = 200,
    error: FaceLedgerError | ErrorInfo | None = None,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the common context (blocking: reads the active profile)."""
    web = web_of(request)
    roles = viewer.user.roles if viewer else frozenset()
    info = ErrorInfo.of(error) if isinstance(error, FaceLedgerError) else error
    profile = web.service.policy.active_profile()
    allowed = web.service.access.allowed(viewer.user) if viewer else frozenset()
    # Only those who may read alerts pay for counting them.
    open_alerts = (
        web.service.alerts.open_count(viewer.user) if viewer and "alerts.read" in allowed else 0
    )
    html = web.templates.get_template(template).render(
        title=title,
        user=viewer.user if viewer else None,
        roles={r.value for r in roles},
        csrf=csrf if csrf is not None else (viewer.csrf if viewer else ""),
        profile=profile,
        banner=profile.unsafe_banner if profile is not None else "",
        nav=navigation(allowed) if viewer else [],
        path=request.url.path,
        open_alerts=open_alerts,
        error=info,
        **context,
    )
    return HTMLResponse(html, status_code=status)
