"""The hand-over pages: reached from the queue, the case list and the admin user page; a
default and per-case recipients, a summary to confirm, the result; errors named by field."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Role
from app.cases.models import Case
from tests.conftest import WESTMINSTER, Cast, Person
from tests.handover.world import add_actions, add_cases, deactivate, snapshot

Pages = Callable[[Person], TestClient]


@pytest.fixture
def jones(make_person: Callable[..., Person]) -> Person:
    return make_person("pc.jones", Role.OFFICER, WESTMINSTER, "PC Ben Jones")


def test_a_supervisor_hands_over_case_by_case_after_a_summary(
        db: Session, cast: Cast, jones: Person, pages: Pages) -> None:
    cases = add_cases(db, cast.officer.user, 3)
    add_actions(db, cases[:1], cast.officer.user)
    deactivate(db, cast.officer.user)
    sergeant = pages(cast.supervisor)
    queue = sergeant.get(f"/queue?borough={WESTMINSTER}")
    assert 'data-departed="pc.shah"' in queue.text
    assert 'href="/people/pc.shah/handover"' in queue.text
    form = sergeant.get("/people/pc.shah/handover")
    assert form.status_code == 200
    assert 'name="cases-WM-2019-0002"' in form.text and 'name="to"' in form.text
    before = snapshot(db)
    choice = {"csrf_token": cast.supervisor.csrf, "to": "pc.jones",
              "cases-WM-2019-0002": "sgt.okafor"}
    summary = sergeant.post("/people/pc.shah/handover", data=choice)
    assert summary.status_code == 200 and "Check the hand-over" in summary.text
    assert "3 cases and 1 action" in summary.text
    assert 'data-recipient="pc.jones"' in summary.text
    assert snapshot(db) == before  # nothing changes until it is confirmed
    done = sergeant.post("/people/pc.shah/handover", data={**choice, "confirm": "yes"})
    assert done.status_code == 200 and "Work handed over" in done.text
    owners = dict(db.execute(select(Case.ref, Case.owner_id)).all())
    assert owners["WM-2019-0002"] == cast.supervisor.user.id
    assert owners["WM-2019-0001"] == owners["WM-2019-0003"] == jones.user.id
    assert 'data-departed="pc.shah"' not in sergeant.get(f"/queue?borough={WESTMINSTER}").text
    timeline = sergeant.get("/cases/WM-2019-0001").text
    assert "Handed over from PC Amira Shah to PC Ben Jones by Sgt Daniel Okafor, with 1 " \
           "action" in timeline


def test_a_wrong_choice_is_named_and_nothing_moves(db: Session, cast: Cast, jones: Person,
                                                   pages: Pages) -> None:
    add_cases(db, cast.officer.user, 2)
    before = snapshot(db)
    refused = pages(cast.supervisor).post("/people/pc.shah/handover", data={
        "csrf_token": cast.supervisor.csrf, "to": "pc.jones",
        "cases-WM-2019-0001": "pc.clarke", "confirm": "yes"})
    assert refused.status_code == 422
    assert "govuk-error-summary" in refused.text
    assert 'href="#cases-WM-2019-0001"' in refused.text
    assert "PC Tom Clarke cannot take WM-2019-0001" in refused.text
    nobody = pages(cast.supervisor).post("/people/pc.shah/handover", data={
        "csrf_token": cast.supervisor.csrf})
    assert nobody.status_code == 422 and 'href="#to"' in nobody.text
    assert snapshot(db) == before


def test_officers_see_the_work_but_cannot_hand_it_over(db: Session, cast: Cast, jones: Person,
                                                       pages: Pages) -> None:
    add_cases(db, cast.officer.user, 1)
    officer = pages(jones)
    page = officer.get("/people/pc.shah/handover")
    assert page.status_code == 200 and "Only a supervisor" in page.text
    assert 'name="to"' not in page.text
    refused = officer.post("/people/pc.shah/handover", data={
        "csrf_token": jones.csrf, "to": "pc.jones", "confirm": "yes"})
    assert refused.status_code == 403


def test_the_case_list_by_owner_links_to_the_hand_over(db: Session, cast: Cast,
                                                       pages: Pages) -> None:
    add_cases(db, cast.officer.user, 1)
    listed = pages(cast.supervisor).get("/cases?owner=pc.shah")
    assert 'href="/people/pc.shah/handover"' in listed.text
    assert "/handover" not in pages(cast.officer).get("/cases?owner=pc.shah").text


def test_deactivating_an_account_says_what_work_it_leaves(db: Session, cast: Cast,
                                                          pages: Pages) -> None:
    add_actions(db, add_cases(db, cast.officer.user, 3), cast.officer.user)
    admin = pages(cast.admin)
    page = admin.get("/admin/users/pc.shah")
    assert "holds <strong>3 open cases</strong> and <strong>3 open actions</strong> in " \
           "Westminster" in page.text
    saved = admin.post("/admin/users/pc.shah", data={
        "csrf_token": cast.admin.csrf, "version": str(cast.officer.user.version),
        "display_name": "PC Amira Shah", "role": "officer", "borough": WESTMINSTER,
        "force": "", "active": "no"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/users/pc.shah?deactivated=1"
    told = admin.get(saved.headers["location"])
    assert "can no longer sign in" in told.text
    assert "leaves <strong>3 open cases</strong>" in told.text
    assert "They wait in the work queue of that area" in told.text
