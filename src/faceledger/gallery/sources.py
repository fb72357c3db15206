"""Where enrolment photos come from: a folder per subject, or a CSV manifest."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from faceledger.errors import InvalidInput

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
MANIFEST_REQUIRED = ("path", "subject_id")
MANIFEST_KNOWN = (*MANIFEST_REQUIRED, "display_name")


@dataclass(frozen=True)
class EnrolItem:
    """One photo to enrol, with the subject it shows and where it came from."""

    path: Path
    external_id: str
    display_name: str
    provenance: dict[str, str] = field(default_factory=dict)


def from_folder_tree(root: Path) -> list[EnrolItem]:
    """Return one item per image in ``root/<subject id>/``; the folder name is the subject id.

    Raises:
        InvalidInput: if ``root`` is not a folder or holds no subject folders with images.
    """
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder.", path=str(root))
    items = [
        EnrolItem(
            path=photo,
            external_id=folder.name,
            display_name=folder.name.replace("_", " "),
            provenance={"source": "folder", "source_root": str(root.resolve())},
        )
        for folder in sorted(p for p in root.iterdir() if p.is_dir())
        for photo in sorted(folder.iterdir())
        if photo.is_file() and photo.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not items:
        raise InvalidInput(
            f"{root} holds no images in subject folders (expected {root}/<subject id>/<photo>).",
            path=str(root),
        )
    return items


def from_manifest(manifest: Path) -> list[EnrolItem]:
    """Return the items listed in a CSV manifest.

    Columns: ``path`` (relative to the manifest's folder or absolute) and ``subject_id`` are
    required; ``display_name`` is optional; every other column is kept as provenance
    (e.g. ``source``, ``captured_at``, ``collected_by``).

    Raises:
        InvalidInput: for a missing file, missing columns or an empty required cell (with the
            line number).
    """
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"Cannot read manifest {manifest}: {exc.strerror}.") from exc
    except UnicodeDecodeError:
        raise InvalidInput(f"Manifest {manifest} is not UTF-8 text.") from None
    reader = csv.DictReader(text.splitlines())
    columns = reader.fieldnames or []
    missing = [c for c in MANIFEST_REQUIRED if c not in columns]
    if missing:
        raise InvalidInput(
            f"Manifest {manifest} lacks the column(s) {', '.join(missing)}; "
            f"required: {', '.join(MANIFEST_REQUIRED)}.",
            columns=columns,
        )
    items = []
    for line, row in enumerate(reader, start=2):
        path_text, external_id = (row.get("path") or "").strip(), (row.get("subject_id") or "")
        if not path_text or not external_id.strip():
            raise InvalidInput(
                f"Manifest {manifest} line {line}: path and subject_id are required."
            )
        path = Path(path_text)
        if not path.is_absolute():
            path = manifest.parent / path
        provenance = {
            k: v for k, v in row.items() if k not in MANIFEST_KNOWN and k is not None and v
        }
        provenance.setdefault("source", "manifest")
        provenance["manifest"] = str(manifest.resolve())
        items.append(
            EnrolItem(
                path=path,
                external_id=external_id.strip(),
                display_name=(row.get("display_name") or external_id).strip(),
                provenance=provenance,
            )
        )
    if not items:
        raise InvalidInput(f"Manifest {manifest} lists no photos.")
    return items
