"""The local operator principal of commands run on the data directory without a login."""

from __future__ import annotations

from faceledger.governance.accounts import LocalOperator


def local_operator() -> LocalOperator:
    """Return the principal of the operating-system user running this command."""
    return LocalOperator.current()
