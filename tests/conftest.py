"""Shared fixtures: the shared face photos, settings for a temporary data directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from faceledger.config import Settings, load_settings
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.accounts import LocalOperator
from tests import backends

if TYPE_CHECKING:
    from faceledger import FaceLedger

ACTOR = LocalOperator("test")
"""The local operator of the test data directories (gallery set-up needs no login)."""
GALLERY = "people"
FACES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "faces"


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The shared labelled face photos (../shared/data/faces); skip if absent."""
    folder = FACES.resolve()
    if not (folder / "people").is_dir():
        pytest.skip(f"shared face photos missing: expected {folder}/people")
    return folder


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--db sqlite|postgresql``: the database backend of this run (tests/backends.py)."""
    parser.addoption(
        "--db",
        choices=(backends.SQLITE, backends.POSTGRESQL),
        default=backends.SQLITE,
        help="Database backend the storage tests run on (postgresql starts a throwaway cluster).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Choose the database backend of the run."""
    # Rich fixes a console's width from COLUMNS when the console is made (the CLI makes its
    # consoles at import); the CLI tests set COLUMNS for each invocation, so none may be
    # inherited (pytest-xdist workers inherit one).
    os.environ.pop("COLUMNS", None)
    backends.configure(config.getoption("--db"))
    if backends.on_postgresql():
        # A test that drops an engine without disposing it leaves psycopg connections to the
        # garbage collector, which warns at a random later moment, in whichever test runs then.
        config.addinivalue_line(
            "filterwarnings", "ignore:<psycopg.Connection object at:ResourceWarning"
        )


INTEGRATION_DIRS = ("tests/integration/", "tests/e2e/")
"""The integration tier: real servers, processes, a browser, whole flows."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the integration tier by place (``-m "not integration"`` leaves it out); skip
    ``sqlite_only`` tests on PostgreSQL, with their reason."""
    root = Path(str(config.rootpath))
    for item in items:
        place = Path(str(item.path)).relative_to(root).as_posix()
        if place.startswith(INTEGRATION_DIRS):
            item.add_marker(pytest.mark.integration)
    if not backends.on_postgresql():
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "SQLite-specific"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the PostgreSQL cluster, if the run started one."""
    backends.shutdown()


def pytest_report_header(config: pytest.Config) -> str:
    """Name the database backend at the top of the run."""
    return f"faceledger database backend: {backends.backend()}"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a data directory, ignoring the caller's environment (its database: the
    SQLite file in it, or on --db postgresql its own database, tests/backends.py)."""
    return load_settings({"data_dir": data_dir, **overrides}, environ={})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh data directory under tmp_path."""
    return make_settings(tmp_path / "data")


LFW = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lfw-dev"


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    """The LFW development set (../shared/data/lfw-dev); skip if absent."""
    folder = LFW.resolve()
    if not (folder / "people").is_dir() or not (folder / "labels.csv").is_file():
        pytest.skip(f"LFW development set missing: expected {folder}/people and labels.csv")
    return folder


@pytest.fixture(scope="session")
def sface_evaluation(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """evaluation.json of the default (sface) model on all of lfw-dev, as `faceledger eval`
    writes it (200 bootstrap replicates to keep the suite fast): the real evaluation that opens
    the deployment gate of the real-model data directories. About a minute and a half."""
    from faceledger.cli.evaluate import evaluate_to_folder, lfw_request

    out = tmp_path_factory.mktemp("sface-evaluation")
    settings = make_settings(out / "data")
    evaluate_to_folder(settings, lfw_request(lfw_dir, out, bootstrap=200, quiet=True))
    return out / "evaluation.json"


@pytest.fixture(scope="session")
def enrolled_template(
    faces_dir: Path, sface_evaluation: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A data directory with the 54 people photos enrolled into gallery 'people' by the real
    default model, its deployment gate opened with the real evaluation of that model."""
    data_dir = tmp_path_factory.mktemp("enrolled") / "data"
    from faceledger import FaceLedger

    service = FaceLedger.initialise(make_settings(data_dir), ACTOR.ledger_actor)
    try:
        summary = service.galleries.enroll(ACTOR, GALLERY, from_folder_tree(faces_dir / "people"))
        assert summary.enrolled == 54, summary.to_dict()
        from faceledger.cli.evaluate import read_summary

        stored = service.deployments.record_evaluation(ACTOR, read_summary(sface_evaluation))
        service.deployments.activate(ACTOR, GALLERY, stored.id)
    finally:
        service.close()
    return data_dir


def activate_with_fake_evaluation(service: FaceLedger, gallery: str = GALLERY) -> None:
    """Open the deployment gate for ``gallery`` with a FAKE evaluation of the service's FAKE
    models (tests/fakes.py), so governed searches can run in tests of governance and access.
    The gate is tested with real evaluations in tests/integration/test_real_gate.py."""
    from tests.fakes import fake_evaluation_summary

    stored = service.deployments.record_evaluation(
        ACTOR, fake_evaluation_summary(service.context.pipeline)
    )
    service.deployments.activate(ACTOR, gallery, stored.id)


@pytest.fixture(scope="session")
def fake_enrolled_template(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the 54 people photos enrolled into 'people' by the FAKE pipeline
    (tests/fakes.py) and its gate opened with a FAKE evaluation: for governance tests, whose
    probes the fake pipeline embeds too."""
    from tests.fakes import fake_pipeline

    data_dir = tmp_path_factory.mktemp("fake-enrolled") / "data"
    from faceledger import FaceLedger

    FaceLedger.initialise(make_settings(data_dir), ACTOR.ledger_actor).close()
    service = FaceLedger(make_settings(data_dir), pipeline=fake_pipeline())
    try:
        summary = service.galleries.enroll(ACTOR, GALLERY, from_folder_tree(faces_dir / "people"))
        assert summary.enrolled == 54, summary.to_dict()
        activate_with_fake_evaluation(service)
    finally:
        service.close()
    return data_dir


REAL_MODEL_FIXTURES = frozenset({"sface_evaluation", "enrolled_template"})
"""Session fixtures built with the real face models: a test that uses one is a real-model
test, whether or not it runs a model itself."""


class _RealModelSpy:
    """Counts calls into the real face models (YuNet, SFace, dlib) made by this process, so a
    test that runs them without the ``slow`` marker is caught (tests/fakes.py has the FAKE
    pipeline for tests of governance, access and pages)."""

    def __init__(self) -> None:
        self.calls = 0

    def install(self) -> None:
        from faceledger.biometrics import detect, embed, sface, yunet

        for owner, name in (
            (yunet.YuNetDetector, "detect"),
            (sface.SFaceEmbedder, "embed"),
            (detect.HogDetector, "detect"),
            (detect.CnnDetector, "detect"),
            (embed.DlibResNetEmbedder, "embed"),
        ):
            setattr(owner, name, self._counting(getattr(owner, name)))

    def _counting(self, method: Any) -> Any:
        import functools

        @functools.wraps(method)
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return method(*args, **kwargs)

        return counted


_SPY = _RealModelSpy()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Count real-model calls from the start (see :class:`_RealModelSpy`)."""
    _SPY.install()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Fail a test that used the real face models without the ``slow`` marker: real-model
    tests are the biometric and accuracy ones, and ``make test-fast`` leaves them out."""
    before = _SPY.calls
    yield
    used = _SPY.calls - before
    fixtures = REAL_MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if (used or fixtures) and item.get_closest_marker("slow") is None:
        report = os.environ.get("FACELEDGER_REAL_MODEL_REPORT")
        if report:
            with open(report, "a", encoding="utf-8") as out:
                out.write(f"{item.nodeid}\t{used}\t{','.join(sorted(fixtures))}\n")
        else:
            _UNMARKED.append((item.nodeid, used, sorted(fixtures)))


_UNMARKED: list[tuple[str, int, list[str]]] = []


_TIERS: dict[str, list[float]] = {}
"""Seconds spent by each tier (setup, call and teardown), and its test count, of this run."""


def tier_of(keywords: Any) -> str:
    """The tier of a test from its markers: ``slow`` (real models), ``integration`` (servers,
    processes, a browser) or ``fast``."""
    if "slow" in keywords:
        return "slow"
    return "integration" if "integration" in keywords else "fast"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add each phase's time to its test's tier."""
    seconds_and_count = _TIERS.setdefault(tier_of(report.keywords), [0.0, 0])
    seconds_and_count[0] += report.duration
    if report.when == "call" or (report.when == "setup" and report.skipped):
        seconds_and_count[1] += 1


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the time of each tier; list the tests that used the real models without the
    ``slow`` marker."""
    if _TIERS:
        terminalreporter.section("time by tier")
        for tier in ("fast", "integration", "slow"):
            seconds, count = _TIERS.get(tier, [0.0, 0])
            terminalreporter.write_line(f"{tier:12} {int(count):5d} tests {seconds:8.1f} s")
    if not _UNMARKED:
        return
    terminalreporter.section("real face models used by tests not marked slow")
    for nodeid, used, fixtures in _UNMARKED:
        terminalreporter.write_line(f"{nodeid}: {used} model calls, fixtures {fixtures or '-'}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run with unmarked real-model tests fails (they are listed in the summary)."""
    if _UNMARKED and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
