"""Model evaluations and the deployment gate (R15, R16), and each gallery's operating point.

- :class:`OperatingPoints` answers, for the galleries a search targets, which threshold applies
  and refuses a search that would compare templates of another model (:class:`ModelMismatch`)
  or, under a profile with the gate, search a gallery with no valid activation
  (:class:`GateClosed`).
- :class:`DeploymentUseCases` stores evaluations (``model.evaluate``), activates a model and
  operating point for a gallery through the gate (``model.activate``), and reads both
  (``model.read``). A refused activation is recorded too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.biometrics.models import ModelInfo
from faceledger.errors import GateClosed, InvalidInput, ModelMismatch, NotFound
from faceledger.gallery import store
from faceledger.gallery.models import Activation, Evaluation, Gallery
from faceledger.gallery.thresholds import OperatingThreshold, uncalibrated_default
from faceledger.governance.accounts import Principal
from faceledger.governance.deployment import GateFigures, gate_reasons
from faceledger.governance.profiles import Profile
from faceledger.reports.digest import summary_sha256
from faceledger.reports.evaluation.calibration import ImpostorDistribution, threshold_for_fpir
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.policy import PolicyStore

Target = tuple[int, int, str]  # gallery id, generation, name (as Matcher.targets returns)


def embedder_of(summary: Mapping[str, Any]) -> ModelInfo:
    """Return the embedding model an evaluation summary was computed with.

    Raises:
        InvalidInput: if the summary names no embedding model.
    """
    try:
        model = summary["model"]["embedder"]
        return ModelInfo(str(model["name"]), str(model["version"]), str(model["sha256"]))
    except (KeyError, TypeError):
        raise InvalidInput(
            "The evaluation summary names no embedding model (model.embedder: name, version, "
            "sha256); it was not written by `faceledger eval`."
        ) from None


def gallery_model(gallery: Gallery) -> ModelInfo | None:
    """Return the model a gallery's templates come from (None while it is empty)."""
    if gallery.model_name is None:
        return None
    return ModelInfo(gallery.model_name, gallery.model_version or "", gallery.model_sha256 or "")


def same_model(a: ModelInfo, b: ModelInfo) -> bool:
    """True when two identities name the same model: name, version and weights."""
    return (a.name, a.version, a.sha256) == (b.name, b.version, b.sha256)


@dataclass(frozen=True)
class EvaluationView:
    """A stored evaluation, as listed (the full summary is read by id)."""

    id: int
    model: dict[str, str]
    dataset: str
    dataset_fingerprint: str
    summary_sha256: str
    figures: GateFigures
    recorded_by: str
    recorded_at: str
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        """Return the evaluation as JSON-ready data."""
        return {
            "id": self.id,
            "model": self.model,
            "dataset": self.dataset,
            "dataset_fingerprint": self.dataset_fingerprint,
            "summary_sha256": self.summary_sha256,
            "figures": {
                "rank1": self.figures.rank1,
                "fnir_at_fpir_0.003": self.figures.fnir,
                "fte": self.figures.fte,
                "label_source": self.figures.label_source,
                "max_fmr_ratio": self.figures.max_fmr_ratio,
                "max_fnmr_ratio": self.figures.max_fnmr_ratio,
                "unbounded_ratios": list(self.figures.unbounded),
                "unmeasured_ratios": list(self.figures.unmeasured),
            },
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at,
            "ledger_seq": self.ledger_seq,
        }


def _evaluation_view(row: Evaluation) -> EvaluationView:
    return EvaluationView(
        id=row.id,
        model={"name": row.model_name, "version": row.model_version, "sha256": row.model_sha256},
        dataset=row.dataset,
        dataset_fingerprint=row.dataset_fingerprint,
        summary_sha256=row.summary_sha256,
        figures=GateFigures.of(row.summary),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at.isoformat(),
        ledger_seq=row.ledger_seq,
    )


def _activation_dict(row: Activation, gallery: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "gallery": gallery,
        "evaluation_id": row.evaluation_id,
        "model": {"name": row.model_name, "version": row.model_version, "sha256": row.model_sha256},
        "target_fpir": row.target_fpir,
        "gallery_size": row.gallery_size,
        "threshold": row.threshold,
        "within_measured_range": row.within_measured_range,
        "profile_sha256": row.profile_sha256,
        "activated_by": row.activated_by,
        "activated_at": row.activated_at.isoformat(),
        "ledger_seq": row.ledger_seq,
    }


class OperatingPoints:
    """Each target gallery's operating threshold, after the model and gate checks."""

    def __init__(self, ctx: ServiceContext, policy: PolicyStore) -> None:
        self._ctx, self._policy = ctx, policy
        # What searches read of each evaluation, parsed once: by id and summary hash, so a
        # changed summary is read again.
        self._read: dict[tuple[int, str], tuple[GateFigures, ImpostorDistribution]] = {}

    def for_targets(
        self, session: Session, targets: Sequence[Target]
    ) -> dict[str, OperatingThreshold]:
        """Return the operating threshold of every target gallery, by name.

        Raises:
            ModelMismatch: if a gallery's templates come from another model than the probe's.
            GateClosed: under a profile with the deployment gate, for a gallery with no
                activation, or one whose evaluation no longer meets the profile's bounds.
        """
        profile = self._policy.profile(session)
        embedder = self._ctx.pipeline.embedder.model
        points = {}
        for gallery_id, _, name in targets:
            gallery = session.get(Gallery, gallery_id)
            assert gallery is not None
            self.require_model(gallery, embedder)
            points[name] = self._point(session, gallery, embedder, profile)
        return points

    def for_verify(self, session: Session) -> OperatingThreshold:
        """Return the 1:1 threshold: calibrated for the ``verify_target_fmr`` setting from the
        newest stored evaluation of the probe's model, else the model's uncalibrated default."""
        embedder = self._ctx.pipeline.embedder.model
        evaluation = session.scalar(
            select(Evaluation)
            .where(
                Evaluation.model_name == embedder.name,
                Evaluation.model_version == embedder.version,
                Evaluation.model_sha256 == embedder.sha256,
            )
            .order_by(Evaluation.id.desc())
            .limit(1)
        )
        if evaluation is None:
            return OperatingThreshold(
                gallery="",
                distance=uncalibrated_default(embedder.name),
                model=embedder.name,
                gallery_size=1,
                calibrated=False,
                one_to_one=True,
            )
        fmr = self._ctx.settings.verify_target_fmr
        threshold, measured = self.calibrate(evaluation, fmr, 1)  # FPIR at N = 1 is the FMR
        return OperatingThreshold(
            gallery="",
            distance=threshold,
            model=embedder.name,
            gallery_size=1,
            calibrated=True,
            evaluation_id=evaluation.id,
            target_fpir=fmr,
            within_measured_range=measured,
            one_to_one=True,
        )

    @staticmethod
    def require_model(gallery: Gallery, embedder: ModelInfo) -> None:
        """Refuse to compare a probe of ``embedder`` with a gallery of another model.

        Raises:
            ModelMismatch: naming both models and the way out.
        """
        model = gallery_model(gallery)
        if model is None or same_model(model, embedder):
            return
        raise ModelMismatch(
            f"Gallery {gallery.name!r} holds templates of the {model.name} model "
            f"({model.version}); this service embeds probes with {embedder.name} "
            f"({embedder.version}). Templates of different models are never compared: "
            f"re-embed the gallery (`faceledger gallery reembed {gallery.name} --model ...`) or "
            "run the service with the gallery's pipeline setting.",
            gallery=gallery.name,
            gallery_model=model.to_dict(),
            probe_model=embedder.to_dict(),
        )

    def _point(
        self, session: Session, gallery: Gallery, embedder: ModelInfo, profile: Profile
    ) -> OperatingThreshold:
        size = store.template_count(session, gallery.id)
        activation = (
            None
            if gallery.activation_id is None
            else session.get(Activation, gallery.activation_id)
        )
        if activation is None:
            if profile.accuracy.gate:
                raise GateClosed(
                    f"Gallery {gallery.name!r} has no model activated through the deployment "
                    f"gate, which the {profile.name} profile requires (R15, R16): store an "
                    "evaluation (`faceledger eval ... --store`) and activate it "
                    f"(`faceledger gallery activate {gallery.name} --evaluation ID`).",
                    gallery=gallery.name,
                )
            return OperatingThreshold(
                gallery=gallery.name,
                distance=uncalibrated_default(embedder.name),
                model=embedder.name,
                gallery_size=size,
                calibrated=False,
            )
        evaluation = session.get(Evaluation, activation.evaluation_id)
        assert evaluation is not None
        if profile.accuracy.gate:
            reasons = gate_reasons(self.figures(evaluation)[0], profile.accuracy)
            if reasons:
                raise GateClosed(
                    f"Gallery {gallery.name!r}: activation {activation.id} rests on evaluation "
                    f"{evaluation.id}, which does not meet the active {profile.name} profile's "
                    f"bounds: {'; '.join(reasons)}. Activate a model that does.",
                    gallery=gallery.name,
                    reasons=reasons,
                )
        threshold, measured = self.calibrate(evaluation, activation.target_fpir, size)
        return OperatingThreshold(
            gallery=gallery.name,
            distance=threshold,
            model=activation.model_name,
            gallery_size=size,
            calibrated=True,
            evaluation_id=evaluation.id,
            activation_id=activation.id,
            target_fpir=activation.target_fpir,
            within_measured_range=measured,
        )

    def figures(self, evaluation: Evaluation) -> tuple[GateFigures, ImpostorDistribution]:
        """Return the gate's figures and the impostor distribution of a stored evaluation,
        parsing its summary only the first time."""
        key = (evaluation.id, evaluation.summary_sha256)
        found = self._read.get(key)
        if found is None:
            summary = evaluation.summary
            found = GateFigures.of(summary), ImpostorDistribution.from_summary(summary["impostor"])
            self._read[key] = found
        return found

    def calibrate(
        self, evaluation: Evaluation, target_fpir: float, size: int
    ) -> tuple[float, bool]:
        """Return the threshold for ``target_fpir`` at ``size`` templates, and whether it lies
        within the evaluation's measured range."""
        distribution = self.figures(evaluation)[1]
        calibration = threshold_for_fpir(distribution, target_fpir, max(1, size))
        return calibration.threshold, calibration.within_measured_range


class DeploymentUseCases:
    """Storing evaluations and activating models for galleries through the gate; each change
    lands with its ledger entry."""

    def __init__(
        self, ctx: ServiceContext, access: Access, policy: PolicyStore, points: OperatingPoints
    ) -> None:
        self._ctx, self._access, self._policy, self._points = ctx, access, policy, points

    def record_evaluation(self, acting: Principal, summary: Mapping[str, Any]) -> EvaluationView:
        """Store an evaluation summary written by ``faceledger eval``.

        Raises:
            PermissionDenied: without ``model.evaluate`` (recorded).
            InvalidInput: for a summary without a model, a dataset or an impostor distribution.
        """
        with self._access.transaction(acting, "model.evaluate") as (session, fresh):
            model = embedder_of(summary)
            dataset = summary.get("dataset") or {}
            if not dataset.get("fingerprint") or "impostor" not in summary:
                raise InvalidInput(
                    "The evaluation summary lacks its dataset fingerprint or impostor "
                    "distribution; it was not written by `faceledger eval`."
                )
            ImpostorDistribution.from_summary(summary["impostor"])  # refuses a malformed one
            digest = summary_sha256(summary)
            figures = GateFigures.of(summary)
            row = Evaluation(
                model_name=model.name,
                model_version=model.version,
                model_sha256=model.sha256,
                dataset=str(dataset.get("name", ""))[:200],
                dataset_fingerprint=str(dataset["fingerprint"]),
                summary=dict(summary),
                summary_sha256=digest,
                recorded_by=fresh.ledger_actor,
            )
            session.add(row)
            session.flush()
            row.ledger_seq = self._ctx.ledger.append(
                session,
                actor=fresh.ledger_actor,
                action=LedgerAction.MODEL_EVALUATION,
                object_type="evaluation",
                object_id=str(row.id),
                payload={
                    "evaluation_id": row.id,
                    "model": model.to_dict(),
                    "dataset": row.dataset,
                    "dataset_fingerprint": row.dataset_fingerprint,
                    "summary_sha256": digest,
                    "figures": figures.to_record(),
                },
            ).seq
            session.flush()
            return _evaluation_view(row)

    def evaluations(self, acting: Principal) -> list[EvaluationView]:
        """Return every stored evaluation, newest first.

        Raises:
            PermissionDenied: without ``model.read`` (recorded).
        """
        with self._access.transaction(acting, "model.read", write=False) as (session, _):
            rows = session.scalars(select(Evaluation).order_by(Evaluation.id.desc())).all()
            return [_evaluation_view(r) for r in rows]

    def evaluation_summary(self, acting: Principal, evaluation_id: int) -> dict[str, Any]:
        """Return one stored evaluation's full summary.

        Raises:
            PermissionDenied: without ``model.read`` (recorded).
            NotFound: for an unknown evaluation.
        """
        with self._access.transaction(acting, "model.read", write=False) as (session, _):
            return dict(_evaluation(session, evaluation_id).summary)

    def activation(self, acting: Principal, gallery_name: str) -> dict[str, Any] | None:
        """Return a gallery's current activation, or None.

        Raises:
            PermissionDenied: without ``model.read`` (recorded).
            NotFound: for an unknown gallery.
        """
        with self._access.transaction(acting, "model.read", write=False) as (session, _):
            gallery = store.get_gallery(session, gallery_name)
            if gallery.activation_id is None:
                return None
            row = session.get(Activation, gallery.activation_id)
            return None if row is None else _activation_dict(row, gallery.name)

    def activate(
        self,
        acting: Principal,
        gallery_name: str,
        evaluation_id: int,
        target_fpir: float | None = None,
    ) -> dict[str, Any]:
        """Activate a gallery's model at an operating point calibrated from an evaluation.

        The evaluation must be of the gallery's model and meet the active profile's accuracy
        bounds; ``target_fpir`` defaults to the profile's operating FPIR and may only be
        stricter. A refusal is recorded in the ledger with its reasons before it is raised.

        Raises:
            PermissionDenied: without ``model.activate`` (recorded).
            NotFound: for an unknown gallery or evaluation.
            InvalidInput: for a target FPIR outside (0, 0.5].
            GateClosed: when the gate refuses (recorded), with the reasons.
        """
        with self._access.transaction(acting, "model.activate") as (session, fresh):
            if target_fpir is not None and not 0 < target_fpir <= 0.5:
                raise InvalidInput(
                    f"The target FPIR must be above 0 and at most 0.5, got {target_fpir:g}.",
                    target_fpir=target_fpir,
                )
            gallery = store.get_gallery(session, gallery_name)
            evaluation = _evaluation(session, evaluation_id)
            profile = self._policy.profile(session)
            fpir = profile.accuracy.operating_fpir if target_fpir is None else target_fpir
            reasons = self._refusals(gallery, evaluation, profile, fpir)
            model = embedder_of(evaluation.summary)
            size = store.template_count(session, gallery.id)
            payload: dict[str, Any] = {
                "gallery": gallery.name,
                "evaluation_id": evaluation.id,
                "evaluation_sha256": evaluation.summary_sha256,
                "model": model.to_dict(),
                "profile": self._policy.notice(session),
                "target_fpir_nano": round(fpir * 1_000_000_000),
                "gallery_size": size,
                "figures": GateFigures.of(evaluation.summary).to_record(),
            }
            if reasons:
                self._ctx.ledger.append(
                    session,
                    actor=fresh.ledger_actor,
                    action=LedgerAction.MODEL_ACTIVATION_REFUSED,
                    object_type="gallery",
                    object_id=gallery.name,
                    payload={**payload, "reasons": reasons},
                )
            else:
                threshold, measured = self._points.calibrate(evaluation, fpir, size)
                row = Activation(
                    gallery_id=gallery.id,
                    evaluation_id=evaluation.id,
                    model_name=model.name,
                    model_version=model.version,
                    model_sha256=model.sha256,
                    target_fpir=fpir,
                    gallery_size=size,
                    threshold=threshold,
                    within_measured_range=measured,
                    profile_sha256=profile.sha256,
                    activated_by=fresh.ledger_actor,
                )
                session.add(row)
                session.flush()
                gallery.activation_id = row.id
                row.ledger_seq = self._ctx.ledger.append(
                    session,
                    actor=fresh.ledger_actor,
                    action=LedgerAction.MODEL_ACTIVATE,
                    object_type="gallery",
                    object_id=gallery.name,
                    payload={
                        **payload,
                        "activation_id": row.id,
                        "threshold_micro": round(threshold * 1_000_000),
                        "within_measured_range": measured,
                    },
                ).seq
                session.flush()
                result = _activation_dict(row, gallery.name)
        if reasons:
            raise GateClosed(
                f"The deployment gate refused evaluation {evaluation_id} for gallery "
                f"{gallery_name!r}: {'; '.join(reasons)}.",
                gallery=gallery_name,
                evaluation_id=evaluation_id,
                reasons=reasons,
            )
        return result

    @staticmethod
    def _refusals(
        gallery: Gallery, evaluation: Evaluation, profile: Profile, fpir: float
    ) -> list[str]:
        reasons = []
        model, evaluated = gallery_model(gallery), embedder_of(evaluation.summary)
        if model is None:
            reasons.append(f"gallery {gallery.name!r} is empty: enrol photos before activating")
        elif not same_model(model, evaluated):
            reasons.append(
                f"the evaluation is of the {evaluated.name} model ({evaluated.version}), but "
                f"the gallery's templates come from {model.name} ({model.version})"
            )
        if profile.accuracy.gate and fpir > profile.accuracy.operating_fpir:
            reasons.append(
                f"target FPIR {fpir:g} is looser than the {profile.name} profile's operating "
                f"FPIR of {profile.accuracy.operating_fpir:g}"
            )
        if profile.accuracy.gate:
            reasons.extend(gate_reasons(evaluation.summary, profile.accuracy))
        return reasons


def _evaluation(session: Session, evaluation_id: int) -> Evaluation:
    row = session.get(Evaluation, evaluation_id)
    if row is None:
        raise NotFound(f"No stored evaluation {evaluation_id}.", evaluation_id=evaluation_id)
    return row
