"""The public fields of ledger entries: what an outsider may count without personal data.

Each request step and each violation commits a small ``public`` object inside its ledger
envelope (see :mod:`faceledger.ledger.envelope`, version 2), so it is in every export, also the
payload-less public one, and every verifier checks it. The transparency report (R17) counts from
these fields alone with ``--from-export``, and must agree with the count from the records.

The schema (every field optional unless said; values are strings, integers or booleans):

=========================  ==================================================================
action                     public fields
=========================  ==================================================================
``request.submit``         ``agency`` (requesting agency's slug), ``legal_basis`` (kind),
                           ``offence_class`` (the offence's severity class, "" if none),
                           ``emergency`` (bool), ``state`` (after filing), ``outcome``,
                           ``denied_rules`` (rule ids, when denied), ``described_sex`` and
                           ``described_race`` (the requester's description, when given)
every other ``request.*``  ``state`` and ``outcome`` after the step, and:
  ``request.search``       ``candidates`` (the list's length)
  ``request.release``      ``released`` (how many candidates)
  ``request.lead_use``     ``use`` (lead-use kind), ``corroborated`` (bool)
  ``request.emergency_``   ``filing``: ``on_time`` or ``late``
  ``filed``
``access.denied``,         ``violation`` (its kind), ``agency`` (of the request, else of the
``violation.recorded``     actor; its slug, "" for a local operator or unknown account)
=========================  ==================================================================

The entry's own ``object_type``/``object_id`` (``request``, its id) join the steps of one
request. Nothing here names a person, a case number, a subject or a candidate.
"""

from __future__ import annotations

from typing import Any

from faceledger.governance.models import RequestRow
from faceledger.governance.violations import ViolationKind


def request_step(row: RequestRow, **extra: Any) -> dict[str, Any]:
    """The public fields of a request step's entry: the state and outcome after it, and
    ``extra`` (see the module's table)."""
    return {"state": row.state, "outcome": row.outcome, **extra}


def request_filed(row: RequestRow, agency: str) -> dict[str, Any]:
    """The public fields a ``request.submit`` entry adds to :func:`request_step`'s."""
    fields: dict[str, Any] = {
        "agency": agency,
        "legal_basis": row.legal_basis_kind,
        "offence_class": row.offence_severity,
        "emergency": row.legal_basis_kind == "emergency",
    }
    if row.state == "denied":
        failures = (row.decision or {}).get("failures", [])
        fields["denied_rules"] = sorted({str(f.get("rule_id", "")) for f in failures} - {""})
    if row.described_sex:
        fields["described_sex"] = row.described_sex
    if row.described_race:
        fields["described_race"] = row.described_race
    return fields


def violation(kind: ViolationKind | str, agency: str | None) -> dict[str, Any]:
    """The public fields of an ``access.denied`` or ``violation.recorded`` entry."""
    return {"violation": str(kind), "agency": agency or ""}
