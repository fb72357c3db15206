"""The structure issue 8 asked for, checked: one access model decided in the service, use-case
objects composed from explicit dependencies, no role table outside the registry."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from faceledger.service import FaceLedger

SRC = Path(__file__).resolve().parents[2] / "src" / "faceledger"
AREAS = (
    "galleries",
    "searches",
    "requests",
    "reviews",
    "emergencies",
    "images",
    "accounts",
    "tokens",
    "audit",
    "policy",
    "violations",
)


def test_the_service_is_a_holder_not_a_mixin_chain() -> None:
    assert FaceLedger.__mro__ == (FaceLedger, object)
    init = inspect.getsource(FaceLedger.__init__)
    for area in AREAS:
        assert f"self.{area} = " in init, f"FaceLedger does not compose {area}"


@pytest.mark.parametrize("area", AREAS)
def test_no_use_case_takes_a_database_session(area: str) -> None:
    source = inspect.getsource(FaceLedger.__init__)
    found = re.search(rf"self\.{area} = (\w+)\(", source)
    assert found, area
    module = inspect.getmodule(FaceLedger)
    assert module is not None
    cls = getattr(module, found.group(1))
    public = [
        (name, member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    ]
    assert public, f"{cls.__name__} has no use case"
    for name, method in public:
        assert "session" not in inspect.signature(method).parameters, (
            f"{cls.__name__}.{name} takes a database session"
        )


ROLE_TABLE = re.compile(r"frozenset\(\{\s*(R|Role)\.[A-Z]+")
"""A literal set of roles: what a role table of its own looks like."""


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in SRC.rglob("*.py")
        if p.relative_to(SRC).as_posix() not in {"governance/actions.py"}
    ),
    ids=lambda p: p.relative_to(SRC).as_posix(),
)
def test_no_role_table_outside_the_registry(path: Path) -> None:
    """Who may do what is the registry's (governance/actions.py); nothing else lists roles."""
    assert not ROLE_TABLE.search(path.read_text(encoding="utf-8")), (
        f"{path} keeps a role table of its own; use faceledger.governance.actions"
    )


@pytest.mark.parametrize(
    "path",
    sorted(p for d in ("web", "api", "cli") for p in (SRC / d).rglob("*.py")),
    ids=lambda p: p.relative_to(SRC).as_posix(),
)
def test_interfaces_do_not_decide_by_role(path: Path) -> None:
    """Pages, routes and commands ask the service (allowed actions), never a person's roles."""
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\.roles\s*&|\bin\s+(viewer|acting|me|user)(\.user)?\.roles\b", text), (
        f"{path} decides by role"
    )
