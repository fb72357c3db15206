"""The monitor's rules: each a small object with an id, a requirement and a description, that
checks the whole replayed public log (see :class:`~faceledger.monitor.rules.base.Rule`).

=================================  ====  =====================================================
rule                               req.  what it checks
=================================  ====  =====================================================
``search_after_approval``          R3    every search follows an approval of its request, on
                                         a legal basis and offence class the profile in force
                                         at the approval (and at the search) allowed
``search_while_authorised``        R4    no search after the order's expiry, a sealing, or an
                                         emergency's filing deadline passed without statement
``independent_review``             R10   before a release, the profile's number (at least 2)
                                         of reviews by distinct people, none of them the
                                         requester or the operator
``emergency_statement_on_time``    R4    emergency statements come within the deadline; an
                                         overdue emergency without one is sealed
``sealed_is_final``                R4    nothing but redaction, purge, disclosure and refusal
                                         records after a sealing
``profile_change_two_admins``      R1    every profile change after the first approves an
                                         earlier proposal of the same profile by another admin
``retention_on_schedule``          R13   purges no later than the grace after they were due,
                                         and none missing
=================================  ====  =====================================================
"""

from __future__ import annotations

from faceledger.monitor.rules.base import Check, Context, Rule
from faceledger.monitor.rules.emergencies import EmergencyStatement, SealedIsFinal
from faceledger.monitor.rules.policy import ProfileChangeTwoAdmins
from faceledger.monitor.rules.retention import RetentionOnSchedule
from faceledger.monitor.rules.reviews import IndependentReview
from faceledger.monitor.rules.searches import SearchAfterApproval, SearchWhileAuthorised

__all__ = ["RULES", "Check", "Context", "Rule"]

RULES: tuple[Rule, ...] = (
    SearchAfterApproval(),
    SearchWhileAuthorised(),
    IndependentReview(),
    EmergencyStatement(),
    SealedIsFinal(),
    ProfileChangeTwoAdmins(),
    RetentionOnSchedule(),
)
"""Every rule, in the order the report lists them."""
