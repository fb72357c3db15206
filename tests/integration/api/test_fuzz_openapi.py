"""API fuzzing with schemathesis over the served OpenAPI document (issue 13, item 6).

schemathesis reads ``/api/v1/openapi.json`` from a real uvicorn server (``running_unit``) and
generates cases for every operation: inputs that fit the schema, inputs that break it, and
(for operations on an object) inputs that fit it on objects that exist, so the deeper code
runs too. Each case is sent as every caller (anonymous and each persona with its API token),
since most operations refuse most roles. Every answer must

1. not be a 500 (``not_a_server_error``);
2. match the document: a documented status, content type and body schema
   (``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``);
3. refuse an input that breaks the schema (``negative_data_rejection``);
4. write nothing when it refuses (status >= 400), except the records the design keeps of a
   refused attempt (:data:`DESIGNED_REFUSAL_RECORDS`); and write nothing at all for an
   answered GET (issue 13 item 5: producing a report, which is recorded, is a POST).

The run is bounded (:data:`EXAMPLES` cases per operation and kind, derandomized so CI sees
the same cases every time, no shrinking) and prints a one-line summary at the end of the
pytest run; the same line is written to test-output/fuzz-openapi.txt.

The unit runs the FAKE face pipeline of tests/fakes.py: the fuzz is about the API, and
generated probe images are junk bytes that must be refused anyway.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from sqlalchemy import Select, func, select

from faceledger.db import Base
from faceledger.errors import Unauthenticated
from faceledger.governance.inputs import MAX_ID
from faceledger.ledger.models import EntryRow
from faceledger.service.alert_inbox import AlertInbox
from faceledger.service.ledger_actions import LedgerAction
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import (
    API,
    PASSWORD,
    PERSONAS,
    ApiUnit,
    error_of,
    running_unit,
)

pytestmark = pytest.mark.fuzz

EXAMPLES = 3
"""Cases per operation and kind of input (fitting, breaking, fitting on existing objects)."""
CALLERS: tuple[str | None, ...] = (None, *PERSONAS)
"""Who sends each case: anonymous (None), then each persona with its own API token."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
TARGET = "fz-target"
"""An account of its own for the operations on an account (disable, password, approve,
training, tokens): fuzzing them on a persona would lock that persona out of the run."""
SUMMARY = Path(__file__).resolve().parents[3] / "test-output" / "fuzz-openapi.txt"

# -- what a refused call may write --------------------------------------------------------

ANY_OPERATION = "*"
DESIGNED_REFUSAL_RECORDS: dict[str, frozenset[str]] = {
    # Access.transaction (service/access.py): a Refused step is rolled back, then recorded in
    # a transaction of its own as one access.denied entry and one violation (R18), which
    # raises one alert (service/alert_inbox.py) with a delivery row per configured channel.
    ANY_OPERATION: frozenset({LedgerAction.ACCESS_DENIED}),
    # AccountUseCases.login (service/accounts.py): a failed login is recorded as
    # auth.login_failed and remembered in login_failures; the failure that locks an account
    # or an address out adds auth.lockout (service/throttle.py). A locked-out attempt (429)
    # writes nothing.
    "POST /auth/login": frozenset({LedgerAction.AUTH_LOGIN_FAILED, LedgerAction.AUTH_LOCKOUT}),
    # Deployments.activate (service/deployments.py): the gate records its refusal (R15, R16)
    # before answering 409 GateClosed.
    "POST /galleries/{name}/activation": frozenset({LedgerAction.MODEL_ACTIVATION_REFUSED}),
}
"""Ledger actions a refused call may append, by operation: the records the design keeps of
refused attempts. Anything else a refusal writes fails the run."""
LEDGER_TABLES = frozenset({"ledger_entries", "ledger_nodes", "ledger_state"})
"""What any ledger append changes: its entry, the Merkle nodes it completes, the state row."""


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Row counts of every table and the ledger size at one moment."""

    rows: dict[str, int]
    size: int


@functools.cache
def _count_every_table() -> Select[Any]:
    # One statement, built once: counting costs one round trip a call, not one per table.
    return select(
        *(
            select(func.count()).select_from(t).scalar_subquery().label(t.name)
            for t in Base.metadata.sorted_tables
        )
    )


def snapshot(unit: ApiUnit) -> Snapshot:
    """Row counts of every table and the ledger size now."""
    with unit.service.context.db.read() as session:
        row = session.execute(_count_every_table()).one()
        size = unit.service.context.ledger.tree_size(session)
    return Snapshot({name: int(n) for name, n in row._mapping.items()}, size)


def new_actions(unit: ApiUnit, since: int) -> list[str]:
    """The actions of the ledger entries from ``since`` on."""
    with unit.service.context.db.read() as session:
        return list(
            session.scalars(
                select(EntryRow.action).where(EntryRow.seq >= since).order_by(EntryRow.seq)
            )
        )


def check_writes(
    label: str,
    status: int,
    before: Snapshot,
    after: Snapshot,
    actions: list[str],
    channels: int,
) -> None:
    """Raise AssertionError if a refused call (or an answered GET) to operation ``label``
    wrote more than the design records: ``before`` and ``after`` are the counts around the
    call, ``actions`` the ledger entries it appended, ``channels`` the alert channels set."""
    if status < 400 and not label.startswith("GET "):
        return  # an accepted change: writing is its point
    changed = {
        name: after.rows[name] - before.rows[name]
        for name in after.rows
        if after.rows[name] != before.rows[name]
    }
    if status < 400:
        allowed: set[str] = set()  # an answered GET writes nothing, with no exception
        what = "an answered GET"
    else:
        allowed = set(DESIGNED_REFUSAL_RECORDS[ANY_OPERATION])
        allowed |= DESIGNED_REFUSAL_RECORDS.get(label, frozenset())
        what = f"a refused call ({status})"
    unexpected = [a for a in actions if a not in allowed]
    assert not unexpected, f"{what} to {label} appended {unexpected}; table changes {changed}"
    assert changed.get("ledger_entries", 0) == len(actions), (label, changed, actions)
    denied = actions.count(LedgerAction.ACCESS_DENIED)
    expected = {
        "violations": denied,
        "alerts": denied,
        "alert_deliveries": denied * channels,
    }
    for table, delta in expected.items():
        assert changed.get(table, 0) == delta, f"{what} to {label}: {table} {changed}"
    free = set(LEDGER_TABLES) | set(expected)
    if actions:
        free.add("ledger_checkpoints")  # an append may sign the checkpoint that is due
    if label == "POST /auth/login":
        free.add("login_failures")  # failures are remembered; expired ones pruned
    others = {t: d for t, d in changed.items() if t not in free}
    assert not others, f"{what} to {label} changed {others} (ledger: {actions})"
    if "ledger_checkpoints" in changed:
        assert changed["ledger_checkpoints"] == 1, (label, changed)


# -- the unit -----------------------------------------------------------------------------


@dataclasses.dataclass
class Stats:
    """What the run did, for the summary line."""

    operations: int = 0
    cases: int = 0
    calls: int = 0
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    kinds: Counter[str] = dataclasses.field(default_factory=Counter)
    unsatisfiable: list[str] = dataclasses.field(default_factory=list)
    remints: int = 0
    channels: int = 0
    refusal_records: Counter[str] = dataclasses.field(default_factory=Counter)
    seconds: float = 0.0
    slowest: Counter[str] = dataclasses.field(default_factory=Counter)
    failures: list[str] = dataclasses.field(default_factory=list)

    def line(self) -> str:
        """The one-line summary."""
        statuses = ", ".join(f"{s}x{n}" for s, n in sorted(self.statuses.items()))
        return (
            f"schemathesis fuzz: {self.operations} operations, {self.cases} cases "
            f"({', '.join(f'{k} {n}' for k, n in self.kinds.items())}), {self.calls} calls "
            f"as {len(CALLERS)} callers, {len(self.failures)} failures, "
            f"{self.seconds:.0f} s; statuses {statuses}"
        )


@pytest.fixture(scope="module")
def unit(
    fake_enrolled_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiUnit]:
    """A FAKE-pipeline unit with one request filed and the fuzz target account."""
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    with running_unit(fake_enrolled_template, data_dir, faces_dir, fake_pipeline()) as api:
        filed = api.file("requester")
        assert filed.status_code == 201, filed.text
        accounts = api.service.accounts
        accounts.create_user(api.root, TARGET, "Fuzz Target", "boston-pd", ["requester"], PASSWORD)
        accounts.approve_user(api.second_supervisor, TARGET)
        yield api


def pinned(unit: ApiUnit) -> dict[str, Any]:
    """Path parameters that name objects the unit holds (the first of each kind, where ids
    start at 1); a parameter not named here is generated."""
    filed = unit.call("requester", "GET", "/requests").json()["items"]
    subjects = unit.call("admin", "GET", "/galleries/people").json()["subjects"]["items"]
    first = dict.fromkeys(
        ("candidate_id", "token_id", "proposal_id", "evaluation_id", "alert_id", "photo_id"), 1
    )
    return {
        **first,
        "request_id": filed[0]["id"],
        "username": TARGET,
        "name": "people",
        "external_id": subjects[0]["external_id"],
        "seq": 0,
        "face_index": 0,
    }


def remint(unit: ApiUnit, stats: Stats) -> None:
    """Give a persona whose token an accepted call revoked (or whose account it disabled) a
    working token again, outside any call being checked, so the run keeps every caller."""
    for persona in PERSONAS:
        try:
            unit.service.tokens.user_for_api_token(unit.tokens[persona])
            continue
        except Unauthenticated:
            pass
        user = unit.users[persona]
        if not unit.service.accounts.get_user(unit.root, user.username).active:
            unit.service.accounts.enable_user(unit.root, user.username)
        _, unit.tokens[persona] = unit.service.tokens.create_api_token(
            user, user.username, "fuzz again"
        )
        stats.remints += 1


def _call_as(
    unit: ApiUnit,
    case: schemathesis.Case,
    who: str | None,
    stats: Stats,
) -> None:
    """Send ``case`` as ``who``; check the answer against the document and the writes.

    Each call opens its own connection: on a kept-alive one the loopback server answers
    about 40 ms later (measured: 43 ms a call against 3.4 ms with a fresh connection)."""
    if who is None:
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = headers
        extra: dict[str, str] = {}
    else:
        extra = unit.auth(who)
    label = case.operation.label
    before = snapshot(unit)
    response = case.call(headers=extra)
    after = snapshot(unit)
    stats.calls += 1
    stats.statuses[response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=extra)
        # The response has been read in full and the server commits before it answers; this
        # process sends nothing else meanwhile, so the counts cannot race the call.
        actions = new_actions(unit, before.size) if after.size != before.size else []
        if response.status_code >= 400:
            stats.refusal_records.update(actions)
        check_writes(label, response.status_code, before, after, actions, stats.channels)
    except AssertionError as failed:
        raise AssertionError(f"as {who or 'anonymous'}: {failed}") from None
    if response.status_code < 400 and case.method.upper() != "GET":
        remint(unit, stats)


def fuzz_operation(
    unit: ApiUnit,
    operation: Any,
    kind: str,
    strategy: Any,
    stats: Stats,
) -> None:
    """Run up to EXAMPLES cases of ``strategy``, each as every caller; record a failure."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        # No shrinking: against a server whose state moves on, it would replay for long and
        # end flaky; schemathesis's report already gives the failing request as a curl line.
        phases=(Phase.explicit, Phase.generate),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        stats.cases += 1
        stats.kinds[kind] += 1
        for who in CALLERS:
            _call_as(unit, case, who, stats)

    try:
        run()
    except Unsatisfiable:
        if kind != "breaking":
            raise
        # Nothing in it can break the schema (no parameters, a text body).
        stats.unsatisfiable.append(operation.label)
    except (Exception, BaseExceptionGroup) as failed:  # schemathesis's FailureGroup is the latter
        stats.failures.append(f"{operation.label} [{kind}]: {failed}")


class _Summary:
    """A pytest plugin, registered by the test, that prints the summary line at the end."""

    def __init__(self, line: Callable[[], str]) -> None:
        self._line = line

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(self._line())


def test_fuzz_every_operation(unit: ApiUnit, request: pytest.FixtureRequest) -> None:
    base = f"{unit.client.base_url}".rstrip("/") + API
    config = SchemathesisConfig.from_dict(
        {
            "base-url": base,
            # Each caller sends its own token (or none), so a generated Authorization header
            # would only be replaced: a "breaking" case that broke only that would be sent
            # with a valid token and wrongly fail as accepted.
            "generation": {"with-security-parameters": False},
            # A body over the limit (413) refuses an input as surely as a 422 does.
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 415, 422, 429]
                }
            },
        }
    )
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)
    stats = Stats(channels=len(AlertInbox(unit.service.settings).channels()))
    if request.config.pluginmanager.get_plugin("faceledger-fuzz-summary") is None:
        request.config.pluginmanager.register(_Summary(stats.line), "faceledger-fuzz-summary")
    objects = pinned(unit)
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        stats.operations += 1
        kinds = {
            "fitting": operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            "breaking": operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        }
        names = {p.name for p in operation.path_parameters}
        if names:
            kinds["on objects"] = operation.as_strategy(
                generation_mode=GenerationMode.POSITIVE,
                path_parameters={n: objects[n] for n in names if n in objects},
            )
        began = time.perf_counter()
        for kind, strategy in kinds.items():
            fuzz_operation(unit, operation, kind, strategy, stats)
        stats.slowest[operation.label] = round(time.perf_counter() - began, 1)
    stats.seconds = time.perf_counter() - started
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    slowest = ", ".join(f"{label} {t} s" for label, t in stats.slowest.most_common(8))
    SUMMARY.write_text(
        f"{stats.line()}\n"
        f"records refused calls appended: {dict(stats.refusal_records)}\n"
        f"tokens minted again after an accepted call revoked one: {stats.remints}\n"
        f"no breaking input possible (nothing to break): {', '.join(stats.unsatisfiable)}\n"
        f"slowest: {slowest}\n\n" + "\n\n".join(stats.failures) + "\n"
    )
    assert not stats.failures, "\n\n".join(stats.failures)
    # The run reached every operation, answered some calls, and refused others.
    assert stats.cases >= stats.operations * 2
    assert any(200 <= s < 300 for s in stats.statuses)
    assert stats.statuses[401] and stats.statuses[403] and stats.statuses[422]
    assert stats.refusal_records[LedgerAction.ACCESS_DENIED]  # the designed records were seen


# -- the write check itself -----------------------------------------------------------------

_QUIET = {"search_requests": 1, "violations": 0, "alerts": 0, "alert_deliveries": 0}


def _counts(size: int = 10, **changes: int) -> Snapshot:
    rows = dict(_QUIET, ledger_entries=size, ledger_nodes=20, ledger_checkpoints=1)
    rows["login_failures"] = 0
    for name, delta in changes.items():
        rows[name] += delta
    return Snapshot(rows, rows["ledger_entries"])


DENIED = LedgerAction.ACCESS_DENIED
WRITE_CASES = [
    # (operation, status, changes, appended, passes)
    ("POST /requests/{request_id}/search", 403, {}, [], True),
    (
        "POST /requests/{request_id}/search",
        403,
        {"ledger_entries": 1, "ledger_nodes": 1, "violations": 1, "alerts": 1},
        [DENIED],
        True,
    ),
    ("POST /requests", 422, {"search_requests": 1}, [], False),
    ("POST /requests", 403, {"ledger_entries": 1, "violations": 1}, [DENIED], False),
    (
        "POST /requests",
        403,
        {"ledger_entries": 1, "violations": 1, "alerts": 1},
        [LedgerAction.REQUEST_SUBMIT],
        False,
    ),
    (
        "POST /auth/login",
        401,
        {"ledger_entries": 1, "login_failures": 2},
        [LedgerAction.AUTH_LOGIN_FAILED],
        True,
    ),
    (
        "POST /tokens",
        401,
        {"ledger_entries": 1, "login_failures": 2},
        [LedgerAction.AUTH_LOGIN_FAILED],
        False,
    ),
    (
        "POST /galleries/{name}/activation",
        409,
        {"ledger_entries": 1},
        [LedgerAction.MODEL_ACTIVATION_REFUSED],
        True,
    ),
    ("GET /requests", 200, {"ledger_entries": 1}, [LedgerAction.REPORT_PURGE], False),
    ("GET /reports/purge", 200, {"ledger_entries": 1}, [LedgerAction.REPORT_PURGE], False),
    (
        "GET /reports/transparency",
        200,
        {"ledger_entries": 1},
        [LedgerAction.REPORT_TRANSPARENCY],
        False,
    ),
    ("POST /reports/purge", 200, {"ledger_entries": 1}, [LedgerAction.REPORT_PURGE], True),
    ("POST /requests", 201, {"search_requests": 1, "ledger_entries": 1}, ["x"], True),
    (
        "POST /ledger/checkpoints",
        403,
        {"ledger_entries": 1, "ledger_checkpoints": 1, "violations": 1, "alerts": 1},
        [DENIED],
        True,
    ),
]


@pytest.mark.parametrize(("label", "status", "changes", "appended", "passes"), WRITE_CASES)
def test_the_write_check_allows_exactly_the_designed_records(
    label: str, status: int, changes: dict[str, int], appended: list[str], passes: bool
) -> None:
    before, after = _counts(), _counts(**changes)
    if passes:
        check_writes(label, status, before, after, appended, channels=0)
    else:
        with pytest.raises(AssertionError):
            check_writes(label, status, before, after, appended, channels=0)


def test_the_write_check_counts_an_alert_delivery_per_channel() -> None:
    changes = {"ledger_entries": 1, "violations": 1, "alerts": 1, "alert_deliveries": 2}
    check_writes("GET /alerts", 403, _counts(), _counts(**changes), [DENIED], channels=2)
    with pytest.raises(AssertionError, match="alert_deliveries"):
        check_writes("GET /alerts", 403, _counts(), _counts(**changes), [DENIED], channels=1)


# -- regressions of what the fuzz found -----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/requests/{n}", "/requests/{n}/search", "/tokens/{n}/revoke", "/ledger/entries/{n}/proof"],
)
def test_an_id_beyond_a_postgresql_integer_is_refused_not_a_500(unit: ApiUnit, path: str) -> None:
    # Ids are INTEGER columns on PostgreSQL: 10093561313 was a 500 there on thirteen routes.
    method = "GET" if path.startswith("/requests/{n}") and path.count("/") == 2 else "POST"
    method = "GET" if "proof" in path else method
    largest = unit.call("admin", method, path.format(n=MAX_ID))
    assert largest.status_code in (403, 404, 409), largest.text
    error_of(unit.call("admin", method, path.format(n=MAX_ID + 1)), 422, "invalid_input")
    assert MAX_ID == 2**31 - 1


def test_a_time_given_as_a_number_is_refused(unit: ApiUnit) -> None:
    # pydantic would read it as seconds since 1970 (the fuzz sent until=-729658015382).
    for params in ({"until": "-729658015382"}, {"since": "1700000000"}):
        answer = unit.call("auditor", "GET", "/ledger/entries", params=params)
        details = error_of(answer, 422, "invalid_input")
        assert "ISO 8601" in details["fields"][0]["message"], details
    period = {"from": "0", "to": "2026-01-02"}
    error_of(
        unit.call("auditor", "POST", "/reports/transparency", json=period), 422, "invalid_input"
    )
    ok = unit.call("auditor", "GET", "/ledger/entries", params={"since": "2026-01-01T00:00:00Z"})
    assert ok.status_code == 200, ok.text


def test_an_api_path_holding_a_line_break_gets_the_error_shape(unit: ApiUnit) -> None:
    # The mount did not match such a path, so the parent app answered a plain-text 404.
    answer = unit.call("admin", "GET", "/galleries/a%0Ab")
    error_of(answer, 404, "not_found")
    assert answer.headers["content-type"] == "application/json"


def test_an_unreadable_body_is_refused_in_our_words(unit: ApiUnit) -> None:
    response = unit.call(
        "admin",
        "POST",
        "/users",
        content=b"\xff\xfe{",
        headers={"Content-Type": "application/json"},
    )
    details = error_of(response, 400, "invalid_input")
    assert details == {}
    assert response.json()["error"]["message"] == (
        "The request body could not be read: send JSON or form data as the route says."
    )


def test_every_error_status_the_api_gives_is_documented(unit: ApiUnit) -> None:
    spec = unit.call(None, "GET", "/openapi.json").json()
    for item in spec["paths"].values():
        for operation in item.values():
            assert {"400", "401", "403", "404", "409", "413", "422", "429"} <= set(
                operation["responses"]
            )


def test_the_transparency_report_documents_its_json(unit: ApiUnit) -> None:
    spec = unit.call(None, "GET", "/openapi.json").json()
    operations = spec["paths"]["/reports/transparency"]
    assert set(operations) == {"post"}  # producing a report is recorded: no GET
    content = operations["post"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv", "text/html"}
    body = operations["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = spec["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert fields["required"] == ["from", "to"] and fields["additionalProperties"] is False
    answer = unit.call(
        "auditor", "POST", "/reports/transparency", json={"from": "2026-01-01", "to": "2026-01-02"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
