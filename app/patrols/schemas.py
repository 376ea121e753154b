"""What the API accepts and answers for patrols and outputs (page forms validate against the
same models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.cases.schemas import Input, LongText, ShortText
from app.sara.patrols import (
    MAX_OUTPUT_COUNT,
    OutputKind,
    PatrolKind,
    VisitBand,
)
from app.validation import WorkDate, WorkTime

Officers = Annotated[str, Field(max_length=300, description="Who patrolled, e.g. "
                                "'PC Shah 1234, PC Jones 5678'")]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_OUTPUT_COUNT)]
Reason = Annotated[str, Field(min_length=3, max_length=2000)]


class PatrolStart(Input):
    """Start a patrol now (the "start patrol" button); it runs until it is ended."""

    kind: PatrolKind = PatrolKind.FOOT
    officers: Officers = Field("", description="Defaults to the person starting the patrol")
    place: ShortText = ""


class PatrolCreate(Input):
    """A patrol entered afterwards. Times without a zone are London time."""

    started_at: WorkTime
    ended_at: WorkTime
    kind: PatrolKind = PatrolKind.FOOT
    officers: Officers = ""
    place: ShortText = ""
    notes: LongText = ""

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [{
            "started_at": "2026-11-28T17:05:00", "ended_at": "2026-11-28T17:19:00",
            "kind": "high_visibility", "officers": "PC Shah, PC Jones",
            "place": "Penfold Street walkway", "notes": "Groups dispersed at pack-up."}]},
    )


class PatrolUpdate(Input):
    """A correction: only the fields present change. Ending a running patrol late is done by
    giving its real ``ended_at`` here."""

    version: int = Field(ge=1)
    started_at: WorkTime | None = None
    ended_at: WorkTime | None = None
    kind: PatrolKind | None = None
    officers: Officers | None = None
    place: ShortText | None = None
    notes: LongText | None = None
    reason: Annotated[str, Field(max_length=2000)] = Field(
        "", description="Why the patrol is corrected (shown on the timeline)")


class PatrolRead(BaseModel):
    id: int
    started_at: datetime
    ended_at: datetime | None
    minutes: int | None = Field(description="Whole minutes; null while the patrol runs")
    band: VisitBand | None = Field(description="Against the 10 to 15 minute band")
    kind: PatrolKind
    officers: str
    place: str
    notes: str
    live: bool = Field(description="Recorded with the start and end buttons")
    recorded_by: str | None
    version: int
    flagged: bool = Field(False, description="Logged on a comparison hotspot of a randomised "
                          "operation since its allocation (no extra patrols there)")


class WeekRead(BaseModel):
    week_start: date
    planned_minutes: int
    delivered_minutes: int
    visits: int
    in_band: int
    percent_of_plan: int | None = Field(description="Delivered as a percentage of plan, "
                                        "rounded; null when nothing was planned")


class PatrolLog(BaseModel):
    planned_minutes_per_week: int | None
    band_minutes: tuple[int, int] = Field(description="The recommended length of a visit")
    running: list[PatrolRead]
    weeks: list[WeekRead]
    bands: dict[VisitBand, int]
    outside_band: list[PatrolRead] = Field(description="Completed visits shorter or longer "
                                           "than the band")
    patrols: list[PatrolRead]
    comparison_hotspot: str | None = Field(None, description="Set when the case is a comparison "
                                           "hotspot of a randomised operation: no extra "
                                           "patrols")


class OutputsCreate(Input):
    """Counts for one day, e.g. ``{"arrests": 2, "knives": 1}``: one entry per kind above 0."""

    on: WorkDate = Field(description="The day of the outputs (London)")
    counts: dict[OutputKind, Count]
    patrol_id: int | None = Field(None, ge=1, le=2**31 - 1)
    notes: LongText = ""

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [{"on": "2026-11-28", "counts": {"arrests": 2,
                                                                        "knives": 1}}]},
    )


class OutputCorrection(Input):
    count: Count
    reason: Reason


class OutputRead(BaseModel):
    id: int
    on: date
    kind: OutputKind
    count: int
    patrol_id: int | None
    notes: str
    corrects: int | None = Field(description="The entry this one corrects")
    corrected_by: int | None = Field(description="The entry that replaced this one; a "
                                     "replaced entry counts in no total")
    reason: str
    recorded_at: datetime
    recorded_by: str | None


class OutputsRead(BaseModel):
    totals: dict[OutputKind, int]
    entries: list[OutputRead]

