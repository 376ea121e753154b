"""A person's own notifications and e-mail preferences over JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.notifications import service
from app.notifications.models import NotificationKind
from app.notifications.schemas import (
    NotificationList,
    NotificationQuery,
    NotificationRead,
    PreferencesRead,
    PreferencesUpdate,
    ReadAll,
)
from app.validation import validate

router = APIRouter(tags=["notifications"], responses=ERROR_RESPONSES)
NotificationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/notifications", response_model=NotificationList,
            summary="Your notifications, newest first")
def list_notifications(
    actor: ApiActor, db: Db,
    unread: Annotated[bool, Query(description="Only those not yet read")] = False,
    kind: Annotated[NotificationKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> NotificationList:
    """The token user's own notifications. Those about a case they may no longer read (it
    moved to another area) are left out."""
    return service.list_notifications(db, actor, validate(NotificationQuery, {
        "unread": unread, "kind": kind, "limit": limit, "offset": offset}))


@router.post("/notifications/read-all", response_model=ReadAll,
             summary="Mark all your notifications as read")
def read_all(actor: ApiActor, db: Db) -> ReadAll:
    return service.mark_all_read(db, actor)


@router.post("/notifications/{notification_id}/read", response_model=NotificationRead,
             summary="Mark one of your notifications as read")
def read_one(actor: ApiActor, db: Db, notification_id: NotificationId) -> NotificationRead:
    """Anyone else's notification is not found (404)."""
    return service.mark_read(db, actor, notification_id)


@router.get("/me/notification-preferences", response_model=PreferencesRead,
            summary="Your e-mail address and what comes by e-mail")
def get_preferences(actor: ApiActor, db: Db) -> PreferencesRead:
    return service.get_preferences(db, actor)


@router.put("/me/notification-preferences", response_model=PreferencesRead,
            summary="Set your e-mail address and what comes by e-mail",
            responses={409: {"description": "Changed since you read them"}})
def put_preferences(actor: ApiActor, db: Db, data: PreferencesUpdate) -> PreferencesRead:
    """E-mail goes only to this address, and carries no case text: each item's kind, its case
    reference and a link back to popcase."""
    return service.set_preferences(db, actor, data)
