"""The witness's HTTP service: ``POST /add-checkpoint`` (``c2sp.org/tlog-witness``).

A standard-library :class:`~http.server.ThreadingHTTPServer`, so it starts in a fraction of a
second and needs nothing but the witness directory. Requests must declare their length, which
may not exceed :data:`~faceledger.witness.protocol.MAX_REQUEST_BYTES`; a connection idle for
:data:`IDLE_SECONDS` is dropped. ``GET /`` answers the witness's name and vkey. SIGTERM and
SIGINT stop it after the requests in progress.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from faceledger.errors import Conflict, FaceLedgerError
from faceledger.witness.add import add_checkpoint
from faceledger.witness.protocol import (
    ADD_CHECKPOINT_PATH,
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    format_cosignatures,
)
from faceledger.witness.state import WitnessDir

__all__ = ["IDLE_SECONDS", "WitnessServer", "make_server", "serve"]

IDLE_SECONDS = 10
log = logging.getLogger("faceledger.witness")


class WitnessServer(ThreadingHTTPServer):
    """The HTTP server of one witness directory."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], witness: WitnessDir) -> None:
        self.witness = witness
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """The base URL it listens on (the submission prefix)."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: WitnessServer
    protocol_version = "HTTP/1.1"  # keep-alive, as tlog-witness recommends
    timeout = IDLE_SECONDS
    server_version = "faceledger-witness"

    def do_POST(self) -> None:
        if self.path != ADD_CHECKPOINT_PATH:
            self.close_connection = True  # its body, if any, was not read
            self._answer(404, f"No such endpoint: {self.path[:100]}")
            return
        declared = self.headers.get("Content-Length", "")
        if not declared.isdigit():
            self.close_connection = True
            self._answer(411, "A Content-Length is required.")
            return
        if int(declared) > MAX_REQUEST_BYTES:
            self.close_connection = True  # the body was not read
            self._answer(413, f"The request is larger than {MAX_REQUEST_BYTES} bytes.")
            return
        body = self.rfile.read(int(declared))
        try:
            done = add_checkpoint(self.server.witness, body)
        except Conflict as exc:
            if exc.details.get("reason") == "old_size_mismatch":
                size = f"{exc.details['latest_size']}\n"
                self._answer(409, size, content_type=SIZE_CONTENT_TYPE, raw=True)
            else:
                self._answer(409, exc.message)
            return
        except FaceLedgerError as exc:
            self._answer(exc.status, exc.message)
            return
        except Exception:  # a bug must not kill the server or leak a trace to the client
            log.exception("add-checkpoint failed")
            self._answer(500, "Internal error.")
            return
        self._answer(200, format_cosignatures(done.lines), raw=True)

    def do_GET(self) -> None:
        if self.path != "/":
            self._answer(404, f"No such endpoint: {self.path[:100]}")
            return
        witness = self.server.witness
        self._answer(
            200, f"faceledger witness {witness.name}\n{witness.identity.vkey()}\n", raw=True
        )

    def _answer(
        self,
        status: int,
        text: str,
        *,
        content_type: str = "text/plain; charset=utf-8",
        raw: bool = False,
    ) -> None:
        data = (text if raw else text.rstrip("\n") + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(witness: WitnessDir, host: str, port: int) -> WitnessServer:
    """Bind the witness's server to ``host``:``port`` (0: any free port) without serving yet.

    Raises:
        OSError: if the address cannot be bound.
    """
    return WitnessServer((host, port), witness)


def serve(server: WitnessServer, ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until SIGTERM or SIGINT; call ``ready`` with the base URL once listening."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        # shutdown() waits for serve_forever, so it must run outside the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ready(server.url)
        server.serve_forever(poll_interval=0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
