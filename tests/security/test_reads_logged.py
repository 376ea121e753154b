"""Every read of case data writes an access-log entry (review finding 4; DPA 2018 s.62 logs
consultation and disclosure).

The test walks the app's route table through the permission matrix's requests: every GET route,
in every variant the matrix sends, is really called by someone allowed to read it, and the access
log is compared before and after. A route that answers without an entry carrying the request's
id fails, unless it is in ``NO_CASE_DATA`` below with the reason it reads no case data.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from tests import test_access_matrix as matrix
from tests.test_access_matrix import EXPECTED, REQUESTS, Ctx, World, client_for, send

# The permission matrix's shared app, people and fresh data per request, as fixtures here too.
world = matrix.world
ctx = matrix.ctx

# Who reads each route: the first of these the matrix lets read it (200).
READERS = ("officer", "analyst", "supervisor", "evaluator", "admin", "camden_officer")

# GET routes that read no case, patrol, output, concern, assessment, area or export data, and why.
NO_CASE_DATA: dict[str, str] = {
    "/health": "liveness only",
    "/ready": "readiness: the database's migration level, no case data",
    "/metrics": "counts and timings by route template, no case data (a scraper, no user)",
    "/sign-in": "the sign-in form",
    "/docs": "the API's documentation page",
    "/openapi.json": "the API's description",
    "/api/v1/vocabularies": "fixed lists (stages, categories, tactics)",
    "/api/v1/schemas/case-file.json": "the case file's JSON Schema",
    "/api/v1/forces": "the forces of England and Wales (reference data)",
    "/api/v1/forces/{force_id}": "a force and its local policing areas (reference data)",
    "/api/v1/forces/{force_id}/review-cadence": "a force's review setting",
    "/api/v1/forces/{force_id}/retention-periods": "a force's retention periods by category",
    "/api/v1/forces/{force_id}/harm-weights": "a force's published harm weights",
    "/api/v1/boroughs": "local policing areas (reference data)",
    "/api/v1/boroughs/{code}/wards": "wards (reference data)",
    "/wards": "wards of an area, for a form's choices (reference data)",
    "/api/v1/imports": "police.uk import reports: public crime data, no case data",
    "/api/v1/imports/{batch_id}": "a police.uk import report",
    "/data": "police.uk imports and boundary files (public data)",
    "/data/imports/{batch_id}": "a police.uk import report",
    "/data/forces/{force_id}/harm-weights": "a force's published harm weights",
    "/hotspots/months": "which months of public police.uk data are imported",
    "/admin/forces": "forces and their areas (reference data)",
    "/admin/forces/{force_id}": "a force's areas and settings (reference data)",
    "/admin/users": "user accounts, no case data (changes to them are logged)",
    "/admin/users/{username}": "a user account, no case data (changes to it are logged)",
    "/api/v1/users": "user accounts, no case data",
    "/admin/sign-in-groups": "the identity provider's groups mapped to roles and areas",
    "/api/v1/sign-in-groups": "the identity provider's groups mapped to roles and areas",
    "/admin/tokens": "the person's own API tokens",
    "/notifications/settings": "the person's own notification choices",
    "/api/v1/me/notification-preferences": "the person's own notification choices",
    "/templates": "problem templates: guidance, no case data",
    "/templates/new": "an empty form",
    "/templates/{slug}": "a problem template",
    "/templates/{slug}/edit": "a problem template's form",
    "/templates/{slug}/retire": "a problem template's retirement form",
    "/api/v1/templates": "problem templates",
    "/api/v1/templates/{slug}": "a problem template",
    "/api/v1/templates/{slug}/versions/{number}": "a problem template's version",
    "/cases/new": "an empty form",
    "/concerns/new": "an empty form",
    "/operations/new": "an empty form",
    "/partners/new": "an empty form",
}


def _reads() -> list[Any]:
    params = []
    for (method, path), rules in EXPECTED.items():
        if method != "GET":
            continue
        for variant, rule in rules.items():
            role = next((r for r in READERS if rule[r] == 200), None)
            if role is None:
                continue  # nobody reads it with a 200 (a redirect, or refused to all)
            params.append(pytest.param(path, variant, role, id=f"{path} [{variant}] {role}"))
    return params


@pytest.mark.parametrize(("path", "variant", "role"), _reads())
def test_a_read_of_case_data_writes_an_access_log_entry(
        world: World, ctx: Ctx, path: str, variant: str, role: str) -> None:
    req = REQUESTS[("GET", path, variant)](ctx)
    before = ctx.db.scalar(select(func.coalesce(func.max(AuditEntry.seq), 0)))
    request_id = f"reads-{secrets.token_hex(8)}"
    response = send(client_for(world, role, req), world.people[role], req,
                    headers={"X-Request-ID": request_id})
    assert response.status_code == 200, (req.url, response.status_code, response.text[:200])
    logged = list(ctx.db.scalars(select(AuditEntry).where(
        AuditEntry.seq > before, AuditEntry.request_id == request_id)))
    if path in NO_CASE_DATA:
        return
    assert logged, f"GET {req.url} ({role}) answered 200 without an access-log entry"


def test_the_routes_that_read_no_case_data_are_real_routes(world: World) -> None:
    gets = {route.path for route in iter_route_contexts(world.app.routes)
            if route.methods and "GET" in route.methods}
    assert not set(NO_CASE_DATA) - gets, "allow-list entries for routes the app no longer has"


def test_the_two_reads_the_review_found_are_logged(world: World, ctx: Ctx) -> None:
    """Finding 4 as the review replayed it: the case's map layer and the assessment proposal."""
    for path, kind in (("/cases/{ref}/map.geojson", "page"),
                       ("/api/v1/cases/{ref}/assessments/proposal", "api")):
        variant = next(iter(EXPECTED[("GET", path)]))
        req = REQUESTS[("GET", path, variant)](ctx)
        assert req.kind == kind
        before = ctx.db.scalar(select(func.count()).select_from(AuditEntry))
        response = send(client_for(world, "officer", req), world.people["officer"], req)
        assert response.status_code == 200
        after = ctx.db.scalar(select(func.count()).select_from(AuditEntry))
        assert after > before, f"GET {req.url} wrote no access-log entry"
