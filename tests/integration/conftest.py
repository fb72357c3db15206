"""Real servers and a real browser: the faceledger server as a process, Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """A `faceledger serve` process and what it printed at start."""

    url: str
    data_dir: Path
    process: subprocess.Popen[str]
    output: list[str]
    reader: threading.Thread

    @property
    def admin_password(self) -> str | None:
        for line in self.output:
            if "one-time password" in line:
                return line.rsplit(" ", 1)[-1].strip()
        return None


def start_server(
    data_dir: Path, timeout: float = 90.0, extra: tuple[str, ...] = ()
) -> RunningServer:
    """Start `faceledger --data-dir DIR serve [EXTRA...]` on a free port; wait for answers."""
    port = free_port()
    script = Path(sys.executable).with_name("faceledger")
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.Popen(
        [str(script), "--data-dir", str(data_dir), "serve", "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    output: list[str] = []
    reader = threading.Thread(target=_collect, args=(process, output), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            reader.join(timeout=5)
            raise AssertionError("faceledger serve exited:\n" + "\n".join(output))
        try:
            if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        process.kill()
        raise AssertionError(f"faceledger serve did not answer on {url} in {timeout} s")
    return RunningServer(url, data_dir, process, output, reader)


def _collect(process: subprocess.Popen[str], output: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line.rstrip("\n"))


def stop_server(server: RunningServer) -> None:
    """Stop the process and wait for what it printed."""
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.reader.join(timeout=5)
    if server.process.stdout is not None:
        server.process.stdout.close()


def chromium_or_skip() -> str:
    """Path of Debian's Chromium; in CI its absence is a failure, elsewhere a named skip."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing in CI; `make test` installs it (apt-get).")
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (`make browser` installs it)")
