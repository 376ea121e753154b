"""A case page that fits a phone: the current stage open, the others folded to a line that
says where each stands, opened and folded in place (htmx) or by plain links; the patrol panel
from Response on; the timeline's latest entries, the rest one tap away."""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.cases import content
from app.cases.models import Case
from app.cases.schemas import NoteCreate
from app.sara.stages import Stage
from tests.conftest import Cast
from tests.web.test_pages import HTMX, Pages, open_case
from tests.web.test_work_pages import patrol_case

FOLDED = re.compile(r'<section class="app-stage-group app-stage-group--folded" '
                    r'id="stage-(\w+)"')


def folded(html: str) -> list[str]:
    return FOLDED.findall(html)


def test_only_the_current_stage_is_open(pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    page = pages(cast.officer).get(f"/cases/{ref}").text
    assert folded(page) == ["scanning", "analysis", "assessment"]
    # Folded stages hold no sections, only a line that says where they stand.
    assert 'id="section-problem"' not in page and 'id="section-triangle"' not in page
    assert 'id="section-response"' in page and 'id="section-patrols"' in page
    assert "CHEERS: 0 of 6 met" in page
    assert "0 hypotheses · no baseline · no summary yet" in page
    assert f'href="/cases/{ref}?stage=scanning#stage-scanning"' in page
    assert f'hx-get="/cases/{ref}?stage=scanning"' in page


def test_a_folded_stage_opens_by_its_plain_link(pages: Pages, cast: Cast,
                                                db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    page = pages(cast.officer).get(f"/cases/{ref}?stage=scanning").text
    assert folded(page) == ["analysis", "assessment"]
    assert 'id="section-problem"' in page and 'id="section-cheers"' in page
    # An open stage that is not the current one can be folded again.
    assert f'href="/cases/{ref}#stage-scanning"' in page and ">Hide<" in page
    assert "Hide" not in page[page.index('id="stage-response"'):page.index('id="section-')]


def test_a_folded_stage_opens_and_folds_in_place_with_htmx(pages: Pages, cast: Cast,
                                                           db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    opened = officer.get(f"/cases/{ref}?stage=analysis", headers=HTMX)
    assert opened.status_code == 200 and "<html" not in opened.text
    assert opened.text.lstrip().startswith('<section class="app-stage-group" id="stage-analysis"')
    assert 'id="section-triangle"' in opened.text and 'id="section-hypotheses"' in opened.text
    again = officer.get(f"/cases/{ref}?stage=analysis&fold=1", headers=HTMX)
    assert folded(again.text) == ["analysis"] and 'id="section-triangle"' not in again.text


def test_a_section_of_a_folded_stage_saved_without_javascript_comes_back_open(
        pages: Pages, cast: Cast, db: Session) -> None:
    ref = patrol_case(db, cast.officer)
    officer = pages(cast.officer)
    form = officer.get(f"/cases/{ref}?section=problem&edit=1").text
    assert 'id="section-problem"' in form and folded(form) == ["analysis", "assessment"]


def test_a_closed_case_shows_its_assessment(pages: Pages, cast: Cast, db: Session) -> None:
    ref = open_case(db, cast.officer)
    db.execute(update(Case).where(Case.ref == ref).values(stage=Stage.CLOSED))
    db.commit()
    page = pages(cast.officer).get(f"/cases/{ref}").text
    assert folded(page) == ["scanning", "analysis", "response"]


def test_the_patrol_panel_appears_from_response_on(pages: Pages, cast: Cast,
                                                   db: Session) -> None:
    scanning = open_case(db, cast.officer)
    response = patrol_case(db, cast.officer)
    assert 'id="patrol-panel"' not in pages(cast.officer).get(f"/cases/{scanning}").text
    assert 'id="patrol-panel"' in pages(cast.officer).get(f"/cases/{response}").text
    db.execute(update(Case).where(Case.ref == response).values(stage=Stage.ASSESSMENT))
    db.commit()
    assert 'id="patrol-panel"' in pages(cast.officer).get(f"/cases/{response}").text


def test_the_timeline_shows_the_latest_entries_and_the_rest_on_demand(
        pages: Pages, cast: Cast, db: Session) -> None:
    ref = open_case(db, cast.officer)
    for n in range(1, 6):
        content.add_note(db, cast.officer.actor, ref, NoteCreate(body=f"Note number {n}"))
    officer = pages(cast.officer)
    page = officer.get(f"/cases/{ref}").text
    assert "Note number 5" in page and "Note number 3" in page and "Note number 2" not in page
    assert "Show all 6 entries" in page  # five notes and the opening
    whole = officer.get(f"/cases/{ref}?timeline=all", headers=HTMX).text
    assert whole.lstrip().startswith('<section id="timeline"')
    assert all(f"Note number {n}" in whole for n in range(1, 6)) and "Show all" not in whole
    assert "Note number 1" in officer.get(f"/cases/{ref}?timeline=all").text
