"""The due jobs, composed: what ``faceledger serve``'s scheduler and ``faceledger jobs run-due``
run. Each job is a use case of its own area, with its own access check and ledger entries:

1. overdue emergency filings are flagged and sealed (:meth:`EmergencyUseCases.run_due`, R4);
2. the misuse analytics scan the records and raise alerts for new findings
   (:meth:`MisuseUseCases.scan`, R18);
3. pending alert deliveries are tried by email and webhook (:meth:`AlertUseCases.deliver_due`,
   R18);
4. retention: probes, candidate lists and released results past the profile's periods are
   purged, and the ledger payloads of purged and sealed requests redacted
   (:meth:`RetentionUseCases.run`, R13). It runs after the emergencies, so a request sealed in
   this run has its payloads redacted in the same run;
5. checkpoints and witnesses: a checkpoint is signed if one is due (so a quiet log still gets a
   fresh signed head), and the latest one is pushed to the configured witnesses for their
   cosignatures (:meth:`WitnessUseCases.collect`; skipped when ``witness_urls`` is empty).

A failing job does not stop the ones after it: its error is reported, and it runs again at the
next tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from faceledger.governance.accounts import Principal
from faceledger.service.alerts import AlertUseCases, DeliveryReport
from faceledger.service.audit import AuditUseCases
from faceledger.service.emergencies import EmergencyUseCases, JobReport
from faceledger.service.misuse import MisuseUseCases, ScanResult
from faceledger.service.retention import RetentionRun, RetentionUseCases
from faceledger.service.witnesses import CollectReport, WitnessUseCases

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueRun:
    """What one run of the due jobs did; a job that failed has None and its error."""

    emergencies: JobReport
    misuse: ScanResult | None
    alerts: DeliveryReport | None
    retention: RetentionRun | None
    checkpoint: int | None
    """The number of the checkpoint this run signed, None if none was due (or it failed)."""
    witnesses: CollectReport | None
    """The push to the witnesses; None when none is configured (or it failed)."""
    errors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the run as JSON-ready data."""
        return {
            "emergencies": self.emergencies.to_dict(),
            "misuse": None if self.misuse is None else self.misuse.to_dict(),
            "alerts": None if self.alerts is None else self.alerts.to_dict(),
            "retention": None if self.retention is None else self.retention.to_dict(),
            "checkpoint": self.checkpoint,
            "witnesses": None if self.witnesses is None else self.witnesses.to_dict(),
            "errors": list(self.errors),
        }


class DueJobs:
    """Runs the due jobs in order for one principal (the scheduler, cron's local operator)."""

    def __init__(
        self,
        emergencies: EmergencyUseCases,
        misuse: MisuseUseCases,
        alerts: AlertUseCases,
        retention: RetentionUseCases,
        audit: AuditUseCases,
        witnesses: WitnessUseCases,
    ) -> None:
        self._emergencies, self._misuse, self._alerts = emergencies, misuse, alerts
        self._retention, self._audit, self._witnesses = retention, audit, witnesses

    def run_due(self, acting: Principal) -> DueRun:
        """Run every due job now.

        Raises:
            PermissionDenied: without ``jobs.run_due`` (recorded), from the first job.
        """
        emergencies = self._emergencies.run_due(acting)
        errors: list[str] = []
        misuse: ScanResult | None = None
        alerts: DeliveryReport | None = None
        try:
            misuse = self._misuse.scan(acting)
        except Exception as exc:  # any failure: the next job still runs
            log.exception("due jobs: the misuse scan failed")
            errors.append(f"misuse scan: {exc}")
        try:
            alerts = self._alerts.deliver_due(acting)
        except Exception as exc:
            log.exception("due jobs: alert delivery failed")
            errors.append(f"alert delivery: {exc}")
        retention: RetentionRun | None = None
        try:
            retention = self._retention.run(acting)
        except Exception as exc:
            log.exception("due jobs: retention failed")
            errors.append(f"retention: {exc}")
        else:
            errors.extend(f"retention: {error}" for error in retention.errors)
        checkpoint: int | None = None
        witnessed: CollectReport | None = None
        try:
            signed = self._audit.sign_checkpoint_if_due(acting)
            checkpoint = None if signed is None else signed.number
            if self._witnesses.urls():
                witnessed = self._witnesses.collect(acting)
        except Exception as exc:
            log.exception("due jobs: checkpoint or witnesses failed")
            errors.append(f"checkpoint and witnesses: {exc}")
        return DueRun(emergencies, misuse, alerts, retention, checkpoint, witnessed, tuple(errors))
