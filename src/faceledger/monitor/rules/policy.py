"""The two-person rule for profile changes: one admin proposes, a different one approves."""

from __future__ import annotations

from faceledger.monitor import names
from faceledger.monitor.log import Entry
from faceledger.monitor.profiles import ProfileInForce
from faceledger.monitor.rules.base import Check, Context

__all__ = ["ProfileChangeTwoAdmins"]


class ProfileChangeTwoAdmins:
    """Every ``policy.profile_set`` after the first (the profile set at installation) approves
    an earlier ``policy.proposed`` of the same profile, and the proposer and the approver are
    different people."""

    id = "profile_change_two_admins"
    requirement = "R1"
    description = (
        "every profile change after the first was proposed and approved by two different "
        "admins, and approves the profile that was proposed"
    )

    def check(self, ctx: Context, out: Check) -> None:
        """Check every profile change but the first."""
        proposals = _proposals(ctx.log.of(names.PROPOSED))
        for change in ctx.profiles.changes[1:]:
            out.counted()
            self._change(out, change, proposals)

    @staticmethod
    def _change(out: Check, change: ProfileInForce, proposals: dict[int, Entry]) -> None:
        entry = change.entry
        if not change.public:
            out.unchecked(
                f"The profile change at seq {entry.seq} has no public fields (written before "
                "they existed): its proposal is not in the log.",
                [entry],
            )
            return
        number = change.proposal
        if number is None:
            out.finding(
                f"The profile change at seq {entry.seq} (to {change.name}) names no proposal: "
                "no second admin approved a proposal for it.",
                [entry],
                people=[entry.actor],
            )
            return
        proposal = proposals.get(number)
        if proposal is None or proposal.seq > entry.seq:
            out.finding(
                f"The profile change at seq {entry.seq} (to {change.name}) approves proposal "
                f"{number}, which is not proposed earlier in the log.",
                [entry],
                people=[entry.actor],
            )
            return
        proposed_sha = proposal.public.get("profile_sha256")
        if proposed_sha is not None and proposed_sha != change.sha256:
            out.finding(
                f"The profile change at seq {entry.seq} activates a profile (SHA-256 "
                f"{change.sha256}) other than proposal {number} proposed at seq {proposal.seq} "
                f"(SHA-256 {proposed_sha}).",
                [proposal, entry],
                people=[proposal.actor, entry.actor],
            )
        same = proposal.actor.same(entry.actor)
        if same is None:
            out.unchecked(
                f"Whether the proposer (seq {proposal.seq}) and the approver (seq {entry.seq}) "
                f"of proposal {number} differ cannot be told: one is named in clear, the other "
                "by pseudonym.",
                [proposal, entry],
            )
        elif same:
            out.finding(
                f"Proposal {number} (seq {proposal.seq}) was approved at seq {entry.seq} by "
                "the admin who proposed it.",
                [proposal, entry],
                people=[entry.actor],
            )


def _proposals(entries: list[Entry]) -> dict[int, Entry]:
    """The proposals by number: their public ``proposal``, or for entries written before
    envelope version 3 the object id they name in clear (``policy_proposal:N``)."""
    found: dict[int, Entry] = {}
    for entry in entries:
        number = entry.public.get("proposal")
        if not isinstance(number, int) or isinstance(number, bool):
            _, _, tail = entry.obj.value.partition(":")
            number = int(tail) if not entry.obj.pseudonymous and tail.isdigit() else None
        if number is not None:
            found.setdefault(number, entry)
    return found
