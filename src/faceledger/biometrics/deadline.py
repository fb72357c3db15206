"""The time box of one analysis: a deadline checked between the pipeline's stages.

An analysis (decode, wait for the pipeline, detect, then align and embed each face) gets one
:class:`Deadline`. Waiting for the pipeline's lock is bounded by what is left of it, and each
stage starts only if time remains. A stage already running is not interrupted: with images
scaled to the working size first, no single stage takes long, so the box is overrun by at most
one stage.

Both refusals are 503 (:class:`~faceledger.errors.AnalysisUnavailable`), not 422: the photo has
already been bounded by the pixel limit and the working size, so running out of time means the
server is loaded, and the same request may succeed when it is retried.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from faceledger.errors import AnalysisTimedOut, PipelineBusy


class Deadline:
    """A point in time (monotonic clock) by which an analysis must be done."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Start a time box of ``seconds`` from now."""
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        """Seconds left (0 when the deadline has passed)."""
        return max(0.0, self._end - self._clock())

    def check(self, stage: str) -> None:
        """Return if time remains before ``stage`` starts.

        Raises:
            AnalysisTimedOut: if the deadline has passed (503).
        """
        if self._clock() >= self._end:
            raise AnalysisTimedOut(
                f"The face analysis took longer than the {self.seconds:g} s allowed and was "
                f"stopped before {stage}; nothing was recorded. The server is busy; try again "
                "in a moment.",
                stage=stage,
                timeout_seconds=self.seconds,
                retry_after_seconds=self.retry_after,
            )

    def busy(self) -> PipelineBusy:
        """The error for a pipeline that stayed busy until the deadline (503)."""
        return PipelineBusy(
            f"The face pipeline is busy with other analyses and did not become free within "
            f"{self.seconds:g} s; nothing was recorded. Try again in a moment.",
            timeout_seconds=self.seconds,
            retry_after_seconds=self.retry_after,
        )

    @property
    def retry_after(self) -> int:
        """A suggested wait before retrying, in whole seconds (at least 1)."""
        return max(1, math.ceil(self.seconds / 2))
