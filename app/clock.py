"""Dates as London sees them: a due date is overdue from the start of the next London day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def today() -> date:
    return datetime.now(LONDON).date()


def local(moment: datetime) -> datetime:
    return moment.astimezone(LONDON)


def to_minute(moment: datetime) -> datetime:
    """Patrol times are kept to the minute, as officers read and write them."""
    return moment.replace(second=0, microsecond=0)


def london_day(moment: datetime) -> date:
    return local(moment).date()


def day_start_utc(day: date) -> datetime:
    """The UTC instant at which a London day starts (midnight local time, DST included)."""
    return datetime.combine(day, time(), LONDON).astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """A given time in UTC; a time without a zone is London time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(UTC)
