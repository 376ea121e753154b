"""GOV.UK form patterns on every page form: a wrong value answers 422 with an error summary
whose link goes to the field, a message that names the field, and what was typed kept; every
wrong field is reported at once; dates are typed as day, month and year."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from app.clock import today
from tests.conftest import CHURCH_STREET, WESTMINSTER, Cast
from tests.web.test_pages import HTMX, Pages, field_error, open_case
from tests.web.test_work_pages import patrol_case


@dataclass(frozen=True)
class Wrong:
    """One form posted with one wrong field."""

    form: str  # the test's name for the form
    url: str  # "{ref}": a new case's reference
    data: dict[str, str]  # the whole form, the wrong value included
    control: str  # the id the summary's link goes to
    names: str  # what the message must name
    kept: str | None  # what the control shows again (None: nothing was typed)
    who: str = "officer"
    htmx: bool = False  # posted as the case page's htmx does (a fragment comes back)
    kept_in: str = ""  # the control that shows ``kept``, when not ``control`` (a date's box)


def day_month_year(name: str, day: str, month: str, year: str) -> dict[str, str]:
    return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}


NOW = today()


def on(name: str, day: str = str(NOW.day), month: str = str(NOW.month),
       year: str = str(NOW.year)) -> dict[str, str]:
    return day_month_year(name, day, month, year)


NEW_CASE = {"title": "Robberies at the market", "problem_statement": "Robberies on market days",
            "category": "robbery", "borough": WESTMINSTER, "ward": CHURCH_STREET,
            "priority": "high", "source": "officer", "team": "Church Street SNT"}
AREA = {"version": "1", "target_area-kind": "point", "target_area-name": "Market",
        "target_area-lat": "51.5226", "target_area-lng": "-0.1713", "target_area-radius_m": "150"}
ANALYSIS = {"version": "1", "analysis_summary": "Robberies peak at pack-up.",
            **on("baseline_start", "1", "1", "2026"), **on("baseline_end", "31", "3", "2026")}
HYPOTHESIS = {"hypothesis-statement": "Cash draws robbers", "hypothesis-status": "open",
              "hypothesis-evidence": ""}
ACTION = {"action-title": "Fix the lights", "action-tactic": "", "action-partner": "council",
          "action-owner": "PC Shah", **on("action-due_date"), "action-status": "planned",
          "action-notes": ""}
OUTPUTS = {**on("outputs-on"), "outputs-counts-arrests": "1", "outputs-notes": ""}
PATROL = {**on("newpatrol-date"), "newpatrol-started_at": "17:00",
          "newpatrol-ended_at": "17:15", "newpatrol-kind": "foot", "newpatrol-officers": "2",
          "newpatrol-place": "Market", "newpatrol-notes": ""}
CONCERN = {"borough": WESTMINSTER, "raised_by_kind": "resident", "channel": "ward_panel",
           "place": "Penfold Street", "description": "Fights at pack-up time.",
           **on("raised_on")}
OPERATION = {"name": "Nightingale", "unit": "VSU", "description": "Hotspot patrols",
             **on("start_date", "1", "4", "2026"), **on("end_date", "", "", "")}
USER = {"username": "pc.new", "display_name": "PC New", "role": "officer",
        "borough": WESTMINSTER, "password": "a long first password"}

WRONG = [
    Wrong("new case", "/cases", NEW_CASE | {"title": "ab"}, "title", "title", "ab"),
    Wrong("new case", "/cases", NEW_CASE | {"category": ""}, "category", "crime category",
          None),
    Wrong("problem", "/cases/{ref}/sections/problem", NEW_CASE | {"version": "1", "title": "x"},
          "title", "title", "x", htmx=True),
    Wrong("target area", "/cases/{ref}/sections/area", AREA | {"target_area-lat": "abc"},
          "target_area-lat", "latitude", "abc", htmx=True),
    Wrong("target area", "/cases/{ref}/sections/area", AREA | {"target_area-radius_m": "12.5"},
          "target_area-radius_m", "radius", "12.5", htmx=True),
    Wrong("comparison", "/cases/{ref}/sections/comparison",
          {"version": "1", "buffer_width_m": "wide", "control_area-kind": "none"},
          "buffer_width_m", "buffer", "wide", htmx=True),
    Wrong("analysis", "/cases/{ref}/sections/analysis",
          ANALYSIS | on("baseline_start", "31", "2", "2026"), "baseline_start-day",
          "31 February 2026", "31", htmx=True),
    Wrong("analysis", "/cases/{ref}/sections/analysis",
          ANALYSIS | on("baseline_end", "31", "3", ""), "baseline_end-year",
          "date the baseline ends", "31", htmx=True, kept_in="baseline_end-day"),
    Wrong("analysis", "/cases/{ref}/sections/analysis",
          ANALYSIS | {"analysis_summary": "x" * 20001}, "analysis_summary", "analysis summary",
          "x" * 20001, htmx=True),
    Wrong("planned patrols", "/cases/{ref}/sections/patrols",
          {"version": "1", "planned_patrol_minutes": "lots"}, "planned_patrol_minutes",
          "planned patrol minutes", "lots", htmx=True),
    Wrong("hypothesis", "/cases/{ref}/hypotheses", HYPOTHESIS | {"hypothesis-statement": "ab"},
          "hypothesis-statement", "hypothesis", "ab", htmx=True),
    Wrong("action", "/cases/{ref}/actions", ACTION | {"action-title": "ab"}, "action-title",
          "title", "ab", htmx=True),
    Wrong("action", "/cases/{ref}/actions", ACTION | on("action-due_date", "abc"),
          "action-due_date-day", "due date", "abc", htmx=True),
    Wrong("note", "/cases/{ref}/notes", {"note-body": "x" * 20001}, "note-body", "note",
          "x" * 20001, htmx=True),
    Wrong("note", "/cases/{ref}/notes", {"note-body": "  "}, "note-body", "note", None,
          htmx=True),
    Wrong("outputs", "/cases/{ref}/outputs", OUTPUTS | {"outputs-counts-arrests": "two"},
          "outputs-counts-arrests", "number of arrests", "two", htmx=True),
    Wrong("outputs", "/cases/{ref}/outputs", OUTPUTS | on("outputs-on", "5", ""),
          "outputs-on-month", "date of the outputs", "5", htmx=True, kept_in="outputs-on-day"),
    Wrong("patrol", "/cases/{ref}/patrols", PATROL | {"newpatrol-started_at": "25:99"},
          "newpatrol-started_at", "start time", "25:99", htmx=True),
    Wrong("patrol", "/cases/{ref}/patrols", PATROL | on("newpatrol-date", "32", "1", "2026"),
          "newpatrol-date-day", "32 January 2026", "32", htmx=True),
    Wrong("concern", "/concerns", CONCERN | {"description": "ab"}, "description",
          "description", "ab"),
    Wrong("concern", "/concerns", CONCERN | on("raised_on", "1", "2", "26"), "raised_on-year",
          "date the concern was raised", "26"),
    Wrong("operation", "/operations", OPERATION | {"name": "N"}, "name", "name", "N",
          who="supervisor"),
    Wrong("operation", "/operations", OPERATION | on("start_date", "31", "4", "2026"),
          "start_date-day", "31 April 2026", "31", who="supervisor"),
    Wrong("operation", "/operations", OPERATION | on("end_date", "1", "3", "2026"),
          "end_date-day", "end", "3", who="supervisor", kept_in="end_date-month"),
    Wrong("user", "/admin/users", USER | {"username": "A B"}, "username", "username", "A B",
          who="admin"),
]


def shown(page: str, control: str) -> str | None:
    """The value a text box or text area shows."""
    found = re.search(rf'<input[^>]*\bid="{re.escape(control)}"[^>]*\bvalue="([^"]*)"', page) \
        or re.search(rf'<textarea[^>]*\bid="{re.escape(control)}"[^>]*>([^<]*)</textarea>', page)
    return html_lib.unescape(found.group(1)) if found else None


def summary(page: str) -> dict[str, str]:
    """The error summary's links: where each goes, and what it says."""
    boxes = re.findall(r'<div class="govuk-error-summary".*?</ul>', page, re.S)
    assert boxes, "no error summary"
    return {target: html_lib.unescape(text) for box in boxes
            for target, text in re.findall(r'<a href="#([^"]+)">([^<]*)</a>', box)}


def post(pages: Pages, cast: Cast, db: Session, wrong: Wrong) -> str:
    person = getattr(cast, wrong.who)
    url = wrong.url.format(ref=patrol_case(db, cast.officer) if "{ref}" in wrong.url else "")
    response = pages(person).post(url, headers=HTMX if wrong.htmx else None,
                                  data={"csrf_token": person.csrf, **wrong.data})
    assert response.status_code == 422, response.text[:500]
    return response.text


@pytest.mark.parametrize("wrong", WRONG, ids=[f"{w.form}:{w.control}" for w in WRONG])
def test_a_wrong_field_is_summarised_named_and_kept(pages: Pages, cast: Cast, db: Session,
                                                     wrong: Wrong) -> None:
    page = post(pages, cast, db, wrong)
    links = summary(page)
    assert wrong.control in links, links
    message = links[wrong.control]
    assert wrong.names.lower() in message.lower(), message
    assert f'id="{wrong.control}"' in page  # the link lands on the field
    assert "1 characters" not in page and "This field is required" not in page
    if wrong.kept is not None:
        assert shown(page, wrong.kept_in or wrong.control) == wrong.kept
    if not wrong.htmx:
        assert "<title>Error: " in page


# --- dates ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("parts", "control", "message"), [
    (("31", "2", "2026"), "raised_on-day", "31 February 2026 is not a real date."),
    (("29", "2", "2027"), "raised_on-day", "29 February 2027 is not a real date."),
    (("12", "3", ""), "raised_on-year", "The date the concern was raised must include a year."),
    (("", "", "2026"), "raised_on-day",
     "The date the concern was raised must include a day and month."),
    (("", "", ""), "raised_on-day", "Enter the date the concern was raised."),
    (("12", "13", "2026"), "raised_on-month",
     "The date the concern was raised must be a real date: a month is from 1 to 12."),
    (("1", "1", "1999"), "raised_on-year",
     "The date the concern was raised must be between 2000 and 2100."),
])
def test_a_date_says_what_is_wrong_with_it(pages: Pages, cast: Cast,
                                           parts: tuple[str, str, str], control: str,
                                           message: str) -> None:
    response = pages(cast.officer).post("/concerns", data={
        "csrf_token": cast.officer.csrf, **CONCERN, **day_month_year("raised_on", *parts)})
    assert response.status_code == 422
    assert summary(response.text) == {control: message}
    assert field_error(response.text, "raised_on") == message
    for part, typed in zip(("day", "month", "year"), parts, strict=True):
        assert shown(response.text, f"raised_on-{part}") == typed
    assert 'inputmode="numeric"' in response.text


def test_a_date_not_real_marks_every_box_and_a_missing_part_only_its_own(
        pages: Pages, cast: Cast) -> None:
    officer = pages(cast.officer)
    unreal = officer.post("/concerns", data={"csrf_token": cast.officer.csrf, **CONCERN,
                                             **on("raised_on", "31", "2", "2026")}).text
    assert len(re.findall(r'govuk-date-input__input[^"]*govuk-input--error', unreal)) == 3
    no_year = officer.post("/concerns", data={"csrf_token": cast.officer.csrf, **CONCERN,
                                              **on("raised_on", "3", "2", "")}).text
    assert len(re.findall(r'govuk-date-input__input[^"]*govuk-input--error', no_year)) == 1
    assert re.search(r'govuk-input--error" id="raised_on-year"', no_year)


def test_a_single_iso_date_is_still_accepted(pages: Pages, cast: Cast, db: Session) -> None:
    """Scripts (and older pages) post one ISO value instead of the three boxes."""
    data = {k: v for k, v in CONCERN.items() if not k.startswith("raised_on")}
    response = pages(cast.officer).post("/concerns", data={
        "csrf_token": cast.officer.csrf, **data, "raised_on": NOW.isoformat()})
    assert response.status_code == 303


def test_a_stored_date_comes_back_in_its_three_boxes(pages: Pages, cast: Cast,
                                                      db: Session) -> None:
    ref = open_case(db, cast.officer)
    officer = pages(cast.officer)
    saved = officer.post(f"/cases/{ref}/sections/analysis",
                         data={"csrf_token": cast.officer.csrf, **ANALYSIS})
    assert saved.status_code == 303
    page = officer.get(f"/cases/{ref}?section=analysis&edit=1", headers=HTMX).text
    assert [shown(page, f"baseline_end-{p}") for p in ("day", "month", "year")] == \
        ["31", "3", "2026"]


# --- every wrong field at once -----------------------------------------------------------------

@pytest.mark.parametrize(("url", "data", "who", "expected"), [
    ("/concerns", CONCERN | {"description": ""} | on("raised_on", "31", "11", "2026"),
     "officer", {"description": "Enter a description of at least 3 characters.",
                 "raised_on-day": "31 November 2026 is not a real date."}),
    ("/cases/{ref}/outputs", OUTPUTS | {"outputs-counts-arrests": "-1"} | on("outputs-on", ""),
     "officer", {"outputs-on-day": "The date of the outputs must include a day.",
                 "outputs-counts-arrests": "The number of arrests must be 0 or more."}),
    ("/cases/{ref}/patrols", PATROL | {"newpatrol-ended_at": "5pm"}
     | on("newpatrol-date", "30", "2", "2026"), "officer",
     {"newpatrol-date-day": "30 February 2026 is not a real date.",
      "newpatrol-ended_at": "Enter the end time as HH:MM, e.g. 17:05."}),
    ("/cases/{ref}/sections/area", AREA | {"target_area-lat": "north", "target_area-lng": ""},
     "officer", {"target_area-lat": "Enter the latitude as a number.",
                 "target_area-lng": "Enter the longitude as a number."}),
    ("/operations", OPERATION | {"name": ""} | on("start_date", "", "", ""), "supervisor",
     {"name": "Enter a name of at least 3 characters.",
      "start_date-day": "Enter the date the operation starts."}),
    ("/admin/users", USER | {"username": "x", "role": "", "password": ""}, "admin",
     {"username": "Enter a username of 3 to 64 lower-case letters, digits, dots, hyphens or "
                  "underscores, starting and ending with a letter or digit.",
      "role": "Choose a role.",
      "password": "Set a first password (the user can be given a new one later)."}),
])
def test_every_wrong_field_is_reported_at_once(pages: Pages, cast: Cast, db: Session, url: str,
                                               data: dict[str, str], who: str,
                                               expected: dict[str, str]) -> None:
    page = post(pages, cast, db, Wrong("", url, data, "", "", None, who=who))
    assert summary(page) == expected
    assert list(summary(page)) == list(expected)  # in the form's order
