"""The password rule: length, username, the common-password list and the zxcvbn estimate.

Attack cases of issue 13 ("the password rule accepts aaaaaaaaaaaa and password1234") are
refused by the rule itself, by the account use cases over a real data directory (nothing
written) and by the REST API (400 invalid_input, nothing written).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from faceledger.api import build_api
from faceledger.errors import InvalidInput
from faceledger.governance.accounts import (
    MAX_PASSWORD_LENGTH,
    UserInfo,
    check_password_strength,
    generate_password,
)
from faceledger.governance.password_strength import (
    ESTIMATED_PREFIX,
    MIN_SCORE,
    estimate,
    is_common_password,
)
from tests.conftest import make_settings
from tests.unit.service.test_accounts import PASSWORD, Service, bootstrap, snapshot

with warnings.catch_warnings():
    # As in tests/integration/web/conftest.py: Starlette warns when its client runs on httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

COMMON = "is a common password"
GUESSABLE = "is too easy to guess"
ADVICE = "passphrase of four or more unrelated words"

# (password, username, display name, words of the refusal)
REFUSED = [
    ("aaaaaaaaaaaa", None, None, GUESSABLE),  # issue 13: a repeat
    ("password1234", None, None, COMMON),  # issue 13: a common word with digits added
    ("Password1234!", None, None, COMMON),
    ("  PASSWORD 2024 ", None, None, COMMON),
    ("monkey!!!!!!", None, None, COMMON),
    ("qwertyuiop123", None, None, COMMON),
    ("123456789012", None, None, GUESSABLE),
    ("abcdefghijklm", None, None, GUESSABLE),  # a sequence
    ("zxcvbnmasdfgh", None, None, GUESSABLE),  # keyboard rows
    ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", None, None, GUESSABLE),
    ("faceledger!!!!", None, None, GUESSABLE),  # the product's name is a known word
    ("FaceLedger2026", None, None, GUESSABLE),
    ("Zebulon Quackenbush", "zq", "Zebulon Quackenbush", GUESSABLE),  # the display name
]

ACCEPTED = [
    "correct horse battery staple",
    "a long enough passphrase",
    "Zebulon Quackenbush",  # a strong pair of words for someone else
    "vivid-lantern-orbit-7-cobalt",
]


@pytest.mark.parametrize(("password", "username", "display_name", "words"), REFUSED)
def test_weak_passwords_are_refused_with_reasons_and_advice(
    password: str, username: str | None, display_name: str | None, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_password_strength(password, username, display_name)
    error = caught.value
    assert words in error.message
    assert ADVICE in error.message
    assert error.details == {"field": "password"}
    assert password.strip() not in error.message  # the password is never echoed


@pytest.mark.parametrize("password", ACCEPTED)
def test_strong_passphrases_pass(password: str) -> None:
    check_password_strength(password, "alice", "Alice Example")


def test_the_display_name_and_username_count_as_known_words() -> None:
    assert estimate("Zebulon Quackenbush").score >= MIN_SCORE
    assert estimate("Zebulon Quackenbush", ["zq", "Zebulon Quackenbush"]).score < MIN_SCORE
    # Each word of the display name is known on its own, too.
    assert estimate("quackenbushquackenbush", ["Zebulon Quackenbush"]).score < MIN_SCORE


@pytest.mark.parametrize(
    ("password", "common"),
    [
        ("password", True),
        ("PassWord", True),
        ("password1234", True),
        ("!!password??", True),
        ("password 1234", True),
        ("correct horse battery staple", False),
        ("pass word", False),
        ("1234", True),
        ("!!!!", False),  # nothing left after stripping, and not on the list as given
    ],
)
def test_common_password_list_ignores_case_and_decoration(password: str, common: bool) -> None:
    assert is_common_password(password) is common


def test_length_and_username_rules_still_come_first() -> None:
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        check_password_strength("password")
    with pytest.raises(InvalidInput, match="must not contain the username"):
        check_password_strength("correct horse alice staple", "alice")
    with pytest.raises(InvalidInput, match=f"at most {MAX_PASSWORD_LENGTH}"):
        check_password_strength("x" * (MAX_PASSWORD_LENGTH + 1))


def test_generated_passwords_always_pass() -> None:
    for username in ("al", "bo", "root", "requester-1", None):
        for _ in range(40):
            check_password_strength(generate_password(username), username)


def test_one_check_of_the_longest_password_is_fast() -> None:
    # zxcvbn alone takes seconds on a few hundred characters; only a prefix is estimated.
    longest = "correct horse battery staple " * (MAX_PASSWORD_LENGTH // 29)
    longest = (longest + "x" * MAX_PASSWORD_LENGTH)[:MAX_PASSWORD_LENGTH]
    assert len(longest) > ESTIMATED_PREFIX
    started = time.perf_counter()
    check_password_strength(longest, "alice", "Alice Example")
    assert time.perf_counter() - started < 0.5


# -- through the account use cases and the REST API (real SQLite or PostgreSQL) ------------

ATTACKS = ["aaaaaaaaaaaa", "password1234"]
REFUSAL = r"too easy to guess|common password"


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, UserInfo]]:
    """A data directory with the bootstrap admin 'root' (password PASSWORD) and 'target'."""
    data_dir: Path = tmp_path_factory.mktemp("passwords") / "data"
    service = Service.initialise(make_settings(data_dir), "test")
    root = bootstrap(service)
    service.accounts.create_user(
        root, "target", "Tara Target", "operating-unit", ["requester"], PASSWORD
    )
    yield service, root
    service.close()


@pytest.mark.parametrize("password", ATTACKS)
def test_use_cases_refuse_weak_passwords_and_write_nothing(
    accounts: tuple[Service, UserInfo], password: str
) -> None:
    service, root = accounts
    before = snapshot(service)
    with pytest.raises(InvalidInput, match=REFUSAL):
        service.accounts.create_user(
            root, "newbie", "New Person", "operating-unit", ["requester"], password
        )
    with pytest.raises(InvalidInput, match=REFUSAL):
        service.accounts.set_password(root, "target", password)
    with pytest.raises(InvalidInput, match=REFUSAL):
        service.accounts.set_password(root, "root", password, current_password=PASSWORD)
    assert snapshot(service) == before


@pytest.mark.parametrize("password", ATTACKS)
def test_api_refuses_weak_passwords_with_400_and_writes_nothing(
    accounts: tuple[Service, UserInfo], password: str
) -> None:
    service, root = accounts
    _, token = service.tokens.create_api_token(root, "root", f"password test {password}")
    headers = {"Authorization": f"Bearer {token}"}
    before = snapshot(service)
    with TestClient(build_api(service)) as client:
        changed = client.put("/users/target/password", json={"password": password}, headers=headers)
        created = client.post(
            "/users",
            json={
                "username": "newbie",
                "display_name": "New Person",
                "agency": "operating-unit",
                "roles": ["requester"],
                "password": password,
            },
            headers=headers,
        )
    for response in (changed, created):
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        assert "too easy to guess" in error["message"] or COMMON in error["message"]
        assert password not in response.text
    assert snapshot(service) == before
