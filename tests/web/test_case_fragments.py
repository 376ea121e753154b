"""The case page's htmx fragments: each is rendered from its own partial template and only the
parts of the context it shows, and gives the same HTML as from the whole page's context; the
fragment routes answer the partial alone, with fewer statements than the page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.auth.permissions import has
from app.cases import content, moves
from app.cases.access import case_for
from app.cases.holdings import Holdings, case_holdings
from app.cases.schemas import ActionCreate, HypothesisCreate, NoteCreate, TransitionRequest
from app.clock import today
from app.sara.stages import Stage
from app.web.case_page import FRAGMENT_PARTS, fragment_context, page_context
from app.web.deps import SignedIn
from app.web.templating import env
from tests.api.test_partners_api import add_agency, add_contact
from tests.api.test_patrols_api import days_ago, entered
from tests.conftest import POINT_AREA, READY_CHEERS, Cast, Person
from tests.web.test_pages import HTMX, Pages, edit, open_case


def worked_case(db: Session, client: TestClient, cast: Cast) -> str:
    """A case in Response with something in every part of the page: CHEERS, triangle,
    hypotheses, actions, a gate overridden, notes, a patrol and outputs, a review, a partner."""
    ref = open_case(db, cast.officer, target_area=POINT_AREA, cheers=READY_CHEERS)
    edit(db, cast.officer, ref, triangle={"offender": {"who": "Two groups", "known": "Names"}},
         response_plan="Close the alley; patrol on market days.")
    content.add_hypothesis(db, cast.officer.actor, ref, HypothesisCreate.model_validate(
        {"statement": "The alley gives an escape route"}))
    content.add_action(db, cast.officer.actor, ref, ActionCreate.model_validate({
        "title": "Gate the alley", "owner": "Council", "due_date": today().isoformat(),
        "tactic": "control-access", "partner": "council"}))
    for to in (Stage.ANALYSIS, Stage.RESPONSE):
        moves.move_case(db, cast.supervisor.actor, ref, TransitionRequest.model_validate(
            {"to": to.value, "reason": "Moving on while the analysis is written up",
             "override": True}))
    content.add_note(db, cast.officer.actor, ref, NoteCreate(body="Spoke to the market manager."))
    entered(client, cast.officer, ref, days_ago(1, 8, 0), days_ago(1, 8, 12))
    outputs = client.post(f"/api/v1/cases/{ref}/outputs", headers=cast.officer.api, json={
        "on": today().isoformat(), "counts": {"arrests": 1, "community_engagements": 3}})
    assert outputs.status_code == 201, outputs.text
    agency = add_agency(client, cast.supervisor)
    contact = add_contact(client, cast.supervisor, agency["id"])
    add_agency(client, cast.supervisor, name="Marylebone Housing", kind="housing")
    partner = client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                          json={"agency": agency["id"], "contact": contact["id"], "role": "lead"})
    assert partner.status_code == 201, partner.text
    review = client.post(f"/api/v1/cases/{ref}/reviews", headers=cast.supervisor.api,
                         json={"note": "Plan on track.", "decision": "continue"})
    assert review.status_code == 201, review.text
    return ref


def page_globals(person: Person) -> dict[str, Any]:
    """What ``render`` adds for the signed-in reader."""
    user = person.user
    return {"user": SignedIn(user.username, user.display_name, user.role, user.borough_code,
                             user.active, person.csrf),
            "csrf_token": person.csrf, "can": lambda perm: has(user, perm), "demo": False,
            "map_tiles": "", "map_attribution": "", "request_id": ""}


@pytest.mark.parametrize(("reader", "worked"), [("officer", True), ("supervisor", True),
                                               ("supervisor", False)])
def test_every_fragment_renders_the_same_from_its_own_parts(db: Session, client: TestClient,
                                                           cast: Cast, reader: str,
                                                           worked: bool) -> None:
    """A worked case has something in every collection; a new one in none (the page then
    skips reading the empty ones)."""
    ref = worked_case(db, client, cast) if worked else open_case(db, cast.officer)
    person: Person = getattr(cast, reader)
    case = case_for(db, person.actor, ref)
    whole = page_context(db, person.actor, case) | page_globals(person)
    for name in FRAGMENT_PARTS:
        template = env.get_template(f"cases/parts/{name}.html")
        own = fragment_context(db, person.actor, case, [name]) | page_globals(person)
        assert template.render(own) == template.render(whole), name
        assert len(own) < len(whole), name


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def test_fragments_answer_the_partial_alone_and_read_less_than_the_page(
        db: Session, client: TestClient, cast: Cast, pages: Pages) -> None:
    ref = worked_case(db, client, cast)
    page = pages(cast.supervisor)
    with counted_statements() as for_page:
        whole = page.get(f"/cases/{ref}")
    assert whole.status_code == 200 and whole.text.lstrip().startswith("<!DOCTYPE html>")
    for path, start in ((f"/cases/{ref}?timeline=all", '<section id="timeline"'),
                        (f"/cases/{ref}?section=actions", '<section id="section-actions"'),
                        (f"/cases/{ref}?stage=scanning", '<section class="app-stage-group')):
        with counted_statements() as for_fragment:
            fragment = page.get(path, headers=HTMX)
        assert fragment.status_code == 200, path
        assert fragment.text.lstrip().startswith(start), path
        assert "<html" not in fragment.text and fragment.headers["Vary"] == "HX-Request"
        assert len(for_fragment) < len(for_page), (path, len(for_fragment), len(for_page))


def test_the_page_reads_the_case_once_and_its_moves_with_the_timeline(
        db: Session, client: TestClient, cast: Cast, pages: Pages) -> None:
    ref = worked_case(db, client, cast)
    page = pages(cast.officer)
    with counted_statements() as sent:
        assert page.get(f"/cases/{ref}").status_code == 200
    case_reads = [s for s in sent if s.lstrip().startswith("SELECT cases.id")]
    event_reads = [s for s in sent if "FROM case_events" in s]
    assert len(case_reads) == 1, case_reads
    assert len(event_reads) == 1, event_reads  # the timeline; the tracker's moves come from it
    assert 'data-overridden="analysis"' in page.get(f"/cases/{ref}").text


def test_holdings_say_which_collections_to_read(db: Session, client: TestClient,
                                                cast: Cast) -> None:
    bare = case_for(db, cast.officer.actor, open_case(db, cast.officer))
    worked = case_for(db, cast.officer.actor, worked_case(db, client, cast))
    assert case_holdings(db, bare) == Holdings(*[False] * 7)
    assert case_holdings(db, worked) == Holdings(
        patrols=True, outputs=True, concerns=False, partners=True, attachments=False,
        reviews=True, allocated=False)
