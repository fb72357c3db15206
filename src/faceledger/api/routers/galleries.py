"""Galleries: read (``gallery.read``) and delete subjects or photos (``gallery.manage``).

The gallery use cases take no acting account, so each route checks the capability first;
a refusal is recorded as a violation (R18).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging, page_of
from faceledger.api.schemas import (
    GalleryDetail,
    GalleryOut,
    PhotoDeleted,
    SubjectDeleted,
    SubjectOut,
    id_path,
)

router = APIRouter(tags=["galleries"])

GalleryName = Annotated[str, Path(min_length=1, max_length=100, description="Gallery name.")]


@router.get("/galleries", summary="List galleries", response_model=Page[GalleryOut])
def list_galleries(service: Service, acting: Acting, paging: Paging) -> Page[GalleryOut]:
    """Every gallery with its counts (examiner, reviewer, supervisor, auditor, admin)."""
    galleries = [
        GalleryOut.model_validate(g.to_dict()) for g in service.galleries.list_galleries(acting)
    ]
    return page_of(galleries, paging)


@router.get("/galleries/{name}", summary="Show a gallery", response_model=GalleryDetail)
def get_gallery(
    service: Service, acting: Acting, name: GalleryName, paging: Paging
) -> GalleryDetail:
    """A gallery's counts and one page of its subjects with their photos (examiner,
    reviewer, supervisor, auditor, admin)."""
    detail = service.galleries.gallery_detail(acting, name)
    subjects = [SubjectOut.model_validate(s) for s in detail["subjects"]]
    gallery = GalleryOut.model_validate({**detail, "subjects": len(subjects)})
    return GalleryDetail(gallery=gallery, subjects=page_of(subjects, paging))


@router.delete(
    "/galleries/{name}/subjects/{external_id}",
    summary="Delete a gallery subject",
    response_model=SubjectDeleted,
)
def delete_subject(
    service: Service,
    acting: Acting,
    name: GalleryName,
    external_id: Annotated[str, Path(min_length=1, max_length=200)],
) -> SubjectDeleted:
    """Delete a subject with every photo and template; they leave the index too (supervisor,
    admin). Past search results keep their copied candidate records."""
    return SubjectDeleted.model_validate(
        service.galleries.delete_subject(acting, name, external_id)
    )


@router.delete(
    "/galleries/{name}/photos/{photo_id}",
    summary="Delete a gallery photo",
    response_model=PhotoDeleted,
)
def delete_photo(
    service: Service,
    acting: Acting,
    name: GalleryName,
    photo_id: Annotated[int, id_path("Photo id.")],
) -> PhotoDeleted:
    """Delete one photo and its templates; they leave the index too (supervisor, admin)."""
    return PhotoDeleted.model_validate(service.galleries.delete_photo(acting, name, photo_id))
