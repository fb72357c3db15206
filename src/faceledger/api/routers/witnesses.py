"""Witness cosignatures over the API (``c2sp.org/tlog-witness``, the unit's side).

Public, like the ledger's public key (no token): the latest checkpoint as a signed note with its
stored cosignatures, consistency proofs between tree sizes, and the submission of a pull-mode
witness's cosignature, which is authenticated by the cosignature itself (accepted only if it
verifies under a configured witness key on a checkpoint this unit signed). Pushing the latest
checkpoint to the witnesses needs ``ledger.witness``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from faceledger.api.auth import Acting, Service
from faceledger.governance.inputs import MAX_ID

router = APIRouter(tags=["ledger"])

_NOTE = {"text/plain": {"example": "faceledger/0123abcd\n42\n<root>\n<time>\n\n— ...\n"}}


class ConsistencyOut(BaseModel):
    """A consistency proof between two tree sizes (RFC 9162 §2.1.4)."""

    old_size: int
    new_size: int
    hashes: list[str]


class CosignaturesOut(BaseModel):
    """What a witness's submission stored."""

    checkpoint: int
    stored: list[str]
    cosigned: list[str]


@router.get(
    "/ledger/checkpoints/latest/note",
    summary="Get the latest checkpoint with its witness cosignatures",
    response_class=PlainTextResponse,
    responses={200: {"content": _NOTE, "description": "A C2SP signed note."}},
)
def witnessed_note(service: Service) -> PlainTextResponse:
    """The newest signed checkpoint as a C2SP signed note (`c2sp.org/tlog-checkpoint`): the
    log's signature line, then every witness cosignature stored for it (public, no token
    needed). 404 if no checkpoint was signed yet. Check it with `faceledger ledger verify
    --witness-key ... --quorum N`."""
    return PlainTextResponse(
        service.witnesses.witnessed_note(), headers={"Cache-Control": "no-store"}
    )


@router.get(
    "/ledger/consistency",
    summary="Get a consistency proof between two tree sizes",
    response_model=ConsistencyOut,
)
def consistency(
    service: Service,
    old: Annotated[int, Query(ge=0, le=MAX_ID, description="The earlier tree size.")],
    new: Annotated[
        int, Query(ge=0, le=MAX_ID, description="The later tree size (at most the current).")
    ],
) -> ConsistencyOut:
    """The proof that the tree of `old` entries is a prefix of the tree of `new` entries, as
    hex SHA-256 hashes (public, no token needed: tree hashes reveal no record). What a
    pull-mode witness needs to check a new checkpoint extends the last one it cosigned."""
    return ConsistencyOut.model_validate(service.witnesses.consistency(old, new))


@router.post(
    "/ledger/cosignatures",
    summary="Submit a witness's cosignature on a checkpoint",
    response_model=CosignaturesOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": _NOTE,
            "description": "The checkpoint note with the witness's cosignature line(s).",
        }
    },
)
async def submit_cosignature(request: Request, service: Service) -> CosignaturesOut:
    """Store a pull-mode witness's `cosignature/v1` (`faceledger witness cosign`): the body is
    the checkpoint note with the witness's line(s) appended (public, no token needed: only a
    cosignature that verifies under a key in the `witness_keys` setting, on a checkpoint this
    unit signed, is stored). 404 for a checkpoint this unit never signed, 422 for a note not
    signed by this log or without a trusted cosignature."""
    body = await request.body()
    result = await run_in_threadpool(service.witnesses.submit, body)
    return CosignaturesOut.model_validate(result)


@router.post(
    "/ledger/witnesses/collect",
    summary="Push the latest checkpoint to the witnesses",
    response_model=dict[str, Any],
)
def collect(service: Service, acting: Acting) -> dict[str, Any]:
    """Send the latest checkpoint, with a consistency proof, to every witness in the
    `witness_urls` setting and store the cosignatures that verify (admin). Each witness is
    reported on its own: `ok`, `offline`, `refused` (with the witness's reason), `invalid` or
    `error`."""
    return service.witnesses.collect(acting).to_dict()
