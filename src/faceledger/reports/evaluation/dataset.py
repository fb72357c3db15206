"""Labelled evaluation sets: a folder per identity, or a pairs CSV, with a stable fingerprint.

Layout of a folder set (the lfw-dev layout)::

    <root>/people/<Name>/*.jpg        identities with one or more photos
    <root>/distractors/<Name>/*.jpg   optional: identities used only as non-mated probes

A pairs CSV (``file_x,file_y,same``) names photos relative to the root, or to ``people/`` or
``distractors/`` under it (lfw-dev's ``pairs.csv`` is relative to ``people/``).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from faceledger.errors import InvalidInput
from faceledger.gallery.sources import IMAGE_SUFFIXES

PEOPLE = "people"
DISTRACTORS = "distractors"
PAIRS_COLUMNS = ("file_x", "file_y", "same")


@dataclass(frozen=True)
class Photo:
    """One photo of the set and the identity it shows."""

    path: Path  # absolute
    relative: str  # to the dataset root, POSIX, e.g. "people/Ann/Ann_0001.jpg"
    identity: str
    distractor: bool

    @property
    def label_key(self) -> str:
        """The path relative to ``people/`` or ``distractors/``, as labels CSVs name photos."""
        return self.relative.split("/", 1)[1] if "/" in self.relative else self.relative


@dataclass(frozen=True)
class Pair:
    """Two photos (indexes into :attr:`Dataset.photos`) and whether they show one identity."""

    x: int
    y: int
    same: bool


@dataclass(frozen=True)
class Dataset:
    """Photos in a stable order (identity, then file name), with optional explicit pairs."""

    name: str
    root: Path
    photos: tuple[Photo, ...]
    fingerprint: str
    pairs: tuple[Pair, ...] | None = None
    pairs_source: str | None = None

    @property
    def identities(self) -> tuple[str, ...]:
        """Every identity, people first then distractors, each once, in photo order."""
        return tuple(dict.fromkeys(p.identity for p in self.photos))

    def identity_ids(self) -> NDArray[np.int64]:
        """Index of each photo's identity in :attr:`identities`."""
        index = {name: i for i, name in enumerate(self.identities)}
        return np.array([index[p.identity] for p in self.photos], dtype=np.int64)

    def to_dict(self) -> dict[str, object]:
        """Name, fingerprint and sizes (for the report)."""
        people = {p.identity for p in self.photos if not p.distractor}
        return {
            "name": self.name,
            "root": str(self.root),
            "fingerprint": self.fingerprint,
            "identities": len(self.identities),
            "people_identities": len(people),
            "distractor_identities": len(self.identities) - len(people),
            "photos": len(self.photos),
            "pairs_source": self.pairs_source,
            "pairs": None if self.pairs is None else len(self.pairs),
        }


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(photos: tuple[Photo, ...] | list[Photo]) -> str:
    """SHA-256 over each photo's relative path and file SHA-256, in path order.

    The same files under the same names give the same fingerprint on any machine.
    """
    digest = hashlib.sha256()
    for photo in sorted(photos, key=lambda p: p.relative):
        digest.update(f"{photo.relative}\t{_file_sha256(photo.path)}\n".encode())
    return digest.hexdigest()


def _identity_folders(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _images(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)


def _scan(root: Path, part: str, limit: int | None) -> list[Photo]:
    folder = root / part
    if not folder.is_dir():
        return []
    photos: list[Photo] = []
    identities = [d for d in _identity_folders(folder) if _images(d)]
    for identity in identities[:limit] if limit is not None else identities:
        for image in _images(identity):
            photos.append(
                Photo(
                    path=image.resolve(),
                    relative=f"{part}/{identity.name}/{image.name}",
                    identity=identity.name,
                    distractor=part == DISTRACTORS,
                )
            )
    return photos


def load_folder(
    root: Path, pairs_csv: Path | None = None, limit_identities: int | None = None
) -> Dataset:
    """Load ``root/people/`` (and ``root/distractors/`` if present), optionally with pairs.

    ``limit_identities`` keeps the first N identities (by folder name) of each part, for quick
    runs; pairs naming photos outside the kept ones are dropped.

    Raises:
        InvalidInput: if ``root/people`` is missing or empty, or the pairs CSV is malformed.
    """
    root = root.resolve()
    if not (root / PEOPLE).is_dir():
        raise InvalidInput(
            f"{root} is not an evaluation set: expected a folder {root / PEOPLE} with one "
            "sub-folder of photos per identity.",
            path=str(root),
        )
    if limit_identities is not None and limit_identities < 1:
        raise InvalidInput("--limit-identities must be at least 1.", value=limit_identities)
    photos = _scan(root, PEOPLE, limit_identities) + _scan(root, DISTRACTORS, limit_identities)
    if not photos:
        raise InvalidInput(f"{root / PEOPLE} holds no identity folders with images.")
    pairs = None
    if pairs_csv is not None:
        pairs = read_pairs(pairs_csv, root, photos, strict=limit_identities is None)
    return Dataset(
        name=root.name,
        root=root,
        photos=tuple(photos),
        fingerprint=fingerprint(photos),
        pairs=pairs,
        pairs_source=None if pairs_csv is None else str(pairs_csv.resolve()),
    )


def load_pairs_only(pairs_csv: Path, root: Path) -> Dataset:
    """Load a set given only by a pairs CSV; each photo's identity is its parent folder name.

    Raises:
        InvalidInput: if the CSV is malformed or names a missing file.
    """
    root = root.resolve()
    photos: dict[str, Photo] = {}
    for x, y, _ in _pair_rows(pairs_csv):
        for name in (x, y):
            if name in photos:
                continue
            path = _resolve(root, name, pairs_csv)
            relative = path.relative_to(root).as_posix()
            photos[name] = Photo(path, relative, path.parent.name, relative.startswith("dist"))
    ordered = sorted(photos.values(), key=lambda p: (p.distractor, p.identity, p.relative))
    return Dataset(
        name=pairs_csv.stem,
        root=root,
        photos=tuple(ordered),
        fingerprint=fingerprint(ordered),
        pairs=read_pairs(pairs_csv, root, ordered, strict=True),
        pairs_source=str(pairs_csv.resolve()),
    )


def _resolve(root: Path, name: str, source: Path) -> Path:
    for base in (root, root / PEOPLE, root / DISTRACTORS):
        candidate = (base / name).resolve()
        if candidate.is_file():
            return candidate
    raise InvalidInput(
        f"{source}: photo {name!r} was not found under {root} (nor its people/ or "
        "distractors/ folders).",
        file=str(source),
        photo=name,
    )


def _pair_rows(pairs_csv: Path) -> list[tuple[str, str, bool]]:
    try:
        with pairs_csv.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in PAIRS_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInput(
                    f"{pairs_csv}: missing column(s) {', '.join(missing)}; a pairs CSV needs "
                    f"{', '.join(PAIRS_COLUMNS)}.",
                    file=str(pairs_csv),
                    columns=list(reader.fieldnames or []),
                )
            rows = []
            for line, row in enumerate(reader, start=2):
                same = (row["same"] or "").strip().lower()
                if same not in {"0", "1", "true", "false"}:
                    raise InvalidInput(
                        f"{pairs_csv} line {line}: 'same' must be 0/1 or true/false, "
                        f"not {row['same']!r}.",
                        file=str(pairs_csv),
                    )
                rows.append((row["file_x"].strip(), row["file_y"].strip(), same in {"1", "true"}))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"Cannot read pairs CSV {pairs_csv}: {exc}", file=str(pairs_csv)
        ) from exc
    return rows


def read_pairs(
    pairs_csv: Path, root: Path, photos: list[Photo] | tuple[Photo, ...], strict: bool
) -> tuple[Pair, ...]:
    """Read ``pairs_csv`` as pairs of indexes into ``photos``.

    With ``strict``, a pair naming a photo not in ``photos`` is an error; otherwise it is
    dropped (as when ``limit_identities`` cut the set).

    Raises:
        InvalidInput: for a missing column, a bad ``same`` value, or (strict) an unknown photo;
            also when a pair's ``same`` disagrees with the photos' identity folders.
    """
    by_path = {p.path: i for i, p in enumerate(photos)}
    pairs = []
    for x, y, same in _pair_rows(pairs_csv):
        indexes = []
        for name in (x, y):
            try:
                path = _resolve(root, name, pairs_csv)
            except InvalidInput:
                if strict:
                    raise
                path = None
            indexes.append(by_path.get(path) if path is not None else None)
        ix, iy = indexes
        if ix is None or iy is None:
            if strict:
                raise InvalidInput(f"{pairs_csv}: pair {x}, {y} names a photo not in the set.")
            continue
        if (photos[ix].identity == photos[iy].identity) != same:
            raise InvalidInput(
                f"{pairs_csv}: pair {x}, {y} says same={int(same)} but the identity folders "
                "disagree.",
                file=str(pairs_csv),
            )
        pairs.append(Pair(ix, iy, same))
    if not pairs:
        raise InvalidInput(f"{pairs_csv}: no usable pairs.", file=str(pairs_csv))
    return tuple(pairs)
