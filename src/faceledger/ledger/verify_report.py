"""What a successful verification covered: the report both verifiers return."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["VerifyReport"]


@dataclass(frozen=True)
class VerifyReport:
    """What a successful verification covered."""

    log_id: str | None
    tree_size: int
    root_hash: str
    checkpoints: int
    payloads_checked: int
    payloads_redacted: int
    latest_checkpoint: int | None
    signed_size: int
    trusted_size: int | None
    commitments: int
    reveals_checked: int
    reveals_unchecked: int
    # The ids of the signing keys in force, in order: the auditor's, then each rotation's.
    keys: list[str] = field(default_factory=list)

    @property
    def unsigned_entries(self) -> int:
        """Entries after the latest checkpoint: verified, but covered by no signature yet."""
        return self.tree_size - self.signed_size

    def summary(self) -> str:
        """Return a one-paragraph account for people."""
        parts = [
            f"Verified {self.tree_size} entries and {self.checkpoints} checkpoints"
            + (f" of log {self.log_id}" if self.log_id else "")
            + f"; root hash {self.root_hash}.",
            f"Payloads checked: {self.payloads_checked}, redacted: {self.payloads_redacted}.",
            f"Commitments: {self.commitments}; reveals checked: {self.reveals_checked}.",
        ]
        if self.reveals_unchecked:
            parts.append(
                f"{self.reveals_unchecked} reveals open commitments in redacted payloads and were "
                "not checked."
            )
        if self.payloads_redacted:
            parts.append(
                f"Reveals inside the {self.payloads_redacted} redacted payloads cannot be seen "
                "and were not checked."
            )
        if len(self.keys) > 1:
            parts.append(
                f"Signing keys in force, each announced by the one before: "
                f"{', then '.join(self.keys)}."
            )
        if self.latest_checkpoint is None:
            parts.append("No checkpoint signs this log yet.")
        elif self.unsigned_entries:
            parts.append(f"{self.unsigned_entries} entries are newer than the latest checkpoint.")
        if self.trusted_size is not None:
            parts.append(f"Consistent with the trusted checkpoint at size {self.trusted_size}.")
        return " ".join(parts)
