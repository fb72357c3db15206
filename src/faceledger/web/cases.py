"""The "Case queries" page (R12, R13): requests and their searches by every filter, a page of
results, the sentence of what was asked, and the same query as a CSV download.

The filters travel in the address (a GET form), so a query can be bookmarked and its CSV link
carries exactly the same parameters. The service decides what the person may see.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from faceledger.errors import InvalidInput
from faceledger.governance.case_filters import CHOICES, FIELDS, CaseFilter
from faceledger.web.auth import Viewer, need
from faceledger.web.params import PageNumber
from faceledger.web.render import page
from faceledger.web.state import web_of

router = APIRouter()

PAGE_SIZE = 25
Reader = Annotated[Viewer, Depends(need("request.read"))]


def _asked(request: Request) -> dict[str, list[str]]:
    """The filters in the address, as given (the page number aside)."""
    params = request.query_params
    return {name: params.getlist(name) for name in params if name != "page"}


@router.get("/cases")
def cases(
    request: Request,
    viewer: Reader,
    page_number: PageNumber = 1,
) -> Response:
    """The case query form and, for the filters in the address, one page of the requests the
    person may see; a bad filter is shown on the form and nothing is queried."""
    service = web_of(request).service
    asked = _asked(request)
    shown = {name: list(asked.get(name, [])) for name in FIELDS}
    error: InvalidInput | None = None
    result = None
    try:
        spec = CaseFilter.parse(asked)
        result = service.cases.query(viewer.user, spec, PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
        shown = spec.values()
        query = urlencode(spec.to_query())
    except InvalidInput as exc:
        error, query = exc, ""
    profile = service.policy.active_profile()
    total = result.total if result else 0
    return page(
        request,
        viewer,
        "cases.html",
        title="Case queries",
        status=error.status if error else 200,
        error=error,
        values=shown,
        options={
            **{
                name: [(v, v.replace("_", " ")) for v in values] for name, values in CHOICES.items()
            },
            "agency": [(a.slug, a.slug) for a in service.accounts.list_agencies(viewer.user)],
            "offence": [
                (o.code, f"{o.name} ({o.code})")
                for o in sorted(profile.offences, key=lambda o: (o.name, o.code))
            ],
        },
        result=result,
        rows=[r.to_dict() for r in result.items] if result else [],
        total=total,
        query=query,
        page_number=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


@router.get("/cases.csv")
def cases_csv(request: Request, viewer: Reader) -> Response:
    """Every request of the same query (not one page) as a CSV download."""
    spec = CaseFilter.parse(_asked(request))
    export = web_of(request).service.cases.export(viewer.user, spec)
    return StreamingResponse(
        export.chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="faceledger-cases.csv"'},
    )
