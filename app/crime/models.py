"""Imported crime data and areas.

Rows of an import become visible to analysis only once their batch is ``done``: an import
commits in chunks (so that its progress can be seen from any process) and a failed or
abandoned one is removed whole, so nothing half-imported is ever counted. The large tables
carry only the indexes analysis needs: every index slows an import of millions of rows. Every
street-crime query names a period and crime types, so one index led by month and category, and
holding the point, serves the hotspot grid and an area's crimes alike.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.enums import str_enum

# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits for ten years of data.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class ImportKind(StrEnum):
    STREET = "street"
    STOP_SEARCH = "stop-and-search"
    OUTCOMES = "outcomes"
    BOUNDARIES = "boundaries"

    @property
    def label(self) -> str:
        return {"street": "Street-level crime", "stop-and-search": "Stop and search",
                "outcomes": "Outcomes", "boundaries": "Boundaries"}[self.value]


class ImportStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(Base):
    """An uploaded (or ``--queue``d) police.uk file waiting for, or taken by, a worker.

    A worker holds a running job by its lease: it moves ``lease_until`` forward while it works,
    and a job whose lease has lapsed (its worker died) is taken up by any other worker, which
    discards the dead attempt's batches and imports the file again from the start."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus), index=True)
    path: Mapped[str] = mapped_column(String(1000))  # the saved file, readable by every worker
    file_name: Mapped[str] = mapped_column(String(500))  # as uploaded
    force_id: Mapped[str | None] = mapped_column(ForeignKey("forces.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    operator: Mapped[str] = mapped_column(String(64), default="")  # "cli:NAME" without a user
    channel: Mapped[str] = mapped_column(String(16), default="web")
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str] = mapped_column(String(200), default="")  # host:pid of the holder
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    message: Mapped[str] = mapped_column(Text, default="")


class ImportBatch(Base):
    """One imported file (a CSV, a CSV inside a zip, or a GeoJSON file) and its report."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind | None] = mapped_column(str_enum(ImportKind))
    source: Mapped[str] = mapped_column(String(500))  # file name, or archive.zip:member.csv
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    rows_read: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)
    already_present: Mapped[int] = mapped_column(default=0)
    without_location: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    # The first rejected rows, each {"line": N, "message": TEXT}; the count is in ``rejected``.
    problems: Mapped[list[Any]] = mapped_column(default=list)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    first_month: Mapped[date | None]
    last_month: Mapped[date | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(64), default="")
    # The force that published the file (its rows count for that force alone); for a boundary
    # file, the force whose areas it set up, if any.
    force_id: Mapped[str | None] = mapped_column(ForeignKey("forces.id"))
    # The months the file holds rows of ("YYYY-MM"): the months present for its force.
    months: Mapped[list[Any]] = mapped_column(default=list)
    # The job whose worker imported the file (none for an import run by a command).
    job_id: Mapped[int | None] = mapped_column(ForeignKey("import_jobs.id"), index=True)

    @property
    def file_name(self) -> str:
        """The file's own name, without the archive and folder it came in."""
        archive, member = self._archive_and_member()
        return member.rpartition("/")[2] if archive else member

    @property
    def archive(self) -> str:
        """The zip archive the file was a member of, if any."""
        return self._archive_and_member()[0]

    def _archive_and_member(self) -> tuple[str, str]:
        # The importer names a member "archive.zip:folder/file.csv"; any other source is a
        # file's own name, kept whole (it may hold a colon or a slash of its own).
        archive, colon, member = self.source.partition(".zip:")
        return (f"{archive}.zip", member) if colon and archive else ("", self.source)


class StreetCrime(Base):
    """A row of a police.uk street-level crime file (a crime or an anti-social behaviour
    incident). Locations are police.uk's anonymised snap points; months only."""

    __tablename__ = "street_crimes"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    # 128-bit BLAKE2b digest of the row's stable identity (see app.crime.police_uk.Identities).
    identity: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    # Not indexed here: outcomes are looked up from crimes through crime_outcomes' index.
    crime_id: Mapped[str | None] = mapped_column(String(64))
    month: Mapped[date]
    category: Mapped[str] = mapped_column(String(40))
    reported_by: Mapped[str] = mapped_column(String(80), default="")
    falls_within: Mapped[str] = mapped_column(String(80), default="")
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    easting: Mapped[int | None] = mapped_column(Integer)  # British National Grid, metres
    northing: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(200), default="")
    lsoa_code: Mapped[str] = mapped_column(String(9), default="")
    lsoa_name: Mapped[str] = mapped_column(String(100), default="")
    last_outcome: Mapped[str] = mapped_column(String(150), default="")
    context: Mapped[str] = mapped_column(Text, default="")
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"))

    __table_args__ = (
        # Covers the hotspot grid's count (period, categories, point, visible batch) so that a
        # million rows are counted from the index alone, without reading the table.
        Index("ix_street_crimes_month_category", "month", "category", "easting", "northing",
              "batch_id"),
        # The crimes in and around a case's area: a box of a kilometre or so is a thin slice
        # of eastings, where the month index would read every crime of the period.
        Index("ix_street_crimes_place", "easting", "northing", "month", "category",
              "batch_id"),
        # The few crimes published without a location, counted beside every area's figures.
        Index("ix_street_crimes_no_location", "month", "falls_within", "category", "batch_id",
              postgresql_where=text("easting IS NULL"), sqlite_where=text("easting IS NULL")),
    )


class StreetCrimeCell(Base):
    """Located street crimes of a force's finished imports, counted per month, category and
    stored point: cells of one metre of the British National Grid, which police.uk's snap
    points are stored to. A hotspot search sums these counts instead of counting crimes; any
    grid of whole metres is made of whole cells of them, and a grid cell cut by an area's
    edge is recounted exactly, from the points it holds (``app.crime.cells``).

    Kept equal to a count of ``street_crimes`` by the importer, in the transaction that makes
    an import's rows count (``app.crime.cells.recount_cells``)."""

    __tablename__ = "street_crime_cells"

    force_id: Mapped[str] = mapped_column(ForeignKey("forces.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    easting: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    northing: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    crimes: Mapped[int] = mapped_column(Integer)

    # Without a rowid, SQLite stores the rows in key order: a search reads one stretch.
    __table_args__ = {"sqlite_with_rowid": False}


class StopSearch(Base):
    """A row of a police.uk stop-and-search file. ``month`` is the file's month; the search's
    own time (sometimes outside that month) is ``occurred_at``."""

    __tablename__ = "stop_searches"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    identity: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    force: Mapped[str] = mapped_column(String(80), default="")
    month: Mapped[date]
    occurred_at: Mapped[datetime | None]
    search_type: Mapped[str] = mapped_column(String(60), default="")
    part_of_operation: Mapped[bool | None] = mapped_column(Boolean)
    operation: Mapped[str] = mapped_column(String(200), default="")
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    easting: Mapped[int | None] = mapped_column(Integer)
    northing: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(40), default="")
    age_range: Mapped[str] = mapped_column(String(40), default="")
    self_defined_ethnicity: Mapped[str] = mapped_column(String(200), default="")
    officer_defined_ethnicity: Mapped[str] = mapped_column(String(60), default="")
    legislation: Mapped[str] = mapped_column(String(200), default="")
    object_of_search: Mapped[str] = mapped_column(String(120), default="")
    outcome: Mapped[str] = mapped_column(String(150), default="")
    outcome_linked: Mapped[bool | None] = mapped_column(Boolean)
    outer_clothing_removed: Mapped[bool | None] = mapped_column(Boolean)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"))

    __table_args__ = (
        Index("ix_stop_searches_month", "month"),
        Index("ix_stop_searches_easting_northing", "easting", "northing"),
    )


class CrimeOutcome(Base):
    """A row of a police.uk outcomes file, linked to street crimes by ``crime_id``."""

    __tablename__ = "crime_outcomes"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    identity: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    crime_id: Mapped[str] = mapped_column(String(64), index=True)
    month: Mapped[date]
    outcome_type: Mapped[str] = mapped_column(String(150), default="")
    reported_by: Mapped[str] = mapped_column(String(80), default="")
    falls_within: Mapped[str] = mapped_column(String(80), default="")
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    location: Mapped[str] = mapped_column(String(200), default="")
    lsoa_code: Mapped[str] = mapped_column(String(9), default="")
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"))


class AreaKind(StrEnum):
    """What a boundary is. A local authority is stored as ``borough``, API v1's word for it
    (see app.reference.models); the command line and the pages say ``local-authority``."""

    BOROUGH = "borough"
    WARD = "ward"
    LSOA = "lsoa"
    FORCE = "force"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"borough": "Local authority", "ward": "Ward", "lsoa": "LSOA",
                "force": "Police force area", "other": "Other area"}[self.value]

    def count(self, n: int) -> str:  # type: ignore[override]  # shadows str.count, unused here
        """``n`` of them, in words: "1 local authority", "704 wards"."""
        one, many = {"borough": ("local authority", "local authorities"),
                     "ward": ("ward", "wards"), "lsoa": ("LSOA", "LSOAs"),
                     "force": ("police force area", "police force areas"),
                     "other": ("other area", "other areas")}[self.value]
        return f"{n:,} {one if n == 1 else many}"

    @property
    def option(self) -> str:
        """The name the command line and the pages use."""
        return "local-authority" if self is AreaKind.BOROUGH else self.value

    @classmethod
    def from_option(cls, text: str) -> AreaKind | None:
        value = text.strip().lower()
        value = "borough" if value == "local-authority" else value
        try:
            return cls(value)
        except ValueError:
            return None


class Area(Base):
    """A named boundary (ward, LSOA, borough, ...) in WGS84 GeoJSON, with its British National
    Grid bounding box for quick spatial filtering."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AreaKind] = mapped_column(str_enum(AreaKind))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    name_welsh: Mapped[str] = mapped_column(String(200), default="")
    # The local authority the area lies in (its own code for a local authority).
    borough_code: Mapped[str | None] = mapped_column(String(9), index=True)
    # The force whose crime data counts in the area, where one is known.
    force_id: Mapped[str | None] = mapped_column(ForeignKey("forces.id"))
    geometry: Mapped[dict[str, Any]]
    min_e: Mapped[int]
    min_n: Mapped[int]
    max_e: Mapped[int]
    max_n: Mapped[int]
    area_m2: Mapped[float] = mapped_column(Float)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "code"), Index("ix_areas_name", "name"))
