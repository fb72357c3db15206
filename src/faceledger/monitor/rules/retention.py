"""The retention rule (R13): purges run on schedule, and none is missing.

A request's probe is due for purging ``probe_days`` after its filing (``request.submit``), its
results ``result_days`` after its search (``request.search``), with the days of the profile in
force at the purge, or at the log's last entry for a purge that has not run. A purge is a
``retention.purge`` entry filed under the request with public ``kind`` ``probe`` or
``results``. A sealed request needs none: sealing already deleted its candidates and probe.
"""

from __future__ import annotations

import datetime as dt

from faceledger.monitor import names
from faceledger.monitor.log import Entry, RequestHistory, public_time
from faceledger.monitor.profiles import ProfileInForce
from faceledger.monitor.rules.base import Check, Context

__all__ = ["RetentionOnSchedule"]

_KINDS = {"probe": ("probe_days", names.SUBMIT), "results": ("result_days", names.SEARCH)}
"""Each purge kind: the profile parameter that sets its period, and the step that starts it."""


class RetentionOnSchedule:
    """Each purge came no later than the grace after it was due, and every request whose probe
    or results were due more than the grace before the log's last entry has its purge."""

    id = "retention_on_schedule"
    requirement = "R13"
    description = (
        "retention purges ran on schedule: each no later than the grace after its due time, "
        "and none is missing for a probe or result list due longer ago than the grace"
    )

    def check(self, ctx: Context, out: Check) -> None:
        """Check every purge, and every request's probe and results for a missing purge."""
        last = ctx.log.last_ts
        for history in ctx.log.requests.values():
            purges = history.of(names.RETENTION_PURGE)
            for purge in purges:
                out.counted()
                self._purge(ctx, out, history, purge)
            if last is None or history.sealed_at() is not None:
                continue
            for kind in _KINDS:
                if not any(p.public.get("kind") == kind for p in purges):
                    self._missing(ctx, out, history, kind, last)

    @staticmethod
    def _purge(ctx: Context, out: Check, history: RequestHistory, purge: Entry) -> None:
        rid, kind = history.ident, purge.public.get("kind")
        if not isinstance(kind, str) or kind not in _KINDS:
            out.unchecked(
                f"The purge at seq {purge.seq} names no known kind ({kind!r}).", [purge], rid
            )
            return
        due = _due(ctx.profiles.at(purge.seq), history, kind)
        if isinstance(due, str):
            out.unchecked(f"When the purge at seq {purge.seq} was due: {due}.", [purge], rid)
            return
        start, at = due
        if purge.ts > at + ctx.grace:
            claimed = public_time(purge.public, "due")
            said = f"; the entry says {claimed.isoformat()}" if claimed else ""
            out.finding(
                f"The {kind} of request {rid} was purged at {purge.ts.isoformat()} (seq "
                f"{purge.seq}), more than {_hours(ctx.grace)} after it was due "
                f"({at.isoformat()}{said}).",
                [start, purge],
                rid,
            )

    @staticmethod
    def _missing(
        ctx: Context, out: Check, history: RequestHistory, kind: str, last: dt.datetime
    ) -> None:
        _, step = _KINDS[kind]
        if history.first(step) is None:
            return  # never filed here, or never searched: nothing of this kind to purge
        out.counted()
        rid = history.ident
        due = _due(ctx.profiles.latest(), history, kind)
        if isinstance(due, str):
            shown = [e for e in (history.first(step),) if e is not None]
            out.unchecked(f"When request {rid}'s {kind} is due for purging: {due}.", shown, rid)
            return
        start, at = due
        if last > at + ctx.grace and ctx.log.split():
            out.unchecked(
                f"No purge of request {rid}'s {kind} is recorded under this name, but the log "
                "names requests both in clear and by pseudonym: it may be under its other name.",
                [start],
                rid,
            )
        elif last > at + ctx.grace:
            out.finding(
                f"The {kind} of request {rid} was due for purging at {at.isoformat()}, more "
                f"than {_hours(ctx.grace)} before the log's last entry ({last.isoformat()}), "
                "and no purge is recorded.",
                [start],
                rid,
            )


def _due(
    profile: ProfileInForce | None, history: RequestHistory, kind: str
) -> tuple[Entry, dt.datetime] | str:
    """The entry that started the clock and when the purge was due, or why that is unknown."""
    parameter, step = _KINDS[kind]
    start = history.first(step)
    if start is None:
        return f"the request's {step} is not in the log"
    days = profile.number(parameter) if profile else None
    if days is None:
        return f"the profile's {parameter} is not in the log"
    return start, start.ts + dt.timedelta(days=days)


def _hours(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"
