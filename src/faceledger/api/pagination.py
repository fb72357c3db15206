"""Every list the API returns is one page: ``{"items", "total", "limit", "offset"}``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from faceledger.governance.inputs import MAX_ID

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "PageParams", "Paging", "page_of"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T] = Field(description="The items of this page.")
    total: int = Field(description="How many items the whole list has.")
    limit: int = Field(description="The most items a page holds, as asked.")
    offset: int = Field(description="How many items of the list come before this page.")


@dataclass(frozen=True)
class PageParams:
    """The ``limit`` and ``offset`` query parameters of a list route."""

    limit: int
    offset: int


def _page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many items (1-{MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Skip this many items.")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


Paging = Annotated[PageParams, Depends(_page_params)]
"""Dependency: the page a list route is asked for."""


def page_of(items: Sequence[T], params: PageParams) -> Page[T]:
    """Return one page of a list the service returned whole."""
    chosen = list(items[params.offset : params.offset + params.limit])
    return Page(items=chosen, total=len(items), limit=params.limit, offset=params.offset)
