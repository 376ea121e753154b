"""Administration over JSON: the access log (search and CSV export) and the user list."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.audit import service as audit
from app.auth.permissions import Perm, require
from app.auth.roles import Role
from app.auth.service import list_users

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
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(audit.CSV_COLUMNS)
        with factory() as session:
            for entry in audit.iter_matching(session, query):
                writer.writerow(audit.csv_row(entry))
                if buffer.tell() > 65536:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    stamp = date.today().isoformat()
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="popcase-access-log-{stamp}.csv"'})


@router.get("/users", response_model=list[UserRead], summary="List users (admin)")
def users(actor: ApiActor, db: Db) -> list[UserRead]:
    require(actor.user, Perm.USER_MANAGE)  # type: ignore[arg-type]
    return [UserRead(username=u.username, display_name=u.display_name, role=u.role,
                     borough=u.borough_code, active=u.active, created_at=u.created_at)
            for u in list_users(db, actor)]
