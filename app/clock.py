"""Dates as London sees them: a due date is overdue from the start of the next London day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def today() -> date:
    return datetime.now(LONDON).date()


def local(moment: datetime) -> datetime:
    return moment.astimezone(LONDON)
