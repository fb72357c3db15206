"""The ledger for auditors: entries, checkpoints, inclusion proofs, export and verification.

The audit use cases take no acting account, so each route checks the capability first
(``ledger.read``, ``ledger.checkpoint``); a refusal is recorded as a violation (R18). Only the
public key is public: with it and an export anyone can verify the log (``faceledger audit
verify``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging
from faceledger.api.schemas import CheckpointOut, EntryOut, Timestamp, VerifyOut, id_path
from faceledger.api.uploads import CHUNK_BYTES
from faceledger.errors import NotFound
from faceledger.ledger import LedgerEntry, load_public_key, public_key_pem, verify_database
from faceledger.ledger.envelope import format_ts

router = APIRouter(tags=["ledger"])

_PUBLIC = Annotated[
    bool, Query(description="Leave payloads out (a public export; still verifiable).")
]


def _entry(entry: LedgerEntry) -> EntryOut:
    return EntryOut(
        seq=entry.seq,
        ts=format_ts(entry.ts),
        actor=entry.actor,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        payload=None if entry.payload is None else dict(entry.payload),
        payload_sha256=entry.payload_sha256,
        leaf_hash=entry.leaf_hash,
        public=None if entry.public is None else dict(entry.public),
        version=entry.version,
        actor_ref=entry.actor_ref,
        object_ref=entry.object_ref,
        salt=entry.salt,
        private_sha256=entry.private_sha256,
    )


@router.get("/ledger/entries", summary="Query ledger entries", response_model=Page[EntryOut])
def list_entries(
    service: Service,
    acting: Acting,
    paging: Paging,
    actor: Annotated[str | None, Query(max_length=200, examples=["user:ex-smith"])] = None,
    action: Annotated[str | None, Query(max_length=100, examples=["request.search"])] = None,
    object_type: Annotated[str | None, Query(max_length=100, examples=["request"])] = None,
    object_id: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[Timestamp | None, Query(description="From this time on.")] = None,
    until: Annotated[Timestamp | None, Query(description="Before this time.")] = None,
) -> Page[EntryOut]:
    """Entries matching every filter given, oldest first (auditor, supervisor, admin): e.g.
    every search since a date (R13)."""
    filters: dict[str, Any] = {
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "since": since,
        "until": until,
    }
    page = service.audit.ledger_entries(acting, **filters, limit=paging.limit, offset=paging.offset)
    return Page(
        items=[_entry(e) for e in page],
        total=service.audit.count_ledger_entries(acting, **filters),
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get(
    "/ledger/entries/{seq}/proof",
    summary="Get an inclusion proof",
    response_model=dict[str, Any],
)
def prove_entry(
    service: Service,
    acting: Acting,
    seq: Annotated[int, id_path("Entry number, from 0.", minimum=0)],
    public: _PUBLIC = False,
) -> dict[str, Any]:
    """A self-contained inclusion proof of one entry against the latest signed checkpoint;
    check it offline with `faceledger ledger check-proof` (auditor, supervisor, admin).
    Reading a proof never signs a checkpoint: 409 for an entry no signed checkpoint covers
    yet (sign one with POST /ledger/checkpoints, or wait for the next due one)."""
    return service.audit.prove_entry(acting, seq, include_payload=not public)


@router.get(
    "/ledger/checkpoints/latest",
    summary="Get the latest checkpoint",
    response_model=CheckpointOut,
)
def latest_checkpoint(service: Service, acting: Acting) -> CheckpointOut:
    """The newest signed checkpoint (auditor, supervisor, admin); 404 if none was signed."""
    service.access.check(acting, "ledger.read")
    checkpoint = service.audit.latest_checkpoint()
    if checkpoint is None:
        raise NotFound("No checkpoint has been signed yet.")
    return CheckpointOut.model_validate(checkpoint.to_dict())


@router.post(
    "/ledger/checkpoints",
    summary="Sign a checkpoint",
    response_model=CheckpointOut,
    status_code=201,
)
def sign_checkpoint(service: Service, acting: Acting) -> CheckpointOut:
    """Sign a checkpoint of the ledger as it stands now (auditor, admin)."""
    return CheckpointOut.model_validate(service.audit.sign_checkpoint(acting).to_dict())


def _chunks(handle: IO[str]) -> Iterator[str]:
    try:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


@router.get(
    "/ledger/export",
    summary="Export the ledger",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/jsonl": {}}, "description": "JSON Lines."}},
)
def export(service: Service, acting: Acting, public: _PUBLIC = False) -> StreamingResponse:
    """The whole ledger as JSON Lines: a header, every entry and every checkpoint (auditor,
    supervisor, admin). With `public=true` payloads are left out, so it may be published;
    either form verifies with the public key alone."""
    # Closed by _chunks once streamed: it outlives this function.
    handle = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
    try:
        header = service.audit.export_ledger(acting, handle, include_payloads=not public)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    name = "ledger-public.jsonl" if public else "ledger.jsonl"
    return StreamingResponse(
        _chunks(handle),
        media_type="application/jsonl",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Ledger-Tree-Size": str(header.tree_size),
        },
    )


@router.post("/ledger/verify", summary="Verify the whole ledger", response_model=VerifyOut)
def verify(service: Service, acting: Acting) -> VerifyOut:
    """Check every entry, the Merkle tree and every checkpoint signature with the public key
    alone, as an outside auditor would (auditor, supervisor, admin). A failure is a 422
    `verification_failed` naming the first bad entry or checkpoint, expected vs actual."""
    service.access.check(acting, "ledger.read")
    report = verify_database(service.settings.db_url, load_public_key(service.public_key_path))
    return VerifyOut(
        summary=report.summary(),
        log_id=report.log_id,
        tree_size=report.tree_size,
        root_hash=report.root_hash,
        checkpoints=report.checkpoints,
        payloads_checked=report.payloads_checked,
        payloads_redacted=report.payloads_redacted,
        latest_checkpoint=report.latest_checkpoint,
        signed_size=report.signed_size,
        unsigned_entries=report.unsigned_entries,
        commitments=report.commitments,
        reveals_checked=report.reveals_checked,
        reveals_unchecked=report.reveals_unchecked,
    )


@router.get(
    "/ledger/public-key",
    summary="Get the ledger's public key",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}, "description": "PEM."}},
)
def public_key(service: Service) -> Response:
    """The Ed25519 public key that signed the ledger's first checkpoints, in PEM (public, no
    token needed): all an outsider needs, with an export, to verify the log, key rotations
    included (each is announced in the log, signed by the key before). The
    `X-Ledger-Current-Key-Id` header names the key that signs now."""
    pem = public_key_pem(load_public_key(service.public_key_path))
    current = service.ledger_keys.current_key_id()
    headers = {} if current is None else {"X-Ledger-Current-Key-Id": current}
    return Response(content=pem, media_type="application/x-pem-file", headers=headers)
