"""The in-process scheduler of ``faceledger serve``: runs the due jobs every few minutes.

Deadlines must not wait for a click: an emergency whose court filing is overdue is flagged and
sealed, the misuse analytics scan the records, pending alerts are delivered, and what is past
the profile's retention periods is purged (its ledger payloads redacted when due)
(:class:`faceledger.service.jobs.DueJobs`), run here as the local operator
``local:scheduler`` (``faceledger jobs run-due`` does the same from cron). Each run and each
effect is in the ledger. A failing run is logged and retried at the next tick.
"""

from __future__ import annotations

import logging
import threading

from faceledger.governance.accounts import LocalOperator
from faceledger.service import FaceLedger
from faceledger.service.jobs import DueRun

SCHEDULER = LocalOperator("scheduler")
"""The principal the scheduler acts as."""

log = logging.getLogger(__name__)


class DueJobScheduler:
    """A daemon thread that runs the due jobs every ``interval_seconds``."""

    def __init__(self, service: FaceLedger, interval_seconds: float) -> None:
        self._service, self._interval = service, interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="faceledger-jobs", daemon=True)
        self.runs = 0

    def start(self) -> None:
        """Start the thread; the first run is immediate."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for a run in progress to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def run_once(self) -> DueRun:
        """Run the due jobs now and return what they did."""
        report = self._service.jobs.run_due(SCHEDULER)
        self.runs += 1
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.run_once()
            except Exception:  # a failed run must not stop the scheduler
                log.exception("the due jobs failed; retrying at the next run")
            else:
                done, kept = report.emergencies, report.retention
                if done.flagged or done.sealed or report.errors:
                    log.warning("due jobs: %s", report.to_dict())
                elif kept is not None and kept.requests:
                    log.info(
                        "retention: %s purge(s), %s ledger payload(s) redacted",
                        sum(len(r.purged) for r in kept.requests),
                        kept.entries_redacted,
                    )
            self._stop.wait(self._interval)
