"""A person's open work, and handing it over, over JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.handover import service
from app.handover.schemas import HandoverRequest, HandoverResult, OpenWork

router = APIRouter(prefix="/users", tags=["hand-over"], responses=ERROR_RESPONSES)

Username = Annotated[str, Path(min_length=1, max_length=64, examples=["pc.shah"])]


@router.get("/{username}/open-work", response_model=OpenWork,
            summary="A person's open cases and actions")
def open_work(actor: ApiActor, db: Db, username: Username) -> OpenWork:
    """The cases they own that are not closed and the actions assigned to them that are
    planned or in progress, among those the caller may see; `elsewhere` counts the rest."""
    return service.open_work(db, actor, username)


@router.post("/{username}/handover", response_model=HandoverResult,
             summary="Hand all of a person's open work over to others",
             responses={409: {"description": "Some of the work changed hands meanwhile"}})
def hand_over(actor: ApiActor, db: Db, username: Username,
              data: HandoverRequest) -> HandoverResult:
    """All or nothing, in one transaction: every case and action must have an active
    recipient who covers its area, and the supervisor must cover every one of them, or
    nothing moves (422 lists what is wrong). With `dry_run` nothing changes either way."""
    return service.hand_over(db, actor, username, data)
