"""My shift, through HTTP as the page uses it: an officer's home, the patrol started and ended
from it, outputs of the running patrol, the cases' next and overdue actions, concerns awaiting
triage; plain forms (post, redirect, get) and htmx; bad input answered on the page."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases import content
from app.cases.models import Case
from app.cases.schemas import ActionCreate
from app.clock import today
from app.community import service as community
from app.community.schemas import ConcernCreate
from app.patrols.models import OutputEntry, Patrol
from app.sara.patrols import OutputKind
from app.sara.stages import Stage
from tests.api.test_patrols_api import backdate
from tests.conftest import CAMDEN, Cast
from tests.web.test_pages import HTMX, Pages, field_error, open_case
from tests.web.test_work_pages import form, patrol_case


def running(db: Session) -> Patrol:
    db.expire_all()
    patrol = db.scalar(select(Patrol).where(Patrol.ended_at.is_(None)))
    assert patrol is not None
    return patrol


def test_an_officer_signs_in_to_their_shift_and_others_to_the_case_list(
        pages: Pages, cast: Cast) -> None:
    assert pages(cast.officer).get("/", follow_redirects=False).headers["location"] == "/shift"
    for person in (cast.supervisor, cast.analyst, cast.evaluator):
        assert pages(person).get("/", follow_redirects=False).headers["location"] == "/cases"
    page = pages(cast.officer).get("/shift")
    assert page.status_code == 200
    assert 'href="/shift" aria-current="page">My shift<' in page.text


def test_the_shift_lists_my_cases_with_their_next_and_overdue_actions(
        pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    scanning = open_case(db, cast.officer, title="Cycle thefts at the station racks")
    for title, due in (("Ask the council to trim the hedges", today() - timedelta(days=3)),
                       ("Meet the market manager", today() + timedelta(days=4)),
                       ("Write to the residents", today() + timedelta(days=9))):
        content.add_action(db, cast.officer.actor, ref, ActionCreate.model_validate(
            {"title": title, "owner": "PC", "due_date": due.isoformat()}))
    html = pages(cast.officer).get("/shift").text
    mine = html[html.index('id="shift-cases"'):]
    assert f'id="shift-case-{ref}"' in mine and f'id="shift-case-{scanning}"' in mine
    # The soonest open action, even when overdue, and how many are overdue.
    assert "Next: Ask the council to trim the hedges, due" in mine
    assert "1 overdue action<" in mine
    # Patrols start from cases in Response on; a Scanning case has no button.
    starts = html[html.index('id="shift-patrol"'):html.index('id="shift-outputs"')]
    assert f'value="{ref}"' in starts and f'value="{scanning}"' not in starts


def test_start_record_and_end_a_patrol_from_the_shift_with_plain_forms(
        pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    started = officer.post("/shift/patrols/start", data=form(
        cast.officer.csrf, case=ref, **{"patrol-kind": "vehicle"}))
    assert started.status_code == 303 and started.headers["location"] == "/shift?flash=started"
    html = officer.get(started.headers["location"]).text
    assert "Patrol started." in html and "Vehicle patrol on" in html and "End patrol" in html

    recorded = officer.post("/shift/outputs", data=form(
        cast.officer.csrf, **{"outputs-counts-arrests": "2", "outputs-counts-knives": "1"}))
    assert recorded.status_code == 303
    db.expire_all()
    entries = list(db.scalars(select(OutputEntry).order_by(OutputEntry.id)))
    patrol = running(db)
    assert [(e.kind, e.count, e.patrol_id, e.on_date) for e in entries] == [
        (OutputKind.ARRESTS, 2, patrol.id, today()), (OutputKind.KNIVES, 1, patrol.id, today())]
    html = officer.get("/shift").text
    todays = html[html.index('id="shift-outputs"'):html.index('id="shift-cases"')]
    assert "2 arrests" in todays and "1 knife" in todays and ref in todays

    too_soon = officer.post("/shift/patrols/end", data=form(cast.officer.csrf))
    assert too_soon.status_code == 422 and "started less than a minute ago" in too_soon.text
    backdate(db, patrol.id, 12)
    ended = officer.post("/shift/patrols/end", data=form(cast.officer.csrf))
    assert ended.status_code == 303
    db.expire_all()
    assert db.get(Patrol, patrol.id).ended_at is not None  # type: ignore[union-attr]
    assert "Start a patrol" in officer.get("/shift").text
    assert db.scalar(select(AuditEntry.id).where(AuditEntry.action == "shift.view"))


def test_the_shift_answers_htmx_with_its_body(pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    headers = HTMX | {"X-CSRF-Token": cast.officer.csrf}
    response = officer.post("/shift/patrols/start", data={"case": ref}, headers=headers)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="shift-body"')
    assert f"Patrol started on {ref}." in response.text and "<html" not in response.text
    response = officer.post("/shift/outputs", data={"outputs-counts-arrests": "2"},
                            headers=headers)
    assert "Recorded 2 arrests." in response.text


def test_bad_outputs_come_back_beside_their_field_with_what_was_typed(
        pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    officer.post("/shift/patrols/start", data=form(cast.officer.csrf, case=ref))
    refused = officer.post("/shift/outputs", data=form(
        cast.officer.csrf, **{"outputs-counts-arrests": "two", "outputs-counts-knives": "1"}))
    assert refused.status_code == 422
    assert field_error(refused.text, "outputs-counts-arrests") == (
        "Enter the number of arrests as a whole number.")
    assert 'value="two"' in refused.text and 'value="1"' in refused.text
    assert 'href="#outputs-counts-arrests"' in refused.text  # the error summary links to it
    assert db.scalar(select(OutputEntry.id)) is None  # nothing half-written


def test_what_cannot_be_done_is_said_on_the_page(pages: Pages, cast: Cast,
                                                 db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    other = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    nothing = officer.post("/shift/patrols/end", data=form(cast.officer.csrf))
    assert nothing.status_code == 409 and "You have no patrol running" in nothing.text
    no_outputs = officer.post("/shift/outputs", data=form(
        cast.officer.csrf, **{"outputs-counts-arrests": "1"}))
    assert no_outputs.status_code == 409 and "record outputs on the case page" in no_outputs.text
    no_case = officer.post("/shift/patrols/start", data=form(cast.officer.csrf))
    assert no_case.status_code == 422 and "Choose the case to patrol for." in no_case.text
    officer.post("/shift/patrols/start", data=form(cast.officer.csrf, case=ref))
    twice = officer.post("/shift/patrols/start", data=form(cast.officer.csrf, case=other))
    assert twice.status_code == 409 and f"already have a patrol running on {ref}" in twice.text
    assert db.scalar(select(Patrol.id).where(Patrol.case_id == select(Case.id).where(
        Case.ref == other).scalar_subquery())) is None


def test_a_case_elsewhere_cannot_be_patrolled_from_the_shift(pages: Pages, cast: Cast,
                                                             db: Session) -> None:
    camden = open_case(db, cast.camden_officer, borough=CAMDEN, ward=None)
    db.execute(update(Case).where(Case.ref == camden).values(stage=Stage.RESPONSE))
    db.commit()
    refused = pages(cast.officer).post("/shift/patrols/start", data=form(
        cast.officer.csrf, case=camden))
    assert refused.status_code == 404
    assert camden not in pages(cast.officer).get("/shift").text


def test_concerns_awaiting_triage_in_my_area_oldest_first(pages: Pages, cast: Cast,
                                                          db: Session) -> None:
    for day, text in ((date(2026, 11, 20), "Bikes stolen from the racks every week"),
                      (date(2026, 11, 2), "Dealing by the garages at night")):
        community.record_concern(db, cast.officer.actor, ConcernCreate.model_validate({
            "borough": cast.officer.user.borough_code, "raised_on": day.isoformat(),
            "raised_by_kind": "resident", "channel": "street_briefing",
            "description": text}))
    html = pages(cast.officer).get("/shift").text
    concerns = html[html.index('id="shift-concerns"'):]
    assert "Concerns awaiting triage (2)" in concerns
    assert concerns.index("Dealing by the garages") < concerns.index("Bikes stolen")
    # Readers who do not triage see no such section.
    assert 'id="shift-concerns"' not in pages(cast.analyst).get("/shift").text
