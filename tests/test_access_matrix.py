"""The permission matrix: every route of the app, for every role, on a Westminster case.

The expectations below are explicit data, written by hand from the specification: they are NOT
derived from ``app/auth/permissions.py``, so a change to the rules there (or a new route without
a rule here) fails a test. ``test_every_route_has_a_rule`` compares the app's route table with
the keys of ``EXPECTED``.

Each (route, variant, role) is one test that sends a realistic, valid request on fresh data. To
stay fast the module shares one app, one API client and one signed-in page client per person;
every test runs inside a savepoint of the module's connection that is rolled back afterwards.
The world also holds crime data (``ensure_crime_data``): the City of London and Westminster
boundaries, Westminster's wards and street crimes around the matrix case's target; its app runs
police.uk uploads at once instead of in a background thread.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from pyproj import Transformer
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified

import app as app_package
from app.assessment.schemas import AssessmentRequest
from app.assessment.service import run_assessment
from app.attachments import service as attachments
from app.attachments.content import Limits
from app.attachments.schemas import AttachmentCreate
from app.attachments.storage import Store
from app.auth.context import Actor, Channel
from app.auth.models import SignInGroup, User
from app.auth.roles import Role
from app.auth.service import NewUser, create_token, create_user
from app.cases import content, moves, service
from app.cases.models import Case, CaseEvent
from app.cases.schemas import (
    ActionCreate,
    CaseCreate,
    CaseUpdate,
    HypothesisCreate,
    TransitionRequest,
)
from app.community import service as community
from app.community.schemas import ConcernCreate, ConcernTriage
from app.crime import hotspots
from app.crime.boundaries import import_boundaries
from app.crime.cells import recount_cells
from app.crime.models import Area, AreaKind, ImportBatch, ImportKind, ImportStatus, StreetCrime
from app.db import utcnow
from app.main import create_app
from app.notifications.models import Notification, NotificationKind
from app.notifications.service import notify
from app.operations.allocation import make_allocation
from app.operations.schemas import AllocationCreate, OperationCreate
from app.operations.service import create_operation
from app.partners import directory, on_cases
from app.partners.models import PartnerContact
from app.partners.schemas import AgencyCreate, CasePartnerCreate, ContactCreate
from app.patrols import service as patrols
from app.patrols.schemas import OutputsCreate, PatrolCreate, PatrolStart
from app.problem_templates import service as templates
from app.problem_templates.schemas import TemplateCreate
from app.sara.problem import CATEGORIES
from app.settings import Settings
from app.web.deps import SESSION_COOKIE, SIGNIN_CSRF_COOKIE
from tests.api.test_templates_api import template_body
from tests.attachments_kit import MINIMAL_PDF, png
from tests.conftest import (
    CAMDEN,
    CHURCH_STREET,
    CITY,
    POINT_AREA,
    READY_CHEERS,
    WESTMINSTER,
    Person,
    create_person,
    new_case_body,
)
from tests.web.test_template_pages import template_form

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
# Crime data (imports, boundaries, the hotspot finder) is open to every case reader, across
# London: it is public police.uk data, not case data. The administrator has no case access.
DATA_READ = by_role(200, 200, 200, 200, 200, 403)
# Importing is the analyst's job.
DATA_IMPORT = by_role(403, 403, 403, 303, 403, 403)
# Analysis on a case in scope: officers, supervisors and analysts; the evaluator only reads.
ANALYSIS_WRITE = by_role(303, 303, 404, 303, 403, 404)
# Photos and documents on a Westminster case: its officers and supervisors add them.
ATTACH_API = by_role(201, 201, 404, 403, 403, 404)
# Patrols and outputs on a Westminster case: its borough's officers and supervisors.
PATROL_WRITE_PAGE = by_role(303, 303, 404, 403, 403, 404)
# My shift acts on the officer's own running patrol (the request's fresh data starts one).
SHIFT_PATROL = by_role(303, 409, 409, 403, 403, 403)


def patrol_write_api(status: int) -> Rule:
    return by_role(status, status, 404, 403, 403, 404)


def concern_write(status: int) -> Rule:
    """Triage and answer a Westminster concern: its borough's officers and supervisors; the
    force-wide readers may read it but not change it; elsewhere it does not exist."""
    return by_role(status, status, 404, 403, 403, 404)


def operation_manage(status: int) -> Rule:
    """Setting up an operation: supervisors (for their area) and analysts."""
    return by_role(403, status, 403, status, 403, 403)


def operation_change(status: int) -> Rule:
    """Changing the matrix operation, which Westminster runs: its supervisors and the force's
    analysts; its other readers are refused; the Camden officer does not read it (not found)."""
    return by_role(403, status, 404, status, 403, 403)


# Reading the matrix operation: where Westminster's cases are read (not in Camden).
OPERATION_READ = by_role(200, 200, 404, 200, 200, 403)
# The City of London Police's operation (run by the City): unknown to everyone who reads only
# Westminster or Camden; the analyst and the evaluator read every force.
CITY_READ = by_role(404, 404, 404, 200, 200, 403)


def city_change(status: int) -> Rule:
    return by_role(404, 404, 404, status, 403, 403)


# A force-wide operation of the Metropolitan Police: read by every reader of its cases,
# changed by its analysts (and supervisors who work across the force) only; a Westminster
# supervisor is refused.
def force_wide_change(status: int) -> Rule:
    return by_role(403, 403, 403, status, 403, 403)


# Figures, operations, the work queue and concern lists: every case reader, each over what
# they may read; the administrator reads no case data.
OVERSIGHT_READ = by_role(200, 200, 200, 200, 200, 403)

# Templates are read where cases are read (a record the administrator may not read: 404).
TEMPLATE_READ = by_role(200, 200, 200, 200, 200, 404)


def template_manage(status: int, owner: str) -> Rule:
    """Changing a template: a national one is the forceless analyst's; the Metropolitan
    Police's is its supervisor's (officers and evaluators manage none)."""
    if owner == "national":
        return by_role(403, 403, 403, status, 403, 404)
    return by_role(403, status, 403, 403, 403, 404)


def partner_manage(status: int) -> Rule:
    """The partner directory is managed by supervisors, analysts and admins."""
    return by_role(403, status, 403, status, 403, status)


# (METHOD, path template) -> {variant: {role: expected status}}
EXPECTED: dict[tuple[str, str], dict[str, Rule]] = {
    # --- JSON API, Bearer token ----------------------------------------------------------------
    ("GET", "/api/v1/cases"): {"list": by_role(200, 200, 200, 200, 200, 403)},
    ("POST", "/api/v1/cases"): {"westminster case": by_role(201, 201, 422, 403, 403, 403),
                                "from a template": by_role(201, 201, 422, 403, 403, 403)},
    ("GET", "/api/v1/cases/{ref}"): {"read": API_READ},
    ("PATCH", "/api/v1/cases/{ref}"): {
        "title": by_role(200, 200, 404, 403, 403, 404),
        "analysis_summary": by_role(200, 200, 404, 200, 403, 404),
        # Operations are chosen centrally: supervisors (of the borough) and analysts.
        "operation": by_role(403, 200, 404, 200, 403, 404),
        # Joining the City's operation: unknown to the supervisor, another force's for the
        # analyst; a force-wide one is not the Westminster supervisor's to add cases to.
        "city of london operation": by_role(403, 422, 404, 422, 403, 404),
        "force-wide operation": by_role(403, 403, 404, 200, 403, 404),
    },
    ("GET", "/api/v1/cases/{ref}/gate"): {"read": API_READ},
    ("POST", "/api/v1/cases/{ref}/transitions"): {
        "back to scanning": by_role(200, 200, 404, 403, 403, 404)},
    ("GET", "/api/v1/cases/{ref}/timeline"): {"read": API_READ},
    # Supervisory reviews: the area's supervisors record them (the case is the officer's, so
    # not the supervisor's own); every reader of the case reads them.
    ("POST", "/api/v1/cases/{ref}/reviews"): {"record": by_role(403, 201, 404, 403, 403, 404)},
    ("GET", "/api/v1/cases/{ref}/reviews"): {"read": API_READ},
    # Attachments: the case's officers and supervisors add them and download originals (with
    # their camera metadata and location); every reader of the case sees the shown copies.
    ("GET", "/api/v1/cases/{ref}/attachments"): {"read": API_READ},
    ("POST", "/api/v1/cases/{ref}/attachments"): {"photo": ATTACH_API},
    ("GET", "/api/v1/cases/{ref}/attachments/{attachment_id}"): {"read": API_READ},
    ("POST", "/api/v1/cases/{ref}/attachments/{attachment_id}/supersede"): {
        "photo": ATTACH_API},
    ("GET", "/api/v1/cases/{ref}/attachments/{attachment_id}/{variant}"): {
        "file": API_READ, "thumbnail": API_READ,
        "original": by_role(200, 200, 404, 403, 403, 404)},
    ("POST", "/api/v1/cases/{ref}/notes"): {"add": by_role(201, 201, 404, 403, 403, 404)},
    ("POST", "/api/v1/cases/{ref}/hypotheses"): {"add": by_role(201, 201, 404, 201, 403, 404)},
    ("PATCH", "/api/v1/cases/{ref}/hypotheses/{hypothesis_id}"): {
        "status": by_role(200, 200, 404, 200, 403, 404)},
    ("POST", "/api/v1/cases/{ref}/actions"): {"add": by_role(201, 201, 404, 403, 403, 404)},
    ("PATCH", "/api/v1/cases/{ref}/actions/{action_id}"): {
        "status": by_role(200, 200, 404, 403, 403, 404)},
    ("GET", "/api/v1/boroughs"): {"list": everyone(200)},
    ("GET", "/api/v1/boroughs/{code}/wards"): {"westminster": everyone(200)},
    # Forces and their areas are reference data; an area's reference prefix is the admin's.
    ("PATCH", "/api/v1/boroughs/{code}"): {"prefix": admin_only(200)},
    ("GET", "/api/v1/forces"): {"list": everyone(200)},
    ("GET", "/api/v1/forces/{force_id}"): {"metropolitan": everyone(200)},
    ("GET", "/api/v1/forces/{force_id}/crime-counts"): {"metropolitan": DATA_READ},
    # The review cadence is force reference data; setting it is the admin's.
    ("GET", "/api/v1/forces/{force_id}/review-cadence"): {"metropolitan": everyone(200)},
    ("PUT", "/api/v1/forces/{force_id}/review-cadence"): {"metropolitan": admin_only(200)},
    # Retention (MoPI): periods are force reference data, set by its admins; closed cases are
    # reviewed by the area's supervisors and the force's admins (records management), never by
    # the officers who worked them; the Camden officer does not see a Westminster case.
    ("GET", "/api/v1/forces/{force_id}/retention-periods"): {"metropolitan": everyone(200)},
    ("PUT", "/api/v1/forces/{force_id}/retention-periods"): {"metropolitan": admin_only(200)},
    ("GET", "/api/v1/retention/queue"): {"list": by_role(403, 200, 403, 403, 403, 200)},
    ("GET", "/api/v1/cases/{ref}/retention"): {
        "closed case": by_role(403, 200, 404, 403, 403, 200)},
    ("POST", "/api/v1/cases/{ref}/retention/reviews"): {
        "retain": by_role(403, 201, 404, 403, 403, 201)},
    ("GET", "/api/v1/vocabularies"): {"read": everyone(200)},
    ("GET", "/api/v1/audit"): {"search": admin_only(200)},
    ("GET", "/api/v1/audit.csv"): {"export": admin_only(200)},
    ("GET", "/api/v1/signin-throttling"): {"read": admin_only(200)},
    ("GET", "/api/v1/users"): {"list": admin_only(200)},
    ("GET", "/api/v1/sign-in-groups"): {"list": admin_only(200)},
    ("POST", "/api/v1/sign-in-groups"): {"westminster officers": admin_only(201)},
    ("DELETE", "/api/v1/sign-in-groups/{group_id}"): {"remove": admin_only(204)},
    ("GET", "/api/v1/imports"): {"list": DATA_READ},
    ("GET", "/api/v1/imports/{batch_id}"): {"read": DATA_READ},
    ("GET", "/api/v1/areas"): {"westminster wards": DATA_READ},
    ("GET", "/api/v1/areas/{area_id}"): {"read": DATA_READ},
    ("GET", "/api/v1/hotspots"): {"westminster": DATA_READ},
    # A case's crime picture follows reading the case.
    ("GET", "/api/v1/cases/{ref}/crime-picture"): {"read": API_READ},
    # Patrols and outputs: read with the case; logged by the borough's officers and
    # supervisors only (an officer logs patrols in their own borough only).
    ("GET", "/api/v1/cases/{ref}/patrols"): {"read": API_READ},
    ("POST", "/api/v1/cases/{ref}/patrols/start"): {"start": patrol_write_api(201)},
    ("POST", "/api/v1/cases/{ref}/patrols/{patrol_id}/end"): {"end": patrol_write_api(200)},
    ("DELETE", "/api/v1/cases/{ref}/patrols/{patrol_id}"): {"discard": patrol_write_api(204)},
    ("POST", "/api/v1/cases/{ref}/patrols"): {"entered": patrol_write_api(201)},
    ("PATCH", "/api/v1/cases/{ref}/patrols/{patrol_id}"): {"correct": patrol_write_api(200)},
    ("GET", "/api/v1/cases/{ref}/outputs"): {"read": API_READ},
    ("POST", "/api/v1/cases/{ref}/outputs"): {"record": patrol_write_api(201)},
    ("POST", "/api/v1/cases/{ref}/outputs/{output_id}/corrections"): {
        "correct": patrol_write_api(201)},
    # Operations and figures: every case reader, over the cases they may read.
    ("GET", "/api/v1/operations"): {"list": OVERSIGHT_READ},
    ("POST", "/api/v1/operations"): {
        "create": operation_manage(201),
        # Only for an owner one could change: not another force's area, not the whole force
        # for a supervisor of one area.
        "for the city of london": by_role(403, 422, 403, 201, 403, 403),
        "force-wide": by_role(403, 422, 403, 201, 403, 403)},
    ("GET", "/api/v1/operations/{operation_id}"): {"read": OPERATION_READ,
        "city of london operation": CITY_READ},
    ("PATCH", "/api/v1/operations/{operation_id}"): {
        "update": operation_change(200), "city of london operation": city_change(200),
        "force-wide operation": force_wide_change(200)},
    ("GET", "/api/v1/operations/{operation_id}/summary"): {"figures": OPERATION_READ,
        "city of london operation": CITY_READ},
    ("GET", "/api/v1/stats"): {"figures": OVERSIGHT_READ},
    ("GET", "/api/v1/queue"): {"westminster": OVERSIGHT_READ},
    # Reviewing a gate override: a supervisor of the case's borough.
    ("POST", "/api/v1/overrides/{event_id}/review"): {
        "review": by_role(403, 200, 404, 403, 403, 404)},
    # Community concerns: recorded and triaged by the borough's officers and supervisors,
    # read by every case reader in scope; a concern elsewhere does not exist.
    # A person's open work: every case reader, over the cases they may read. Handing it over
    # is a supervisor's, of every area the work is in (the Camden officer: a role refusal).
    ("GET", "/api/v1/users/{username}/open-work"): {"westminster officer": OVERSIGHT_READ},
    ("POST", "/api/v1/users/{username}/handover"): {
        "to a sergeant": by_role(403, 200, 403, 403, 403, 403)},
    ("GET", "/api/v1/concerns"): {"queue": OVERSIGHT_READ},
    ("GET", "/api/v1/notifications"): {"own list": everyone(200)},
    ("POST", "/api/v1/notifications/{notification_id}/read"): {
        "the officer's": by_role(200, 404, 404, 404, 404, 404)},
    ("POST", "/api/v1/notifications/read-all"): {"own": everyone(200)},
    ("GET", "/api/v1/me/notification-preferences"): {"own": everyone(200)},
    ("PUT", "/api/v1/me/notification-preferences"): {"current version": everyone(200),
                                                     "stale version": everyone(409)},
    ("POST", "/api/v1/concerns"): {"westminster": by_role(201, 201, 422, 403, 403, 403)},
    ("GET", "/api/v1/concerns/{concern_id}"): {"read": by_role(200, 200, 404, 200, 200, 404)},
    ("POST", "/api/v1/concerns/{concern_id}/triage"): {
        "not a police matter": concern_write(200)},
    ("PUT", "/api/v1/concerns/{concern_id}/answer"): {"we did": concern_write(200)},
    # Impact assessments: read with the case; run by the borough's officers and supervisors
    # and by analysts; the evaluator reads them, and the operation's evaluation.
    ("GET", "/api/v1/cases/{ref}/assessments"): {"list": API_READ},
    ("GET", "/api/v1/cases/{ref}/assessments/proposal"): {"proposal": API_READ},
    ("POST", "/api/v1/cases/{ref}/assessments"): {"run": by_role(201, 201, 404, 201, 403, 404)},
    ("GET", "/api/v1/cases/{ref}/assessments/{number}"): {"read": API_READ},
    ("GET", "/api/v1/cases/{ref}/process"): {"read": API_READ},
    ("GET", "/api/v1/operations/{operation_id}/evaluation"): {"evaluation": OPERATION_READ,
        "city of london operation": CITY_READ},
    # Randomising an operation's hotspots is for those who manage operations; every reader of
    # the operation reads the allocation (naming only the hotspots they may read).
    ("GET", "/api/v1/operations/{operation_id}/allocation"): {"randomised": OPERATION_READ},
    # (The City's operation cannot hold Westminster's hotspots: the analyst who may change it
    # is told so, 422; everyone else does not read it.)
    ("POST", "/api/v1/operations/{operation_id}/allocation"): {
        "four hotspots": operation_change(201), "city of london operation": city_change(422),
        "force-wide operation": force_wide_change(201)},
    ("POST", "/api/v1/operations/{operation_id}/allocation/cells"): {
        "westminster's top cell": operation_change(201),
        "city of london operation": city_change(422),
        "force-wide operation": force_wide_change(201)},
    # A force's harm weights are reference data for every signed-in reader; analysts and
    # administrators load them.
    ("GET", "/api/v1/forces/{force_id}/harm-weights"): {"metropolitan": everyone(200)},
    ("POST", "/api/v1/forces/{force_id}/harm-weights"): {
        "metropolitan": by_role(403, 403, 403, 201, 403, 201)},
    # Case files are disclosures: evaluators export them (the access matrix of issue 3).
    ("GET", "/api/v1/cases/{ref}/export"): {"case file": by_role(403, 403, 404, 403, 200, 404)},
    ("GET", "/api/v1/operations/{operation_id}/export"): {
        "bundle": by_role(403, 403, 404, 403, 200, 403),
        "city of london operation": by_role(404, 404, 404, 403, 200, 403)},
    ("GET", "/api/v1/schemas/case-file.json"): {"schema": everyone(200)},
    # Problem templates: read by every case reader (national ones and their force's); the
    # administrator reads no case data. Supervisors and analysts manage those of their own
    # force; national templates are managed by accounts without a force (the analyst here),
    # and anyone who manages templates and has a force may copy one to it.
    ("GET", "/api/v1/templates"): {"list": OVERSIGHT_READ},
    ("POST", "/api/v1/templates"): {"create": by_role(403, 201, 403, 201, 403, 403)},
    ("GET", "/api/v1/templates/{slug}"): {"national": TEMPLATE_READ,
                                          "metropolitan": TEMPLATE_READ},
    ("PATCH", "/api/v1/templates/{slug}"): {"national": template_manage(200, "national"),
                                            "metropolitan": template_manage(200, "met")},
    ("GET", "/api/v1/templates/{slug}/versions/{number}"): {"national": TEMPLATE_READ},
    ("POST", "/api/v1/templates/{slug}/retirement"): {
        "national": template_manage(200, "national"),
        "metropolitan": template_manage(200, "met")},
    ("POST", "/api/v1/templates/{slug}/copies"): {
        "national to my force": by_role(403, 201, 403, 422, 403, 404)},
    # Partner agencies: every case reader of the force reads its directory (admins too, who
    # manage it with its supervisors and analysts); contacts are not the evaluator's to see.
    # Another force's agency does not exist for the Metropolitan Police's people.
    ("GET", "/api/v1/partners"): {"list": everyone(200)},
    ("POST", "/api/v1/partners"): {"metropolitan": partner_manage(201)},
    ("GET", "/api/v1/partners/{agency_id}"): {
        "metropolitan": everyone(200),
        "city of london": by_role(404, 404, 404, 200, 200, 200)},
    ("PATCH", "/api/v1/partners/{agency_id}"): {"notes": partner_manage(200)},
    ("GET", "/api/v1/partners/{agency_id}/contacts"): {
        "list": by_role(200, 200, 200, 200, 403, 200)},
    ("POST", "/api/v1/partners/{agency_id}/contacts"): {"add": partner_manage(201)},
    ("PATCH", "/api/v1/partners/{agency_id}/contacts/{contact_id}"): {
        "job title": partner_manage(200)},
    # A case's partners: read with the case, changed by those who change it.
    ("GET", "/api/v1/cases/{ref}/partners"): {"read": API_READ},
    ("POST", "/api/v1/cases/{ref}/partners"): {"add": by_role(201, 201, 404, 403, 403, 404)},
    ("PATCH", "/api/v1/cases/{ref}/partners/{partner_id}"): {
        "role": by_role(200, 200, 404, 403, 403, 404)},
    ("DELETE", "/api/v1/cases/{ref}/partners/{partner_id}"): {
        "remove": by_role(204, 204, 404, 403, 403, 404)},
    # --- pages, session cookie and CSRF token --------------------------------------------------
    ("GET", "/"): {"home": everyone(303)},
    ("GET", "/cases"): {"list": by_role(200, 200, 200, 200, 200, 403)},
    # Any officer or supervisor gets the form; it offers only the boroughs they may open in.
    ("GET", "/cases/new"): {"form": by_role(200, 200, 200, 403, 403, 403)},
    ("POST", "/cases"): {"westminster case": by_role(303, 303, 422, 403, 403, 403),
                         "from a template": by_role(303, 303, 422, 403, 403, 403)},
    ("GET", "/wards"): {"westminster": everyone(200)},
    ("GET", "/cases/{ref}"): {
        "read": PAGE_READ,
        "problem edit form": PAGE_READ,
        "crime picture": PAGE_READ,
        "comparison": PAGE_READ,
        "impact assessment": PAGE_READ,
    },
    ("GET", "/cases/{ref}/map.geojson"): {"areas": PAGE_READ},
    ("POST", "/cases/{ref}/baseline"): {"months": ANALYSIS_WRITE},
    ("POST", "/cases/{ref}/pin-picture"): {"summary": ANALYSIS_WRITE},
    ("POST", "/cases/{ref}/sections/{section}"): {
        "problem": by_role(303, 303, 404, 403, 403, 404),
        "area": by_role(303, 303, 404, 403, 403, 404),
        "area from a ward": by_role(303, 303, 404, 403, 403, 404),
        "comparison": ANALYSIS_WRITE,
        "cheers": by_role(303, 303, 404, 403, 403, 404),
        "triangle": by_role(303, 303, 404, 303, 403, 404),
        "analysis": by_role(303, 303, 404, 303, 403, 404),
        "response": by_role(303, 303, 404, 403, 403, 404),
        "assessment": by_role(303, 303, 404, 403, 403, 404),
        "patrols": by_role(303, 303, 404, 403, 403, 404),
    },
    ("POST", "/cases/{ref}/transitions"): {
        "back to scanning": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/notes"): {"add": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/attachments"): {"photo": by_role(303, 303, 404, 403, 403, 404),
                                          "document": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/attachments/{attachment_id}/supersede"): {
        "photo": by_role(303, 303, 404, 403, 403, 404)},
    ("GET", "/cases/{ref}/attachments/{attachment_id}/{variant}"): {
        "file": PAGE_READ, "thumbnail": PAGE_READ,
        "original": by_role(200, 200, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/reviews"): {"record": by_role(403, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/hypotheses"): {"add": by_role(303, 303, 404, 303, 403, 404)},
    ("POST", "/cases/{ref}/hypotheses/{item_id}"): {
        "status": by_role(303, 303, 404, 303, 403, 404)},
    ("POST", "/cases/{ref}/actions"): {"add": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/actions/{item_id}"): {
        "status": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/patrols/start"): {"start": PATROL_WRITE_PAGE},
    ("GET", "/shift"): {"home": OVERSIGHT_READ},
    ("POST", "/shift/patrols/start"): {"on a westminster case": PATROL_WRITE_PAGE},
    # The officer's own running patrol: others have none to end (409); non-patrollers 403.
    ("POST", "/shift/patrols/end"): {"mine": SHIFT_PATROL},
    ("POST", "/shift/patrols/discard"): {"mine": SHIFT_PATROL},
    ("POST", "/shift/outputs"): {"two arrests": SHIFT_PATROL},
    ("POST", "/cases/{ref}/patrols/{item_id}/end"): {"end": PATROL_WRITE_PAGE},
    ("POST", "/cases/{ref}/patrols/{item_id}/discard"): {"discard": PATROL_WRITE_PAGE},
    ("POST", "/cases/{ref}/patrols"): {"entered": PATROL_WRITE_PAGE},
    ("POST", "/cases/{ref}/patrols/{item_id}"): {"correct": PATROL_WRITE_PAGE},
    ("POST", "/cases/{ref}/outputs"): {"record": PATROL_WRITE_PAGE},
    ("POST", "/cases/{ref}/outputs/{item_id}/correct"): {"correct": PATROL_WRITE_PAGE},
    ("POST", "/cases/{ref}/concerns/{item_id}/answer"): {"we did": concern_write(303)},
    ("GET", "/concerns"): {"queue": OVERSIGHT_READ},
    ("GET", "/people/{username}/handover"): {"westminster officer": OVERSIGHT_READ},
    ("POST", "/people/{username}/handover"): {
        "confirmed": by_role(403, 200, 403, 403, 403, 403)},
    ("GET", "/concerns/new"): {"form": by_role(200, 200, 200, 403, 403, 403)},
    ("POST", "/concerns"): {"westminster": by_role(303, 303, 422, 403, 403, 403)},
    ("GET", "/concerns/{concern_id}"): {"read": by_role(200, 200, 404, 200, 200, 404)},
    ("POST", "/concerns/{concern_id}/triage"): {"not a police matter": concern_write(303)},
    ("GET", "/dashboard"): {"figures": OVERSIGHT_READ},
    ("GET", "/operations"): {"list": OVERSIGHT_READ},
    ("GET", "/operations/new"): {"form": operation_manage(200)},
    ("POST", "/operations"): {
        "create": operation_manage(303),
        "for the city of london": by_role(403, 422, 403, 303, 403, 403),
        "force-wide": by_role(403, 422, 403, 303, 403, 403)},
    ("GET", "/operations/{operation_id}"): {"dashboard": OPERATION_READ,
        "city of london operation": CITY_READ},
    ("GET", "/operations/{operation_id}/edit"): {
        "form": operation_change(200), "city of london operation": city_change(200),
        "force-wide operation": force_wide_change(200)},
    ("POST", "/operations/{operation_id}"): {
        "update": operation_change(303), "city of london operation": city_change(303),
        "force-wide operation": force_wide_change(303)},
    # A Westminster case cannot join the City's operation: the analyst is told so (422).
    ("POST", "/operations/{operation_id}/cases"): {
        "westminster case": operation_change(303), "city of london operation": city_change(422),
        "force-wide operation": force_wide_change(303)},
    ("GET", "/queue"): {"westminster": OVERSIGHT_READ},
    ("POST", "/queue/overrides/{event_id}/review"): {
        "review": by_role(403, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/assessments"): {"run": ANALYSIS_WRITE},
    ("POST", "/cases/{ref}/process-evaluation"): {"add": by_role(303, 303, 404, 403, 403, 404)},
    ("GET", "/operations/{operation_id}/evaluation"): {"page": OPERATION_READ,
        "city of london operation": CITY_READ},
    ("GET", "/operations/{operation_id}/evaluation.csv"): {"csv": OPERATION_READ,
        "city of london operation": CITY_READ},
    ("GET", "/operations/{operation_id}/allocation"): {"form or allocation": OPERATION_READ,
        "city of london operation": CITY_READ},
    ("POST", "/operations/{operation_id}/allocation"): {
        "four hotspots": operation_change(303), "city of london operation": city_change(422),
        "force-wide operation": force_wide_change(303)},
    ("POST", "/operations/{operation_id}/allocation/cells"): {
        "westminster's top cell": operation_change(303),
        "city of london operation": city_change(422),
        "force-wide operation": force_wide_change(303)},
    ("GET", "/data/forces/{force_id}/harm-weights"): {"metropolitan": everyone(200)},
    ("POST", "/data/forces/{force_id}/harm-weights"): {
        "metropolitan": by_role(403, 403, 403, 303, 403, 303)},
    ("POST", "/cases/{ref}/export"): {"case file": by_role(403, 403, 404, 403, 200, 404)},
    ("POST", "/operations/{operation_id}/export"): {
        "bundle": by_role(403, 403, 404, 403, 200, 403),
        "city of london operation": by_role(404, 404, 404, 403, 200, 403)},
    # Problem templates, as in the API.
    ("GET", "/templates"): {"list": OVERSIGHT_READ},
    ("GET", "/templates/new"): {"form": by_role(403, 200, 403, 200, 403, 403)},
    ("POST", "/templates"): {"create": by_role(403, 303, 403, 303, 403, 403)},
    ("GET", "/templates/{slug}"): {"national": TEMPLATE_READ, "metropolitan": TEMPLATE_READ},
    ("GET", "/templates/{slug}/edit"): {"national": template_manage(200, "national"),
                                        "metropolitan": template_manage(200, "met")},
    ("POST", "/templates/{slug}"): {"national": template_manage(303, "national"),
                                    "metropolitan": template_manage(303, "met")},
    ("GET", "/templates/{slug}/retire"): {"national": template_manage(200, "national"),
                                          "metropolitan": template_manage(200, "met")},
    ("POST", "/templates/{slug}/retirement"): {
        "national": template_manage(303, "national"),
        "metropolitan": template_manage(303, "met")},
    ("POST", "/templates/{slug}/copies"): {
        "national to my force": by_role(403, 303, 403, 422, 403, 404)},
    # Partner pages, as in the API.
    ("GET", "/partners"): {"list": everyone(200)},
    ("GET", "/partners/new"): {"form": partner_manage(200)},
    ("POST", "/partners"): {"metropolitan": partner_manage(303)},
    ("GET", "/partners/{agency_id}"): {"metropolitan": everyone(200),
                                       "city of london": by_role(404, 404, 404, 200, 200,
                                                                 200)},
    ("GET", "/partners/{agency_id}/edit"): {"form": partner_manage(200)},
    ("POST", "/partners/{agency_id}"): {"notes": partner_manage(303)},
    ("POST", "/partners/{agency_id}/retirement"): {"retire": partner_manage(303)},
    ("POST", "/partners/{agency_id}/contacts"): {"add": partner_manage(303)},
    ("GET", "/partners/{agency_id}/contacts/{contact_id}/edit"): {"form": partner_manage(200)},
    ("POST", "/partners/{agency_id}/contacts/{contact_id}"): {"job title": partner_manage(303)},
    ("POST", "/cases/{ref}/partners"): {"add": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/partners/{partner_id}"): {
        "role": by_role(303, 303, 404, 403, 403, 404)},
    ("POST", "/cases/{ref}/partners/{partner_id}/removal"): {
        "remove": by_role(303, 303, 404, 403, 403, 404)},
    ("GET", "/data"): {"imports": DATA_READ},
    ("POST", "/data/police-uk"): {"street csv": DATA_IMPORT},
    ("POST", "/data/boundaries"): {"wards": DATA_IMPORT},
    ("GET", "/data/imports/{batch_id}"): {"report": DATA_READ},
    ("GET", "/data/forces/{force_id}"): {"metropolitan": DATA_READ},
    ("GET", "/data/forces/{force_id}/counts.csv"): {"metropolitan": DATA_READ},
    ("GET", "/hotspots"): {"westminster": DATA_READ},
    ("GET", "/hotspots/map.geojson"): {"westminster": DATA_READ},
    ("GET", "/hotspots/months"): {"westminster": DATA_READ},
    # Opening a case on a Westminster cell (case.propose): officers and supervisors of the
    # borough, and analysts, who propose problems found in the data. The Camden officer may read
    # the finder but not open a case outside their borough: refused like POST /cases (422, the
    # borough field's message). The page before it, where the category is chosen, is theirs
    # alike.
    ("GET", "/hotspots/cases/new"): {"westminster cell": by_role(200, 200, 422, 200, 403, 403)},
    ("POST", "/hotspots/cases"): {"westminster cell": by_role(303, 303, 422, 303, 403, 403)},
    # Setting up forces' local policing areas is the administrator's.
    ("GET", "/admin/forces"): {"list": admin_only(200)},
    ("GET", "/admin/forces/{force_id}"): {"metropolitan": admin_only(200)},
    ("POST", "/admin/forces/{force_id}/boundaries"): {"westminster": admin_only(303)},
    ("POST", "/admin/forces/{force_id}/areas/{code}/prefix"): {"westminster": admin_only(303)},
    ("POST", "/admin/forces/{force_id}/review-cadence"): {"metropolitan": admin_only(303)},
    ("POST", "/admin/forces/{force_id}/retention-periods"): {"metropolitan": admin_only(303)},
    ("GET", "/retention"): {"list": by_role(403, 200, 403, 403, 403, 200)},
    ("GET", "/retention/{ref}"): {"closed case": by_role(403, 200, 404, 403, 403, 200)},
    ("POST", "/retention/{ref}/reviews"): {"retain": by_role(403, 303, 404, 403, 403, 303)},
    ("GET", "/admin/users"): {"list": admin_only(200)},
    ("POST", "/admin/users"): {"create": admin_only(303)},
    ("GET", "/admin/users/{username}"): {"edit form": admin_only(200)},
    ("POST", "/admin/users/{username}"): {"update": admin_only(303)},
    ("GET", "/admin/sign-in-groups"): {"list": admin_only(200)},
    ("POST", "/admin/sign-in-groups"): {"westminster officers": admin_only(303)},
    ("POST", "/admin/sign-in-groups/{group_id}/delete"): {"remove": admin_only(303)},
    ("GET", "/admin/tokens"): {"list": admin_only(200)},
    ("POST", "/admin/tokens"): {"issue": admin_only(200)},
    ("POST", "/admin/tokens/{token_id}/revoke"): {"revoke": admin_only(303)},
    ("GET", "/admin/audit"): {"search": admin_only(200)},
    ("GET", "/admin/audit.csv"): {"export": admin_only(200)},
    ("GET", "/admin/sign-in-throttling"): {"read": admin_only(200)},
    # Notifications and e-mail settings: everyone's own; anyone else's does not exist. A
    # settings change sent with a stale version reaches each person's own row (409).
    ("GET", "/notifications"): {"own list": everyone(200)},
    ("POST", "/notifications/{notification_id}/read"): {
        "the officer's": by_role(303, 404, 404, 404, 404, 404)},
    ("POST", "/notifications/read-all"): {"own": everyone(303)},
    ("GET", "/notifications/settings"): {"form": everyone(200)},
    ("POST", "/notifications/settings"): {"current version": everyone(303),
                                          "stale version": everyone(409)},
    ("POST", "/sign-out"): {"sign out": everyone(303)},
    ("GET", "/docs"): {"swagger ui": everyone(200)},
    ("GET", "/openapi.json"): {"session cookie": everyone(200), "bearer token": everyone(200)},
    # --- public --------------------------------------------------------------------------------
    ("GET", "/health"): {"no credentials": everyone(200)},
    ("GET", "/ready"): {"no credentials": everyone(200)},
    # Only for a configured scraper (token or address, tests/observability/test_metrics.py);
    # none is configured here, so the route does not exist for anyone, signed in or not.
    ("GET", "/metrics"): {"no scraper set up": everyone(404), "bearer token": everyone(404)},
    ("GET", "/sign-in"): {"form": everyone(200)},
    ("POST", "/sign-in"): {"valid password": everyone(303)},
    # No identity provider is configured here: both answer 404 (tests/security/test_oidc.py
    # signs in through a real one).
    ("GET", "/sign-in/oidc"): {"no provider set up": everyone(404)},
    ("GET", "/sign-in/oidc/callback"): {"no provider set up": everyone(404)},
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
    files: dict[str, tuple[str, bytes, str]] | None = None  # a multipart upload, with ``form``


MATRIX_PNG = png(8, 6)
WALK_IN, WALK_IN_PASSWORD = "walk.in", "correct horse battery staple"
# Who runs the operations a request is made on: (force, owning area; None: force-wide).
OPERATION_OWNERS: dict[str, tuple[str, str | None]] = {
    "westminster": ("metropolitan", WESTMINSTER), "city": ("city-of-london", CITY),
    "force": ("metropolitan", None)}
OTHER_SUPERVISOR = "sgt.other"


class Ctx:
    """Fresh data for one request, made through the services (as the officer)."""

    def __init__(self, db: Session, people: dict[str, Person]) -> None:
        self.db = db
        self.people = people
        self.operation_owner = "westminster"  # see OPERATION_OWNERS

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

    def closed_case(self) -> str:
        """A case of the officer's, closed by the supervisor (gates overridden)."""
        ref = self.new_case()
        for stage in ("analysis", "response", "assessment", "closed"):
            moves.move_case(self.db, self.actor("supervisor"), ref, TransitionRequest(
                to=stage, override=True, reason="Handled by the council"))
        return ref

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

    def new_attachment(self, ref: str) -> int:
        """A photo on the case, added by the officer into the folder the test apps use."""
        store = Store.from_settings(Settings())
        incoming = store.incoming(1024 * 1024)
        incoming.write(MATRIX_PNG)
        return attachments.add_attachment(
            self.db, self.actor(), ref, AttachmentCreate(caption="Stairwell door"),
            incoming.finish(), store, original_name="door.png",
            limits=Limits(max_pixels=10**6, max_side=1000)).id

    def new_operation(self) -> int:
        """An operation run by Westminster (or as ``operation_owner`` says), set up by the
        analyst."""
        force, borough = OPERATION_OWNERS[self.operation_owner]
        return create_operation(self.db, self.actor("analyst"), OperationCreate(
            name=f"Matrix {secrets.token_hex(3)}", start_date=date(2026, 1, 1),
            force=force, borough=borough)).id

    def new_patrol(self, ref: str, *, running: bool = False) -> int:
        """A patrol on the case: running (started 20 minutes ago) or entered afterwards."""
        actor = self.actor()
        if running:
            patrol = patrols.start_patrol(self.db, actor, ref, PatrolStart())
            patrol.started_at -= timedelta(minutes=20)
            self.db.commit()
            return patrol.id
        start = datetime.combine(date.today() - timedelta(days=1), time(17, 0))
        return patrols.add_patrol(self.db, actor, ref, PatrolCreate(
            started_at=start, ended_at=start + timedelta(minutes=12))).id

    def new_output(self, ref: str) -> int:
        return patrols.record_outputs(self.db, self.actor(), ref, OutputsCreate(
            on=date.today(), counts={"arrests": 2}))[0].id

    def new_concern(self, on_case: str | None = None) -> int:
        actor = self.actor()
        concern = community.record_concern(self.db, actor, ConcernCreate.model_validate({
            "borough": WESTMINSTER, "raised_on": date.today().isoformat(),
            "raised_by_kind": "resident", "channel": "ward_panel",
            "description": "Fights outside the market at closing time"}))
        if on_case:
            community.triage_concern(self.db, actor, concern.id, ConcernTriage(
                version=concern.version, outcome="linked", case=on_case))
        return concern.id

    def new_override(self) -> int:
        """A case moved on with its gate unmet by Westminster's other supervisor (nobody
        reviews their own override): the move's event id."""
        ref = self.new_case()
        other = self.db.scalar(select(User).where(User.username == OTHER_SUPERVISOR))
        if other is None:
            other = create_user(self.db, Actor.cli(), NewUser(
                OTHER_SUPERVISOR, Role.SUPERVISOR, "Other Sergeant", WESTMINSTER,
                WALK_IN_PASSWORD))
        moves.move_case(self.db, Actor(other, Channel.API, "test-setup", "127.0.0.1"), ref,
                        TransitionRequest(to="analysis", override=True, reason="Urgent"))
        event_id = self.db.scalar(select(CaseEvent.id).where(CaseEvent.overridden)
                                  .order_by(CaseEvent.id.desc()).limit(1))
        assert event_id is not None
        return event_id

    def new_assessment(self, ref: str) -> int:
        """A saved impact assessment of the case, on the world's crime data."""
        self.crime()
        return run_assessment(self.db, self.actor(), ref, AssessmentRequest(
            **ASSESSMENT_PERIODS)).number

    def met_template(self) -> str:
        """A problem template of the Metropolitan Police, made by the Westminster supervisor."""
        body = template_body(slug=f"met-{secrets.token_hex(3)}")
        return templates.create_template(self.db, self.actor("supervisor"),
                                         TemplateCreate.model_validate(body)).slug

    def walk_in(self) -> User:
        """A user for the administration pages to work on (created on first use)."""
        user = self.db.scalar(select(User).where(User.username == WALK_IN))
        if user is None:
            user = create_user(self.db, Actor.cli(), NewUser(
                WALK_IN, Role.OFFICER, "Walk In", WESTMINSTER, WALK_IN_PASSWORD))
        return user

    def new_signin_group(self) -> int:
        group = SignInGroup(group=f"group-{secrets.token_hex(4)}", role=Role.ANALYST)
        self.db.add(group)
        self.db.flush()
        return group.id

    def new_token(self) -> int:
        return create_token(self.db, Actor.cli(), self.walk_in(), "to be revoked")[0].id

    def crime(self) -> CrimeData:
        """Boundaries and street crime (imported on first use; the world imports them once)."""
        return ensure_crime_data(self.db)

    def operation_with_hotspots(self) -> tuple[int, list[str]]:
        """A new operation holding four Westminster hotspot cases, over imported crime data."""
        self.crime()
        operation = self.new_operation()
        refs = [self.new_case() for _ in range(4)]
        for ref in refs if self.operation_owner != "city" else ():  # not the City's cases
            service.update_case(self.db, self.actor("analyst"), ref, CaseUpdate.model_validate(
                {"version": self.version(ref), "operation": operation}))
        return operation, refs

    def randomised_operation(self) -> int:
        operation, refs = self.operation_with_hotspots()
        make_allocation(self.db, self.actor("analyst"), operation,
                        AllocationCreate(cases=refs, seed=1))
        return operation

    def top_cell(self) -> hotspots.HotspotCell:
        query = HOTSPOT_QUERY
        study = hotspots.study_area(self.db, self.actor("analyst"), query)
        return hotspots.compute(self.db, query, study).cells[0]


# --- crime data --------------------------------------------------------------------------------

DEMO_DATA = Path(app_package.__file__).parent / "demo_data"
MATRIX_CRIMES = "matrix-westminster-street.csv"  # the source name of the world's crime batch
CRIME_MONTHS = [date(2025, month, 1) for month in range(1, 7)]
HOTSPOT_PARAMS = f"borough={WESTMINSTER}&first=2025-01&last=2025-06&cell_m=250&top_k=5"
HOTSPOT_QUERY = hotspots.HotspotQuery(first=CRIME_MONTHS[0], last=CRIME_MONTHS[-1],
                                      borough=WESTMINSTER, cell_m=250, top_k=5)
_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)
_TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


@dataclass(frozen=True)
class CrimeData:
    batch_id: int  # the street crimes' (done) import batch
    westminster_id: int  # the borough's area
    wards: dict[str, int]  # Westminster's wards: name -> area id


@cache
def boundary_file(name: str, key: str, codes: tuple[str, ...]) -> bytes:
    """The features of a demo boundary file whose property ``key`` is one of ``codes``."""
    data = json.loads((DEMO_DATA / name).read_bytes())
    data["features"] = [f for f in data["features"] if f["properties"].get(key) in codes]
    assert len(data["features"]) >= len(codes), (name, codes)
    return json.dumps(data).encode()


ASSESSMENT_PERIODS = {"before_first": "2025-01", "before_last": "2025-03",
                      "after_first": "2025-04", "after_last": "2025-06"}


def _street_crimes() -> list[dict[str, Any]]:
    """Crimes in and around the matrix case's target (the Church Street market point, 250 m),
    some in its 300-400 m ring, some in the West End, two without a location."""
    (lng, lat), radius = POINT_AREA["geometry"]["coordinates"], POINT_AREA["radius_m"]
    market = _TO_BNG.transform(lng, lat)
    west_end = _TO_BNG.transform(-0.1337, 51.5136)
    placed: list[tuple[tuple[float, float], float, float, str]] = []
    placed += [(market, 40 + 8 * i, 30 * i, "violent-crime" if i < 9 else "robbery")
               for i in range(12)]
    placed += [(market, radius + 100 + 10 * i, 60 * i + 15, "violent-crime") for i in range(6)]
    placed += [(west_end, 20 + 10 * i, 45 * i, "theft-from-the-person") for i in range(8)]
    rows = []
    for number, (centre, distance, bearing, category) in enumerate(placed):
        angle = math.radians(bearing)
        lon, lat_ = _TO_WGS84.transform(centre[0] + distance * math.sin(angle),
                                        centre[1] + distance * math.cos(angle))
        lon, lat_ = round(lon, 6), round(lat_, 6)
        easting, northing = _TO_BNG.transform(lon, lat_)
        rows.append({"longitude": lon, "latitude": lat_, "easting": round(easting),
                     "northing": round(northing), "category": category,
                     "month": CRIME_MONTHS[number % len(CRIME_MONTHS)]})
    rows += [{"longitude": None, "latitude": None, "easting": None, "northing": None,
              "category": "violent-crime", "month": month} for month in CRIME_MONTHS[:2]]
    return rows


def ensure_crime_data(db: Session) -> CrimeData:
    """The City of London and Westminster boundaries, Westminster's wards, and a done batch of
    street crimes around the Church Street market (added once per transaction)."""
    batch_id = db.scalar(select(ImportBatch.id).where(ImportBatch.source == MATRIX_CRIMES))
    if batch_id is None:
        actor = Actor.cli()
        for name, kind, key, codes in (
                ("london-boroughs.geojson", AreaKind.BOROUGH, "GSS_CODE", (CITY, WESTMINSTER)),
                ("london-wards-2022.geojson", AreaKind.WARD, "LAD22CD", (WESTMINSTER,))):
            report = import_boundaries(db, actor, name, boundary_file(name, key, codes), kind)
            assert report.status == "done" and not report.rejected, report
        rows = _street_crimes()
        batch = ImportBatch(
            kind=ImportKind.STREET, source=MATRIX_CRIMES, sha256=hashlib.sha256(
                MATRIX_CRIMES.encode()).hexdigest(), status=ImportStatus.DONE,
            rows_read=len(rows), added=len(rows),
            without_location=sum(1 for r in rows if r["easting"] is None),
            first_month=CRIME_MONTHS[0], last_month=CRIME_MONTHS[-1], finished_at=utcnow(),
            actor="matrix", force_id="metropolitan",
            months=[f"{month:%Y-%m}" for month in CRIME_MONTHS])
        db.add(batch)
        db.flush()
        db.add_all(StreetCrime(
            identity=hashlib.blake2b(f"matrix-{number}".encode(), digest_size=16).digest(),
            crime_id=f"matrix-{number}", reported_by="Metropolitan Police Service",
            falls_within="Metropolitan Police Service", location="On or near Church Street",
            last_outcome="Under investigation", batch_id=batch.id, **row)
            for number, row in enumerate(rows))
        db.flush()
        recount_cells(db, batch.force_id, batch.months)  # as the importer does for its files
        db.commit()
        batch_id = batch.id
    areas = {(a.kind, a.name): a.id for a in db.scalars(select(Area))}
    return CrimeData(batch_id, areas[(AreaKind.BOROUGH, "Westminster")],
                     {name: area_id for (kind, name), area_id in areas.items()
                      if kind is AreaKind.WARD})


def upload(kind: str, url: str, form: dict[str, str], content: bytes = b"") -> Req:
    """A multipart upload of a small PNG (named .jpg: the type comes from the content)."""
    return Req(kind, "POST", url, form=form, files={
        "file": ("door.jpg", content or MATRIX_PNG, "image/jpeg")})


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


@request("GET", "/api/v1/cases/{ref}/attachments", "read")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    ctx.new_attachment(ref)
    return api("GET", f"/api/v1/cases/{ref}/attachments")


@request("POST", "/api/v1/cases/{ref}/attachments", "photo")
def _(ctx: Ctx) -> Req:
    return upload("api", f"/api/v1/cases/{ctx.new_case()}/attachments",
                  {"caption": "Broken light", "phase": "before"})


@request("GET", "/api/v1/cases/{ref}/attachments/{attachment_id}", "read")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return api("GET", f"/api/v1/cases/{ref}/attachments/{ctx.new_attachment(ref)}")


@request("POST", "/api/v1/cases/{ref}/attachments/{attachment_id}/supersede", "photo")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return upload("api", f"/api/v1/cases/{ref}/attachments/{ctx.new_attachment(ref)}"
                         "/supersede", {"caption": "The right door"}, png(6, 8))


def _attachment_file(ctx: Ctx, kind: str, variant: str) -> Req:
    ref = ctx.new_case()
    prefix = "/api/v1" if kind == "api" else ""
    return Req(kind, "GET", f"{prefix}/cases/{ref}/attachments/{ctx.new_attachment(ref)}"
                            f"/{variant}")


for _variant in ("file", "thumbnail", "original"):
    request("GET", "/api/v1/cases/{ref}/attachments/{attachment_id}/{variant}", _variant)(
        lambda ctx, v=_variant: _attachment_file(ctx, "api", v))
    request("GET", "/cases/{ref}/attachments/{attachment_id}/{variant}", _variant)(
        lambda ctx, v=_variant: _attachment_file(ctx, "page", v))


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


@request("PATCH", "/api/v1/boroughs/{code}", "prefix")
def _(ctx: Ctx) -> Req:
    return api("PATCH", f"/api/v1/boroughs/{WESTMINSTER}", {"ref_prefix": "WSM"})


@request("POST", "/api/v1/cases/{ref}/reviews", "record")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.new_case()}/reviews",
               {"note": "Plan on track.", "decision": "continue"})


@request("GET", "/api/v1/cases/{ref}/reviews", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/cases/{ctx.new_case()}/reviews")


@request("GET", "/api/v1/forces/{force_id}/review-cadence", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/forces/metropolitan/review-cadence")


@request("PUT", "/api/v1/forces/{force_id}/review-cadence", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("PUT", "/api/v1/forces/metropolitan/review-cadence",
               {"high": 10, "medium": 21, "low": 42})


@request("GET", "/api/v1/forces", "list")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/forces")


@request("GET", "/api/v1/forces/{force_id}", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/forces/metropolitan")


@request("GET", "/api/v1/forces/{force_id}/crime-counts", "metropolitan")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return api("GET", "/api/v1/forces/metropolitan/crime-counts?first=2025-01&last=2025-06")


@request("GET", "/api/v1/vocabularies", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/vocabularies")


@request("GET", "/api/v1/audit", "search")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/audit?action=case&limit=10")


@request("GET", "/api/v1/audit.csv", "export")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/audit.csv?action=token")


@request("GET", "/api/v1/signin-throttling", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/signin-throttling")


@request("GET", "/api/v1/users", "list")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/users")


@request("GET", "/api/v1/imports", "list")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return api("GET", "/api/v1/imports?limit=5")


@request("GET", "/api/v1/imports/{batch_id}", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/imports/{ctx.crime().batch_id}")


@request("GET", "/api/v1/areas", "westminster wards")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return api("GET", f"/api/v1/areas?kind=ward&borough={WESTMINSTER}")


@request("GET", "/api/v1/areas/{area_id}", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/areas/{ctx.crime().westminster_id}")


@request("GET", "/api/v1/hotspots", "westminster")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return api("GET", f"/api/v1/hotspots?{HOTSPOT_PARAMS}")


@request("GET", "/api/v1/cases/{ref}/crime-picture", "read")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return api("GET", f"/api/v1/cases/{ctx.new_case()}/crime-picture?first=2025-01&last=2025-06")


# patrols, outputs, operations, figures, the queue and concerns (API) --------------------------

YESTERDAY = date.today() - timedelta(days=1)


@request("GET", "/api/v1/cases/{ref}/assessments", "list")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    ctx.new_assessment(ref)
    return api("GET", f"/api/v1/cases/{ref}/assessments")


@request("GET", "/api/v1/cases/{ref}/assessments/proposal", "proposal")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return api("GET", f"/api/v1/cases/{ctx.new_case()}/assessments/proposal")


@request("POST", "/api/v1/cases/{ref}/assessments", "run")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return api("POST", f"/api/v1/cases/{ctx.new_case()}/assessments", ASSESSMENT_PERIODS)


@request("GET", "/api/v1/cases/{ref}/assessments/{number}", "read")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return api("GET", f"/api/v1/cases/{ref}/assessments/{ctx.new_assessment(ref)}")


@request("GET", "/api/v1/cases/{ref}/process", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/cases/{ctx.new_case()}/process")


@request("GET", "/api/v1/operations/{operation_id}/evaluation", "evaluation")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/operations/{ctx.new_operation()}/evaluation")


@request("GET", "/api/v1/cases/{ref}/export", "case file")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/cases/{ctx.new_case()}/export?reason=For+the+evaluation")


@request("GET", "/api/v1/operations/{operation_id}/export", "bundle")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/operations/{ctx.new_operation()}/export?reason=Evaluation")


@request("GET", "/api/v1/schemas/case-file.json", "schema")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/schemas/case-file.json")


@request("PATCH", "/api/v1/cases/{ref}", "operation")
def _(ctx: Ctx) -> Req:
    ref, operation = ctx.new_case(), ctx.new_operation()
    return api("PATCH", f"/api/v1/cases/{ref}", {"version": ctx.version(ref),
                                                 "operation": operation})


@request("GET", "/api/v1/cases/{ref}/patrols", "read")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    ctx.new_patrol(ref)
    return api("GET", f"/api/v1/cases/{ref}/patrols")


@request("POST", "/api/v1/cases/{ref}/patrols/start", "start")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.new_case()}/patrols/start", {"kind": "foot"})


@request("POST", "/api/v1/cases/{ref}/patrols/{patrol_id}/end", "end")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return api("POST", f"/api/v1/cases/{ref}/patrols/{ctx.new_patrol(ref, running=True)}/end")


@request("DELETE", "/api/v1/cases/{ref}/patrols/{patrol_id}", "discard")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return api("DELETE", f"/api/v1/cases/{ref}/patrols/{ctx.new_patrol(ref, running=True)}")


@request("POST", "/api/v1/cases/{ref}/patrols", "entered")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.new_case()}/patrols", {
        "started_at": f"{YESTERDAY}T17:05", "ended_at": f"{YESTERDAY}T17:19"})


@request("PATCH", "/api/v1/cases/{ref}/patrols/{patrol_id}", "correct")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return api("PATCH", f"/api/v1/cases/{ref}/patrols/{ctx.new_patrol(ref)}", {
        "version": 1, "ended_at": f"{YESTERDAY}T17:15", "reason": "End tapped late"})


@request("GET", "/api/v1/cases/{ref}/outputs", "read")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    ctx.new_output(ref)
    return api("GET", f"/api/v1/cases/{ref}/outputs")


@request("POST", "/api/v1/cases/{ref}/outputs", "record")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.new_case()}/outputs", {
        "on": date.today().isoformat(), "counts": {"arrests": 2, "knives": 1}})


@request("POST", "/api/v1/cases/{ref}/outputs/{output_id}/corrections", "correct")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return api("POST", f"/api/v1/cases/{ref}/outputs/{ctx.new_output(ref)}/corrections", {
        "count": 1, "reason": "Counted twice"})


@request("GET", "/api/v1/operations", "list")
def _(ctx: Ctx) -> Req:
    ctx.new_operation()
    return api("GET", "/api/v1/operations")


@request("POST", "/api/v1/operations", "create")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/operations", {"name": "Nightingale", "force": "metropolitan",
                                               "start_date": "2026-04-01"})


@request("GET", "/api/v1/operations/{operation_id}", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/operations/{ctx.new_operation()}")


@request("PATCH", "/api/v1/operations/{operation_id}", "update")
def _(ctx: Ctx) -> Req:
    return api("PATCH", f"/api/v1/operations/{ctx.new_operation()}",
               {"version": 1, "unit": "Violence Suppression Unit"})


@request("GET", "/api/v1/operations/{operation_id}/summary", "figures")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/operations/{ctx.new_operation()}/summary")


@request("GET", "/api/v1/stats", "figures")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    ctx.new_output(ref)
    return api("GET", f"/api/v1/stats?borough={WESTMINSTER}")


@request("GET", "/api/v1/queue", "westminster")
def _(ctx: Ctx) -> Req:
    ctx.new_override()
    return api("GET", f"/api/v1/queue?borough={WESTMINSTER}")


@request("POST", "/api/v1/overrides/{event_id}/review", "review")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/overrides/{ctx.new_override()}/review", {"note": "Agreed"})


@request("GET", "/api/v1/users/{username}/open-work", "westminster officer")
def _(ctx: Ctx) -> Req:
    ctx.new_action(ctx.new_case())
    return api("GET", "/api/v1/users/pc.shah/open-work")


@request("POST", "/api/v1/users/{username}/handover", "to a sergeant")
def _(ctx: Ctx) -> Req:
    ctx.new_case()
    return api("POST", "/api/v1/users/pc.shah/handover", {"to": "sgt.okafor"})


@request("POST", "/api/v1/cases", "from a template")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/cases",
               new_case_body(template="street-drug-market", category=None))


@request("GET", "/api/v1/templates", "list")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/templates?include_retired=true")


@request("POST", "/api/v1/templates", "create")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/templates", template_body())


@request("GET", "/api/v1/templates/{slug}", "national")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/templates/street-drug-market")


@request("GET", "/api/v1/templates/{slug}", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/templates/{ctx.met_template()}")


def _template_version(slug: str) -> dict[str, Any]:
    body = {k: v for k, v in template_body().items() if k != "slug"}
    return {**body, "version": 1, "change_note": "Review every fortnight"}


@request("PATCH", "/api/v1/templates/{slug}", "national")
def _(ctx: Ctx) -> Req:
    return api("PATCH", "/api/v1/templates/street-drinking", _template_version("street-drinking"))


@request("PATCH", "/api/v1/templates/{slug}", "metropolitan")
def _(ctx: Ctx) -> Req:
    slug = ctx.met_template()
    return api("PATCH", f"/api/v1/templates/{slug}", _template_version(slug))


@request("GET", "/api/v1/templates/{slug}/versions/{number}", "national")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/templates/street-drinking/versions/1")


@request("POST", "/api/v1/templates/{slug}/retirement", "national")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/templates/street-drinking/retirement", {"retired": True})


@request("POST", "/api/v1/templates/{slug}/retirement", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/templates/{ctx.met_template()}/retirement",
               {"retired": True})


@request("POST", "/api/v1/templates/{slug}/copies", "national to my force")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/templates/street-drug-market/copies",
               {"slug": "our-drug-market"})


@request("GET", "/api/v1/concerns", "queue")
def _(ctx: Ctx) -> Req:
    ctx.new_concern()
    return api("GET", "/api/v1/concerns?status=awaiting")


@request("POST", "/api/v1/concerns", "westminster")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/concerns", {
        "borough": WESTMINSTER, "raised_on": date.today().isoformat(),
        "raised_by_kind": "business", "channel": "street_briefing",
        "description": "Shoplifters working in pairs on Church Street"})


@request("GET", "/api/v1/concerns/{concern_id}", "read")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/concerns/{ctx.new_concern()}")


@request("POST", "/api/v1/concerns/{concern_id}/triage", "not a police matter")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/concerns/{ctx.new_concern()}/triage", {
        "version": 1, "outcome": "not_police", "reason": "Passed to the council"})


@request("PUT", "/api/v1/concerns/{concern_id}/answer", "we did")
def _(ctx: Ctx) -> Req:
    concern = ctx.new_concern(on_case=ctx.new_case())
    return api("PUT", f"/api/v1/concerns/{concern}/answer", {
        "version": 2, "we_did": "Patrols at closing time"})


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


@request("POST", "/cases", "from a template")
def _(ctx: Ctx) -> Req:
    return page("POST", "/cases", {"title": "Dealing on the estate", "template":
                                   "street-drug-market", "category": "", "priority": "",
                                   "borough": WESTMINSTER, "source": "officer"})


def _template_form(**fields: str) -> dict[str, str]:
    form = template_form("", **fields)
    form.pop("csrf_token")
    return form


@request("GET", "/templates", "list")
def _(ctx: Ctx) -> Req:
    return page("GET", "/templates?retired=yes")


@request("GET", "/templates/new", "form")
def _(ctx: Ctx) -> Req:
    return page("GET", "/templates/new")


@request("POST", "/templates", "create")
def _(ctx: Ctx) -> Req:
    return page("POST", "/templates", _template_form())


@request("GET", "/templates/{slug}", "national")
def _(ctx: Ctx) -> Req:
    return page("GET", "/templates/street-drug-market?version=1")


@request("GET", "/templates/{slug}", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/templates/{ctx.met_template()}")


@request("GET", "/templates/{slug}/edit", "national")
def _(ctx: Ctx) -> Req:
    return page("GET", "/templates/street-drinking/edit")


@request("GET", "/templates/{slug}/edit", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/templates/{ctx.met_template()}/edit")


def _version_form() -> dict[str, str]:
    form = _template_form(version="1", change_note="Review every fortnight")
    form.pop("slug")
    return form


@request("POST", "/templates/{slug}", "national")
def _(ctx: Ctx) -> Req:
    return page("POST", "/templates/street-drinking", _version_form())


@request("POST", "/templates/{slug}", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/templates/{ctx.met_template()}", _version_form())


@request("GET", "/templates/{slug}/retire", "national")
def _(ctx: Ctx) -> Req:
    return page("GET", "/templates/street-drinking/retire")


@request("GET", "/templates/{slug}/retire", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/templates/{ctx.met_template()}/retire")


@request("POST", "/templates/{slug}/retirement", "national")
def _(ctx: Ctx) -> Req:
    return page("POST", "/templates/street-drinking/retirement", {"retired": "yes"})


@request("POST", "/templates/{slug}/retirement", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/templates/{ctx.met_template()}/retirement", {"retired": "yes"})


@request("POST", "/templates/{slug}/copies", "national to my force")
def _(ctx: Ctx) -> Req:
    return page("POST", "/templates/street-drug-market/copies",
                {"copy_slug": "our-drug-market"})


@request("GET", "/wards", "westminster")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/wards?borough={WESTMINSTER}")


@request("GET", "/cases/{ref}", "read")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/cases/{ctx.new_case()}")


@request("GET", "/cases/{ref}", "problem edit form")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/cases/{ctx.new_case()}?section=problem&edit=1")


@request("GET", "/cases/{ref}", "crime picture")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("GET", f"/cases/{ctx.new_case()}?section=picture&first=2025-01&last=2025-06")


@request("GET", "/cases/{ref}", "comparison")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("GET", f"/cases/{ctx.new_case()}?section=comparison")


@request("GET", "/cases/{ref}", "impact assessment")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    ctx.new_assessment(ref)
    return page("GET", f"/cases/{ref}?section=impact")


@request("GET", "/cases/{ref}/map.geojson", "areas")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    ref = ctx.new_case()
    service.update_case(ctx.db, ctx.actor(), ref, CaseUpdate.model_validate(
        {"version": ctx.version(ref), "buffer_width_m": 150}))
    return page("GET", f"/cases/{ref}/map.geojson?suggestions=1&bins=1&first=2025-01"
                       "&last=2025-06")


@request("POST", "/cases/{ref}/baseline", "months")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    ref = ctx.new_case()
    return page("POST", f"/cases/{ref}/baseline", {
        "baseline_first": "2025-01", "baseline_last": "2025-03", "version": str(ctx.version(ref))})


@request("POST", "/cases/{ref}/pin-picture", "summary")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    ref = ctx.new_case()
    return page("POST", f"/cases/{ref}/pin-picture", {
        "first": "2025-01", "last": "2025-06", "version": str(ctx.version(ref))})


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
    "patrols": {"planned_patrol_minutes": "120"},
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


@request("POST", "/cases/{ref}/sections/{section}", "area from a ward")
def _(ctx: Ctx) -> Req:
    ward = ctx.crime().wards["Church Street"]
    ref = ctx.new_case()
    return page("POST", f"/cases/{ref}/sections/area", {
        "target_area-kind": "boundary", "target_area-boundary": str(ward),
        "target_area-name": "", "buffer_width_m": "200", "version": str(ctx.version(ref))})


@request("POST", "/cases/{ref}/sections/{section}", "comparison")
def _(ctx: Ctx) -> Req:
    ward = ctx.crime().wards["Hyde Park"]
    ref = ctx.new_case()
    return page("POST", f"/cases/{ref}/sections/comparison", {
        "control_area-kind": "boundary", "control_area-boundary": str(ward),
        "control_area-name": "", "version": str(ctx.version(ref))})


@request("POST", "/cases/{ref}/transitions", "back to scanning")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case("analysis")
    return page("POST", f"/cases/{ref}/transitions",
                {"form": "back", "back-to": "scanning",
                 "back-reason": "The target area was drawn too wide."})


@request("POST", "/cases/{ref}/reviews", "record")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case()}/reviews",
                {"review-note": "Plan on track.", "review-decision": "continue"})


@request("POST", "/cases/{ref}/attachments", "photo")
def _(ctx: Ctx) -> Req:
    # The CSRF token goes first (``send`` adds it to the form, sent before the file).
    return upload("page", f"/cases/{ctx.new_case()}/attachments", {
        "form": "photo", "photo-caption": "Broken light", "photo-phase": "after"})


@request("POST", "/cases/{ref}/attachments", "document")
def _(ctx: Ctx) -> Req:
    return upload("page", f"/cases/{ctx.new_case()}/attachments", {
        "form": "document", "document-caption": "Council letter"}, MINIMAL_PDF)


@request("POST", "/cases/{ref}/attachments/{attachment_id}/supersede", "photo")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    number = ctx.new_attachment(ref)
    return upload("page", f"/cases/{ref}/attachments/{number}/supersede", {
        "form": f"correct-{number}", f"correct-{number}-caption": "The right door"}, png(6, 8))


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


STREET_CSV = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\r\n"
    f"{'7' * 64},2025-07,Metropolitan Police Service,Metropolitan Police Service,-0.170700,"
    "51.522700,On or near Church Street,E01004703,Westminster 004B,"
    "Violence and sexual offences,Under investigation,\r\n"
    ",2025-07,Metropolitan Police Service,Metropolitan Police Service,-0.171100,51.522900,"
    "On or near Penfold Street,E01004703,Westminster 004B,Anti-social behaviour,,\r\n"
).encode()


# patrols, outputs, operations, figures, the queue and concerns (pages) ------------------------

@request("GET", "/shift", "home")
def _(ctx: Ctx) -> Req:
    return page("GET", "/shift")


@request("POST", "/shift/patrols/start", "on a westminster case")
def _(ctx: Ctx) -> Req:
    return page("POST", "/shift/patrols/start", {"case": ctx.new_case(), "patrol-kind": "foot"})


@request("POST", "/shift/patrols/end", "mine")
def _(ctx: Ctx) -> Req:
    ctx.new_patrol(ctx.new_case(), running=True)
    return page("POST", "/shift/patrols/end")


@request("POST", "/shift/patrols/discard", "mine")
def _(ctx: Ctx) -> Req:
    ctx.new_patrol(ctx.new_case(), running=True)
    return page("POST", "/shift/patrols/discard")


@request("POST", "/shift/outputs", "two arrests")
def _(ctx: Ctx) -> Req:
    ctx.new_patrol(ctx.new_case(), running=True)
    return page("POST", "/shift/outputs", {"outputs-counts-arrests": "2"})


@request("POST", "/cases/{ref}/patrols/start", "start")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case()}/patrols/start", {"patrol-kind": "foot"})


@request("POST", "/cases/{ref}/patrols/{item_id}/end", "end")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return page("POST", f"/cases/{ref}/patrols/{ctx.new_patrol(ref, running=True)}/end")


@request("POST", "/cases/{ref}/patrols/{item_id}/discard", "discard")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return page("POST", f"/cases/{ref}/patrols/{ctx.new_patrol(ref, running=True)}/discard")


@request("POST", "/cases/{ref}/patrols", "entered")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case()}/patrols", {
        "newpatrol-date": YESTERDAY.isoformat(), "newpatrol-started_at": "17:05",
        "newpatrol-ended_at": "17:19", "newpatrol-kind": "foot"})


@request("POST", "/cases/{ref}/patrols/{item_id}", "correct")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    patrol = ctx.new_patrol(ref)
    prefix = f"patrol{patrol}"
    return page("POST", f"/cases/{ref}/patrols/{patrol}", {
        f"{prefix}-date": YESTERDAY.isoformat(), f"{prefix}-started_at": "17:00",
        f"{prefix}-ended_at": "17:14", f"{prefix}-kind": "vehicle", "version": "1"})


@request("POST", "/cases/{ref}/outputs", "record")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case()}/outputs", {
        "outputs-on": date.today().isoformat(), "outputs-counts-arrests": "2",
        "outputs-counts-knives": "1"})


@request("POST", "/cases/{ref}/outputs/{item_id}/correct", "correct")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    entry = ctx.new_output(ref)
    return page("POST", f"/cases/{ref}/outputs/{entry}/correct", {
        f"output{entry}-count": "1", f"output{entry}-reason": "Counted twice"})


@request("POST", "/cases/{ref}/concerns/{item_id}/answer", "we did")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    concern = ctx.new_concern(on_case=ref)
    return page("POST", f"/cases/{ref}/concerns/{concern}/answer", {
        f"concern{concern}-we_did": "Patrols at closing time", "version": "2"})


@request("GET", "/concerns", "queue")
def _(ctx: Ctx) -> Req:
    ctx.new_concern()
    return page("GET", "/concerns")


@request("GET", "/concerns/new", "form")
def _(ctx: Ctx) -> Req:
    return page("GET", "/concerns/new")


@request("POST", "/concerns", "westminster")
def _(ctx: Ctx) -> Req:
    return page("POST", "/concerns", {
        "borough": WESTMINSTER, "raised_on": date.today().isoformat(),
        "raised_by_kind": "business", "channel": "street_briefing",
        "description": "Shoplifters working in pairs on Church Street"})


@request("GET", "/concerns/{concern_id}", "read")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/concerns/{ctx.new_concern()}")


@request("POST", "/concerns/{concern_id}/triage", "not a police matter")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/concerns/{ctx.new_concern()}/triage", {
        "version": "1", "outcome": "not_police", "reason": "Passed to the council"})


@request("GET", "/dashboard", "figures")
def _(ctx: Ctx) -> Req:
    ctx.new_output(ctx.new_case())
    return page("GET", f"/dashboard?borough={WESTMINSTER}")


@request("GET", "/operations", "list")
def _(ctx: Ctx) -> Req:
    ctx.new_operation()
    return page("GET", "/operations")


@request("GET", "/operations/new", "form")
def _(ctx: Ctx) -> Req:
    return page("GET", "/operations/new")


@request("POST", "/operations", "create")
def _(ctx: Ctx) -> Req:
    return page("POST", "/operations", {"name": "Nightingale", "start_date": "2026-04-01",
                                        "force": "metropolitan"})


@request("GET", "/operations/{operation_id}", "dashboard")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/operations/{ctx.new_operation()}")


@request("GET", "/operations/{operation_id}/edit", "form")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/operations/{ctx.new_operation()}/edit")


@request("POST", "/operations/{operation_id}", "update")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/operations/{ctx.new_operation()}", {
        "name": "Matrix renamed", "start_date": "2026-01-01", "version": "1"})


@request("POST", "/operations/{operation_id}/cases", "westminster case")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/operations/{ctx.new_operation()}/cases", {"ref": ctx.new_case()})


@request("GET", "/people/{username}/handover", "westminster officer")
def _(ctx: Ctx) -> Req:
    ctx.new_case()
    return page("GET", "/people/pc.shah/handover")


@request("POST", "/people/{username}/handover", "confirmed")
def _(ctx: Ctx) -> Req:
    ctx.new_case()
    return page("POST", "/people/pc.shah/handover", {"to": "sgt.okafor", "confirm": "yes"})


@request("GET", "/queue", "westminster")
def _(ctx: Ctx) -> Req:
    ctx.new_override()
    return page("GET", f"/queue?borough={WESTMINSTER}")


@request("POST", "/queue/overrides/{event_id}/review", "review")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/queue/overrides/{ctx.new_override()}/review", {"note": "Agreed"})


@request("POST", "/cases/{ref}/assessments", "run")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("POST", f"/cases/{ctx.new_case()}/assessments", ASSESSMENT_PERIODS)


@request("POST", "/cases/{ref}/process-evaluation", "add")
def _(ctx: Ctx) -> Req:
    ref = ctx.new_case()
    return page("POST", f"/cases/{ref}/process-evaluation", {"version": str(ctx.version(ref))})


@request("GET", "/api/v1/operations/{operation_id}/allocation", "randomised")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/operations/{ctx.randomised_operation()}/allocation")


@request("POST", "/api/v1/operations/{operation_id}/allocation", "four hotspots")
def _(ctx: Ctx) -> Req:
    operation, refs = ctx.operation_with_hotspots()
    return api("POST", f"/api/v1/operations/{operation}/allocation", {"cases": refs})


@request("POST", "/api/v1/operations/{operation_id}/allocation/cells", "westminster's top cell")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return api("POST", f"/api/v1/operations/{ctx.new_operation()}/allocation/cells",
               {"borough": WESTMINSTER, "first": "2025-01", "last": "2025-06", "top": 1})


@request("POST", "/operations/{operation_id}/allocation/cells", "westminster's top cell")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("POST", f"/operations/{ctx.new_operation()}/allocation/cells",
                {"borough": WESTMINSTER, "first": "2025-01", "last": "2025-06", "top": "1"})


@request("GET", "/operations/{operation_id}/allocation", "form or allocation")
def _(ctx: Ctx) -> Req:
    operation, _refs = ctx.operation_with_hotspots()
    return page("GET", f"/operations/{operation}/allocation")


@request("POST", "/operations/{operation_id}/allocation", "four hotspots")
def _(ctx: Ctx) -> Req:
    operation, refs = ctx.operation_with_hotspots()
    return page("POST", f"/operations/{operation}/allocation",
                {"cases": refs, "method": "pairs"})  # type: ignore[dict-item]


HARM_TABLE = "category,weight\n" + "".join(f"{slug},{n}\n" for n, slug in enumerate(
    ["anti-social-behaviour", "bicycle-theft", "burglary", "criminal-damage-arson", "drugs",
     "other-theft", "possession-of-weapons", "public-order", "robbery", "shoplifting",
     "theft-from-the-person", "vehicle-crime", "violent-crime", "other-crime"]))


@request("GET", "/api/v1/forces/{force_id}/harm-weights", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/forces/metropolitan/harm-weights")


@request("POST", "/api/v1/forces/{force_id}/harm-weights", "metropolitan")
def _(ctx: Ctx) -> Req:
    weights = dict(line.split(",") for line in HARM_TABLE.splitlines()[1:])
    return api("POST", "/api/v1/forces/metropolitan/harm-weights", {
        "name": "Matrix index", "version": secrets.token_hex(4), "source": "Made up for tests",
        "weights": {slug: float(w) for slug, w in weights.items()}})


@request("GET", "/data/forces/{force_id}/harm-weights", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("GET", "/data/forces/metropolitan/harm-weights")


@request("POST", "/data/forces/{force_id}/harm-weights", "metropolitan")
def _(ctx: Ctx) -> Req:
    return Req("page", "POST", "/data/forces/metropolitan/harm-weights", form={
        "name": "Matrix index", "version": secrets.token_hex(4),
        "source": "Made up for tests"}, files={
        "weights_file": ("weights.csv", HARM_TABLE.encode(), "text/csv")})


@request("GET", "/operations/{operation_id}/evaluation", "page")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/operations/{ctx.new_operation()}/evaluation")


@request("GET", "/operations/{operation_id}/evaluation.csv", "csv")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/operations/{ctx.new_operation()}/evaluation.csv")


@request("POST", "/cases/{ref}/export", "case file")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case()}/export",
                {"export-reason": "For the evaluation"})


@request("POST", "/operations/{operation_id}/export", "bundle")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/operations/{ctx.new_operation()}/export",
                {"export-reason": "For the evaluation", "redact": "yes"})


@request("GET", "/data", "imports")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("GET", "/data")


@request("POST", "/data/police-uk", "street csv")
def _(ctx: Ctx) -> Req:
    return Req("page", "POST", "/data/police-uk", form={}, files={
        "file": ("2025-07-metropolitan-street.csv", STREET_CSV, "text/csv")})


@request("POST", "/data/boundaries", "wards")
def _(ctx: Ctx) -> Req:
    content = boundary_file("london-wards-2022.geojson", "WD22CD", ("E05009292",))
    return Req("page", "POST", "/data/boundaries", form={"kind": "ward"}, files={
        "boundary_file": ("bishopsgate.geojson", content, "application/geo+json")})


@request("GET", "/data/imports/{batch_id}", "report")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/data/imports/{ctx.crime().batch_id}")


@request("GET", "/data/forces/{force_id}", "metropolitan")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("GET", "/data/forces/metropolitan")


@request("GET", "/data/forces/{force_id}/counts.csv", "metropolitan")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("GET", "/data/forces/metropolitan/counts.csv")


@request("GET", "/hotspots", "westminster")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("GET", f"/hotspots?{HOTSPOT_PARAMS}")


@request("GET", "/hotspots/months", "westminster")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("GET", f"/hotspots/months?borough={WESTMINSTER}")


@request("GET", "/hotspots/map.geojson", "westminster")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    return page("GET", f"/hotspots/map.geojson?{HOTSPOT_PARAMS}")


@request("GET", "/hotspots/cases/new", "westminster cell")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    cell = ctx.top_cell()
    return page("GET", f"/hotspots/cases/new?{HOTSPOT_PARAMS}&col={cell.col}&row={cell.row}")


@request("POST", "/hotspots/cases", "westminster cell")
def _(ctx: Ctx) -> Req:
    ctx.crime()
    cell = ctx.top_cell()
    study = hotspots.study_area(ctx.db, ctx.actor("analyst"), HOTSPOT_QUERY)
    crimes = hotspots.cell_categories(ctx.db, study, HOTSPOT_QUERY, cell.col, cell.row)
    return page("POST", "/hotspots/cases", {
        "borough": WESTMINSTER, "first": "2025-01", "last": "2025-06", "cell_m": "250",
        "top_k": "5", "col": str(cell.col), "row": str(cell.row),
        "case_category": max(crimes, key=crimes.__getitem__)})


@request("GET", "/admin/forces", "list")
def _(ctx: Ctx) -> Req:
    return page("GET", "/admin/forces")


@request("GET", "/admin/forces/{force_id}", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("GET", "/admin/forces/metropolitan")


@request("POST", "/admin/forces/{force_id}/boundaries", "westminster")
def _(ctx: Ctx) -> Req:
    content = boundary_file("london-boroughs.geojson", "GSS_CODE", (WESTMINSTER,))
    return Req("page", "POST", "/admin/forces/metropolitan/boundaries",
               form={"kind": "local-authority"}, files={
                   "boundary_file": ("westminster.geojson", content, "application/geo+json")})


@request("POST", "/admin/forces/{force_id}/areas/{code}/prefix", "westminster")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/admin/forces/metropolitan/areas/{WESTMINSTER}/prefix",
                {"ref_prefix": "WSM"})


@request("POST", "/admin/forces/{force_id}/review-cadence", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("POST", "/admin/forces/metropolitan/review-cadence",
                {"cadence-high": "10", "cadence-medium": "21", "cadence-low": "42"})


RETAIN = {"decision": "retain", "reason": "Civil claim pending",
          "next_review_on": (date.today() + timedelta(days=365)).isoformat()}


@request("GET", "/api/v1/forces/{force_id}/retention-periods", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/forces/metropolitan/retention-periods")


@request("PUT", "/api/v1/forces/{force_id}/retention-periods", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("PUT", "/api/v1/forces/metropolitan/retention-periods",
               {"months": {"violent-crime": 96}})


@request("GET", "/api/v1/retention/queue", "list")
def _(ctx: Ctx) -> Req:
    ctx.closed_case()
    return api("GET", "/api/v1/retention/queue?due=all")


@request("GET", "/api/v1/cases/{ref}/retention", "closed case")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/cases/{ctx.closed_case()}/retention")


@request("POST", "/api/v1/cases/{ref}/retention/reviews", "retain")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.closed_case()}/retention/reviews", RETAIN)


@request("POST", "/admin/forces/{force_id}/retention-periods", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("POST", "/admin/forces/metropolitan/retention-periods",
                {f"retention-{category}": "96" for category in CATEGORIES})


@request("GET", "/retention", "list")
def _(ctx: Ctx) -> Req:
    ctx.closed_case()
    return page("GET", "/retention?due=all")


@request("GET", "/retention/{ref}", "closed case")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/retention/{ctx.closed_case()}")


@request("POST", "/retention/{ref}/reviews", "retain")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/retention/{ctx.closed_case()}/reviews", {
        "decision": "retain", "reason": "Civil claim pending",
        "next_review_on": RETAIN["next_review_on"]})


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


@request("GET", "/admin/sign-in-groups", "list")
def _(ctx: Ctx) -> Req:
    return page("GET", "/admin/sign-in-groups")


@request("POST", "/admin/sign-in-groups", "westminster officers")
def _(ctx: Ctx) -> Req:
    return page("POST", "/admin/sign-in-groups", {
        "group": "westminster-officers", "role": "officer", "borough": WESTMINSTER})


@request("POST", "/admin/sign-in-groups/{group_id}/delete", "remove")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/admin/sign-in-groups/{ctx.new_signin_group()}/delete")


@request("GET", "/api/v1/sign-in-groups", "list")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/sign-in-groups")


@request("POST", "/api/v1/sign-in-groups", "westminster officers")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/sign-in-groups", {
        "group": "westminster-officers", "role": "officer", "borough": WESTMINSTER})


@request("DELETE", "/api/v1/sign-in-groups/{group_id}", "remove")
def _(ctx: Ctx) -> Req:
    return api("DELETE", f"/api/v1/sign-in-groups/{ctx.new_signin_group()}")


@request("GET", "/sign-in/oidc", "no provider set up")
def _(ctx: Ctx) -> Req:
    return Req("public", "GET", "/sign-in/oidc?next=/cases")


@request("GET", "/sign-in/oidc/callback", "no provider set up")
def _(ctx: Ctx) -> Req:
    return Req("public", "GET", "/sign-in/oidc/callback?state=abc&code=def")


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


@request("GET", "/admin/sign-in-throttling", "read")
def _(ctx: Ctx) -> Req:
    return page("GET", "/admin/sign-in-throttling")


def officers_notification(ctx: Ctx) -> int:
    """A notification of the Westminster officer's, about a case they read."""
    ref = ctx.new_case()
    case_id = ctx.db.scalar(select(Case.id).where(Case.ref == ref))
    key = f"action_assigned:matrix-{secrets.token_hex(4)}"
    assert notify(ctx.db, user=ctx.user("officer"), kind=NotificationKind.ACTION_ASSIGNED,
                  key=key, summary=f"{ref}: an action", link=f"/cases/{ref}", case_id=case_id)
    ctx.db.commit()
    notification_id = ctx.db.scalar(select(Notification.id).where(Notification.key == key))
    assert notification_id is not None
    return notification_id


@request("GET", "/api/v1/notifications", "own list")
def _(ctx: Ctx) -> Req:
    officers_notification(ctx)
    return api("GET", "/api/v1/notifications?unread=true")


@request("POST", "/api/v1/notifications/{notification_id}/read", "the officer's")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/notifications/{officers_notification(ctx)}/read")


@request("POST", "/api/v1/notifications/read-all", "own")
def _(ctx: Ctx) -> Req:
    officers_notification(ctx)
    return api("POST", "/api/v1/notifications/read-all")


@request("GET", "/api/v1/me/notification-preferences", "own")
def _(ctx: Ctx) -> Req:
    return api("GET", "/api/v1/me/notification-preferences")


def same_version_for_everyone(ctx: Ctx) -> int:
    """Every person's row at one version, so that one settings request is current for whoever
    sends it (the version is that of the person's own account)."""
    users = [ctx.user(role) for role in ROLES]
    top = max(user.version for user in users)
    for user in users:
        while user.version < top:
            flag_modified(user, "email")
            ctx.db.commit()
    return top


@request("PUT", "/api/v1/me/notification-preferences", "current version")
def _(ctx: Ctx) -> Req:
    return api("PUT", "/api/v1/me/notification-preferences", {
        "version": same_version_for_everyone(ctx), "email": "someone@example.police.uk",
        "delivery": {"review_due": "daily"}})


@request("POST", "/notifications/settings", "current version")
def _(ctx: Ctx) -> Req:
    return page("POST", "/notifications/settings", {
        "version": str(same_version_for_everyone(ctx)), "email": "someone@example.police.uk",
        "delivery-review_due": "daily"})


@request("PUT", "/api/v1/me/notification-preferences", "stale version")
def _(ctx: Ctx) -> Req:
    return api("PUT", "/api/v1/me/notification-preferences", {
        "version": 999_999, "email": "someone@example.police.uk",
        "delivery": {"review_due": "daily"}})


@request("GET", "/notifications", "own list")
def _(ctx: Ctx) -> Req:
    officers_notification(ctx)
    return page("GET", "/notifications")


@request("POST", "/notifications/{notification_id}/read", "the officer's")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/notifications/{officers_notification(ctx)}/read")


@request("POST", "/notifications/read-all", "own")
def _(ctx: Ctx) -> Req:
    officers_notification(ctx)
    return page("POST", "/notifications/read-all")


@request("GET", "/notifications/settings", "form")
def _(ctx: Ctx) -> Req:
    return page("GET", "/notifications/settings")


@request("POST", "/notifications/settings", "stale version")
def _(ctx: Ctx) -> Req:
    return page("POST", "/notifications/settings", {
        "version": "999999", "email": "someone@example.police.uk",
        "delivery-review_due": "daily"})


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


@request("GET", "/ready", "no credentials")
def _(ctx: Ctx) -> Req:
    return Req("public", "GET", "/ready")


@request("GET", "/metrics", "no scraper set up")
def _(ctx: Ctx) -> Req:
    return Req("public", "GET", "/metrics")


@request("GET", "/metrics", "bearer token")
def _(ctx: Ctx) -> Req:
    return api("GET", "/metrics")


@request("GET", "/sign-in", "form")
def _(ctx: Ctx) -> Req:
    return Req("public", "GET", "/sign-in?next=/cases")


@request("POST", "/sign-in", "valid password")
def _(ctx: Ctx) -> Req:
    return Req("signin", "POST", "/sign-in",
               form={"username": ctx.walk_in().username, "password": WALK_IN_PASSWORD,
                     "next": "/cases"})


@request("POST", "/api/v1/operations", "for the city of london")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/operations", {"name": "Lantern", "force": "city-of-london",
                                               "borough": CITY, "start_date": "2026-04-01"})


@request("POST", "/api/v1/operations", "force-wide")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/operations", {"name": "Nightingale", "force": "metropolitan",
                                               "borough": None, "start_date": "2026-04-01"})


@request("POST", "/operations", "for the city of london")
def _(ctx: Ctx) -> Req:
    return page("POST", "/operations", {"name": "Lantern", "start_date": "2026-04-01",
                                        "force": "city-of-london", "borough": CITY})


@request("POST", "/operations", "force-wide")
def _(ctx: Ctx) -> Req:
    return page("POST", "/operations", {"name": "Nightingale", "start_date": "2026-04-01",
                                        "force": "metropolitan", "borough": ""})


# The same requests on an operation of another owner (see OPERATION_OWNERS).
OTHER_OWNERS = {"city of london operation": "city", "force-wide operation": "force"}


def _on_operation_of(owner: str, base: Builder) -> Builder:
    def build(ctx: Ctx) -> Req:
        ctx.operation_owner = owner
        return base(ctx)
    return build


for (_method, _path), _rules in EXPECTED.items():
    # The request on the matrix operation: the case update's is its "operation" variant.
    _base = REQUESTS.get((_method, _path, "operation")) or next(
        (b for (m, p, v), b in REQUESTS.items()
         if (m, p) == (_method, _path) and v not in OTHER_OWNERS), None)
    for _variant, _owner in OTHER_OWNERS.items():
        if _variant in _rules and _base is not None:
            REQUESTS[(_method, _path, _variant)] = _on_operation_of(_owner, _base)


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
        if req.files is not None:  # a multipart upload
            return client.request(req.method, req.url, data=req.form, files=req.files,
                                  headers=headers)
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
    return client.request(req.method, req.url, data=form, files=req.files, headers=headers)


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
                ensure_crime_data(db)  # once: boundaries and street crimes
            app = create_app(Settings(database_url=db_url, environment="test"), factory)
            app.state.run_in_background = lambda job: job()  # uploads import at once
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


# API answers that are not JSON: a CSV, zips and attachment files.
JSONLESS = {"/api/v1/audit.csv", "/api/v1/cases/{ref}/export",
            "/api/v1/operations/{operation_id}/export",
            "/api/v1/cases/{ref}/attachments/{attachment_id}/{variant}"}


def client_for(world: World, role: str, req: Req) -> TestClient:
    return world.api if req.kind == "api" else world.pages[role]


# --- tests -------------------------------------------------------------------------------------

# Partner agencies ------------------------------------------------------------------------------

def met_agency(ctx: Ctx) -> int:
    """A Metropolitan Police agency with one contact, made by the Westminster supervisor."""
    agency = directory.create_agency(ctx.db, ctx.actor("supervisor"), AgencyCreate(
        name=f"Matrix council {secrets.token_hex(3)}", kind="council", borough=WESTMINSTER))
    directory.add_contact(ctx.db, ctx.actor("supervisor"), agency.id, ContactCreate(
        name="Priya Natarajan", job_title="ASB caseworker"))
    return agency.id


def met_contact(ctx: Ctx, agency_id: int) -> int:
    contact = ctx.db.scalar(select(PartnerContact.id).where(
        PartnerContact.agency_id == agency_id))
    assert contact is not None
    return contact


def city_agency(ctx: Ctx) -> int:
    """The City of London Police's agency, made by the analyst (who works across forces)."""
    return directory.create_agency(ctx.db, ctx.actor("analyst"), AgencyCreate(
        name=f"City corporation {secrets.token_hex(3)}", kind="council",
        force="city-of-london")).id


def case_partner(ctx: Ctx) -> tuple[str, int]:
    ref = ctx.new_case()
    agency = met_agency(ctx)
    partner = on_cases.add_case_partner(ctx.db, ctx.actor(), ref, CasePartnerCreate(
        agency=agency, contact=met_contact(ctx, agency), role="lead"))
    return ref, partner.id


@request("GET", "/api/v1/partners", "list")
def _(ctx: Ctx) -> Req:
    met_agency(ctx)
    return api("GET", "/api/v1/partners?kind=council")


@request("POST", "/api/v1/partners", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("POST", "/api/v1/partners", {"name": "Matrix housing", "kind": "housing",
                                            "force": "metropolitan"})


@request("GET", "/api/v1/partners/{agency_id}", "metropolitan")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/partners/{met_agency(ctx)}")


@request("GET", "/api/v1/partners/{agency_id}", "city of london")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/partners/{city_agency(ctx)}")


@request("PATCH", "/api/v1/partners/{agency_id}", "notes")
def _(ctx: Ctx) -> Req:
    return api("PATCH", f"/api/v1/partners/{met_agency(ctx)}",
               {"version": 1, "notes": "Meets on Tuesdays"})


@request("GET", "/api/v1/partners/{agency_id}/contacts", "list")
def _(ctx: Ctx) -> Req:
    return api("GET", f"/api/v1/partners/{met_agency(ctx)}/contacts")


@request("POST", "/api/v1/partners/{agency_id}/contacts", "add")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/partners/{met_agency(ctx)}/contacts",
               {"name": "Tom Hale", "email": "t.hale@westminster.example"})


@request("PATCH", "/api/v1/partners/{agency_id}/contacts/{contact_id}", "job title")
def _(ctx: Ctx) -> Req:
    agency = met_agency(ctx)
    return api("PATCH", f"/api/v1/partners/{agency}/contacts/{met_contact(ctx, agency)}",
               {"version": 1, "job_title": "Community safety lead"})


@request("GET", "/api/v1/cases/{ref}/partners", "read")
def _(ctx: Ctx) -> Req:
    ref, _partner = case_partner(ctx)
    return api("GET", f"/api/v1/cases/{ref}/partners")


@request("POST", "/api/v1/cases/{ref}/partners", "add")
def _(ctx: Ctx) -> Req:
    return api("POST", f"/api/v1/cases/{ctx.new_case()}/partners",
               {"agency": met_agency(ctx), "role": "member"})


@request("PATCH", "/api/v1/cases/{ref}/partners/{partner_id}", "role")
def _(ctx: Ctx) -> Req:
    ref, partner = case_partner(ctx)
    return api("PATCH", f"/api/v1/cases/{ref}/partners/{partner}",
               {"version": 1, "role": "informed"})


@request("DELETE", "/api/v1/cases/{ref}/partners/{partner_id}", "remove")
def _(ctx: Ctx) -> Req:
    ref, partner = case_partner(ctx)
    return api("DELETE", f"/api/v1/cases/{ref}/partners/{partner}")


@request("GET", "/partners", "list")
def _(ctx: Ctx) -> Req:
    met_agency(ctx)
    return page("GET", "/partners")


@request("GET", "/partners/new", "form")
def _(ctx: Ctx) -> Req:
    return page("GET", "/partners/new")


@request("POST", "/partners", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("POST", "/partners", {"name": "Matrix housing", "kind": "housing",
                                      "force": "metropolitan", "borough": "", "notes": ""})


@request("GET", "/partners/{agency_id}", "metropolitan")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/partners/{met_agency(ctx)}")


@request("GET", "/partners/{agency_id}", "city of london")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/partners/{city_agency(ctx)}")


@request("GET", "/partners/{agency_id}/edit", "form")
def _(ctx: Ctx) -> Req:
    return page("GET", f"/partners/{met_agency(ctx)}/edit")


@request("POST", "/partners/{agency_id}", "notes")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/partners/{met_agency(ctx)}", {
        "version": "1", "name": "Matrix borough council", "kind": "council",
        "borough": WESTMINSTER, "notes": "Meets on Tuesdays"})


@request("POST", "/partners/{agency_id}/retirement", "retire")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/partners/{met_agency(ctx)}/retirement",
                {"version": "1", "retired": "yes"})


@request("POST", "/partners/{agency_id}/contacts", "add")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/partners/{met_agency(ctx)}/contacts", {
        "contact-name": "Tom Hale", "contact-job_title": "", "contact-phone": "",
        "contact-email": ""})


@request("GET", "/partners/{agency_id}/contacts/{contact_id}/edit", "form")
def _(ctx: Ctx) -> Req:
    agency = met_agency(ctx)
    return page("GET", f"/partners/{agency}/contacts/{met_contact(ctx, agency)}/edit")


@request("POST", "/partners/{agency_id}/contacts/{contact_id}", "job title")
def _(ctx: Ctx) -> Req:
    agency = met_agency(ctx)
    return page("POST", f"/partners/{agency}/contacts/{met_contact(ctx, agency)}", {
        "version": "1", "contact-name": "Priya Natarajan",
        "contact-job_title": "Community safety lead", "contact-phone": "",
        "contact-email": ""})


@request("POST", "/cases/{ref}/partners", "add")
def _(ctx: Ctx) -> Req:
    return page("POST", f"/cases/{ctx.new_case()}/partners",
                {"partner-agency": str(met_agency(ctx)), "partner-role": "member"})


@request("POST", "/cases/{ref}/partners/{partner_id}", "role")
def _(ctx: Ctx) -> Req:
    ref, partner = case_partner(ctx)
    return page("POST", f"/cases/{ref}/partners/{partner}",
                {"version": "1", f"partner{partner}-role": "informed"})


@request("POST", "/cases/{ref}/partners/{partner_id}/removal", "remove")
def _(ctx: Ctx) -> Req:
    ref, partner = case_partner(ctx)
    return page("POST", f"/cases/{ref}/partners/{partner}/removal")


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
def test_access(world: World, ctx: Ctx, method: str, path: str,
                variant: str, role: str, expected: int) -> None:
    req = REQUESTS[(method, path, variant)](ctx)
    assert req.method == method
    person = world.people[role]
    response = send(client_for(world, role, req), person, req)
    assert response.status_code == expected, (
        f"{role} {method} {req.url}: expected {expected}, got {response.status_code}: "
        f"{response.text[:300]}")
    if expected in (200, 201) and req.kind == "api" and path not in JSONLESS:
        json.loads(response.text)  # a JSON answer, not an error page


def test_own_borough_rule_names_the_borough_field(world: World, ctx: Ctx) -> None:
    req = REQUESTS[("POST", "/api/v1/cases", "westminster case")](ctx)
    response = send(world.api, world.people["camden_officer"], req)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "borough", "message": "You can work only on cases in your own area."}]


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


def test_a_hotspot_case_outside_ones_borough_is_refused_with_the_reason(
        world: World, ctx: Ctx) -> None:
    """The Camden officer may read Westminster's hotspots but is not offered, and cannot open,
    a case on one of its cells: refused like POST /cases, naming the borough rule."""
    finder = page("GET", f"/hotspots?{HOTSPOT_PARAMS}")
    ctx.crime()
    offered = send(world.pages["officer"], world.people["officer"], finder)
    assert "Open a case here" in offered.text
    not_offered = send(world.pages["camden_officer"], world.people["camden_officer"], finder)
    assert not_offered.status_code == 200 and "Open a case here" not in not_offered.text

    req = REQUESTS[("POST", "/hotspots/cases", "westminster cell")](ctx)
    cases = select(func.count()).select_from(Case)
    before = ctx.db.scalar(cases)
    response = send(world.pages["camden_officer"], world.people["camden_officer"], req)
    assert response.status_code == 422
    assert "You can work only on cases in your own area." in response.text
    assert ctx.db.scalar(cases) == before
