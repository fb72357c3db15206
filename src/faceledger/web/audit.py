"""Auditors' pages: the ledger browser, verification, checkpoints and inclusion proofs.

Verification runs the outsider's verifier (:func:`faceledger.ledger.verify_database`) with the
public key alone, as ``faceledger ledger verify`` does; the page shows its summary or the first
failure.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from faceledger.errors import FaceLedgerError
from faceledger.ledger import load_public_key, verify_database
from faceledger.web.auth import CurrentViewer, FormPost, Viewer
from faceledger.web.params import EntryNumber, PageNumber
from faceledger.web.render import page
from faceledger.web.state import web_of

router = APIRouter()

PAGE_SIZE = 50
FILTERS = ("actor", "action", "object_type", "object_id")


def _ledger_page(
    request: Request,
    viewer: Viewer,
    filters: dict[str, str],
    page_number: int = 1,
    verify: dict[str, object] | None = None,
    error: FaceLedgerError | None = None,
    notice: str | None = None,
) -> Response:
    service = web_of(request).service
    entries = service.audit.ledger_entries(
        viewer.user,
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        object_type=filters["object_type"] or None,
        object_id=filters["object_id"] or None,
        limit=PAGE_SIZE + 1,
        offset=(page_number - 1) * PAGE_SIZE,
    )
    return page(
        request,
        viewer,
        "ledger.html",
        title="Ledger",
        status=error.status if error else 200,
        error=error,
        entries=entries[:PAGE_SIZE],
        more=len(entries) > PAGE_SIZE,
        filters=filters,
        filter_query=urlencode({k: v for k, v in filters.items() if v}),
        page_number=page_number,
        checkpoint=service.audit.latest_checkpoint(),
        can_checkpoint=service.access.allows(viewer.user, "ledger.checkpoint"),
        verify=verify,
        notice=notice,
    )


@router.get("/audit/ledger")
def ledger(
    request: Request,
    viewer: CurrentViewer,
    actor: Annotated[str, Query()] = "",
    action: Annotated[str, Query()] = "",
    object_type: Annotated[str, Query()] = "",
    object_id: Annotated[str, Query()] = "",
    page_number: PageNumber = 1,
) -> Response:
    """Ledger entries, oldest first, filtered by actor, action and object."""
    filters = {"actor": actor, "action": action, "object_type": object_type}
    filters["object_id"] = object_id
    return _ledger_page(request, viewer, {k: v.strip() for k, v in filters.items()}, page_number)


@router.post("/audit/verify")
def verify(request: Request, post: FormPost) -> Response:
    """Verify the whole ledger with the public key alone; show the summary or the failure."""
    service = web_of(request).service
    service.access.check(post.user, "ledger.read")
    try:
        report = verify_database(service.settings.db_url, load_public_key(service.public_key_path))
        result: dict[str, object] = {"ok": True, "text": report.summary()}
    except FaceLedgerError as exc:
        result = {"ok": False, "text": exc.message, "details": exc.details}
    return _ledger_page(request, post.viewer, dict.fromkeys(FILTERS, ""), verify=result)


@router.post("/audit/checkpoint")
def checkpoint(request: Request, post: FormPost) -> Response:
    """Sign a checkpoint of the ledger as it stands (auditors and admins)."""
    service = web_of(request).service
    try:
        signed = service.audit.sign_checkpoint(post.user)
    except FaceLedgerError as exc:
        return _ledger_page(request, post.viewer, dict.fromkeys(FILTERS, ""), error=exc)
    notice = f"Signed a checkpoint of {signed.tree_size} entries."
    return _ledger_page(request, post.viewer, dict.fromkeys(FILTERS, ""), notice=notice)


def _proof(request: Request, viewer: Viewer, seq: int) -> str:
    service = web_of(request).service
    return json.dumps(
        service.audit.prove_entry(viewer.user, seq), indent=2, sort_keys=True, ensure_ascii=False
    )


@router.get("/audit/entries/{seq:int}")
def proof_page(request: Request, seq: EntryNumber, viewer: CurrentViewer) -> Response:
    """The inclusion proof of one entry against the latest signed checkpoint."""
    text = _proof(request, viewer, seq)
    return page(request, viewer, "proof.html", title=f"Proof of entry {seq}", seq=seq, proof=text)


@router.get("/audit/entries/{seq:int}/proof.json")
def proof_download(request: Request, seq: EntryNumber, viewer: CurrentViewer) -> Response:
    """The same proof as a file, for ``faceledger ledger check-proof``."""
    return Response(
        _proof(request, viewer, seq) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="faceledger-proof-{seq}.json"'},
    )
