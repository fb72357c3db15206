"""`make run` on a fresh data directory: the real server process starts and serves the login
page, and prints the first administrator's one-time password once."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.conftest import start_server, stop_server


def test_fresh_start_serves_login_and_api(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        page = httpx.get(f"{server.url}/login", timeout=10)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert 'name="password"' in page.text
        assert "massachusetts" in page.text  # every page shows the active profile
        spec = httpx.get(f"{server.url}/api/v1/openapi.json", timeout=10)
        assert spec.status_code == 200 and spec.json()["info"]["title"] == "faceledger API"
        assert httpx.get(f"{server.url}/api/v1/health", timeout=10).status_code == 200
        password = server.admin_password
        assert password and len(password) >= 12
        login = httpx.post(
            f"{server.url}/api/v1/auth/login",
            json={"username": "admin", "password": password},
            timeout=30,
        )
        assert login.status_code == 200, login.text
    finally:
        stop_server(server)
    # A second start on the same directory creates nothing and shows no password.
    again = start_server(tmp_path / "data")
    try:
        assert again.admin_password is None
    finally:
        stop_server(again)
    assert (tmp_path / "data" / "keys" / "ledger_private_key.pem").stat().st_mode & 0o077 == 0


def test_two_worker_processes_share_one_data_directory(tmp_path: Path) -> None:
    first = start_server(tmp_path / "data")
    password = first.admin_password
    stop_server(first)
    server = start_server(tmp_path / "data", extra=("--workers", "2"))
    try:
        tokens = set()
        for _ in range(4):  # logins land on both workers; each appends to the one ledger
            answer = httpx.post(
                f"{server.url}/api/v1/auth/login",
                json={"username": "admin", "password": password},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            tokens.add(answer.json()["token"])
        assert len(tokens) == 4
        verify = httpx.post(
            f"{server.url}/api/v1/ledger/verify",
            timeout=60,
            headers={"Authorization": f"Bearer {tokens.pop()}"},
        )
        assert verify.status_code == 200, verify.text
    finally:
        stop_server(server)
