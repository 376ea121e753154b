"""Administration over JSON: the access log (search and CSV export), sign-in throttling and
the user list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from app import csvfile
from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.audit import service as audit
from app.auth.context import acting_user
from app.auth.permissions import Perm, require
from app.auth.roles import Role
from app.auth.service import list_users
from app.auth.signin_groups import NewSignInGroup, add_group, list_groups, remove_group
from app.auth.throttle import throttling_report
from app.validation import refuse_nul

router = APIRouter(tags=["administration"], responses=ERROR_RESPONSES)


class AuditEntryRead(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_ref: str
    justification: str
    request_id: str
    client_addr: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    total: int
    limit: int
    offset: int


class SlowedRead(BaseModel):
    username: str = Field(description="Empty for an address's failures over every username")
    client_addr: str
    failures: int
    last_failure_at: datetime | None
    wait_until: datetime | None


class ThrottlingRead(BaseModel):
    slowed: list[SlowedRead] = Field(description="Who must wait now, the latest failure first")
    attempts: list[AuditEntryRead] = Field(description="Throttled sign-ins from the access "
                                                       "log (signin.throttled), newest first")


class UserRead(BaseModel):
    username: str
    display_name: str
    role: Role
    borough: str | None
    active: bool
    created_at: datetime


def _query(actor: str | None, action: str | None, object_ref: str | None,
           date_from: date | None, date_to: date | None) -> audit.AuditQuery:
    return audit.AuditQuery(actor=actor, action=action, object_ref=object_ref,
                            date_from=date_from, date_to=date_to)


@router.get("/audit", response_model=AuditPage, summary="Search the access log (admin)")
def search_audit(
    actor: ApiActor, db: Db,
    user: Annotated[str | None, Query(description="Username of who acted")] = None,
    action: Annotated[str | None, Query(description="Action, or its prefix: e.g. case, "
                                                    "case.move, signin.failed")] = None,
    object_ref: Annotated[str | None, Query(description="Case reference, username, ...")] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    """Newest first. Every search is itself written to the log."""
    entries, total = audit.search_log(db, actor, _query(user, action, object_ref, date_from,
                                                        date_to), limit=limit, offset=offset)
    return AuditPage(items=[AuditEntryRead.model_validate(e, from_attributes=True)
                            for e in entries], total=total, limit=limit, offset=offset)


@router.get("/audit.csv", summary="Export the access log as CSV (admin)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "Oldest first"}})
def export_audit(
    request: Request, actor: ApiActor, db: Db,
    user: str | None = None, action: str | None = None, object_ref: str | None = None,
    date_from: date | None = None, date_to: date | None = None,
) -> StreamingResponse:
    query = _query(user, action, object_ref, date_from, date_to)
    audit.start_export(db, actor, query)
    return csv_response(request, query)


def csv_response(request: Request, query: audit.AuditQuery) -> StreamingResponse:
    """Stream the matching entries, oldest first, from a session of the stream's own."""
    factory = request.app.state.session_factory

    def rows() -> Iterator[str]:
        pending = [csvfile.line(audit.CSV_COLUMNS)]
        with factory() as session:
            for entry in audit.iter_matching(session, query):
                pending.append(csvfile.line(audit.csv_row(entry)))
                if len(pending) >= 500:
                    yield "".join(pending)
                    pending.clear()
        yield "".join(pending)

    stamp = date.today().isoformat()
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="popcase-access-log-{stamp}.csv"'})


@router.get("/signin-throttling", response_model=ThrottlingRead,
            summary="Sign-ins slowed down now, and the latest throttled attempts (admin)")
def signin_throttling(actor: ApiActor, db: Db) -> ThrottlingRead:
    """Failures count per username and client address; a wait grows with each failure and
    holds only that address. Viewing this is written to the access log."""
    report = throttling_report(db, actor)
    return ThrottlingRead(
        slowed=[SlowedRead.model_validate(s, from_attributes=True) for s in report.slowed],
        attempts=[AuditEntryRead.model_validate(e, from_attributes=True)
                  for e in report.attempts])


@router.get("/users", response_model=list[UserRead], summary="List users (admin)")
def users(actor: ApiActor, db: Db) -> list[UserRead]:
    require(acting_user(actor), Perm.USER_MANAGE)
    return [UserRead(username=u.username, display_name=u.display_name, role=u.role,
                     borough=u.borough_code, active=u.active, created_at=u.created_at)
            for u in list_users(db, actor)]


class SignInGroupCreate(BaseModel):
    @field_validator("group", "borough", "force", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)

    group: str = Field(min_length=1, max_length=255,
                       description="As the identity provider sends it in the groups claim "
                                   "(Entra ID: a group's object ID or an app role's value)")
    role: Role
    borough: str | None = Field(default=None, max_length=9,
                                description="Home local policing area (ONS code)")
    force: str | None = Field(default=None, max_length=40,
                              description="police.uk force id; none with no home area: every "
                                          "force")


class SignInGroupRead(BaseModel):
    id: int
    group: str
    role: Role
    borough: str | None
    force: str | None
    created_at: datetime


def _group_read(row: Any) -> SignInGroupRead:
    return SignInGroupRead(id=row.id, group=row.group, role=row.role, borough=row.borough_code,
                           force=row.force_id, created_at=row.created_at)


@router.get("/sign-in-groups", response_model=list[SignInGroupRead],
            summary="Identity-provider groups and the access they give (admin)")
def signin_groups(actor: ApiActor, db: Db) -> list[SignInGroupRead]:
    return [_group_read(row) for row in list_groups(db, actor)]


@router.post("/sign-in-groups", response_model=SignInGroupRead, status_code=201,
             summary="Give an identity-provider group a role and scope (admin)")
def add_signin_group(actor: ApiActor, db: Db, data: SignInGroupCreate) -> SignInGroupRead:
    return _group_read(add_group(db, actor, NewSignInGroup(
        group=data.group, role=data.role, borough_code=data.borough, force_id=data.force)))


@router.delete("/sign-in-groups/{group_id}", status_code=204,
               summary="Remove an identity-provider group's access (admin)")
def remove_signin_group(actor: ApiActor, db: Db,
                        group_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    remove_group(db, actor, group_id)
    return Response(status_code=204)
