"""Revision 0011 adds the review cadence and supervisory review tables, and dates the next
review of every open case of an upgraded database from the default cadence and its opening
day, so that the cases never reviewed show at once (most as overdue). Every record is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import inspect, select, text, update

from app.auth.roles import Role
from app.cases import moves, service
from app.cases.models import Case
from app.cases.schemas import CaseCreate, TransitionRequest
from app.cli import alembic_config
from app.clock import london_day
from app.reviews import service as reviews
from app.reviews.schemas import ReviewCreate
from app.search.index import SEARCH_TABLES
from tests.conftest import WESTMINSTER, create_person, new_case_body
from tests.test_migration_forces import connected, session, snapshot

# Tables of the revisions after 0011 (a database at 0010 lacks them as well).
LATER_TABLES = {"notification_preferences", "notification_digests", "attachments",
                "partner_agencies", "partner_contacts", "case_partners", *SEARCH_TABLES,
                "rate_counters",  # 0016
                "signin_groups", "oidc_logins",  # 0017
                "street_crime_cells",  # 0018
                "import_jobs",  # 0019
                "retention_periods", "retention_reviews"}  # 0020
# Columns of the revisions after 0011, on tables that were there before.
LATER_COLUMNS = {"actions": {"partner_agency_id"},  # 0014
                 "signin_throttle": {"client_addr"},  # 0016
                 "users": {"oidc_issuer", "oidc_subject"},  # 0017
                 "user_sessions": {"id_token"},  # 0017
                 "import_batches": {"job_id"},  # 0019
                 "cases": {"retention_review_on", "disposed_at"}}  # 0020

# Opening times chosen across London's midnight and summer time: the date counts from the
# London day (23:30 UTC on 30 June is 1 July in London).
OPENED = {"high": datetime(2026, 6, 30, 23, 30, tzinfo=UTC),
          "medium": datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
          "low": datetime(2026, 3, 1, 12, 0, tzinfo=UTC)}
EXPECTED_DUE = {"high": "2026-07-15", "medium": "2026-02-12", "low": "2026-04-26"}


def test_open_cases_get_a_review_date_and_every_record_is_kept(empty_database: str) -> None:
    url, config = empty_database, alembic_config(empty_database)
    command.upgrade(config, "head")
    with session(url) as db:
        officer = create_person(db, "pc.shah", Role.OFFICER, WESTMINSTER)
        sergeant = create_person(db, "sgt.okafor", Role.SUPERVISOR, WESTMINSTER)
        refs = {}
        for priority in ("high", "medium", "low", "closed"):
            refs[priority] = service.create_case(db, officer.actor, CaseCreate.model_validate(
                new_case_body(title=f"A {priority} case",
                              priority="high" if priority == "closed" else priority))).ref
        for stage in ("analysis", "response", "assessment", "closed"):
            moves.move_case(db, sergeant.actor, refs["closed"], TransitionRequest(
                to=stage, override=True, reason="Dealt with by the council"))
        reviews.record_review(db, sergeant.actor, refs["high"], ReviewCreate(
            note="On track", decision="continue"))
        for priority, opened in OPENED.items():
            db.execute(update(Case).where(Case.ref == refs[priority]).values(created_at=opened))
        db.commit()

    command.downgrade(config, "0010")
    with connected(url) as conn:
        tables = set(inspect(conn).get_table_names())
        assert not {"case_reviews", "review_cadences"} & tables
        # A database before 0011 has no review dates: nothing set them before this revision.
        conn.execute(text("UPDATE cases SET next_review_on = NULL"))
        conn.commit()
    before = snapshot(url)
    command.upgrade(config, "head")
    after = snapshot(url)

    assert after["case_reviews"].rows == [] and after["review_cadences"].rows == []
    with session(url) as db:
        dates = {case.title.split()[1]: case.next_review_on
                 for case in db.scalars(select(Case))}
        opened = {case.title.split()[1]: london_day(case.created_at)
                  for case in db.scalars(select(Case))}
    assert {p: d.isoformat() if d else None for p, d in dates.items()} == {
        **EXPECTED_DUE, "closed": None}
    assert opened["high"] + timedelta(days=14) == dates["high"]
    # Everything else is as it was: the cases differ only by their new review dates.
    assert set(before) == set(after) - {"case_reviews", "review_cadences", *LATER_TABLES}
    for name, table in before.items():
        if name != "cases":
            later = LATER_COLUMNS.get(name, set())
            kept = after[name].only([c for c in after[name].columns if c not in later])
            assert kept == table, name
    cases_after = after["cases"].only([c for c in after["cases"].columns
                                       if c not in LATER_COLUMNS["cases"]])
    review_at = cases_after.columns.index("next_review_on")
    assert [row[:review_at] + row[review_at + 1:] for row in cases_after.rows] == \
        [row[:review_at] + row[review_at + 1:] for row in before["cases"].rows]
