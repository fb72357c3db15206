"""How guessable a password is: an offline list of common passwords and the zxcvbn estimator.

:func:`faceledger.governance.accounts.check_password_strength` turns these answers into the
message a person reads. Both checks run offline, on this machine:

- the common-password list is the ``passwords`` frequency list bundled with the ``zxcvbn``
  package (30,000 passwords seen most often in breach corpora), read on first use;
- the estimator is zxcvbn (Wheeler, USENIX Security 2016), which models dictionary words,
  names, keyboard walks, repeats, sequences and dates; its score runs from 0 (too guessable)
  to 4 (very unguessable).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ESTIMATED_PREFIX", "MIN_SCORE", "Estimate", "estimate", "is_common_password"]

MIN_SCORE = 3
"""Lowest zxcvbn score accepted: 3 is "safely unguessable" (about 10^8 guesses or more)."""

ESTIMATED_PREFIX = 72
"""zxcvbn's run time grows faster than the length, so only the first 72 characters (its own
default limit, 20-40 ms a call) are estimated; a strong password stays strong when cut there."""

# Digits, punctuation and spaces people add around a common word to pass a length rule:
# "password1234", "Monkey!!!!!!", "  dragon2024 ".
_DECORATION = string.digits + string.punctuation + string.whitespace
_WORD = re.compile(r"\w{3,}")


@functools.cache
def _common_passwords() -> frozenset[str]:
    # Imported on first use: zxcvbn builds its dictionaries at import (about 30 ms).
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """Return whether ``password`` is on the common-password list, compared case-insensitively,
    as given and with digits, punctuation and spaces stripped from both ends."""
    common = _common_passwords()
    folded = password.casefold()
    core = folded.strip(_DECORATION)
    return folded in common or folded.strip() in common or (bool(core) and core in common)


@dataclass(frozen=True)
class Estimate:
    """zxcvbn's verdict on one password: its score (0-4) and its warning ("" if none)."""

    score: int
    warning: str


def estimate(password: str, user_inputs: Iterable[str] = ()) -> Estimate:
    """Return zxcvbn's score and warning for the first :data:`ESTIMATED_PREFIX` characters of
    ``password``; ``user_inputs`` (username, display name) count as words an attacker knows.
    The words of each input count too, so "Rosa Root" makes "rosa" and "root" known."""
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # no type information

    known = {"faceledger"}
    for text in user_inputs:
        if text:
            known.add(text.casefold())
            known.update(w.casefold() for w in _WORD.findall(text))
    result = zxcvbn(
        password[:ESTIMATED_PREFIX], user_inputs=sorted(known), max_length=ESTIMATED_PREFIX
    )
    return Estimate(score=int(result["score"]), warning=str(result["feedback"]["warning"]))
