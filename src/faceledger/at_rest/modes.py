"""File modes of a data directory: the directory and its folders 0700, every file 0600.

Two layers keep them so. The ``faceledger`` command sets the process umask to 0o077 before
anything runs (``faceledger serve`` included), so every file it makes (index files, WAL,
reports) is private whatever code makes it; and the places that make the data directory, its
key folder, the KEK and the SQLite file set the mode explicitly, so a service opened from
Python (tests, the Python API) keeps them too. :func:`loose_modes` finds what is wider, for
``faceledger doctor``.

A public tile mirror (``faceledger ledger tiles export``: a folder with ``checkpoint`` and
``tile/``) is written 0644 on purpose, as it is for publication; it is reported apart, never
as loose, and belongs outside the data directory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PRIVATE_UMASK",
    "LooseMode",
    "is_tile_mirror",
    "loose_modes",
    "make_private_dir",
    "private_umask",
    "tighten",
]

PRIVATE_UMASK = 0o077
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


@dataclass(frozen=True)
class LooseMode:
    """A file or folder that group or others may access, and the command that fixes it."""

    path: Path
    mode: int
    is_dir: bool

    @property
    def wanted(self) -> int:
        """0700 for a folder, 0600 for a file."""
        return 0o700 if self.is_dir else 0o600

    @property
    def fix(self) -> str:
        """The command that narrows it."""
        return f"chmod {self.wanted:o} {self.path}"


def private_umask() -> int:
    """Set the process umask to 0o077 (files 0600, folders 0700); return the previous one."""
    return os.umask(PRIVATE_UMASK)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing, and set it to 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def is_tile_mirror(folder: Path) -> bool:
    """True if ``folder`` is a public tile mirror (``checkpoint`` and ``tile/`` in it)."""
    return (folder / "checkpoint").is_file() and (folder / "tile").is_dir()


def loose_modes(root: Path, extra: tuple[Path, ...] = ()) -> tuple[list[LooseMode], list[Path]]:
    """Return what under ``root`` (and the ``extra`` files) group or others may access, and the
    public tile mirrors found (skipped). Symbolic links are not followed."""
    loose: list[LooseMode] = []
    mirrors: list[Path] = []

    def check(path: Path) -> None:
        try:
            info = path.lstat()
        except FileNotFoundError:
            return
        if stat.S_ISLNK(info.st_mode):
            return
        if info.st_mode & _OTHERS:
            loose.append(LooseMode(path, stat.S_IMODE(info.st_mode), stat.S_ISDIR(info.st_mode)))

    if root.is_dir():
        check(root)
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            kept = []
            for name in sorted(dirs):
                if is_tile_mirror(here / name):
                    mirrors.append(here / name)
                else:
                    check(here / name)
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                check(here / name)
    for path in extra:
        check(path)
    return loose, mirrors


def tighten(found: list[LooseMode]) -> None:
    """Narrow each of ``found`` to 0700 (folders) or 0600 (files)."""
    for item in found:
        os.chmod(item.path, item.wanted)
