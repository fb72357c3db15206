"""The public fields of ledger entries: what an outsider may count and check without personal
data.

Each request step, policy change and violation commits a small ``public`` object inside its
ledger envelope (see :mod:`faceledger.ledger.envelope`, versions 2 and 3), so it is in every
export, also the payload-less public one, and every verifier checks it. The transparency report
(R17) counts from these fields alone with ``--from-export``, and must agree with the count from
the records; the compliance monitor (:mod:`faceledger.monitor`, ``faceledger monitor``) checks
the rules an outsider can check from them.

The schema (every field optional unless said; values are strings, integers, booleans, null or
lists and objects of those; times are ISO 8601 with a zone):

===============================  ============================================================
action                           public fields
===============================  ============================================================
``request.submit``               ``agency`` (requesting agency's slug), ``legal_basis``
                                 (kind), ``offence_class`` (the offence's severity class, ""
                                 if none), ``emergency`` (bool), ``state`` (after filing),
                                 ``outcome``, ``denied_rules`` (rule ids, when denied),
                                 ``described_sex`` and ``described_race`` (the requester's
                                 description, when given), ``order_expires`` (a court order
                                 approved at filing: the first instant it is no longer in
                                 force, 00:00 UTC of the day after its ``expires_on``)
every other ``request.*``        ``state`` and ``outcome`` after the step, and:
  ``request.approve_emergency``  ``filing_due`` (when the court statement is due, as the
                                 unit set it; absent when the profile sets no deadline)
  ``request.search``             ``candidates`` (the list's length)
  ``request.release``            ``released`` (how many candidates)
  ``request.lead_use``           ``use`` (lead-use kind), ``corroborated`` (bool)
  ``request.emergency_filed``    ``filing``: ``on_time`` or ``late``; ``filed_at`` (when the
                                 statement was filed with the court, as recorded)
``access.denied``,               ``violation`` (its kind), ``agency`` (of the request, else of
``violation.recorded``           the actor; its slug, "" for a local operator or unknown
                                 account)
``policy.proposed``,             ``profile`` (name), ``profile_sha256``, ``proposal`` (the
``policy.profile_set``           proposal's number: it joins a change to its proposal; absent
                                 on the first profile, set at installation), ``unsafe``
                                 (bool), ``rules`` (the rule ids that run), ``legal_bases``
                                 (the allowed legal-basis kinds), ``offence_classes`` (the
                                 allowed severity classes), ``emergency_filing_hours`` (null:
                                 no deadline), ``required_reviews``, ``probe_days``,
                                 ``result_days``, ``audit_log_min_days``
``retention.purge``              ``kind`` (``probe`` or ``results``), ``due`` (when it became
                                 due), ``items`` (count per category purged); filed under the
                                 request
``ledger.redact``                ``reason`` (``retention`` or ``sealed``), ``entries`` (how
                                 many payloads were redacted); filed under the request
``gallery.delete_subject``,      ``items`` (count per category deleted: subjects, photos,
``gallery.delete_photo``         templates, chips, index entries)
``ledger.key_rotate``            ``new_key``, ``new_key_id``, ``old_key_id``,
                                 ``announcement`` (see the key rotation section of the
                                 ledger's documentation)
===============================  ============================================================

Every entry also carries its time (``ts``), ``action`` and ``object_type``. From envelope
version 3 on it names its actor and object only by ``actor_ref`` and ``object_ref``: stable
keyed-hash pseudonyms whose key stays with the unit, so the steps of one request share an
``object_ref`` and the acts of one person an ``actor_ref``. Entries of versions 1 and 2 still
carry ``actor`` and ``object_id`` in clear. Nothing here names a person, a case number, a
subject or a candidate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from faceledger.governance.models import RequestRow
from faceledger.governance.profiles import Profile
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
    expires = (row.legal_basis or {}).get("expires_on")
    if row.state == "approved" and row.legal_basis_kind == "court_order" and expires:
        fields["order_expires"] = order_expiry(dt.date.fromisoformat(str(expires))).isoformat()
    return fields


def order_expiry(expires_on: dt.date) -> dt.datetime:
    """The first instant a court order valid through ``expires_on`` is no longer in force.

    The policy compares the expiry date with the UTC date of each step (``legal_basis`` rule),
    so the order runs to the end of that UTC day."""
    return dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def emergency_approved(row: RequestRow) -> dict[str, Any]:
    """The public fields a ``request.approve_emergency`` entry adds: the filing deadline."""
    due = row.filing_deadline
    return {} if due is None else {"filing_due": due.isoformat()}


def emergency_filed(late: bool, filed_at: dt.datetime) -> dict[str, Any]:
    """The public fields a ``request.emergency_filed`` entry adds."""
    return {"filing": "late" if late else "on_time", "filed_at": filed_at.isoformat()}


def policy_profile(profile: Profile, proposal: int | None = None) -> dict[str, Any]:
    """The public fields of a ``policy.proposed`` or ``policy.profile_set`` entry: the profile,
    its proposal's number, and the parameters the compliance monitor checks against."""
    fields: dict[str, Any] = {
        "profile": profile.name,
        "profile_sha256": profile.sha256,
        "unsafe": profile.unsafe,
        "rules": list(profile.rules),
        "legal_bases": [str(k) for k in profile.legal_basis.allowed],
        "offence_classes": [str(c) for c in profile.request.allowed_severity_classes],
        "emergency_filing_hours": profile.legal_basis.emergency_filing_hours,
        "required_reviews": profile.results.required_reviews,
        "probe_days": profile.retention.probe_days,
        "result_days": profile.retention.result_days,
        "audit_log_min_days": profile.retention.audit_log_min_days,
    }
    if proposal is not None:
        fields["proposal"] = proposal
    return fields


def violation(kind: ViolationKind | str, agency: str | None) -> dict[str, Any]:
    """The public fields of an ``access.denied`` or ``violation.recorded`` entry."""
    return {"violation": str(kind), "agency": agency or ""}
