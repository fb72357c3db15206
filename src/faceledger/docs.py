"""The README's generated tables: the access registry and the ledger action catalogue.

``python -m faceledger.docs`` rewrites them in place between their markers; a test checks that
the README holds exactly what this module generates, so the documented access model is the one
the service enforces.
"""

from __future__ import annotations

import sys
from pathlib import Path

from faceledger.governance.actions import access_table
from faceledger.service.ledger_actions import catalogue_table

BLOCKS = {"access-table": access_table, "ledger-actions": catalogue_table}
"""Marker name -> the function that makes its Markdown."""


def render(readme: str) -> str:
    """Return ``readme`` with every generated block made anew.

    Raises:
        ValueError: if a block's start or end marker is missing.
    """
    for name, make in BLOCKS.items():
        start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
        if start not in readme or end not in readme:
            raise ValueError(f"README lacks the markers of the {name} block.")
        head, rest = readme.split(start, 1)
        _, tail = rest.split(end, 1)
        readme = head + start + make() + end + tail
    return readme


def main() -> None:
    """Rewrite the README named on the command line (default ./README.md)."""
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
