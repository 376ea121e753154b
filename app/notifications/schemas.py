from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.notifications.models import Delivery, NotificationKind

PAGE_SIZE = 25


class NotificationQuery(BaseModel):
    unread: bool = False
    kind: NotificationKind | None = None
    limit: int = Field(PAGE_SIZE, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: NotificationKind
    label: str
    summary: str
    link: str
    case_ref: str | None
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationRead]
    total: int = Field(description="All notifications matching the filters")
    unread: int = Field(description="The person's unread notifications, whatever the filters")


class ReadAll(BaseModel):
    marked: int
    unread: int


# An address: one @, something on both sides, a dot in the domain, no spaces or line breaks
# (which could add headers to an e-mail). Whether it exists only the mail server can tell.
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_address(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 254 or not ADDRESS.fullmatch(value):
        raise ValueError("Enter an e-mail address in the correct format, like "
                         "name@example.police.uk.")
    return value


EmailAddress = Annotated[str | None, AfterValidator(check_address)]


class PreferencesRead(BaseModel):
    email: str | None
    delivery: dict[NotificationKind, Delivery] = Field(
        description="For each kind: off (popcase only), immediate or daily (the digest)")
    version: int = Field(description="Send it back with a change: a stale one is refused (409)")


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    email: EmailAddress = Field(
        None, description="Your address; e-mail goes nowhere else. Null removes it")
    delivery: dict[NotificationKind, Delivery] = Field(
        default_factory=dict, description="Kinds left out are not sent by e-mail")
