"""Rules on emergencies and sealing (R4): the court statement comes within the deadline, and
a sealed request stays sealed."""

from __future__ import annotations

import datetime as dt

from faceledger.monitor import names
from faceledger.monitor.log import Entry, RequestHistory, public_time
from faceledger.monitor.rules.base import Check, Context, filing_deadline

__all__ = ["EmergencyStatement", "SealedIsFinal"]


class EmergencyStatement:
    """Every approved emergency's statement (``request.emergency_filed``) comes within its
    deadline; one without a statement whose deadline passed before the log's last entry is a
    finding unless the request was sealed by then."""

    id = "emergency_statement_on_time"
    requirement = "R4"
    description = (
        "every emergency's court statement comes within the deadline (the profile's "
        "emergency_filing_hours from the approval); an overdue emergency without one is sealed"
    )

    def check(self, ctx: Context, out: Check) -> None:
        """Check every approved emergency."""
        last = ctx.log.last_ts
        for history in ctx.log.requests.values():
            if history.first(names.APPROVE_EMERGENCY) is None or last is None:
                continue
            out.counted()
            self._emergency(ctx, out, history, last)

    @staticmethod
    def _emergency(ctx: Context, out: Check, history: RequestHistory, last: dt.datetime) -> None:
        rid = history.ident
        deadline = filing_deadline(history, ctx)
        approval = deadline.approval
        assert approval is not None  # check() only hands approved emergencies
        if not deadline.known:
            out.unchecked(
                f"The filing deadline of emergency request {rid} cannot be told: {deadline.why}.",
                [approval],
                rid,
            )
            return
        statement = history.first(names.EMERGENCY_FILED)
        if deadline.at is None:
            return
        if statement is not None:
            filed = _filed_at(statement)
            if filed > deadline.at:
                out.finding(
                    f"The court statement of emergency request {rid} was filed at "
                    f"{filed.isoformat()} (seq {statement.seq}), after its deadline: "
                    f"{deadline.why}.",
                    [approval, statement],
                    rid,
                    [statement.actor],
                )
            return
        sealed = history.sealed_at()
        if deadline.at < last and sealed is None and ctx.log.split():
            out.unchecked(
                f"Emergency request {rid} has no court statement or sealing under this name, "
                "but the log names requests both in clear and by pseudonym: they may be filed "
                "under its other name.",
                [approval],
                rid,
            )
        elif deadline.at < last and sealed is None:
            out.finding(
                f"Emergency request {rid} has no court statement, its deadline ({deadline.why}) "
                "passed before the log's last entry, and it was not sealed.",
                [approval],
                rid,
                [approval.actor],
            )


def _filed_at(statement: Entry) -> dt.datetime:
    """When the statement was filed: the time it records, unless that is after the entry
    itself (a claim the entry cannot back); else the entry's time."""
    claimed = public_time(statement.public, "filed_at")
    return claimed if claimed is not None and claimed <= statement.ts else statement.ts


class SealedIsFinal:
    """A sealed request has no later activity but the entries of
    :data:`~faceledger.monitor.names.ALLOWED_AFTER_SEAL` (redaction, retention purge,
    disclosure packet, refused attempts and violations recorded on it)."""

    id = "sealed_is_final"
    requirement = "R4"
    description = (
        "a sealed request has no later activity except ledger.redact, retention.purge, "
        "report.disclosure, access.denied and violation.recorded"
    )

    def check(self, ctx: Context, out: Check) -> None:
        """Check every sealed request."""
        for history in ctx.log.requests.values():
            sealed = history.sealed_at()
            if sealed is None:
                continue
            out.counted()
            if ctx.log.split() and not history.ident.pseudonymous:
                out.unchecked(
                    f"Request {history.ident} was sealed at seq {sealed.seq} under its clear "
                    "name; later entries filed under its pseudonym cannot be joined to it.",
                    [sealed],
                    history.ident,
                )
            for entry in history.entries:
                if entry.seq > sealed.seq and entry.action not in names.ALLOWED_AFTER_SEAL:
                    out.finding(
                        f"Request {history.ident} was sealed at seq {sealed.seq}, but "
                        f"{entry.action} followed at seq {entry.seq}.",
                        [sealed, entry],
                        history.ident,
                        [entry.actor],
                    )
