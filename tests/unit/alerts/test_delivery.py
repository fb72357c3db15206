"""The failure every channel raises: a short, one-line reason without secrets."""

from __future__ import annotations

from faceledger.alerts.delivery import MAX_REASON_CHARS, DeliveryFailed, scrub, short


def test_the_reason_is_one_short_line() -> None:
    failed = DeliveryFailed("email", "first line\nsecond\tline " + "x" * 1000)
    assert "\n" not in failed.reason and "\t" not in failed.reason
    assert len(failed.reason) == MAX_REASON_CHARS and failed.reason.endswith("…")
    assert failed.message.startswith("The email delivery failed: first line second line")
    assert failed.status == 502 and failed.to_dict()["error"]["code"] == "delivery_failed"


def test_short_keeps_a_short_reason() -> None:
    assert short("refused") == "refused"


def test_scrub_hides_every_secret_and_ignores_empty_ones() -> None:
    assert scrub("user pw123 said pw123", "pw123", "") == "user *** said ***"
    assert scrub("nothing here", "") == "nothing here"
