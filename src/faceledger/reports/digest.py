"""The digest of an evaluation summary: the one rule by which a ``model.evaluation`` ledger
entry names its summary (``summary_sha256``) and a disclosure packet proves the summary it
carries. Kept apart so that the offline packet checker needs nothing else of the reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def summary_text(summary: Mapping[str, Any]) -> str:
    """Return the exact text whose SHA-256 a ``model.evaluation`` entry records as
    ``summary_sha256``: sorted keys, no spaces, UTF-8 (floats as Python writes them)."""
    return json.dumps(summary, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def summary_sha256(summary: Mapping[str, Any]) -> str:
    """Return the SHA-256 (hex) of :func:`summary_text`."""
    return hashlib.sha256(summary_text(summary).encode()).hexdigest()
