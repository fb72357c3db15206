"""What every handler reaches through its request: the service, the keys, the templates."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from starlette.requests import Request

from faceledger.service import FaceLedger
from faceledger.web.keys import SessionKeys


@dataclass(frozen=True)
class Web:
    """The web application's collaborators, kept on ``app.state.web``."""

    service: FaceLedger
    keys: SessionKeys
    templates: Environment


def web_of(request: Request) -> Web:
    """Return the collaborators of the application serving ``request``."""
    web = request.app.state.web
    assert isinstance(web, Web)
    return web
