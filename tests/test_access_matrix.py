"""The permission matrix: every route of the app, for every role, on a Westminster case.

The expectations below are explicit data, written by hand from the specification: they are NOT
derived from ``app/auth/permissions.py``, so a change to the rules there (or a new route without
a rule here) fails a test. ``test_every_route_has_a_rule`` compares the app's route table with
the keys of ``EXPECTED``.

Each (route, variant, role) is one test that sends a realistic, valid request on fresh data. To
stay fast the module shares one app, one API client and one signed-in page client per person;
every test runs inside a savepoint of the module's connection that is rolled back afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.auth.roles import Role
from app.auth.service import NewUser, create_token, create_user
from app.cases import content, moves, service
from app.cases.models import Case
from app.cases.schemas import (
    ActionCreate,
    CaseCreate,
    CaseUpdate,
    HypothesisCreate,
    TransitionRequest,
)
from app.main import create_app
from app.settings import Settings
from app.web.deps import SESSION_COOKIE, SIGNIN_CSRF_COOKIE
from tests.conftest import (
    CAMDEN,
    CHURCH_STREET,
    POINT_AREA,
    READY_CHEERS,
    WESTMINSTER,
    Person,
    create_person,
    new_case_body,
)

ROLES = ("officer", "supervisor", "camden_officer", "analyst", "evaluator", "admin")
Rule = dict[str, int]


def by_role(officer: int, supervisor: int, camden_officer: int, analyst: int, evaluator: int,
            admin: int) -> Rule:
    """Expected status per role, in the order of ``ROLES``."""
    return dict(zip(ROLES, (officer, supervisor, camden_officer, analyst, evaluator, admin),
                    strict=True))


def everyone(status: int) -> Rule:
    return dict.fromkeys(ROLES, status)


def admin_only(status: int) -> Rule:
    return by_role(403, 403, 403, 403, 403, status)


# Reading one case: in scope for Westminster officers and every force-wide reader; the Camden
# officer and the administrator (who has no case access) are told it does not exist.
API_READ = by_role(200, 200, 404, 200, 200, 404)
PAGE_READ = by_role(200, 200, 404, 200, 200, 404)

# (METHOD, path template) -> {variant: {role: expected status}}
EXPECTED: dict[tuple[str, str], dict[str, Rule]] = {
    # --- JSON API, Bearer token ----------------------------------------------------------------
    ("GET", "/api/v1/cases"): {"list": by_role(200, 200, 200, 200, 200, 403)},
    ("POST", "/api/v1/cases"): {"westminster case": by_role(201, 201, 422, 403, 403, 403)},
    ("GET", "/api/v1/cases/{ref}"): {"read": API_READ},
    ("PATCH", "/api/v1/cases/{ref}"): {
        "title": by_role(200, 200, 404, 403, 403, 404),
        "analysis_summary": by_role(200, 200, 404, 200, 403, 404),
    },
    ("GET", "/api/v1/cases/{ref}/gate"): {"read": API_READ},
    ("POST", "/api/v1/cases/{ref}/transitions"): {
        "back to scanning": by_role(200, 200, 404, 403, 403, 404)},
    ("GET", "/api/v1/cases/{ref}/timeline"): {"read": API_READ},
    ("POST", "/api/v1/cases/{ref}/notes"): {"add": by_role(201, 201, 404, 403, 403, 404)},
    ("POST", "/api/v1/cases/{ref}/hypotheses"): {"add": by_role(201, 201, 404, 201, 403, 404)},
    ("PATCH", "/api/v1/cases/{ref}/hypotheses/{hypothesis_id}"): {
        "status": by_role(200, 200, 404, 200, 403, 404)},
    ("POST", "/api/v1/cases/{ref}/actions"): {"add": by_role(201, 201, 404, 403, 403, 404)},
    ("PATCH", "/api/v1/cases/{ref}/actions/{action_id}"): {
        "status": by_role(200, 200, 404, 403, 403, 404)},
    ("GET", "/api/v1/boroughs"): {"list": everyone(200)},
    ("GET", "/api/v1/boroughs/{code}/wards"): {"westminster": everyone(200)},
    ("GET", "/api/v1/vocabularies"): {"read": everyone(200)},
    ("GET", "/api/v1/audit"): {"search": admin_only(200)},
    ("GET", "/api/v1/audit.csv"): {"export": admin_only(200)},
    ("GET", "/api/v1/users"): {"list": admin_only(200)},
    # --- pages, session cookie and CSRF token --------------------------------------------------
    ("GET", "/"): {"home": everyone(303)},
    ("GET", "/cases"): {"list": by_role(200, 200, 200, 200, 200, 403)},
    # Any officer or supervisor gets the form; it offers only the boroughs they may open in.
    ("GET", "/cases/new"): {"form": by_role(200, 200, 200, 403, 403, 403)},
    ("POST", "/cases"): {"westminster case": by_role(303, 303, 422, 403, 403, 403)},
    ("GET", "/wards"): {"westminster": everyone(200)},
    ("GET", "/cases/{ref}"): {
        "read": PAGE_READ,
        "problem edit form": PAGE_READ,
    },
    ("POST", "/cases/{ref}/sections/{section}"): {
        "problem": by_role(303, 303, 404, 403, 403, 404),
        "area": by_role(303, 303, 404, 403, 403, 404),
        "cheers": by_role(303, 303, 404, 403, 403, 404),
        "triangle": by_role(303, 303, 404, 303, 403, 404),
        "analysis": by_role(303, 303, 404, 303, 403, 404),
        "response": by_role(303, 303, 404, 403, 403, 404),
        "assessment": by_role(303, 303, 404, 403, 403, 404),
    },
    ("POST", "/cases/{ref}/transitions"): {
        "back to scanning": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/notes"): {"add": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/hypotheses"): {"add": by_role(303, 303, 404, 303, 403, 404)},
    ("POST", "/cases/{ref}/hypotheses/{item_id}"): {
        "status": by_role(303, 303, 404, 303, 403, 404)},
    ("POST", "/cases/{ref}/actions"): {"add": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/actions/{item_id}"): {
        "status": by_role(303, 303, 404, 403, 403, 404)},
    ("GET", "/admin/users"): {"list": admin_only(200)},
    ("POST", "/admin/users"): {"create": admin_only(303)},
    ("GET", "/admin/users/{username}"): {"edit form": admin_only(200)},
    ("POST", "/admin/users/{username}"): {"update": admin_only(303)},
    ("GET", "/admin/tokens"): {"list": admin_only(200)},
    ("POST", "/admin/tokens"): {"issue": admin_only(200)},
    ("POST", "/admin/tokens/{token_id}/revoke"): {"revoke": admin_only(303)},
    ("GET", "/admin/audit"): {"search": admin_only(200)},
    ("GET", "/admin/audit.csv"): {"export": admin_only(200)},
    ("POST", "/sign-out"): {"sign out": everyone(303)},
    ("GET", "/docs"): {"swagger ui": everyone(200)},
    ("GET", "/openapi.json"): {"session cookie": everyone(200), "bearer token": everyone(200)},
    # --- public --------------------------------------------------------------------------------
    ("GET", "/health"): {"no credentials": everyone(200)},
    ("GET", "/sign-in"): {"form": everyone(200)},
    ("POST", "/sign-in"): {"valid password": everyone(303)},
}

# (method, path, variant, role) -> why the app disagrees with the specification (strict xfail).
KNOWN_DEVIATIONS: dict[tuple[str, str, str, str], str] = {}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path template) for every route of the app, the static files mount excepted."""
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        if route.path == "/static":
            continue
        assert route.methods, f"{route.path} is a mount or route without methods: add a rule"
        routes |= {(method, route.path) for method in route.methods}
    return routes


# --- requests ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Req:
    """A request to send: ``api`` with the person's Bearer token, ``page`` with their session
    cookie (and, for POST, their CSRF token in the form), ``signin`` through the sign-in form."""

    kind: str  # "api", "page", "public" (no credentials needed) or "signin"
    method: str
    url: str
    json: Any = None
    form: dict[str, str] | None = None


WALK_IN, WALK_IN_PASSWORD = "walk.in", "correct horse battery staple"


class Ctx:
    """Fresh data for one request, made through the services (as the officer)."""

    def __init__(self, db: Session, people: dict[str, Person]) -> None:
        self.db = db
        self.people = people

    def user(self, role: str) -> User:
        user = self.db.get(User, self.people[role].user.id)
        assert user is not None
        return user

    def actor(self, role: str = "officer") -> Actor:
        return Actor(self.user(role), Channel.API, "test-setup", "127.0.0.1")

    def new_case(self, stage: str = "scanning", role: str = "officer") -> str:
        actor = self.actor(role)
        place = {"borough": CAMDEN, "ward": None} if role == "camden_officer" else {}
        case = service.create_case(self.db, actor, CaseCreate.model_validate(
            new_case_body(target_area=POINT_AREA, **place)))
        if stage == "analysis":
            service.update_case(self.db, actor, case.ref, CaseUpdate.model_validate(
                {"version": case.version, "cheers": READY_CHEERS}))
            moves.move_case(self.db, actor, case.ref, TransitionRequest.model_validate(
                {"to": "analysis"}))
        return case.ref

    def version(self, ref: str) -> int:
        version = self.db.scalar(select(Case.version).where(Case.ref == ref))
        assert version is not None
        return version

    def new_hypothesis(self, ref: str, role: str = "officer") -> int:
        return content.add_hypothesis(self.db, self.actor(role), ref, HypothesisCreate(
            statement="Robberies cluster where the market stalls block sight lines")).id

    def new_action(self, ref: str, role: str = "officer") -> int:
        return content.add_action(self.db, self.actor(role), ref, ActionCreate.model_validate(
            {"title": "Move the stalls to open sight lines", "owner": "Market manager",
             "due_date": "2031-06-30", "tactic": None})).id

    def walk_in(self) -> User:
        """A user for the administration pages to work on (created on first use)."""
        user = self.db.scalar(select(User).where(User.username == WALK_IN))
        if user is None:
            user = create_user(self.db, Actor.cli(), NewUser(
                WALK_IN, Role.OFFICER, "Walk In", WESTMINSTER, WALK_IN_PASSWORD))
        return user

    def new_token(self) -> int:
        return create_token(self.db, Actor.cli(), self.walk_in(), "to be revoked")[0].id


Builder = Callable[[Ctx], Req]
REQUESTS: dict[tuple[str, str, str], Builder] = {}


def request(method: str, path: str, variant: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        REQUESTS[(method, path, variant)] = builder
        return builder
    return register


def api(method: str, url: str, body: Any = None) -> Req:
    return Req("api", method, url, json=body)


def page(method: str, url: str, form: dict[str, str] | None = None) -> Req:
    return Req("page", method, url, form=form if form is not None else
               ({} if method == "POST" else None))


# API ---------------------------------------------------------------------------------------

@request("GET", "/api/v1/cases", "list")
def _(ctx: Ctx) -> Req:
    ctx.new_case()
    return api("GET", "/api/v1/cases?sort=ref")


@request("POST", "/api/v1/cases", "westminster case")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/cases", new_case_body())


@request("GET", "/api/v1/cases/{ref}", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/cases/{ctx.new_case()}")


@request("PATCH", "/api/v1/cases/{ref}", "title")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return api("PATCH", f"/api/v1/cases/{ref}",
               {"version": ctx.version(ref), "title": "Robbery at the market entrance"})


@request("PATCH", "/api/v1/cases/{ref}", "analysis_summary")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case("analysis")
    return api("PATCH", f"/api/v1/cases/{ref}",
               {"version": ctx.version(ref), "analysis_summary": "Peaks 14:00-18:00 Saturdays."})


@request("GET", "/api/v1/cases/{ref}/gate", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/cases/{ctx.new_case()}/gate")


@request("POST", "/api/v1/cases/{ref}/transitions", "back to scanning")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case("analysis")
    return api("POST", f"/api/v1/cases/{ref}/transitions",
               {"to": "scanning", "reason": "The target area was drawn too wide."})


@request("GET", "/api/v1/cases/{ref}/timeline", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/cases/{ctx.new_case()}/timeline")


@request("POST", "/api/v1/cases/{ref}/notes", "add")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.new_case()}/notes",
               {"body": "Met the market manager."})


@request("POST", "/api/v1/cases/{ref}/hypotheses", "add")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.new_case('analysis')}/hypotheses",
               {"statement": "Offenders travel in from the estate nearby."})


@request("PATCH", "/api/v1/cases/{ref}/hypotheses/{hypothesis_id}", "status")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case("analysis")
    item = ctx.new_hypothesis(ref)
    return api("PATCH", f"/api/v1/cases/{ref}/hypotheses/{item}",
               {"version": 1, "status": "supported", "evidence": "CAD data, 12 weeks"})


@request("POST", "/api/v1/cases/{ref}/actions", "add")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.new_case()}/actions",
               {"title": "Better lighting on the north side", "partner": "council",
                "owner": "Westminster lighting team", "due_date": "2031-05-01"})


@request("PATCH", "/api/v1/cases/{ref}/actions/{action_id}", "status")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    item = ctx.new_action(ref)
    return api("PATCH", f"/api/v1/cases/{ref}/actions/{item}",
               {"version": 1, "status": "in_progress"})


@request("GET", "/api/v1/boroughs", "list")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/boroughs")


@request("GET", "/api/v1/boroughs/{code}/wards", "westminster")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/boroughs/{WESTMINSTER}/wards")


@request("GET", "/api/v1/vocabularies", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/vocabularies")


@request("GET", "/api/v1/audit", "search")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/audit?action=case&limit=10")


@request("GET", "/api/v1/audit.csv", "export")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/audit.csv?action=token")


@request("GET", "/api/v1/users", "list")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/users")


# pages -------------------------------------------------------------------------------------

@request("GET", "/", "home")
def _(ctx: Ctx) -> Req:
    return page("GET", "/")


@request("GET", "/cases", "list")
def _(ctx: Ctx) -> Req:
    ctx.new_case()
    return page("GET", "/cases?stage=scanning")


@request("GET", "/cases/new", "form")
def _(ctx: Ctx) -> Req:
    return page("GET", "/cases/new")


def case_form() -> dict[str, str]:
    return {"title": "Street violence around Church Street market",
            "problem_statement": "Assaults and robberies on market days.",
            "category": "violent-crime", "borough": WESTMINSTER, "ward": CHURCH_STREET,
            "priority": "high", "source": "community", "team": "Church Street SNT"}


@request("POST", "/cases", "westminster case")
def _(ctx: Ctx) -> Req:
    return page("POST", "/cases", case_form())


@request("GET", "/wards", "westminster")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/wards?borough={WESTMINSTER}")


@request("GET", "/cases/{ref}", "read")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/cases/{ctx.new_case()}")


@request("GET", "/cases/{ref}", "problem edit form")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/cases/{ctx.new_case()}?section=problem&edit=1")


SECTION_FORMS: dict[str, dict[str, str]] = {
    "problem": case_form() | {"title": "Robbery at the market entrance"},
    "area": {"target_area-kind": "point", "target_area-name": "Market north end",
             "target_area-lat": "51.5230", "target_area-lng": "-0.1710",
             "target_area-radius_m": "150"},
    "cheers": {key: value for element in READY_CHEERS for key, value in (
        (f"cheers-{element}-met", "yes"), (f"cheers-{element}-evidence", f"Seen: {element}"))},
    "triangle": {f"triangle-{side}-{part}": f"{side} {part}" for side in (
        "offender", "victim", "place", "handler", "guardian", "manager")
        for part in ("who", "known")},
    "analysis": {"analysis_summary": "Peaks 14:00-18:00 on Saturdays.",
                 "baseline_start": "2025-01-01", "baseline_end": "2025-06-30"},
    "response": {"response_plan": "Redesign the stall layout; targeted patrols."},
    "assessment": {"process_evaluation": "Delivered as planned.",
                   "impact_evaluation": "Robberies fell by a third.",
                   "outcome": "fewer_incidents", "lessons_learned": "Involve traders early."},
}


def _section_builder(section: str) -> Builder:
    def build(ctx: Ctx) -> Req:
        ref = ctx.new_case()
        return page("POST", f"/cases/{ref}/sections/{section}",
                    SECTION_FORMS[section] | {"version": str(ctx.version(ref))})
    return build


for _section in SECTION_FORMS:
    request("POST", "/cases/{ref}/sections/{section}", _section)(_section_builder(_section))


@request("POST", "/cases/{ref}/transitions", "back to scanning")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case("analysis")
    return page("POST", f"/cases/{ref}/transitions",
                {"form": "back", "back-to": "scanning",
                 "back-reason": "The target area was drawn too wide."})


@request("POST", "/cases/{ref}/notes", "add")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case()}/notes",
                {"note-body": "Met the market manager."})


@request("POST", "/cases/{ref}/hypotheses", "add")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case('analysis')}/hypotheses",
                {"hypothesis-statement": "Offenders travel in from the estate nearby.",
                 "hypothesis-status": "open", "hypothesis-evidence": ""})


@request("POST", "/cases/{ref}/hypotheses/{item_id}", "status")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case("analysis")
    item = ctx.new_hypothesis(ref)
    prefix = f"hypothesis{item}"
    return page("POST", f"/cases/{ref}/hypotheses/{item}", {
        f"{prefix}-statement": "Robberies cluster where the market stalls block sight lines",
        f"{prefix}-status": "supported", f"{prefix}-evidence": "CAD data, 12 weeks",
        "version": "1"})


@request("POST", "/cases/{ref}/actions", "add")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case()}/actions", {
        "action-title": "Better lighting on the north side", "action-tactic": "",
        "action-partner": "council", "action-owner": "Westminster lighting team",
        "action-due_date": "2031-05-01", "action-status": "planned", "action-notes": ""})


@request("POST", "/cases/{ref}/actions/{item_id}", "status")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    item = ctx.new_action(ref)
    prefix = f"action{item}"
    return page("POST", f"/cases/{ref}/actions/{item}", {
        f"{prefix}-title": "Move the stalls to open sight lines", f"{prefix}-tactic": "",
        f"{prefix}-partner": "police", f"{prefix}-owner": "Market manager",
        f"{prefix}-due_date": "2031-06-30", f"{prefix}-status": "in_progress",
        f"{prefix}-notes": "Started", "version": "1"})


@request("GET", "/admin/users", "list")
def _(ctx: Ctx) -> Req:
    return page("GET", "/admin/users")


@request("POST", "/admin/users", "create")
def _(ctx: Ctx) -> Req:
    return page("POST", "/admin/users", {
        "username": "pc.new", "display_name": "PC New", "role": "officer",
        "borough": WESTMINSTER, "password": "a long first password"})


@request("GET", "/admin/users/{username}", "edit form")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/admin/users/{ctx.walk_in().username}")


@request("POST", "/admin/users/{username}", "update")
def _(ctx: Ctx) -> Req:
    user = ctx.walk_in()
    return page("POST", f"/admin/users/{user.username}", {
        "display_name": "PC Walk In", "role": "officer", "borough": CAMDEN, "active": "yes",
        "password": "", "version": str(user.version)})


@request("GET", "/admin/tokens", "list")
def _(ctx: Ctx) -> Req:
    return page("GET", "/admin/tokens")


@request("POST", "/admin/tokens", "issue")
def _(ctx: Ctx) -> Req:
    return page("POST", "/admin/tokens", {"user": ctx.walk_in().username,
                                          "name": "nightly report"})


@request("POST", "/admin/tokens/{token_id}/revoke", "revoke")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/admin/tokens/{ctx.new_token()}/revoke")


@request("GET", "/admin/audit", "search")
def _(ctx: Ctx) -> Req:
    return page("GET", "/admin/audit?action=token&date_from=2020-01-01")


@request("GET", "/admin/audit.csv", "export")
def _(ctx: Ctx) -> Req:
    return page("GET", "/admin/audit.csv?action=token")


@request("POST", "/sign-out", "sign out")
def _(ctx: Ctx) -> Req:
    return page("POST", "/sign-out")


@request("GET", "/docs", "swagger ui")
def _(ctx: Ctx) -> Req:
    return page("GET", "/docs")


@request("GET", "/openapi.json", "session cookie")
def _(ctx: Ctx) -> Req:
    return page("GET", "/openapi.json")


@request("GET", "/openapi.json", "bearer token")
def _(ctx: Ctx) -> Req:
    return api("GET", "/openapi.json")


@request("GET", "/health", "no credentials")
def _(ctx: Ctx) -> Req:
    return Req("public", "GET", "/health")


@request("GET", "/sign-in", "form")
def _(ctx: Ctx) -> Req:
    return Req("public", "GET", "/sign-in?next=/cases")


@request("POST", "/sign-in", "valid password")
def _(ctx: Ctx) -> Req:
    return Req("signin", "POST", "/sign-in",
               form={"username": ctx.walk_in().username, "password": WALK_IN_PASSWORD,
                     "next": "/cases"})


# --- sending -----------------------------------------------------------------------------------

def send(client: TestClient, person: Person, req: Req, *, csrf: str | None = "form",
         headers: dict[str, str] | None = None) -> Response:
    """Send ``req`` as ``person`` on ``client`` (which must carry no credentials of its own
    for ``api`` requests, and the person's session cookie for ``page`` requests).

    ``csrf``: "form" (the token in the form field), "header" (X-CSRF-Token, as htmx sends it),
    "wrong" (a wrong token in the form) or None (no token at all).
    """
    headers = dict(headers or {})
    if req.kind == "api":
        headers.update(person.api)
        return client.request(req.method, req.url, json=req.json, headers=headers)
    if req.kind == "public":
        return client.request(req.method, req.url, headers=headers)
    form = dict(req.form) if req.form is not None else None
    if req.kind == "signin":
        token = client.get("/sign-in").cookies.get(SIGNIN_CSRF_COOKIE)
        assert token
        expected = token
    else:
        expected = person.csrf
    if form is not None:
        if csrf == "form":
            form["csrf_token"] = expected
        elif csrf == "wrong":
            form["csrf_token"] = "not-the-token-" + expected[:8]
        elif csrf == "header":
            headers["X-CSRF-Token"] = expected
    return client.request(req.method, req.url, data=form, headers=headers)


# --- the module's shared app, people and clients -----------------------------------------------

PEOPLE: dict[str, tuple[str, Role, str | None]] = {
    "officer": ("pc.shah", Role.OFFICER, WESTMINSTER),
    "supervisor": ("sgt.okafor", Role.SUPERVISOR, WESTMINSTER),
    "camden_officer": ("pc.clarke", Role.OFFICER, CAMDEN),
    "analyst": ("analyst.lee", Role.ANALYST, None),
    "evaluator": ("eval.morgan", Role.EVALUATOR, None),
    "admin": ("admin", Role.ADMIN, None),
}


@dataclass
class World:
    connection: Connection
    factory: sessionmaker[Session]
    app: FastAPI
    people: dict[str, Person]
    api: TestClient
    pages: dict[str, TestClient] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(engine: Engine, db_url: str) -> Iterator[World]:
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            factory = sessionmaker(bind=connection, expire_on_commit=False,
                                   join_transaction_mode="create_savepoint")
            with factory() as db:
                people = {role: create_person(db, *spec) for role, spec in PEOPLE.items()}
                Ctx(db, people).walk_in()  # once: hashing its password takes a while
            app = create_app(Settings(database_url=db_url, environment="test"), factory)
            with ExitStack() as stack:
                def client() -> TestClient:
                    return stack.enter_context(
                        TestClient(app, base_url="http://testserver", follow_redirects=False))
                yield World(connection, factory, app, people, client(),
                            {role: client() for role in ROLES})
        finally:
            outer.rollback()


@pytest.fixture
def ctx(world: World) -> Iterator[Ctx]:
    """A savepoint per test: whatever the request (or the set-up) writes is rolled back."""
    savepoint = world.connection.begin_nested()
    db = world.factory()
    for role, client in world.pages.items():
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, world.people[role].session_secret)
    world.api.cookies.clear()
    try:
        yield Ctx(db, world.people)
    finally:
        db.close()
        savepoint.rollback()


def client_for(world: World, role: str, req: Req) -> TestClient:
    return world.api if req.kind == "api" else world.pages[role]


# --- tests -------------------------------------------------------------------------------------

def test_every_route_has_a_rule(world: World) -> None:
    routes = app_routes(world.app)
    missing = sorted(routes - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - routes)
    assert not missing, f"routes without an expected access rule in EXPECTED: {missing}"
    assert not stale, f"rules in EXPECTED for routes the app no longer has: {stale}"


def test_every_rule_has_a_request_and_every_role() -> None:
    variants = {(method, path, variant) for (method, path), rules in EXPECTED.items()
                for variant in rules}
    assert variants == set(REQUESTS), (
        f"no request for {sorted(variants - set(REQUESTS))}; "
        f"no rule for {sorted(set(REQUESTS) - variants)}")
    for key, rules in EXPECTED.items():
        for variant, rule in rules.items():
            assert set(rule) == set(ROLES), f"{key} {variant}: a status for every role"


def _matrix() -> list[Any]:
    params = []
    for (method, path), rules in EXPECTED.items():
        for variant, rule in rules.items():
            for role in ROLES:
                reason = KNOWN_DEVIATIONS.get((method, path, variant, role))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                params.append(pytest.param(method, path, variant, role, rule[role], marks=marks,
                                           id=f"{method} {path} [{variant}] {role}"))
    return params


@pytest.mark.parametrize(("method", "path", "variant", "role", "expected"), _matrix())
def test_access(world: World, ctx: Ctx, method: str, path: str, variant: str, role: str,
                expected: int) -> None:
    req = REQUESTS[(method, path, variant)](ctx)
    assert req.method == method
    person = world.people[role]
    response = send(client_for(world, role, req), person, req)
    assert response.status_code == expected, (
        f"{role} {method} {req.url}: expected {expected}, got {response.status_code}: "
        f"{response.text[:300]}")
    if expected in (200, 201) and req.kind == "api" and path != "/api/v1/audit.csv":
        json.loads(response.text)  # a JSON answer, not an error page


def test_own_borough_rule_names_the_borough_field(world: World, ctx: Ctx) -> None:
    req = REQUESTS[("POST", "/api/v1/cases", "westminster case")](ctx)
    response = send(world.api, world.people["camden_officer"], req)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "borough", "message": "You can work only on cases in your own borough."}]


def test_refusals_are_the_documented_error_shapes(world: World, ctx: Ctx) -> None:
    ref = ctx.new_case()
    forbidden = send(world.api, world.people["evaluator"], api(
        "POST", f"/api/v1/cases/{ref}/notes", {"body": "A note"}))
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "forbidden"
    hidden = send(world.api, world.people["camden_officer"], api("GET", f"/api/v1/cases/{ref}"))
    assert hidden.status_code == 404
    assert hidden.json() == {"error": "not_found", "message": f"There is no case {ref}."}


def test_an_item_of_another_case_is_not_reached_through_a_case_in_scope(
        world: World, ctx: Ctx) -> None:
    """Hypothesis and action ids are global: the case in the URL must own the item."""
    mine = ctx.new_case("analysis")
    camden = ctx.new_case("analysis", role="camden_officer")
    hypothesis = ctx.new_hypothesis(camden, role="camden_officer")
    action = ctx.new_action(camden, role="camden_officer")
    officer = world.people["officer"]
    for req in (
        api("PATCH", f"/api/v1/cases/{mine}/hypotheses/{hypothesis}",
            {"version": 1, "status": "refuted"}),
        api("PATCH", f"/api/v1/cases/{mine}/actions/{action}", {"version": 1, "status": "done"}),
        page("POST", f"/cases/{mine}/hypotheses/{hypothesis}", {
            f"hypothesis{hypothesis}-statement": "Tampered across cases",
            f"hypothesis{hypothesis}-status": "refuted", "version": "1"}),
        page("POST", f"/cases/{mine}/actions/{action}", {
            f"action{action}-title": "Tampered across cases", f"action{action}-status": "done",
            "version": "1"}),
    ):
        response = send(client_for(world, "officer", req), officer, req)
        assert response.status_code == 404, (req.url, response.status_code)
    timeline = send(world.api, world.people["camden_officer"],
                    api("GET", f"/api/v1/cases/{camden}/timeline"))
    assert timeline.status_code == 200
    assert "Tampered" not in timeline.text and "refuted" not in timeline.text
