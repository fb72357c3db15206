"""Per-user bound on face analyses in flight, and the time box each one runs in.

Every entry point that runs the face pipeline on a caller's photo (filing a request, the face
picker, a request's search, ad hoc search and verify) takes a slot here for the acting
principal first. A user who already has ``max_concurrent_analyses`` running is refused at once
with 429, before any decoding, so one person cannot queue the pipeline up for everyone; each
analysis then runs under a :class:`~faceledger.biometrics.deadline.Deadline` of
``analysis_timeout_seconds``, so another user waits at most about one time box per analysis
ahead of them.

The count is kept in memory by each server process (a lock and a dict): several worker
processes each allow the bound, and a restart forgets nothing that matters, since an analysis
does not outlive its process. It is a guard against stalling, not an accounting of use (the
ledger is that).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from faceledger.biometrics.deadline import Deadline
from faceledger.errors import TooManyAnalyses
from faceledger.governance.accounts import Principal


class AnalysisSlots:
    """How many analyses each user has running, bounded by ``limit``."""

    def __init__(self, limit: int, timeout_seconds: float) -> None:
        """Allow ``limit`` analyses per user at once, each time-boxed to ``timeout_seconds``."""
        self.limit, self.timeout_seconds = limit, timeout_seconds
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    @contextmanager
    def hold(self, acting: Principal) -> Iterator[Deadline]:
        """Run one analysis for ``acting``: yields its deadline, and frees the slot after.

        Raises:
            TooManyAnalyses: if ``acting`` already has ``limit`` analyses running (429);
                nothing has been done then.
        """
        key = acting.username
        with self._lock:
            running = self._running.get(key, 0)
            if running >= self.limit:
                raise TooManyAnalyses(
                    f"You already have {running} face "
                    f"{'analysis' if running == 1 else 'analyses'} running, the most one user "
                    f"may have at once ({self.limit}); wait for it to finish, then try again. "
                    "Nothing was recorded.",
                    running=running,
                    limit=self.limit,
                    retry_after_seconds=1,
                )
            self._running[key] = running + 1
        try:
            yield Deadline(self.timeout_seconds)
        finally:
            with self._lock:
                left = self._running[key] - 1
                if left:
                    self._running[key] = left
                else:
                    del self._running[key]

    def running(self, acting: Principal) -> int:
        """How many analyses ``acting`` has running now."""
        with self._lock:
            return self._running.get(acting.username, 0)
