"""Paging of the service's lists: one check of ``limit`` and ``offset`` for every use case."""

from __future__ import annotations

from faceledger.errors import InvalidInput


def check_page(limit: int, offset: int, most: int = 1000) -> None:
    """Return if ``limit`` is 1-``most`` and ``offset`` not negative.

    Raises:
        InvalidInput: otherwise, saying so.
    """
    if not 1 <= limit <= most or offset < 0:
        raise InvalidInput(f"limit must be 1-{most} and offset not negative.")
