"""The numbers a page's address takes, bounded once: an id, entry number or page beyond what
can be stored is the 400 page naming the value, never a database overflow (a 500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from faceledger.governance.inputs import MAX_ID

__all__ = ["MAX_PAGE", "EntryNumber", "FaceNumber", "PageNumber", "RecordId"]

MAX_PAGE = 100_000
"""The highest page number a list page takes."""

RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A request, candidate, token, alert or proposal id in the address."""

EntryNumber = Annotated[int, Path(ge=0, le=MAX_ID)]
"""A ledger entry number in the address (from 0)."""

FaceNumber = Annotated[int, Path(ge=0, le=MAX_ID)]
"""A face of a probe photo, numbered from 0 as detected."""

PageNumber = Annotated[int, Query(alias="page", ge=1, le=MAX_PAGE)]
"""The ``page`` query parameter of a list page."""
