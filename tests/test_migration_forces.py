"""Migration 0006 (police forces) keeps a populated London database whole, on SQLite and
PostgreSQL alike: every case, user, reference row and figure is the same after it, and the new
force columns are filled as the app itself would fill them.

A database as revision 0005 made it cannot be built with today's code (the services write the
force columns), so the test goes down to it: it loads London's demo at head (users, cases in
every SARA stage, assessments, operations, the City of London's real street files, London's
boundaries), downgrades to 0005, records every row of every table in plain SQL, and upgrades
again. The 0005 rows must come back unchanged, and the whole database (new columns included)
must be the one the app had written at head; the figures the app computes from it (hotspots,
a case's crime picture, its assessments) must not move.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, Connection, inspect, select, text
from sqlalchemy.orm import Session

from app.assessment.models import AssessmentSnapshot
from app.audit.service import verify_chain
from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases.models import Case
from app.cli import alembic_config
from app.crime import hotspots
from app.crime.boundaries import import_boundaries
from app.crime.models import AreaKind
from app.crime.picture import crime_picture
from app.crime.queries import Period
from app.db import is_sqlite, make_engine, make_session_factory
from app.demo import load_demo
from app.models import Base
from app.search.index import SEARCH_TABLES, include_name

# What 0006 adds to the tables 0005 had (beside the new table ``forces``).
NEW_COLUMNS = {
    "boroughs": {"force_id", "name_welsh"},
    "wards": {"name_welsh"},
    "users": {"force_id", "email", "oidc_issuer", "oidc_subject"},  # email: 0009; oidc: 0017
    "signin_throttle": {"client_addr"},  # 0016
    # next_review_on: 0009, filled again by 0011 from the opening day; template: 0010
    # retention_review_on, disposed_at: 0020
    "cases": {"next_review_on", "template_version_id", "retention_review_on", "disposed_at"},
    "actions": {"assignee_id", "partner_agency_id"},  # 0009; partner_agency_id: 0014
    "areas": {"force_id", "name_welsh"},
    "import_batches": {"force_id", "months", "job_id"},  # job_id: 0019
    "operations": {"force_id", "borough_code"},  # borough_code: 0008
    "user_sessions": {"id_token"},  # 0017
}
USER_FORCES = {
    "pc.shah": "metropolitan", "sgt.okafor": "metropolitan", "sgt.adeyemi": "metropolitan",
    "pc.clarke": "metropolitan",
    "sgt.byrne": "city-of-london", "sgt.quinn": "city-of-london", "analyst.lee": None,
    "eval.morgan": None, "admin": None,
}
OPERATION_FORCES = {"Nightingale": "metropolitan", "Sentinel": "city-of-london"}
ROW_TABLES = {"street": "street_crimes", "stop-and-search": "stop_searches",
              "outcomes": "crime_outcomes"}
CITY = "E09000001"
CITY_CASE = "Thefts from the person around Liverpool Street and Broadgate"
FIRST_HALF_2024 = Period(date(2024, 1, 1), date(2024, 6, 1))


# --- the database, as plain rows ---------------------------------------------------------------

@dataclass
class Table:
    columns: list[str]  # sorted by name
    rows: list[tuple[Any, ...]]  # by primary key; JSON values decoded

    def only(self, columns: list[str]) -> Table:
        keep = [self.columns.index(name) for name in columns]
        return Table(columns, [tuple(row[i] for i in keep) for row in self.rows])


Snapshot = dict[str, Table]


@contextmanager
def connected(url: str) -> Iterator[Connection]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextmanager
def session(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


def snapshot(url: str) -> Snapshot:
    """Every row of every table but Alembic's, read with plain SQL (no model involved)."""
    tables: Snapshot = {}
    with connected(url) as conn:
        inspector, quote = inspect(conn), conn.dialect.identifier_preparer.quote
        for name in set(inspector.get_table_names()) - {"alembic_version"}:
            described = sorted(inspector.get_columns(name), key=lambda c: c["name"])
            columns = [c["name"] for c in described]
            json_at = [i for i, c in enumerate(described) if isinstance(c["type"], JSON)]
            order = inspector.get_pk_constraint(name)["constrained_columns"] or columns
            rows = conn.execute(text(
                f"SELECT {', '.join(map(quote, columns))} FROM {quote(name)} "
                f"ORDER BY {', '.join(map(quote, order))}")).all()
            tables[name] = Table(columns, [decoded(tuple(row), json_at) for row in rows])
    return tables


def decoded(row: tuple[Any, ...], json_at: list[int]) -> tuple[Any, ...]:
    """JSON comes back as text on SQLite and as Python values on PostgreSQL."""
    values = list(row)
    for i in json_at:
        if isinstance(values[i], str):
            values[i] = json.loads(values[i])
    return tuple(values)


LATER_TABLES = {"forces", "harm_tables", "harm_weights", "allocations", "allocation_units",
                "notifications", "review_cadences", "case_reviews", "case_templates",
                "case_template_versions", "notification_preferences", "notification_digests",
                "attachments",  # 0013
                "partner_agencies", "partner_contacts", "case_partners",  # 0014
                *SEARCH_TABLES,  # 0015: the search index (SQLite: an FTS5 table and its shadows)
                "rate_counters",  # 0016
                "signin_groups", "oidc_logins",  # 0017
                "street_crime_cells",  # 0018
                "import_jobs",  # 0019
                "retention_periods", "retention_reviews"}  # 0020


def as_at_0005(tables: Snapshot) -> Snapshot:
    """The tables and columns revision 0005 has (the forces came in 0006, harm weights and
    allocations in 0007, notifications and review dates in 0009, templates in 0010, reviews in
    0011, e-mail preferences in 0012)."""
    return {name: table.only([c for c in table.columns if c not in NEW_COLUMNS.get(name, ())])
            for name, table in tables.items() if name not in LATER_TABLES}


def without_template_links(tables: Snapshot) -> Snapshot:
    cases = tables["cases"]
    return {**tables, "cases": cases.only([c for c in cases.columns
                                           if c != "template_version_id"])}


def without_index_storage(tables: Snapshot) -> Snapshot:
    """SQLite's FTS5 keeps its index in shadow tables whose layout depends on how it was
    written (row by row, or in bulk by a migration): the documents themselves are compared."""
    return {name: table for name, table in tables.items()
            if name not in SEARCH_TABLES - {"case_search", "case_search_text"}}


def differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    """What differs, table by table, with the first changed row (readable, unlike a diff of
    tens of thousands of rows)."""
    found = []
    for name in sorted(expected.keys() | actual.keys()):
        old, new = expected.get(name), actual.get(name)
        if old is None or new is None:
            found.append(f"{name}: {'added' if old is None else 'gone'}")
        elif old.columns != new.columns:
            found.append(f"{name}: columns {old.columns} became {new.columns}")
        elif len(old.rows) != len(new.rows):
            found.append(f"{name}: {len(old.rows)} rows became {len(new.rows)}")
        elif changed := [(a, b) for a, b in zip(old.rows, new.rows, strict=True) if a != b]:
            found.append(f"{name}: {len(changed)} rows changed, the first {changed[0]}")
    return found


# --- what the app computes from it -------------------------------------------------------------

def figures(url: str) -> dict[str, Any]:
    """Hotspots of the City, the City case's crime picture, each case's latest assessment."""
    with session(url) as db:
        analyst = db.scalars(select(User).where(User.username == "analyst.lee")).one()
        actor = Actor(analyst, Channel.CLI)
        query = hotspots.HotspotQuery(first=FIRST_HALF_2024.first, last=FIRST_HALF_2024.last,
                                      borough=CITY, cell_m=250, top_k=10)
        answer = hotspots.compute(db, query, hotspots.study_area(db, actor, query))
        ref = db.scalars(select(Case.ref).where(Case.title == CITY_CASE)).one()
        picture = crime_picture(db, actor, ref, FIRST_HALF_2024)
        assert picture is not None
        latest = {case_ref: results for case_ref, results in db.execute(
            select(Case.ref, AssessmentSnapshot.results).join(AssessmentSnapshot)
            .order_by(AssessmentSnapshot.case_id, AssessmentSnapshot.number))}
        return {
            "hotspot_force": answer.force_id, "hotspot_crimes": answer.crimes_total,
            "hotspot_without_location": answer.without_location,
            "hotspot_months_missing": answer.months_missing,
            "hotspot_cells": [(c.col, c.row, c.count) for c in answer.cells],
            "picture_force": picture.force_id, "picture_monthly": picture.monthly,
            "picture_total": picture.total, "picture_without_location": picture.without_location,
            "picture_months_missing": picture.months_missing,
            "latest_assessments": latest,
        }


# --- checks ------------------------------------------------------------------------------------

def assert_schema_is_0005(url: str) -> None:
    with connected(url) as conn:
        inspector = inspect(conn)
        assert "forces" not in inspector.get_table_names()
        for name, added in NEW_COLUMNS.items():
            assert not added & {c["name"] for c in inspector.get_columns(name)}, name
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"


def assert_intact(url: str) -> None:
    """The schema of the models (SQLite rebuilt tables full of rows), no dangling reference
    (SQLite does not check while migrating), and an unbroken access log."""
    with connected(url) as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": not is_sqlite(url),
            "include_name": include_name})
        assert compare_metadata(context, Base.metadata) == []
        if is_sqlite(url):
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    with session(url) as db:
        report = verify_chain(db)
        assert report.intact, report.problem


def assert_forces_filled(url: str) -> None:
    """The new columns hold what the migration promises for a London database."""
    with connected(url) as conn:
        def pairs(sql: str) -> dict[Any, Any]:
            return {key: value for key, value in conn.execute(text(sql))}

        assert pairs("SELECT username, force_id FROM users") == USER_FORCES
        assert pairs("SELECT name, force_id FROM operations") == OPERATION_FORCES
        boroughs = pairs("SELECT code, force_id FROM boroughs")
        assert len(boroughs) == 33 and boroughs.pop(CITY) == "city-of-london"
        assert set(boroughs.values()) == {"metropolitan"}
        names = pairs("SELECT id, name FROM forces")
        assert len(names) == 44
        assert names["city-of-london"] == "City of London Police"
        assert names["north-wales"] == "" and names["metropolitan"] == ""
        areas = conn.execute(text(
            "SELECT a.code, a.force_id, b.force_id FROM areas a "
            "LEFT JOIN boroughs b ON b.code = a.borough_code "
            "WHERE a.kind IN ('borough', 'ward', 'other')")).all()
        assert len(areas) == 33 + 704 + 1
        assert [a for a in areas if a[1] is None or a[1] != a[2]] == []
        for table in ("boroughs", "wards", "areas"):
            assert conn.execute(text(f"SELECT count(*) FROM {table} "
                                     "WHERE name_welsh <> ''")).scalar() == 0
        assert_batches(conn)


def assert_batches(conn: Connection) -> None:
    """Each crime file's force (from its name) and months (from its rows)."""
    batches = conn.execute(text("SELECT id, kind, force_id, months FROM import_batches")).all()
    assert sum(b.kind in ROW_TABLES for b in batches) == 27
    for batch in batches:
        months = json.loads(batch.months) if isinstance(batch.months, str) else batch.months
        table = ROW_TABLES.get(batch.kind)  # None: a boundary file
        rows = [] if table is None else conn.execute(text(
            f"SELECT DISTINCT month FROM {table} WHERE batch_id = :id"), {"id": batch.id}).scalars()
        assert months == sorted(str(month)[:7] for month in rows), batch
        assert batch.force_id == (None if table is None else "city-of-london"), batch


def add_other_area(db: Session) -> None:
    """A hand-drawn area of the kind "other" (a business district in the City): it lies in the
    City of London, so it is the City of London Police's."""
    square = [[-0.085, 51.512], [-0.078, 51.512], [-0.078, 51.517], [-0.085, 51.517],
              [-0.085, 51.512]]
    report = import_boundaries(db, Actor.cli(), "bid.geojson", json.dumps({
        "type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]},
            "properties": {"code": "BID-EC", "name": "Eastern City business district"}}]}
    ).encode(), AreaKind.OTHER)
    assert (report.added, report.unlinked) == (1, 0)


def test_a_london_database_migrates_to_forces_with_everything_unchanged(
        empty_database: str) -> None:
    url, config = empty_database, alembic_config(empty_database)
    command.upgrade(config, "head")
    with session(url) as db:
        # A randomised trial needs 0007, supervisory reviews 0011, attachments 0013 and partners
        # 0014 (going down past them deletes their timeline entries).
        load_demo(db, north_wales=False, trial=False, reviews=False, attachments=False,
                  partners=False)
        add_other_area(db)
    figures_at_head = figures(url)
    assert figures_at_head["hotspot_crimes"] > 0 and figures_at_head["hotspot_cells"]
    assert figures_at_head["picture_total"] > 0 and figures_at_head["latest_assessments"]
    at_head = snapshot(url)

    command.downgrade(config, "0005")
    assert_schema_is_0005(url)
    london = snapshot(url)
    assert len(london["cases"].rows) == 11 and len(london["street_crimes"].rows) > 20_000
    assert differences(as_at_0005(at_head), london) == []  # going down lost nothing

    command.upgrade(config, "head")
    migrated = snapshot(url)
    assert differences(london, as_at_0005(migrated)) == []  # every 0005 row unchanged
    # And just as the app had written it, but for the link to the template a case was opened
    # from: going down past 0010 drops the templates, so the way back up cannot restore it.
    assert differences(without_index_storage(without_template_links(at_head)),
                       without_index_storage(without_template_links(migrated))) == []
    assert_intact(url)
    assert_forces_filled(url)
    assert figures(url) == figures_at_head
