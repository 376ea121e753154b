"""The patrol panel, outputs, community concerns, operations, dashboards and the work queue,
through HTTP as the pages use them: plain forms (post, redirect, get) and htmx fragments; bad
input re-renders the form with its messages; every dashboard figure equals the API's."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.auth.roles import Role
from app.cases import moves, service
from app.cases.models import Case
from app.cases.schemas import TransitionRequest
from app.clock import today
from app.community.models import Concern
from app.patrols.models import OutputEntry, Patrol
from app.sara.stages import Stage
from tests.api.test_patrols_api import backdate
from tests.conftest import WESTMINSTER, Cast, Person
from tests.operation_world import build_nightingale
from tests.web.test_pages import HTMX, Pages, edit, field_error, open_case


def form(person_csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": person_csrf, **fields}


def patrol_case(db: Session, person: Person) -> str:
    """A case in Response: the patrol panel's first stage."""
    ref = open_case(db, person)
    db.execute(update(Case).where(Case.ref == ref).values(stage=Stage.RESPONSE))
    db.commit()
    return ref


def running_patrol(db: Session, ref_case_patrols: int | None = None) -> Patrol:
    db.expire_all()
    patrol = db.scalar(select(Patrol).where(Patrol.ended_at.is_(None))
                       .order_by(Patrol.id.desc()).limit(1))
    assert patrol is not None
    return patrol


# --- the patrol panel --------------------------------------------------------------------------

def test_start_and_end_a_patrol_with_plain_forms(pages: Pages, cast: Cast,
                                                 db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    page = officer.get(f"/cases/{ref}").text
    assert "Start patrol" in page and "End patrol" not in page

    started = officer.post(f"/cases/{ref}/patrols/start",
                           data=form(cast.officer.csrf, **{"patrol-kind": "high_visibility"}))
    assert started.status_code == 303
    assert started.headers["location"] == f"/cases/{ref}?flash=patrol-started#patrol-panel"
    page = officer.get(started.headers["location"]).text
    assert "End patrol" in page and "High-visibility patrol since" in page
    patrol = running_patrol(db)

    too_soon = officer.post(f"/cases/{ref}/patrols/{patrol.id}/end",
                            data=form(cast.officer.csrf))
    assert too_soon.status_code == 422
    assert "started less than a minute ago" in too_soon.text

    backdate(db, patrol.id, 13)
    ended = officer.post(f"/cases/{ref}/patrols/{patrol.id}/end", data=form(cast.officer.csrf))
    assert ended.status_code == 303
    page = officer.get(f"/cases/{ref}").text
    assert "Start patrol" in page
    assert "13 min" in page and "In band" in page


def test_the_panel_answers_htmx_with_the_panel_and_fresh_sections(pages: Pages, cast: Cast,
                                                                  db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    response = officer.post(f"/cases/{ref}/patrols/start", data={"patrol-kind": "foot"},
                            headers=HTMX | {"X-CSRF-Token": cast.officer.csrf})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="patrol-panel"')
    assert "End patrol" in response.text and "Patrol started." in response.text
    for target in ("#section-patrols", "#section-outputs", "#timeline"):
        assert f'<hx-partial hx-target="{target}"' in response.text
    twice = officer.post(f"/cases/{ref}/patrols/start", data={"patrol-kind": "foot"},
                         headers=HTMX | {"X-CSRF-Token": cast.officer.csrf})
    assert twice.status_code == 409 and "already have a patrol running" in twice.text


def test_a_patrol_started_by_mistake_is_discarded(pages: Pages, cast: Cast,
                                                 db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    officer.post(f"/cases/{ref}/patrols/start", data=form(cast.officer.csrf))
    patrol = running_patrol(db)
    response = officer.post(f"/cases/{ref}/patrols/{patrol.id}/discard",
                            data=form(cast.officer.csrf))
    assert response.status_code == 303
    assert db.scalar(select(func.count()).select_from(Patrol)) == 0
    assert "Discarded the patrol started at" in officer.get(f"/cases/{ref}").text


def test_outputs_form_refuses_bad_counts_beside_the_field_and_keeps_the_input(
        pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    response = officer.post(f"/cases/{ref}/outputs", data=form(
        cast.officer.csrf, **{"outputs-on": today().isoformat(), "outputs-counts-arrests": "-1",
                              "outputs-counts-knives": "1.5", "outputs-counts-firearms": "1"}))
    assert response.status_code == 422
    assert field_error(response.text, "outputs-counts-arrests") == (
        "The number of arrests must be 0 or more.")
    assert field_error(response.text, "outputs-counts-knives") == (
        "Enter the number of knives as a whole number.")
    assert 'value="1.5"' in response.text  # what was typed stays in the form
    assert db.scalar(select(func.count()).select_from(OutputEntry)) == 0

    nothing = officer.post(f"/cases/{ref}/outputs", data=form(
        cast.officer.csrf, **{"outputs-on": today().isoformat()}))
    assert nothing.status_code == 422 and "Enter at least one output" in nothing.text


def test_two_arrests_and_a_knife_show_in_the_totals(pages: Pages, cast: Cast,
                                                    db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    response = officer.post(f"/cases/{ref}/outputs", data=form(
        cast.officer.csrf, **{"outputs-on": today().isoformat(), "outputs-counts-arrests": "2",
                              "outputs-counts-knives": "1", "outputs-counts-firearms": ""}))
    assert response.status_code == 303
    page = officer.get(f"/cases/{ref}").text
    assert "On this case so far: 2 arrests, 1 knife." in page
    assert 'data-total="arrests">2<' in page and 'data-total="knives">1<' in page
    assert "Recorded 2 arrests and 1 knife on" in page  # on the timeline


def test_an_output_corrected_from_the_page(pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    officer.post(f"/cases/{ref}/outputs", data=form(
        cast.officer.csrf, **{"outputs-on": today().isoformat(), "outputs-counts-arrests": "3"}))
    entry = db.scalar(select(OutputEntry.id))
    opened = officer.get(f"/cases/{ref}?section=outputs&edit=output{entry}", headers=HTMX)
    assert opened.status_code == 200 and f'name="output{entry}-count"' in opened.text
    no_reason = officer.post(f"/cases/{ref}/outputs/{entry}/correct", data=form(
        cast.officer.csrf, **{f"output{entry}-count": "2"}))
    assert no_reason.status_code == 422
    assert field_error(no_reason.text, f"output{entry}-reason") == (
        "Enter a reason of at least 3 characters.")
    corrected = officer.post(f"/cases/{ref}/outputs/{entry}/correct", data=form(
        cast.officer.csrf, **{f"output{entry}-count": "2",
                              f"output{entry}-reason": "Counted twice"}))
    assert corrected.status_code == 303
    page = officer.get(f"/cases/{ref}").text
    assert 'data-total="arrests">2<' in page
    assert "<del>3 arrests</del>" in page and "Corrected arrests on" in page


def test_a_patrol_entered_afterwards_and_corrected_from_the_page(pages: Pages, cast: Cast,
                                                                db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    day = (today() - timedelta(days=1)).isoformat()
    bad = officer.post(f"/cases/{ref}/patrols", data=form(
        cast.officer.csrf, **{"newpatrol-date": day, "newpatrol-started_at": "5pm",
                              "newpatrol-ended_at": ""}))
    assert bad.status_code == 422
    assert field_error(bad.text, "newpatrol-started_at") == \
        "Enter the start time as HH:MM, e.g. 17:05."
    assert field_error(bad.text, "newpatrol-ended_at").startswith("Enter the end time")
    past_midnight = officer.post(f"/cases/{ref}/patrols", data=form(
        cast.officer.csrf, **{"newpatrol-date": day, "newpatrol-started_at": "23:55",
                              "newpatrol-ended_at": "00:07", "newpatrol-kind": "vehicle"}))
    assert past_midnight.status_code == 303
    patrol = db.scalar(select(Patrol))
    assert patrol is not None and patrol.minutes == 12

    prefix, first_version = f"patrol{patrol.id}", patrol.version
    opened = officer.get(f"/cases/{ref}?section=patrols&edit={prefix}")
    assert 'value="23:55"' in opened.text
    fixed = officer.post(f"/cases/{ref}/patrols/{patrol.id}", data=form(
        cast.officer.csrf, version=str(first_version), **{
            f"{prefix}-date": day, f"{prefix}-started_at": "23:50",
            f"{prefix}-ended_at": "00:07", f"{prefix}-kind": "vehicle",
            f"{prefix}-reason": "Started earlier"}))
    assert fixed.status_code == 303
    db.expire_all()
    assert db.get(Patrol, patrol.id).minutes == 17  # type: ignore[union-attr]
    stale = officer.post(f"/cases/{ref}/patrols/{patrol.id}", data=form(
        cast.officer.csrf, version=str(first_version), **{
            f"{prefix}-date": day, f"{prefix}-started_at": "23:40",
            f"{prefix}-ended_at": "00:07"}))
    assert stale.status_code == 409 and "has changed since you opened it" in stale.text


def test_planned_dosage_is_set_in_its_section(pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    from tests.web.test_pages import version_of

    bad = officer.post(f"/cases/{ref}/sections/patrols", data=form(
        cast.officer.csrf, version=str(version_of(db, ref)), planned_patrol_minutes="-5"))
    assert bad.status_code == 422
    assert field_error(bad.text, "planned_patrol_minutes") == (
        "The planned patrol minutes a week must be 0 or more.")
    saved = officer.post(f"/cases/{ref}/sections/patrols", data=form(
        cast.officer.csrf, version=str(version_of(db, ref)), planned_patrol_minutes="90"))
    assert saved.status_code == 303
    assert "1 h 30 min a week" in officer.get(f"/cases/{ref}").text


def test_an_officer_of_another_borough_cannot_patrol_here(pages: Pages, cast: Cast,
                                                          db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    camden = pages(cast.camden_officer)
    response = camden.post(f"/cases/{ref}/patrols/start", data=form(cast.camden_officer.csrf))
    assert response.status_code == 404
    evaluator = pages(cast.evaluator)
    page = evaluator.get(f"/cases/{ref}").text
    assert "Start patrol" not in page and "Record outputs" not in page


# --- community concerns ------------------------------------------------------------------------

CONCERN_FORM = {"borough": WESTMINSTER, "raised_by_kind": "resident", "channel": "ward_panel",
                "place": "Penfold Street", "description": "Fights at pack-up time."}


def test_record_a_concern_and_triage_it_into_a_new_case(pages: Pages, cast: Cast,
                                                       db: Session) -> None:
    officer = pages(cast.officer)
    bad = officer.post("/concerns", data=form(cast.officer.csrf, **{
        **CONCERN_FORM, "description": "", "raised_on-day": "31", "raised_on-month": "11",
        "raised_on-year": "2026"}))
    assert bad.status_code == 422
    assert field_error(bad.text, "description") == "Enter a description of at least 3 characters."
    assert field_error(bad.text, "raised_on") == "31 November 2026 is not a real date."
    assert 'value="Penfold Street"' in bad.text

    recorded = officer.post("/concerns", data=form(cast.officer.csrf, **{
        **CONCERN_FORM, "raised_on": today().isoformat()}))
    assert recorded.status_code == 303
    concern_id = db.scalar(select(Concern.id))
    assert recorded.headers["location"] == f"/concerns/{concern_id}?flash=recorded"
    queue = officer.get("/concerns").text
    assert "1</strong> concern awaiting triage" in queue

    missing = officer.post(f"/concerns/{concern_id}/triage", data=form(
        cast.officer.csrf, version="1", outcome="new_case", title="", category=""))
    assert missing.status_code == 422
    assert field_error(missing.text, "title") == "Give the new case a title."
    opened = officer.post(f"/concerns/{concern_id}/triage", data=form(
        cast.officer.csrf, version="1", outcome="new_case", title="Fights at pack-up",
        category="public-order"))
    assert opened.status_code == 303
    location = opened.headers["location"]
    assert re.match(r"^/cases/WM-\d{4}-\d{4}\?section=community&flash=opened-from-concern"
                    r"#section-community$",
                    location)
    case_page = officer.get(location).text
    assert "You said:</strong> Fights at pack-up time." in case_page
    assert "Not answered yet." in case_page


def test_triage_link_then_you_said_we_did_on_the_case_page(pages: Pages, cast: Cast,
                                                          db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    officer.post("/concerns", data=form(cast.officer.csrf, **{
        **CONCERN_FORM, "raised_on": today().isoformat()}))
    concern_id = db.scalar(select(Concern.id))
    unknown = officer.post(f"/concerns/{concern_id}/triage", data=form(
        cast.officer.csrf, version="1", outcome="linked", case="WM-1999-0042"))
    assert unknown.status_code == 422
    assert field_error(unknown.text, "case").startswith("There is no case WM-1999-0042")
    linked = officer.post(f"/concerns/{concern_id}/triage", data=form(
        cast.officer.csrf, version="1", outcome="linked", case=ref))
    assert linked.headers["location"] == (
        f"/cases/{ref}?section=community&flash=concern-linked#section-community")
    answered = officer.post(f"/cases/{ref}/concerns/{concern_id}/answer", data=form(
        cast.officer.csrf, version="2", **{f"concern{concern_id}-we_did":
                                           "Patrols at pack-up every Friday."}))
    assert answered.status_code == 303
    page = officer.get(f"/cases/{ref}").text
    assert "We did:</strong> Patrols at pack-up every Friday." in page
    other = open_case(db, cast.officer, title="Another case")
    wrong_case = officer.post(f"/cases/{other}/concerns/{concern_id}/answer", data=form(
        cast.officer.csrf, version="3", **{f"concern{concern_id}-we_did": "Tampered"}))
    assert wrong_case.status_code == 404


def test_close_a_concern_as_not_a_police_matter(pages: Pages, cast: Cast, db: Session) -> None:
    officer = pages(cast.officer)
    officer.post("/concerns", data=form(cast.officer.csrf, **{
        **CONCERN_FORM, "raised_on": today().isoformat()}))
    concern_id = db.scalar(select(Concern.id))
    no_reason = officer.post(f"/concerns/{concern_id}/triage", data=form(
        cast.officer.csrf, version="1", outcome="not_police"))
    assert no_reason.status_code == 422 and field_error(no_reason.text, "reason")
    closed = officer.post(f"/concerns/{concern_id}/triage", data=form(
        cast.officer.csrf, version="1", outcome="not_police", reason="Council: fly-tipping"))
    assert closed.headers["location"] == "/concerns?flash=closed"
    assert "Nothing is waiting to be triaged." in officer.get("/concerns").text


def test_contact_details_are_not_shown_to_the_evaluator(pages: Pages, cast: Cast,
                                                        db: Session) -> None:
    officer = pages(cast.officer)
    officer.post("/concerns", data=form(cast.officer.csrf, **{
        **CONCERN_FORM, "raised_on": today().isoformat(), "contact": "07700 900123"}))
    concern_id = db.scalar(select(Concern.id))
    assert "07700 900123" in officer.get(f"/concerns/{concern_id}").text
    assert "07700 900123" not in pages(cast.evaluator).get(f"/concerns/{concern_id}").text


# --- dashboards: every figure on the page equals the API's -------------------------------------

FIGURE = re.compile(r'<span data-figure="([^"]+)">([^<]*)</span>')


def page_figures(html: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for key, text in FIGURE.findall(html):
        text = html_lib.unescape(text).replace(",", "")
        value: Any = None if text == "–" else (float(text) if "." in text else int(text))
        assert figures.setdefault(key, value) == value, f"{key} shown twice, differently"
    return figures


def api_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """The JSON's figures under the page's keys (lists keyed by borough or month)."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                key = item.get("borough") or item.get("month")
                walk(f"{prefix}.{key}", {k: v for k, v in item.items()
                                         if k not in ("borough", "month", "name")})
        elif isinstance(value, int | float) or value is None:
            flat[prefix] = value

    for part in ("cases", "outputs", "patrols", "concerns"):
        walk(part, summary[part])
    return flat


@pytest.fixture
def nightingale(client: TestClient, cast: Cast, db: Session) -> dict[str, Any]:
    return build_nightingale(client, cast, db)


@pytest.mark.parametrize("params", [
    {}, {"borough": "E09000007"}, {"stage": "scanning"},
    {"from": "{day}", "to": "{day}"},
])
@pytest.mark.parametrize("who", ["analyst", "supervisor"])
def test_operation_dashboard_figures_equal_the_api(client: TestClient, pages: Pages,
                                                   cast: Cast, nightingale: dict[str, Any],
                                                   params: dict[str, str], who: str) -> None:
    person = getattr(cast, who)
    params = {k: v.format(day=nightingale["day"]) for k, v in params.items()}
    operation = nightingale["operation"]["id"]
    api = client.get(f"/api/v1/operations/{operation}/summary", params=params,
                     headers=person.api)
    assert api.status_code == 200, api.text
    page = pages(person).get(f"/operations/{operation}", params=params)
    assert page.status_code == 200
    shown, answered = page_figures(page.text), api_figures(api.json())
    assert shown == {k: v for k, v in answered.items() if k != "concerns.awaiting_triage"}
    assert shown["outputs.totals.arrests"] == answered["outputs.totals.arrests"]


@pytest.mark.parametrize("params", [{}, {"borough": WESTMINSTER, "stage": "scanning"}])
def test_the_dashboard_page_equals_the_stats_endpoint(client: TestClient, pages: Pages,
                                                      cast: Cast, nightingale: dict[str, Any],
                                                      params: dict[str, str]) -> None:
    api = client.get("/api/v1/stats", params=params, headers=cast.analyst.api).json()
    page = pages(cast.analyst).get("/dashboard", params=params).text
    assert page_figures(page) == api_figures(api)


def test_bad_dashboard_filters_are_ignored_and_named(pages: Pages, cast: Cast) -> None:
    page = pages(cast.analyst).get("/dashboard?from=2026-13-01&borough=E09000099")
    assert page.status_code == 200
    assert "Some filters were ignored" in page.text
    assert "from: 1 Month 2026" not in page.text
    assert "from: The first day must be a real date: a month is from 1 to 12." in page.text
    assert "E09000099 is not a local policing area here" in page.text


# --- operations and the work queue -------------------------------------------------------------

def test_set_up_an_operation_and_add_a_case_from_its_page(pages: Pages, cast: Cast,
                                                         db: Session) -> None:
    supervisor = pages(cast.supervisor)
    bad = supervisor.post("/operations", data=form(cast.supervisor.csrf, name="N",
                                                   start_date=""))
    assert bad.status_code == 422
    assert field_error(bad.text, "name") == "Enter a name of at least 3 characters."
    created = supervisor.post("/operations", data=form(
        cast.supervisor.csrf, name="Nightingale", unit="VSU",
        start_date=(today() - timedelta(days=30)).isoformat()))
    assert created.status_code == 303
    location = created.headers["location"]
    operation = location.split("/")[2].split("?")[0]
    ref = patrol_case(db, cast.officer)
    unknown = supervisor.post(f"/operations/{operation}/cases",
                              data=form(cast.supervisor.csrf, ref="WM-1999-0001"))
    assert unknown.status_code == 422
    assert field_error(unknown.text, "ref") == "There is no case WM-1999-0001 that you can see."
    added = supervisor.post(f"/operations/{operation}/cases",
                            data=form(cast.supervisor.csrf, ref=ref.lower()))
    assert added.status_code == 303
    page = supervisor.get(f"/operations/{operation}").text
    assert f'href="/cases/{ref}"' in page and "Hotspot cases (1)" in page
    assert "Operation Nightingale</a>" in supervisor.get(f"/cases/{ref}").text
    other = open_case(db, cast.officer, title="Not in the operation")
    listed = supervisor.get(f"/cases?operation={operation}").text
    assert f'href="/cases/{ref}"' in listed and f'href="/cases/{other}"' not in listed


def test_the_queue_page_lists_an_override_and_reviews_it(
        pages: Pages, cast: Cast, db: Session, make_person: Callable[..., Person]) -> None:
    """Another supervisor of the area reviews it: its author's queue does not offer it."""
    ref = open_case(db, cast.officer)
    author = pages(cast.supervisor)
    moved = author.post(f"/cases/{ref}/transitions", data=form(
        cast.supervisor.csrf, **{"form": "override", "to": "analysis", "override": "true",
                                 "override-reason": "Urgent"}))
    assert moved.status_code == 303
    own = author.get("/queue").text
    assert 'data-queue="overrides_to_review">0<' in own
    assert "1 override of your own waits for another supervisor's review" in own
    second = make_person("sgt.adeyemi", Role.SUPERVISOR, WESTMINSTER, "Sgt Funmi Adeyemi")
    supervisor = pages(second)
    page = supervisor.get("/queue").text
    assert 'data-queue="overrides_to_review">1<' in page
    event = re.search(r'action="/queue/overrides/(\d+)/review"', page)
    assert event
    assert "Mark as reviewed" not in pages(cast.officer).get("/queue").text
    refused = author.post(f"/queue/overrides/{event.group(1)}/review",
                          data=form(cast.supervisor.csrf, note="Fine by me"))
    assert refused.status_code == 403
    assert "You overrode this gate yourself" in refused.text
    reviewed = supervisor.post(f"/queue/overrides/{event.group(1)}/review",
                               data=form(second.csrf, note="Fine"))
    assert reviewed.status_code == 303 and reviewed.headers["location"] == \
        "/queue?flash=reviewed"
    assert 'data-queue="overrides_to_review">0<' in supervisor.get("/queue").text
    # The tracker marks Scanning as overridden, not completed, with what its gate lacked.
    page = pages(cast.officer).get(f"/cases/{ref}").text
    assert 'data-overridden="scanning"' in page and "(gate overridden)" in page
    summary = re.search(r'id="overridden-scanning">.*?<span class="govuk-details__summary-text">'
                        r"(.*?)</span>", page, re.S)
    assert summary is not None
    words = " ".join(html_lib.unescape(summary[1]).split())
    assert words.startswith("Scanning: gate overridden ")
    assert " by Sgt Daniel Okafor, " in words and words.endswith("reviewed by Sgt Funmi Adeyemi")
    assert re.search(r", \d+ items unmet", words)


def test_closing_asks_for_a_summary_and_a_confirmation(pages: Pages, cast: Cast,
                                                       db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    for stage in ("analysis", "response", "assessment"):
        moves.move_case(db, cast.supervisor.actor, ref, TransitionRequest(
            to=stage, override=True, reason="Worked on paper before popcase"))
    edit(db, cast.supervisor, ref, process_evaluation="Patrols done as planned.",
         impact_evaluation="", impact_none_reason="No crime data for the area.",
         outcome="fewer_incidents", lessons_learned="Start with the council.")
    supervisor = pages(cast.supervisor)
    page = supervisor.get(f"/cases/{ref}").text
    assert 'id="close-form"' in page and 'name="close-reason"' in page
    # Both problems at once, each beside its field and in the summary; what was typed kept.
    refused = supervisor.post(f"/cases/{ref}/transitions", data=form(
        cast.supervisor.csrf, **{"form": "close", "to": "closed", "close-reason": "Done"}))
    assert refused.status_code == 422
    assert field_error(refused.text, "close-reason") == (
        "Enter a closing summary of at least 10 characters: what was done and what came of it")
    assert field_error(refused.text, "close-confirm") == (
        "Confirm that the case is finished before closing it")
    for field in ("close-reason", "close-confirm"):
        assert f'<a href="#{field}">' in refused.text  # the error summary links to both
    assert ">Done</textarea>" in refused.text
    db.expire_all()
    assert service.view_case(db, cast.officer.actor, ref).stage is Stage.ASSESSMENT
    summary = "Patrols and new lighting; incidents fell from 12 to 5 a month."
    closed = supervisor.post(f"/cases/{ref}/transitions", data=form(
        cast.supervisor.csrf, **{"form": "close", "to": "closed", "close-reason": summary,
                                 "close-confirm": "yes"}))
    assert closed.status_code == 303
    page = html_lib.unescape(supervisor.get(closed.headers["location"]).text)
    assert f"{ref} is closed." in page and f"{ref} is now in Closed" not in page
    assert "In Closed since" not in page
    assert f"Closing summary: {summary}" in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    # Reopening asks why and for a confirmation, both problems at once.
    refused = supervisor.post(f"/cases/{ref}/transitions", data=form(
        cast.supervisor.csrf, **{"form": "reopen", "reopen-to": "assessment"}))
    assert refused.status_code == 422
    assert field_error(refused.text, "reopen-reason") == "Enter why the case is reopened"
    assert field_error(refused.text, "reopen-confirm") == (
        "Confirm that the closed case should be worked again")
    assert "Reopen this case" in refused.text and "<details class=\"govuk-details\" open>" in \
        refused.text
    reopened = supervisor.post(f"/cases/{ref}/transitions", data=form(
        cast.supervisor.csrf, **{"form": "reopen", "reopen-to": "assessment",
                                 "reopen-reason": "The council's figures came late",
                                 "reopen-confirm": "yes"}))
    assert reopened.status_code == 303
    db.expire_all()
    assert service.view_case(db, cast.officer.actor, ref).stage is Stage.ASSESSMENT


def test_closing_over_an_unmet_gate_asks_for_a_summary_and_a_confirmation(
        pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    moves.move_case(db, cast.supervisor.actor, ref, TransitionRequest(
        to="assessment", override=True, reason="Worked on paper before popcase"))
    supervisor = pages(cast.supervisor)
    page = supervisor.get(f"/cases/{ref}").text
    assert "Closing summary, and why the gate is unmet" in page
    assert 'name="override-confirm"' in page
    refused = supervisor.post(f"/cases/{ref}/transitions", data=form(
        cast.supervisor.csrf, **{"form": "override", "to": "closed", "override": "true",
                                 "override-reason": "Stop"}))
    assert refused.status_code == 422
    assert field_error(refused.text, "override-reason").startswith(
        "Enter a closing summary of at least 10 characters")
    assert field_error(refused.text, "override-confirm") == (
        "Confirm that the case is finished before closing it")
    db.expire_all()
    assert service.view_case(db, cast.officer.actor, ref).stage is Stage.ASSESSMENT
    summary = "Closed over the gate: the estate was demolished, so the problem went with it."
    closed = supervisor.post(f"/cases/{ref}/transitions", data=form(
        cast.supervisor.csrf, **{"form": "override", "to": "closed", "override": "true",
                                 "override-reason": summary, "override-confirm": "yes"}))
    assert closed.status_code == 303
    page = html_lib.unescape(supervisor.get(f"/cases/{ref}").text)
    assert f"Closing summary: {summary}" in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    # Moving on over an earlier gate needs no confirmation: only closing does.
    other = patrol_case(db, cast.officer)
    moved = supervisor.post(f"/cases/{other}/transitions", data=form(
        cast.supervisor.csrf, **{"form": "override", "to": "assessment", "override": "true",
                                 "override-reason": "Patrols reported on paper"}))
    assert moved.status_code == 303
