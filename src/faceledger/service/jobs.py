"""The due jobs, composed: what ``faceledger serve``'s scheduler and ``faceledger jobs run-due``
run. Each job is a use case of its own area, with its own access check and ledger entries:

1. overdue emergency filings are flagged and sealed (:meth:`EmergencyUseCases.run_due`, R4);
2. the misuse analytics scan the records and raise alerts for new findings
   (:meth:`MisuseUseCases.scan`, R18);
3. pending alert deliveries are tried by email and webhook (:meth:`AlertUseCases.deliver_due`,
   R18).

A failing job does not stop the ones after it: its error is reported, and it runs again at the
next tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from faceledger.governance.accounts import Principal
from faceledger.service.alerts import AlertUseCases, DeliveryReport
from faceledger.service.emergencies import EmergencyUseCases, JobReport
from faceledger.service.misuse import MisuseUseCases, ScanResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueRun:
    """What one run of the due jobs did; a job that failed has None and its error."""

    emergencies: JobReport
    misuse: ScanResult | None
    alerts: DeliveryReport | None
    errors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the run as JSON-ready data."""
        return {
            "emergencies": self.emergencies.to_dict(),
            "misuse": None if self.misuse is None else self.misuse.to_dict(),
            "alerts": None if self.alerts is None else self.alerts.to_dict(),
            "errors": list(self.errors),
        }


class DueJobs:
    """Runs the due jobs in order for one principal (the scheduler, cron's local operator)."""

    def __init__(
        self, emergencies: EmergencyUseCases, misuse: MisuseUseCases, alerts: AlertUseCases
    ) -> None:
        self._emergencies, self._misuse, self._alerts = emergencies, misuse, alerts

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
        return DueRun(emergencies, misuse, alerts, tuple(errors))
