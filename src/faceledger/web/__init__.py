"""Server-rendered web pages over the service layer (Jinja2, no front-end build step).

:func:`build_web` returns the application the server mounts at ``/``; every page goes through
the same :class:`~faceledger.service.FaceLedger` use cases as the CLI and the REST API.
"""

from faceledger.web.app import build_web

__all__ = ["build_web"]
