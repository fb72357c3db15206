"""Reading a tiled log (``c2sp.org/tlog-tiles``) from a directory or an http(s) URL.

A *source* answers ``read(path, limit)`` for the paths of :mod:`faceledger.ledger.tiles`
(``checkpoint``, ``tile/...``) relative to the log's prefix: a directory written by
``faceledger ledger tiles export``, a mirror of it, or ``faceledger serve`` (which serves the
same paths at its root). Nothing here trusts what it reads; :mod:`faceledger.ledger.tiles_verify`
checks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import httpx

from faceledger.errors import LedgerError, VerificationFailed

__all__ = ["DirectorySource", "HttpSource", "TileSource", "open_source"]

_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class TileSource(Protocol):
    """Where a tiled log is read from."""

    location: str

    def read(self, path: str, limit: int) -> bytes:
        """Return the resource at ``path`` (relative to the log's prefix), at most ``limit``
        bytes.

        Raises:
            VerificationFailed: ``reason='missing_tile'`` if it does not exist,
                ``reason='too_large'`` if it is longer than ``limit``,
                ``reason='fetch_failed'`` if it cannot be read.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class DirectorySource:
    """A tiled log as files under a directory (``DIR/checkpoint``, ``DIR/tile/0/000``, ...)."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise LedgerError(f"No tiles directory at {directory}.", directory=str(directory))
        self.root = directory
        self.location = str(directory)

    def read(self, path: str, limit: int) -> bytes:
        """See :meth:`TileSource.read`."""
        target = self.root / path
        try:
            with target.open("rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise _missing(path, self.location) from None
        except OSError as exc:
            raise _fetch_failed(path, self.location, str(exc)) from None
        return _within(data, path, limit)

    def close(self) -> None:
        """Nothing to release."""


class HttpSource:
    """A tiled log served over HTTP(S) under ``prefix`` (for ``faceledger serve``, its root
    URL)."""

    def __init__(self, prefix: str, client: httpx.Client | None = None) -> None:
        self.location = prefix.rstrip("/")
        # Redirects are not followed: a log's paths are fixed, a redirect is a misconfiguration.
        self._client = client or httpx.Client(timeout=_TIMEOUT, follow_redirects=False)

    def read(self, path: str, limit: int) -> bytes:
        """See :meth:`TileSource.read`. httpx undoes ``Content-Encoding: gzip``."""
        url = f"{self.location}/{path}"
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code == 404:
                    raise _missing(path, self.location)
                if response.status_code != 200:
                    raise _fetch_failed(path, self.location, f"HTTP status {response.status_code}")
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > limit:
                        break
        except httpx.HTTPError as exc:
            raise _fetch_failed(path, self.location, f"{type(exc).__name__}: {exc}") from None
        return _within(bytes(data), path, limit)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()


def open_source(location: str | Path) -> TileSource:
    """Return the source for ``location``: an ``http://`` or ``https://`` URL, else a
    directory.

    Raises:
        LedgerError: if it is neither a URL nor an existing directory.
    """
    text = str(location)
    if text.startswith(("http://", "https://")):
        return HttpSource(text)
    return DirectorySource(Path(text))


def _within(data: bytes, path: str, limit: int) -> bytes:
    if len(data) > limit:
        raise VerificationFailed(
            f"{path} is longer than the {limit} bytes it can be.",
            reason="too_large",
            kind="tile",
            tile=path,
            expected=limit,
            actual=f"more than {limit}",
        )
    return data


def _missing(path: str, location: str) -> VerificationFailed:
    return VerificationFailed(
        f"{path} is not found at {location}.",
        reason="missing_tile",
        kind="tile",
        tile=path,
    )


def _fetch_failed(path: str, location: str, why: str) -> VerificationFailed:
    return VerificationFailed(
        f"Cannot read {path} from {location}: {why}.",
        reason="fetch_failed",
        kind="tile",
        tile=path,
    )
