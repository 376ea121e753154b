"""Property-based tests of the JSON API (/api/v1) with schemathesis.

Every operation in the OpenAPI document is fuzzed with the real token of a user of each role:
the Westminster officer and supervisor, the analyst, the evaluator and the admin. Most refuse
some operations (403), and those answers are checked like the rest. Path parameters are steered
to a real case, hypothesis and action most of the time. Every response must:

* not be a server error (a 5xx, or an exception escaping the app),
* have a documented status code and content type, with a body that matches the documented
  response model,
* when it is a 4xx, be a JSON object with ``error`` and ``message``.

How it is wired:

* The schema is the document the app serves at /openapi.json, i.e. ``app.openapi()``.
  ``test_the_fuzzed_schema_is_the_served_one`` checks that the endpoint serves the same document
  with the supervisor's token. The schema is loaded once at import with
  ``schemathesis.openapi.from_dict``, so schemathesis can make one pytest item per operation and
  role, and each request goes in-process to the suite's ``app`` fixture
  (``call_and_validate(app=app)``). It therefore runs on the suite's database connection, which
  is rolled back after each test. Each example also runs in a SAVEPOINT that is rolled back, so
  every example sees the same data. That makes failures reproduce and shrink, and lets PATCH
  examples send the current ``version``.
* Generation is derandomised and kept small (``FUZZ_SETTINGS``, ``CONFIG``), so CI sends the
  same requests every time and the file takes about a minute on two cores.
* Each bug found here (by the fuzzing, or by a probe it prompted) keeps one deterministic
  request per operation at the end of this file, as a regression test. A bug found and not yet
  fixed is marked there ``xfail(strict=True)``, never on the fuzz item itself: schemathesis
  4.32.5's pytest plugin crashes the whole session with an INTERNALERROR when a
  ``schema.parametrize`` item marked ``xfail(strict=True)`` passes
  (``_get_pytest_report_outcome``: ``assert call.excinfo is not None``), and whether a fuzz item
  meets a bug depends on which examples were generated.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from app.main import create_app
from app.settings import Settings
from tests.conftest import POINT_AREA, READY_CHEERS, WESTMINSTER, Cast, new_case_body

# --- the schema ----------------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """What /openapi.json serves. Building it touches no database."""
    app = create_app(Settings(database_url="sqlite://", environment="test"), sessionmaker())
    return app.openapi()


CONFIG = schemathesis.Config.from_dict({
    "generation": {
        # Requests carry the real tokens. Left on, schemathesis also generates Authorization
        # headers, and about half the examples ended at 401 before reaching the operation
        # (tests/test_unauthenticated.py covers the 401s).
        "with-security-parameters": False,
    },
    "phases": {
        # The coverage phase (a request per boundary, wrong type and unexpected method: ~1,700
        # per role here) found nothing the fuzzing phase does not, at several times the cost.
        "coverage": {"enabled": False},
        # Values read from earlier responses (ids, timestamps) differ between SQLite and
        # PostgreSQL; without them both databases get exactly the same requests.
        "fuzzing": {"extra-data-sources": {"responses": False}},
    },
})
# The examples in the document first, then fuzzing, positive and negative.
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)

FUZZ_SETTINGS = settings(
    max_examples=12, deadline=None, derandomize=True, database=None,
    # The fixtures (app, people, target case) are made once per operation and role, not per
    # example, on purpose: the SAVEPOINT in fuzz() undoes what each example changed.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# --- checks --------------------------------------------------------------------------------------


def error_body_shape(ctx: CheckContext, response: schemathesis.Response,
                     case: schemathesis.Case) -> bool | None:
    """Every 4xx answer of the API is a JSON object with `error` and `message` (app/api/errors)."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON: "
                             f"{response.text[:200]!r}") from None
    missing = {"error", "message"} - set(body if isinstance(body, dict) else ())
    assert not missing, (f"{response.status_code} body lacks {sorted(missing)}: "
                         f"{response.text[:200]}")
    return True


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, error_body_shape]

# --- real data to aim at -------------------------------------------------------------------------


WORK_PARAMETERS = ("patrol_id", "output_id", "concern_id", "operation_id", "event_id",
                   "agency_id", "contact_id", "partner_id")


@dataclass
class Targets:
    ref: str  # a Westminster case in Scanning that may move on, with a hypothesis and an action
    version: int
    hypothesis_id: int
    action_id: int
    # Makes the case's patrol, output, concern, an operation and a gate override: only for
    # the operations whose paths need them (it costs eight requests).
    make_work: Callable[[], dict[str, int]]
    work: dict[str, int] = field(default_factory=dict)

    def path_parameters(self, path: str) -> dict[str, Any]:
        if not self.work and any(f"{{{name}}}" in path for name in WORK_PARAMETERS):
            self.work = self.make_work()
        values = {"ref": self.ref, "hypothesis_id": self.hypothesis_id,
                  "action_id": self.action_id, "code": WESTMINSTER, **self.work}
        return {name: value for name, value in values.items() if f"{{{name}}}" in path}

    def version_for(self, path: str) -> int:
        return 1 if path.endswith("_id}") else self.version


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


def open_case(client: TestClient, headers: dict[str, str],
              reviewer: dict[str, str]) -> Targets:
    """A case with something of every kind; ``reviewer`` reads the override its author
    (``headers``) made: nobody's queue offers their own."""
    case = _ok(client.post("/api/v1/cases", json=new_case_body(target_area=POINT_AREA),
                           headers=headers))
    ref = case["ref"]
    _ok(client.patch(f"/api/v1/cases/{ref}", headers=headers,
                     json={"version": case["version"], "cheers": READY_CHEERS}))
    hypothesis = _ok(client.post(f"/api/v1/cases/{ref}/hypotheses", headers=headers,
                                 json={"statement": "Market days draw offenders"}))
    action = _ok(client.post(f"/api/v1/cases/{ref}/actions", headers=headers,
                             json={"title": "Extra patrols on market days"}))
    version = _ok(client.get(f"/api/v1/cases/{ref}", headers=headers))["version"]
    return Targets(ref, version, hypothesis["id"], action["id"],
                   lambda: work_on(client, headers, reviewer, ref))


def work_on(client: TestClient, headers: dict[str, str], reviewer: dict[str, str],
            ref: str) -> dict[str, int]:
    """A patrol, an output, a concern, an operation and a partner agency (with a contact) on
    the case; and a gate override on another case (the target must stay in Scanning)."""
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    patrol = _ok(client.post(f"/api/v1/cases/{ref}/patrols", headers=headers, json={
        "started_at": f"{yesterday}T17:00", "ended_at": f"{yesterday}T17:12"}))
    output = _ok(client.post(f"/api/v1/cases/{ref}/outputs", headers=headers, json={
        "on": yesterday, "counts": {"arrests": 1}}))[0]
    concern = _ok(client.post("/api/v1/concerns", headers=headers, json={
        "borough": WESTMINSTER, "raised_on": yesterday, "raised_by_kind": "resident",
        "channel": "ward_panel", "description": "Fights at the market"}))
    _ok(client.post(f"/api/v1/concerns/{concern['id']}/triage", headers=headers, json={
        "version": concern["version"], "outcome": "linked", "case": ref}))
    operation = _ok(client.post("/api/v1/operations", headers=headers, json={
        "name": "Fuzz", "start_date": "2026-01-01"}))
    other = _ok(client.post("/api/v1/cases", json=new_case_body(), headers=headers))["ref"]
    _ok(client.post(f"/api/v1/cases/{other}/transitions", headers=headers, json={
        "to": "analysis", "reason": "Urgent", "override": True}))
    queue = _ok(client.get("/api/v1/queue", headers=reviewer))
    agency = _ok(client.post("/api/v1/partners", headers=headers, json={
        "name": "Westminster City Council", "kind": "council", "borough": WESTMINSTER}))
    contact = _ok(client.post(f"/api/v1/partners/{agency['id']}/contacts", headers=headers,
                              json={"name": "Priya Natarajan", "phone": "020 7641 6000"}))
    partner = _ok(client.post(f"/api/v1/cases/{ref}/partners", headers=headers, json={
        "agency": agency["id"], "contact": contact["id"], "role": "lead"}))
    return {"patrol_id": patrol["id"], "output_id": output["id"], "concern_id": concern["id"],
            "operation_id": operation["id"],
            "event_id": queue["overrides_to_review"]["items"][0]["event_id"],
            "agency_id": agency["id"], "contact_id": contact["id"], "partner_id": partner["id"]}


@pytest.fixture
def targets(client: TestClient, cast: Cast) -> Targets:
    return open_case(client, cast.supervisor.api, cast.analyst.api)


def _one_in(n: int, *values: object) -> bool:
    """A stable choice derived from the generated values, so a shrunk example keeps it."""
    return zlib.crc32(repr(values).encode()) % n == 0


def steer(case: schemathesis.Case, targets: Targets) -> None:
    """Aim valid path parameters at the real case, hypothesis and action (4 times in 5) and
    valid PATCH bodies at the current version (3 times in 4); invalid ones stay as generated."""
    meta = case.meta
    if (case.path_parameters and not (meta and meta.is_negative_at(ParameterLocation.PATH))
            and not _one_in(5, sorted(case.path_parameters.items()))):
        case.path_parameters.update(targets.path_parameters(case.path))
    if (case.method == "PATCH" and isinstance(case.body, dict) and "version" in case.body
            and not (meta and meta.is_negative_at(ParameterLocation.BODY))
            and not _one_in(4, case.body["version"])):
        case.body["version"] = targets.version_for(case.path)


# --- the fuzz tests ------------------------------------------------------------------------------


# How long one in-process request may take. At schemathesis's default (10 s), a request was cut
# off now and then in full-suite runs on a loaded two-core machine (a ReadTimeout on SQLite, on a
# different route each time, never reproduced when the file runs alone; cause not found). A hung
# request still fails, after a minute.
REQUEST_TIMEOUT_S = 60


def fuzz(case: schemathesis.Case, who: str, app: FastAPI, cast: Cast, targets: Targets,
         connection: Connection) -> None:
    steer(case, targets)
    savepoint = connection.begin_nested()
    try:
        case.call_and_validate(app=app, headers=getattr(cast, who).api, checks=CHECKS,
                               timeout=REQUEST_TIMEOUT_S)
    finally:
        savepoint.rollback()


ROLES = ["officer", "supervisor", "analyst", "evaluator", "admin"]


@pytest.mark.parametrize("who", ROLES)
@schema.parametrize()
@FUZZ_SETTINGS
def test_api(case: schemathesis.Case, who: str, app: FastAPI, cast: Cast, targets: Targets,
             connection: Connection) -> None:
    fuzz(case, who, app, cast, targets, connection)


def test_the_fuzzed_schema_is_the_served_one(client: TestClient, cast: Cast) -> None:
    response = client.get("/openapi.json", headers=cast.supervisor.api)
    assert response.status_code == 200, response.text
    assert response.json() == openapi_document()


# --- regressions: the bugs found here, one deterministic request per operation -----------------


def send(app: FastAPI, headers: dict[str, str], method: str, path: str, **parts: Any) -> None:
    """One request built, sent and checked by schemathesis, exactly like the fuzz tests'."""
    if "body" in parts:
        parts.setdefault("media_type", "application/json")
    case = schema[path][method].Case(**parts)
    try:
        case.call_and_validate(app=app, headers=headers, checks=CHECKS,
                               timeout=REQUEST_TIMEOUT_S)
    except Exception as exc:
        # An exception escaped the app (it answered 500). Keep it, with its message and the
        # curl line schemathesis added, but not its deep, chained traceback: pytest renders that
        # even for an expected failure, which costs about a second a test on PostgreSQL. The
        # app's own log, shown with a failure, has the full traceback. (Check failures are a
        # schemathesis FailureGroup, not an Exception, and pass through unchanged.)
        exc.__context__ = None
        raise exc.with_traceback(None) from None


# Found by test_api[POST /api/v1/cases/{ref}/transitions][supervisor]: a refused move answered
# 409 {error: move_refused, message}, but the documented 409 body was GateUnmetBody only.
def test_a_refused_move_answers_the_documented_409_body(app: FastAPI, cast: Cast,
                                                        targets: Targets) -> None:
    send(app, cast.supervisor.api, "POST", "/api/v1/cases/{ref}/transitions",
         path_parameters={"ref": targets.ref},
         body={"to": "closed", "reason": "", "override": False})


LATIN_1_JSON = '{"body": "Café"}'.encode("latin-1")  # not UTF-8, as JSON must be
JSON_BODY_OPERATIONS = [
    ("POST", "/api/v1/cases"),
    ("PATCH", "/api/v1/cases/{ref}"),
    ("POST", "/api/v1/cases/{ref}/transitions"),
    ("POST", "/api/v1/cases/{ref}/notes"),
    ("POST", "/api/v1/cases/{ref}/hypotheses"),
    ("PATCH", "/api/v1/cases/{ref}/hypotheses/{hypothesis_id}"),
    ("POST", "/api/v1/cases/{ref}/actions"),
    ("PATCH", "/api/v1/cases/{ref}/actions/{action_id}"),
]


# Found by the fuzz tests on every operation with a body: a body that is not UTF-8 answered
# FastAPI's own 400 {error: error, ...}, a status no operation documented.
@pytest.mark.parametrize(("method", "path"), JSON_BODY_OPERATIONS,
                         ids=[f"{m} {p}" for m, p in JSON_BODY_OPERATIONS])
def test_undecodable_json_body_answers_a_documented_status(
        app: FastAPI, cast: Cast, targets: Targets, method: str, path: str) -> None:
    send(app, cast.supervisor.api, method, path, path_parameters=targets.path_parameters(path),
         body=LATIN_1_JSON)


# Found by a probe: date_to + 1 day overflowed (OverflowError), 500 from /audit, and a 200 with
# an empty body from /audit.csv.
@pytest.mark.parametrize("path", ["/api/v1/audit", "/api/v1/audit.csv"])
def test_the_last_representable_date_is_a_valid_date_to(app: FastAPI, cast: Cast,
                                                         path: str) -> None:
    send(app, cast.admin.api, "GET", path, query={"date_to": "9999-12-31"})


NUL = "Market\x00days"
NUL_REQUESTS = [
    ("supervisor", "GET", "/api/v1/cases", {"query": {"q": NUL}}),
    ("supervisor", "GET", "/api/v1/cases/{ref}", {"path_parameters": {"ref": "WM-\x00"}}),
    ("supervisor", "POST", "/api/v1/cases", {"body": new_case_body(title=NUL)}),
    ("supervisor", "PATCH", "/api/v1/cases/{ref}", {"body": {"team": NUL}}),
    ("supervisor", "POST", "/api/v1/cases/{ref}/transitions",
     {"body": {"to": "analysis", "reason": NUL, "override": True}}),
    ("supervisor", "POST", "/api/v1/cases/{ref}/notes", {"body": {"body": NUL}}),
    ("analyst", "POST", "/api/v1/cases/{ref}/hypotheses", {"body": {"statement": NUL}}),
    ("analyst", "PATCH", "/api/v1/cases/{ref}/hypotheses/{hypothesis_id}",
     {"body": {"evidence": NUL}}),
    ("supervisor", "POST", "/api/v1/cases/{ref}/actions", {"body": {"title": NUL}}),
    ("supervisor", "PATCH", "/api/v1/cases/{ref}/actions/{action_id}", {"body": {"notes": NUL}}),
    ("admin", "GET", "/api/v1/audit", {"query": {"user": NUL}}),
    ("admin", "GET", "/api/v1/audit.csv", {"query": {"action": NUL}}),
]


# Found by a probe: on PostgreSQL a NUL in any text input answered 500 (psycopg.DataError: text
# fields cannot contain NUL), or 200 with an empty body from /audit.csv.
@pytest.mark.parametrize(("who", "method", "path", "parts"), NUL_REQUESTS,
                         ids=[f"{m} {p}" for _, m, p, _ in NUL_REQUESTS])
def test_nul_characters_do_not_break_postgresql(
        app: FastAPI, cast: Cast, targets: Targets, who: str, method: str, path: str,
        parts: dict[str, Any]) -> None:
    parts = {"path_parameters": targets.path_parameters(path), **parts}
    if method == "PATCH":
        parts["body"] = {**parts["body"], "version": targets.version_for(path)}
    send(app, getattr(cast, who).api, method, path, **parts)


@pytest.fixture
def closed_case(client: TestClient, cast: Cast) -> Targets:
    headers = cast.supervisor.api
    case = open_case(client, headers, cast.analyst.api)
    for stage in ("analysis", "response", "assessment", "closed"):
        _ok(client.post(f"/api/v1/cases/{case.ref}/transitions", headers=headers,
                        json={"to": stage, "reason": "Closing for the test", "override": True}))
    version = _ok(client.get(f"/api/v1/cases/{case.ref}", headers=headers))["version"]
    return Targets(case.ref, version, case.hypothesis_id, case.action_id, case.make_work)


CLOSED_CASE_WRITES = [
    ("POST", "/api/v1/cases/{ref}/hypotheses", {"statement": "Market days draw offenders"}),
    ("POST", "/api/v1/cases/{ref}/actions", {"title": "Extra patrols"}),
    ("PATCH", "/api/v1/cases/{ref}", {"team": "Church Street SNT"}),
    ("PATCH", "/api/v1/cases/{ref}/hypotheses/{hypothesis_id}", {"evidence": "CAD data"}),
    ("PATCH", "/api/v1/cases/{ref}/actions/{action_id}", {"notes": "Started"}),
]


# Found by a probe: a change to a closed case answered 409 {error: conflict, ...}, undocumented
# for POST /hypotheses and /actions and without the current_version the PATCHes documented.
@pytest.mark.parametrize(("method", "path", "body"), CLOSED_CASE_WRITES,
                         ids=[f"{m} {p}" for m, p, _ in CLOSED_CASE_WRITES])
def test_a_change_to_a_closed_case_answers_a_documented_409(
        app: FastAPI, cast: Cast, closed_case: Targets, method: str, path: str,
        body: dict[str, Any]) -> None:
    if method == "PATCH":
        body = {**body, "version": closed_case.version_for(path)}
    send(app, cast.supervisor.api, method, path,
         path_parameters=closed_case.path_parameters(path), body=body)
