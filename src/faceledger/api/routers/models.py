"""Face models: stored evaluations (``model.read``, ``model.evaluate``) and the deployment
gate's activations of a model for a gallery (``model.activate``; R15, R16)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging, page_of
from faceledger.api.schemas import (
    ActivationIn,
    ActivationOut,
    EvaluationIn,
    EvaluationOut,
    GalleryActivation,
    id_path,
)

router = APIRouter(tags=["models"])

GalleryName = Annotated[str, PathParam(min_length=1, max_length=100, description="Gallery.")]
EvaluationId = Annotated[int, id_path("Evaluation id.")]


@router.get("/evaluations", summary="List stored evaluations", response_model=Page[EvaluationOut])
def list_evaluations(service: Service, acting: Acting, paging: Paging) -> Page[EvaluationOut]:
    """Every stored model evaluation, newest first, with the figures the gate reads
    (examiner, reviewer, supervisor, auditor, admin)."""
    found = [
        EvaluationOut.model_validate(e.to_dict()) for e in service.deployments.evaluations(acting)
    ]
    return page_of(found, paging)


@router.get("/evaluations/{evaluation_id}", summary="Show an evaluation's full summary")
def get_evaluation(service: Service, acting: Acting, evaluation_id: EvaluationId) -> dict[str, Any]:
    """One stored evaluation's summary as `faceledger eval` wrote it: figures with intervals,
    the demographic table and the impostor distribution behind calibrated thresholds."""
    return service.deployments.evaluation_summary(acting, evaluation_id)


@router.post(
    "/evaluations",
    summary="Store an evaluation",
    response_model=EvaluationOut,
    status_code=201,
)
def store_evaluation(service: Service, acting: Acting, body: EvaluationIn) -> EvaluationOut:
    """Store an evaluation summary for the deployment gate (supervisor, admin)."""
    view = service.deployments.record_evaluation(acting, body.summary)
    return EvaluationOut.model_validate(view.to_dict())


@router.get(
    "/galleries/{name}/activation",
    summary="Show a gallery's activated model",
    response_model=GalleryActivation,
)
def get_activation(service: Service, acting: Acting, name: GalleryName) -> GalleryActivation:
    """The model and operating point the deployment gate activated for the gallery, if any
    (examiner, reviewer, supervisor, auditor, admin)."""
    found = service.deployments.activation(acting, name)
    return GalleryActivation(
        gallery=name, activation=None if found is None else ActivationOut.model_validate(found)
    )


@router.post(
    "/galleries/{name}/activation",
    summary="Activate a model for a gallery through the deployment gate",
    response_model=ActivationOut,
    status_code=201,
)
def activate(
    service: Service, acting: Acting, name: GalleryName, body: ActivationIn
) -> ActivationOut:
    """Activate the gallery's model at a threshold calibrated from a stored evaluation
    (supervisor, admin). The gate refuses (409 `deployment_gate`, with the reasons) an
    evaluation of another model or one outside the active profile's accuracy bounds; both
    outcomes are in the ledger."""
    found = service.deployments.activate(acting, name, body.evaluation_id, body.target_fpir)
    return ActivationOut.model_validate(found)
