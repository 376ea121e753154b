"""Problem template pages: list, read, create, version, retire, copy, and opening a case from
a template on the New case page (plain HTML forms)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.clock import today
from app.problem_templates.models import CaseTemplate
from app.sara.templates import STREET_DRUG_MARKET
from tests.conftest import CHURCH_STREET, WESTMINSTER, Cast, Person

PROMPTS = {f"cheers_prompts-{e}": f"What about {e} here?" for e in
           ("community", "harm", "expectation", "events", "recurring", "similarity")}


def template_form(csrf: str, **fields: str) -> dict[str, str]:
    form = {"csrf_token": csrf, "name": "Bicycle theft at stations",
            "slug": "bike-theft-at-stations", "category": "bicycle-theft", "priority": "low",
            "summary": "Bikes stolen from racks.", "review_every_days": "",
            "hypotheses": "Racks let thieves cut cheap locks unseen.\nThieves come by train.",
            # A blank first row is skipped: the filled second row becomes the only response.
            "responses-0-technique": "", "responses-0-why": "",
            "responses-1-technique": "target-harden", "responses-1-why": "Better racks.",
            "actions-0-title": "Survey the racks", "actions-0-tactic": "",
            "actions-0-partner": "council", "actions-0-due_in_days": "10",
            "actions-1-title": "", "actions-1-partner": "police", "actions-1-due_in_days": "",
            **PROMPTS}
    form.update(fields)
    return form


def test_supervisor_creates_versions_and_retires_a_template(
        pages: Callable[[Person], TestClient], cast: Cast, db: Session) -> None:
    page = pages(cast.supervisor)
    listed = page.get("/templates")
    assert listed.status_code == 200
    assert "Street drug market" in listed.text and 'href="/templates"' in listed.text
    assert page.get("/templates/new").status_code == 200

    created = page.post("/templates", data=template_form(cast.supervisor.csrf))
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/templates/bike-theft-at-stations?flash=created"
    template = db.scalars(select(CaseTemplate).where(
        CaseTemplate.slug == "bike-theft-at-stations")).one()
    assert template.force_id == "metropolitan"
    assert template.current.responses == [{"technique": "target-harden",
                                           "why": "Better racks."}]
    assert template.current.hypotheses == ["Racks let thieves cut cheap locks unseen.",
                                           "Thieves come by train."]
    shown = page.get("/templates/bike-theft-at-stations")
    assert "Target harden" in shown.text and "Survey the racks" in shown.text

    edit = page.get("/templates/bike-theft-at-stations/edit")
    assert edit.status_code == 200 and "Survey the racks" in edit.text
    form = template_form(cast.supervisor.csrf, version="1", name="Cycle theft at stations",
                         change_note="Named as the force names it")
    form.pop("slug")
    saved = page.post("/templates/bike-theft-at-stations", data=form)
    assert saved.status_code == 303, saved.text
    stale = page.post("/templates/bike-theft-at-stations", data=form)
    assert stale.status_code == 409 and "changed since you opened it" in stale.text
    history = page.get("/templates/bike-theft-at-stations").text
    assert "Version 2" in history and "Named as the force names it" in history
    first = page.get("/templates/bike-theft-at-stations?version=1").text
    assert "You are looking at version 1" in first and "Bicycle theft at stations" in first

    confirm = page.get("/templates/bike-theft-at-stations/retire")
    assert confirm.status_code == 200 and "Retire Cycle theft at stations?" in confirm.text
    retired = page.post("/templates/bike-theft-at-stations/retirement",
                        data={"csrf_token": cast.supervisor.csrf, "retired": "yes"})
    assert retired.status_code == 303
    assert "bike-theft-at-stations" not in page.get("/templates").text
    assert "bike-theft-at-stations" in page.get("/templates?retired=yes").text
    back = page.post("/templates/bike-theft-at-stations/retirement",
                     data={"csrf_token": cast.supervisor.csrf, "retired": "no"})
    assert back.status_code == 303
    db.expire_all()
    assert not db.get(CaseTemplate, template.id).retired  # type: ignore[union-attr]


def test_wrong_fields_are_named_beside_their_boxes(
        pages: Callable[[Person], TestClient], cast: Cast) -> None:
    page = pages(cast.analyst)
    bad = page.post("/templates", data=template_form(
        cast.analyst.csrf, slug="Not a slug", hypotheses="", **{
            "cheers_prompts-harm": "", "responses-1-technique": "",
            "actions-0-due_in_days": "soon"}))
    assert bad.status_code == 422
    text = bad.text
    assert "There is a problem" in text
    for anchor, message in (
            ("#cheers_prompts-harm", "Enter a prompt for Harm."),
            ("#hypotheses", "Enter at least one hypothesis."),
            ("#responses-1-technique", "Choose a technique or tactic from the catalogue."),
            ("#actions-0-due_in_days", "Enter the days from opening until it is due as a "
                                       "whole number.")):
        assert f'<a href="{anchor}">{message}</a>' in text
    assert '<a href="#slug">Enter a short name of 3 to 60 lower-case letters' in text


def test_officers_read_but_do_not_manage(pages: Callable[[Person], TestClient],
                                         cast: Cast) -> None:
    page = pages(cast.officer)
    assert page.get("/templates/street-drinking").status_code == 200
    assert "Make a new version" not in page.get("/templates/street-drinking").text
    assert page.get("/templates/new").status_code == 403
    assert page.get("/templates/street-drinking/edit").status_code == 403
    assert page.post("/templates", data=template_form(cast.officer.csrf)).status_code == 403


def test_copy_a_national_template_to_my_force(pages: Callable[[Person], TestClient],
                                              cast: Cast) -> None:
    page = pages(cast.supervisor)
    national = page.get("/templates/street-drinking").text
    assert "Copy to my force" in national and "Make a new version" not in national
    refused = page.post("/templates/street-drinking/copies",
                        data={"csrf_token": cast.supervisor.csrf, "copy_slug": "street-drinking"})
    assert refused.status_code == 422 and 'href="#copy_slug"' in refused.text
    copied = page.post("/templates/street-drinking/copies",
                       data={"csrf_token": cast.supervisor.csrf,
                             "copy_slug": "westminster-street-drinking"})
    assert copied.status_code == 303
    ours = page.get(copied.headers["location"]).text
    assert "Make a new version" in ours and "Copied from Street drinking, version 1" in ours


def test_open_a_case_from_a_template_on_the_new_case_page(
        pages: Callable[[Person], TestClient], cast: Cast, db: Session) -> None:
    page = pages(cast.supervisor)
    form = page.get("/cases/new?template=street-drug-market")
    assert form.status_code == 200
    assert "Start from a template" in form.text
    assert STREET_DRUG_MARKET.content.summary in form.text
    opened = page.post("/cases", data={
        "csrf_token": cast.supervisor.csrf, "template": "street-drug-market",
        "title": "Dealing on the Lisson Green estate", "category": "", "priority": "",
        "borough": WESTMINSTER, "ward": CHURCH_STREET, "source": "officer"})
    assert opened.status_code == 303, opened.text
    ref = opened.headers["location"].split("/")[2].split("?")[0]
    case = db.scalars(select(Case).where(Case.ref == ref)).one()
    assert case.category == "drugs" and case.priority.value == "high"
    assert case.actions[0].due_date == today() + timedelta(days=7)
    shown = page.get(f"/cases/{ref}").text
    assert "From template Street drug market, version 1" in shown
    # The CHEERS prompts beside the questions, and the suggested responses with why.
    assert STREET_DRUG_MARKET.content.cheers_prompts[
        next(iter(STREET_DRUG_MARKET.content.cheers_prompts))] in shown
    response = page.get(f"/cases/{ref}?stage=response").text
    first = STREET_DRUG_MARKET.content.responses[0]
    assert first.why in response and "Add as an action" in response
    added = page.post(f"/cases/{ref}/actions", data={
        "csrf_token": cast.supervisor.csrf, "action-title": "Control access to facilities",
        "action-tactic": first.technique, "action-partner": "police", "action-owner": ""})
    assert added.status_code == 303
    db.expire_all()
    assert [a.tactic for a in case.actions].count(first.technique) == 2
    assert "An action uses it" in page.get(f"/cases/{ref}?stage=response").text


def test_a_retired_template_cannot_be_chosen(pages: Callable[[Person], TestClient],
                                             cast: Cast) -> None:
    page = pages(cast.analyst)
    page.post("/templates/street-drinking/retirement",
              data={"csrf_token": cast.analyst.csrf, "retired": "yes"})
    officer = pages(cast.officer)
    refused = officer.post("/cases", data={
        "csrf_token": cast.officer.csrf, "template": "street-drinking", "title": "Drinkers",
        "category": "", "priority": "", "borough": WESTMINSTER, "source": "officer"})
    assert refused.status_code == 422
    assert '<a href="#template">The template Street drinking is retired: choose another.</a>' \
        in refused.text
