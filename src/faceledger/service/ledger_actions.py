"""The catalogue of ledger actions: every ``action`` an entry can carry, and what it records.

Use cases write only these names (a test checks that no other literal reaches the ledger);
auditors query by them, and the README lists them from :func:`catalogue_table`.
"""

from __future__ import annotations

from enum import StrEnum


class LedgerAction(StrEnum):
    """An action recorded in the ledger."""

    SYSTEM_INIT = "system.init"
    ACCESS_DENIED = "access.denied"
    VIOLATION_RECORDED = "violation.recorded"
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOCKOUT = "auth.lockout"
    AUTH_LOGOUT = "auth.logout"
    AGENCY_CREATE = "agency.create"
    USER_CREATE = "user.create"
    USER_APPROVE = "user.approve"
    USER_CERTIFY_TRAINING = "user.certify_training"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_SET_PASSWORD = "user.set_password"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    POLICY_PROFILE_SET = "policy.profile_set"
    POLICY_PROPOSED = "policy.proposed"
    GALLERY_CREATE = "gallery.create"
    GALLERY_ENROLL = "gallery.enroll"
    GALLERY_DELETE_SUBJECT = "gallery.delete_subject"
    GALLERY_DELETE_PHOTO = "gallery.delete_photo"
    GALLERY_REEMBED = "gallery.reembed"
    GALLERY_REEMBED_PHOTO = "gallery.reembed_photo"
    MODEL_EVALUATION = "model.evaluation"
    MODEL_ACTIVATE = "model.activate"
    MODEL_ACTIVATION_REFUSED = "model.activation_refused"
    SEARCH_RUN = "search.run"
    VERIFY_RUN = "verify.run"
    REQUEST_SUBMIT = "request.submit"
    REQUEST_APPROVE_EMERGENCY = "request.approve_emergency"
    REQUEST_SEARCH = "request.search"
    REQUEST_REVIEW_FIRST = "request.review.first"
    REQUEST_REVIEW_PEER = "request.review.peer"
    REQUEST_RELEASE = "request.release"
    REQUEST_CLOSE_NO_LEAD = "request.close_no_lead"
    REQUEST_LEAD_USE = "request.lead_use"
    REQUEST_EMERGENCY_FILED = "request.emergency_filed"
    REQUEST_SEALED = "request.sealed"
    REPORT_DISCLOSURE = "report.disclosure"
    REPORT_TRANSPARENCY = "report.transparency"
    REPORT_PURGE = "report.purge"
    MISUSE_FINDING = "misuse.finding"
    ALERT_DELIVERY = "alert.delivery"
    ALERT_ACK = "alert.ack"
    JOBS_RUN = "jobs.run"
    RETENTION_PURGE = "retention.purge"
    LEDGER_KEY_ROTATE = "ledger.key_rotate"
    DATA_KEY_ROTATE = "keys.data_key_rotate"
    LEDGER_REDACT = "ledger.redact"


DESCRIPTIONS: dict[LedgerAction, str] = {
    LedgerAction.SYSTEM_INIT: "a data directory was initialised (schema revision)",
    LedgerAction.ACCESS_DENIED: "a refused attempt: the action, the reasons and requirements, "
    "the policy decision where one was made, and the violation it was stored as (R18)",
    LedgerAction.VIOLATION_RECORDED: "a violation found by a check rather than an attempt "
    "(an overdue or late emergency filing, R4, R18)",
    LedgerAction.AUTH_LOGIN: "a login opened a session",
    LedgerAction.AUTH_LOGIN_FAILED: "a failed login (the reason; unknown usernames anonymised)",
    LedgerAction.AUTH_LOCKOUT: "an account or client address locked out after failed logins",
    LedgerAction.AUTH_LOGOUT: "a session ended",
    LedgerAction.AGENCY_CREATE: "an agency was created",
    LedgerAction.USER_CREATE: "an account was created (by whom, with which roles)",
    LedgerAction.USER_APPROVE: "an account was approved by a supervisor (R2)",
    LedgerAction.USER_CERTIFY_TRAINING: "an account's training was certified (R2)",
    LedgerAction.USER_DISABLE: "an account was disabled; its sessions and tokens revoked",
    LedgerAction.USER_ENABLE: "an account was enabled again",
    LedgerAction.USER_SET_PASSWORD: "a password was changed; sessions and tokens revoked",
    LedgerAction.TOKEN_CREATE: "an API token was issued (its id, account and name)",
    LedgerAction.TOKEN_REVOKE: "an API token was revoked",
    LedgerAction.POLICY_PROFILE_SET: "the active policy profile changed (name, SHA-256)",
    LedgerAction.POLICY_PROPOSED: "an admin proposed a profile change for a second admin",
    LedgerAction.GALLERY_CREATE: "a gallery was created",
    LedgerAction.GALLERY_ENROLL: "photos were enrolled into a gallery (hashes, provenance)",
    LedgerAction.GALLERY_DELETE_SUBJECT: "a subject and its photos left a gallery",
    LedgerAction.GALLERY_DELETE_PHOTO: "a photo left a gallery",
    LedgerAction.GALLERY_REEMBED: "a gallery's templates were re-embedded with another model "
    "(the old and new model, counts, photos that could not be re-embedded)",
    LedgerAction.GALLERY_REEMBED_PHOTO: "one photo's template was replaced by one from the "
    "gallery's new model (old and new template ids, what was re-read: file or chip)",
    LedgerAction.MODEL_EVALUATION: "a model's accuracy evaluation was stored (model, dataset "
    "fingerprint, the summary's SHA-256, the gate's figures; R15, R16)",
    LedgerAction.MODEL_ACTIVATE: "the deployment gate activated a model and operating point "
    "for a gallery (evaluation, bounds met, target FPIR, threshold; R15, R16)",
    LedgerAction.MODEL_ACTIVATION_REFUSED: "the deployment gate refused an activation (the "
    "bounds missed, with the evaluation's figures)",
    LedgerAction.SEARCH_RUN: "an ad hoc 1:N search under an unsafe profile (lab only)",
    LedgerAction.VERIFY_RUN: "an ad hoc 1:1 comparison under an unsafe profile (lab only)",
    LedgerAction.REQUEST_SUBMIT: "a search request was filed, with the policy decision",
    LedgerAction.REQUEST_APPROVE_EMERGENCY: "a supervisor approved an emergency request (R4)",
    LedgerAction.REQUEST_SEARCH: "an approved request's search ran; everything R12 lists",
    LedgerAction.REQUEST_REVIEW_FIRST: "the first review; its marks only as a salted "
    "commitment, so that the peer review stays blind (R10)",
    LedgerAction.REQUEST_REVIEW_PEER: "the blind peer review, revealing the first review's "
    "marks against their commitment",
    LedgerAction.REQUEST_RELEASE: "the agreed candidates were released with the caveat (R9)",
    LedgerAction.REQUEST_CLOSE_NO_LEAD: "a request was closed with nothing released",
    LedgerAction.REQUEST_LEAD_USE: "a released lead was used (R11 corroboration reference)",
    LedgerAction.REQUEST_EMERGENCY_FILED: "an emergency's court filing was recorded (R4)",
    LedgerAction.REQUEST_SEALED: "an emergency was sealed: candidates and probe deleted (R4)",
    LedgerAction.REPORT_DISCLOSURE: "a disclosure packet was produced (R14): for whom, the "
    "packet's SHA-256, the checkpoint its proofs reach, how many facts",
    LedgerAction.REPORT_TRANSPARENCY: "a transparency report was produced (R17): the period, "
    "public or internal, the totals",
    LedgerAction.REPORT_PURGE: "a purge report was produced (R13): the period and what went, "
    "by category and count",
    LedgerAction.MISUSE_FINDING: "a misuse finding (R18): the rule, the explanation and the "
    "requests behind it",
    LedgerAction.ALERT_DELIVERY: "an alert delivery attempt (R18): channel, target, attempt, "
    "delivered or the error and the next try",
    LedgerAction.ALERT_ACK: "an alert was acknowledged, with the note (R18)",
    LedgerAction.JOBS_RUN: "a run of the due scheduled jobs and what each did",
    LedgerAction.RETENTION_PURGE: "a retention purge of one request (R13): probe or results, "
    "when it became due, what went by category and count, the hashes kept",
    LedgerAction.LEDGER_KEY_ROTATE: "the checkpoint signing key was rotated: the new public "
    "key, its id and the old one's, announced with the old key's signature",
    LedgerAction.DATA_KEY_ROTATE: "the data keys sealing biometrics at rest were rotated: "
    "re-encrypted under a new key (key ids, keys retired, values re-sealed per column) or "
    "re-wrapped under a new key-encryption key (key ids, old and new KEK fingerprints)",
    LedgerAction.LEDGER_REDACT: "payloads of earlier entries were redacted (retention, "
    "sealing): which entries and why; their envelopes and payload hashes stay",
}


def catalogue_table() -> str:
    """Return the catalogue as the Markdown table of the README."""
    rows = ["| action | records |", "| --- | --- |"]
    rows += [f"| `{a.value}` | {DESCRIPTIONS[a]} |" for a in LedgerAction]
    return "\n".join(rows) + "\n"
