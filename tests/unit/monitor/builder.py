"""Synthetic public logs for the monitor's tests: a real ledger in a real SQLite file, signed
with a real key, written step by step at times a fake clock sets, and exported without
payloads exactly as ``faceledger ledger export --public`` does.

The public fields of policy entries come from the service's own
:func:`faceledger.service.public_record.policy_profile` on a shipped profile, so the tests see
what the service writes.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.db import Database
from faceledger.governance.profiles import load_profile
from faceledger.ledger import Ledger
from faceledger.ledger.envelope import format_ts
from faceledger.monitor import DEFAULT_GRACE, MonitorReport, monitor_export
from faceledger.service import public_record
from faceledger.service.ledger_actions import LedgerAction as A

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PROFILE = public_record.policy_profile(load_profile("massachusetts"))
"""The massachusetts profile's public fields: court order, emergency (48 h) or deceased;
felonies only; 2 reviews; probe 365 days, results 2555."""


class Clock:
    """The time the next entry gets; tests move it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


class LogBuilder:
    """Writes request steps, policy changes and purges to a real ledger, one transaction
    each, one minute apart unless the test waits longer."""

    def __init__(
        self, db: Database, key: Ed25519PrivateKey, out: Path, pseudonymous: bool = True
    ) -> None:
        self.db, self.key, self.out = db, key, out
        self.clock = Clock()
        self.pseudonym_key = os.urandom(32)
        self.ledger = self._ledger(pseudonymous)

    def _ledger(self, pseudonymous: bool) -> Ledger:
        return Ledger(
            self.key,
            "monitor-test",
            0,
            0,
            clock=self.clock,
            pseudonym_key=self.pseudonym_key if pseudonymous else None,
        )

    def go_pseudonymous(self) -> None:
        """From now on write envelope version 3 (as an upgraded unit does)."""
        self.ledger = self._ledger(True)

    def wait(self, **delta: float) -> None:
        """Move the clock on."""
        self.clock.now += dt.timedelta(**delta)

    def add(
        self,
        action: str,
        actor: str,
        object_type: str,
        object_id: str,
        public: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry a minute after the last; return its seq."""
        self.wait(minutes=1)
        with self.db.transaction() as session:
            entry = self.ledger.append(
                session,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                payload={"note": "synthetic"},
                public=public,
            )
        return entry.seq

    # -- policy ----------------------------------------------------------------------------

    def install(self, actor: str = "local:installer", **params: Any) -> int:
        """The first profile, set at installation (no proposal)."""
        return self.add(A.POLICY_PROFILE_SET, actor, "policy", "massachusetts", PROFILE | params)

    def propose(self, actor: str, number: int, **params: Any) -> int:
        fields = PROFILE | params | {"proposal": number}
        return self.add(A.POLICY_PROPOSED, actor, "policy_proposal", str(number), fields)

    def approve(self, actor: str, number: int | None, **params: Any) -> int:
        fields = PROFILE | params | ({} if number is None else {"proposal": number})
        return self.add(A.POLICY_PROFILE_SET, actor, "policy", "massachusetts", fields)

    # -- request steps ---------------------------------------------------------------------

    def _step(self, action: str, actor: str, rid: int, state: str, **public: Any) -> int:
        fields = {"state": state, "outcome": "pending", **public}
        return self.add(action, actor, "request", str(rid), fields)

    def file(
        self,
        rid: int,
        actor: str = "user:det-a",
        basis: str = "court_order",
        offence: str = "felony",
        state: str | None = None,
        expires: dt.datetime | None = None,
    ) -> int:
        """File a request; a court order is approved at once (its expiry 30 days on unless
        given), an emergency waits for a supervisor."""
        state = state or ("submitted" if basis == "emergency" else "approved")
        fields: dict[str, Any] = {
            "agency": "boston-pd",
            "legal_basis": basis,
            "offence_class": offence,
            "emergency": basis == "emergency",
        }
        if basis == "court_order" and state == "approved":
            fields["order_expires"] = (
                expires or self.clock.now + dt.timedelta(days=30)
            ).isoformat()
        return self._step(A.REQUEST_SUBMIT, actor, rid, state, **fields)

    def approve_emergency(
        self, rid: int, actor: str = "user:sup-one", due: dt.timedelta | None = None
    ) -> int:
        """A supervisor approves an emergency; the unit's deadline ``due`` after the approval
        (the profile's 48 h unless given)."""
        deadline = self.clock.now + dt.timedelta(minutes=1) + (due or dt.timedelta(hours=48))
        public = {"filing_due": deadline.isoformat()}
        return self._step(A.REQUEST_APPROVE_EMERGENCY, actor, rid, "approved_emergency", **public)

    def search(self, rid: int, actor: str = "user:ex-one") -> int:
        return self._step(A.REQUEST_SEARCH, actor, rid, "searched", candidates=3)

    def review(self, rid: int, actor: str, first: bool = True) -> int:
        action = A.REQUEST_REVIEW_FIRST if first else A.REQUEST_REVIEW_PEER
        return self._step(action, actor, rid, "reviewed" if first else "peer_reviewed")

    def release(self, rid: int, actor: str = "user:ex-one") -> int:
        return self._step(A.REQUEST_RELEASE, actor, rid, "released", released=1)

    def statement(
        self, rid: int, actor: str = "user:det-a", filed_at: dt.datetime | None = None
    ) -> int:
        when = filed_at or self.clock.now + dt.timedelta(minutes=1)
        public = {"filing": "on_time", "filed_at": when.isoformat()}
        return self._step(A.REQUEST_EMERGENCY_FILED, actor, rid, "searched", **public)

    def seal(self, rid: int, actor: str = "user:sup-one") -> int:
        return self._step(A.REQUEST_SEALED, actor, rid, "sealed")

    def purge(self, rid: int, kind: str, due: dt.datetime, actor: str = "system:jobs") -> int:
        # The retention job writes the envelope's time form (Z), as here.
        public = {"kind": kind, "due": format_ts(due), "items": {kind: 1}}
        return self.add(A.RETENTION_PURGE, actor, "request", str(rid), public)

    def redact(self, rid: int, actor: str = "system:jobs") -> int:
        return self.add(A.LEDGER_REDACT, actor, "request", str(rid), {"entries": 2})

    def other(self, action: str, rid: int, actor: str = "user:aud-one") -> int:
        """Any other entry filed under a request."""
        return self.add(action, actor, "request", str(rid), {"state": "x", "outcome": "x"})

    # -- out -------------------------------------------------------------------------------

    def export(self, name: str = "public.jsonl") -> Path:
        """Sign a checkpoint of everything so far and write the public export."""
        path = self.out / name
        with self.db.transaction() as session:
            self.ledger.checkpoint(session)
        with self.db.transaction() as session, path.open("w", encoding="utf-8") as handle:
            self.ledger.export(session, handle, include_payloads=False)
        return path

    def monitor(self, grace: dt.timedelta = DEFAULT_GRACE) -> MonitorReport:
        """Export and run the monitor over it with the ledger's public key."""
        return monitor_export(self.export(), self.key.public_key(), grace=grace)


def full_request(b: LogBuilder, rid: int) -> dict[str, int]:
    """A court-order request taken through every step by the right people; its seqs by step."""
    return {
        "file": b.file(rid),
        "search": b.search(rid),
        "first": b.review(rid, "user:ex-two"),
        "peer": b.review(rid, "user:rev-one", first=False),
        "release": b.release(rid),
    }


def clean_log(b: LogBuilder) -> None:
    """A log that breaks no rule: a profile change by two admins, a full court-order request,
    an emergency filed on time and one sealed after its deadline passed."""
    b.install()
    b.propose("user:admin", 1, required_reviews=2)
    b.approve("user:admin-two", 1, required_reviews=2)
    full_request(b, 1)
    b.file(2, basis="emergency")
    b.approve_emergency(2)
    b.search(2)
    b.statement(2)
    b.file(3, basis="emergency")
    b.approve_emergency(3)
    b.search(3)
    b.wait(hours=49)
    b.seal(3, "system:jobs")
    b.redact(3)
