"""Supervisory reviews on the pages: the case page's review panel and form (with and without
htmx), its GOV.UK error messages, the refusals, the work queue led by overdue reviews, and the
admin's cadence form."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.roles import Role
from app.cases import moves
from app.cases.models import Case
from app.cases.schemas import TransitionRequest
from app.clock import today
from app.reviews.models import CaseReview, ReviewCadence
from tests.conftest import Cast, Person
from tests.web.test_pages import HTMX, Pages, field_error, open_case


def review_form(person: Person, **fields: str) -> dict[str, str]:
    return {"csrf_token": person.csrf, "review-note": "Patrols delivered; keep going.",
            "review-decision": "continue", **fields}


def due_in(db: Session, ref: str, days: int) -> None:
    db.execute(update(Case).where(Case.ref == ref).values(
        next_review_on=today() + timedelta(days=days)))
    db.commit()


def close(db: Session, supervisor: Person, ref: str) -> None:
    for stage in ("analysis", "response", "assessment", "closed"):
        moves.move_case(db, supervisor.actor, ref, TransitionRequest(
            to=stage, override=True, reason="Handled elsewhere"))


def test_the_case_page_shows_the_next_review_and_overdue_days(
        db: Session, cast: Cast, pages: Pages) -> None:
    ref = open_case(db, cast.officer, priority="high")
    page = pages(cast.officer).get(f"/cases/{ref}").text
    assert f"Next review: <strong>{(today() + timedelta(days=14)):%-d %b %Y}</strong>" in page
    assert "every 14 days" in page
    assert "Record a review" not in page  # officers do not review
    due_in(db, ref, -4)
    page = pages(cast.officer).get(f"/cases/{ref}").text
    assert 'id="review-overdue">Overdue by 4 days' in page


def test_a_supervisor_records_a_review_without_javascript(db: Session, cast: Cast,
                                                          pages: Pages) -> None:
    ref = open_case(db, cast.officer, priority="medium")
    supervisor = pages(cast.supervisor)
    page = supervisor.get(f"/cases/{ref}").text
    assert "Record a review" in page
    default = today() + timedelta(days=28)
    assert f'name="review-next_review_on-day" type="text" inputmode="numeric" ' \
           f'value="{default.day}"' in page
    chosen = today() + timedelta(days=10)
    saved = supervisor.post(f"/cases/{ref}/reviews", data=review_form(
        cast.supervisor, **{"review-decision": "escalate",
                            "review-note": "Weapons found: the inspector should see this.",
                            "review-next_review_on-day": str(chosen.day),
                            "review-next_review_on-month": str(chosen.month),
                            "review-next_review_on-year": str(chosen.year)}))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/cases/{ref}?flash=reviewed#review"
    page = supervisor.get(saved.headers["location"]).text
    assert "The review is recorded." in page
    assert "Last reviewed" in page and "<strong>Escalate to the inspector</strong>" in page
    assert 'id="review-history" open' in page  # the review just recorded is shown
    assert "Weapons found: the inspector should see this." in page
    assert db.scalar(select(Case.next_review_on).where(Case.ref == ref)) == chosen
    assert "Supervisory review: Escalate to the inspector" in page  # on the timeline


def test_recording_with_htmx_swaps_the_panel(db: Session, cast: Cast, pages: Pages) -> None:
    ref = open_case(db, cast.officer)
    response = pages(cast.supervisor).post(f"/cases/{ref}/reviews", headers=HTMX,
                                           data=review_form(cast.supervisor))
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="review"')
    assert '<hx-partial hx-target="#timeline"' in response.text
    assert "Continue as planned" in response.text


def test_review_errors_name_each_field_and_keep_the_input(db: Session, cast: Cast,
                                                         pages: Pages) -> None:
    ref = open_case(db, cast.officer, priority="high")
    supervisor = pages(cast.supervisor)
    response = supervisor.post(f"/cases/{ref}/reviews", data={
        "csrf_token": cast.supervisor.csrf, "review-note": "", "review-reason_for_later": "x",
        "review-next_review_on-day": "31", "review-next_review_on-month": "2",
        "review-next_review_on-year": str(today().year + 1)})
    assert response.status_code == 422
    page = response.text
    assert field_error(page, "review-note") == "Enter a note."
    assert field_error(page, "review-decision") == "Choose a decision."
    assert field_error(page, "review-next_review_on") == \
        f"31 February {today().year + 1} is not a real date."
    summary = re.findall(r'<li><a href="#([^"]+)">', page)
    assert summary == ["review-note", "review-decision", "review-next_review_on-day"]
    assert 'value="31"' in page and "<details class=\"govuk-details app-review__form\" open" \
        in page
    far = today() + timedelta(days=60)
    later = supervisor.post(f"/cases/{ref}/reviews", data=review_form(
        cast.supervisor, **{"review-next_review_on-day": str(far.day),
                            "review-next_review_on-month": str(far.month),
                            "review-next_review_on-year": str(far.year)}))
    assert later.status_code == 422
    assert "twice the cadence" in html.unescape(field_error(later.text,
                                                           "review-next_review_on"))
    assert db.scalar(select(CaseReview.id)) is None


def test_refusals_closed_case_and_own_case(db: Session, cast: Cast, pages: Pages) -> None:
    supervisor = pages(cast.supervisor)
    own = open_case(db, cast.supervisor)
    page = supervisor.get(f"/cases/{own}").text
    assert "Record a review" not in page
    assert "You own this case: another supervisor" in page
    assert supervisor.post(f"/cases/{own}/reviews",
                           data=review_form(cast.supervisor)).status_code == 403
    ref = open_case(db, cast.officer)
    close(db, cast.supervisor, ref)
    page = supervisor.get(f"/cases/{ref}").text
    assert "No review is due: the case is closed." in page and "Record a review" not in page
    refused = supervisor.post(f"/cases/{ref}/reviews", data=review_form(cast.supervisor))
    assert refused.status_code == 409
    assert "The review was not recorded" in refused.text and "is closed" in refused.text
    assert pages(cast.officer).post(f"/cases/{open_case(db, cast.officer)}/reviews",
                                    data=review_form(cast.officer)).status_code == 403


def test_overdue_reviews_lead_the_queue_page(db: Session, cast: Cast, pages: Pages) -> None:
    refs = {days: open_case(db, cast.officer, title=f"Late {days}") for days in (3, 12)}
    for days, ref in refs.items():
        due_in(db, ref, -days)
    soon = open_case(db, cast.officer, title="Soon")
    due_in(db, soon, 2)
    page = pages(cast.supervisor).get("/queue").text
    headings = re.findall(r'<h2 class="govuk-heading-m" id="([^"]+)"', page)
    assert headings[:3] == ["reviews-overdue", "reviews-due", "overrides"]
    listed = re.findall(r'data-review-ref="([^"]+)"', page)
    assert listed == [refs[12], refs[3], soon]
    assert "12 days overdue" in page and "Due in 2 days" in page
    assert '<strong data-queue="reviews_overdue">2</strong>' in page


def test_the_admin_sets_the_cadence_on_the_force_page(
        db: Session, cast: Cast, pages: Pages, make_person: Callable[..., Person]) -> None:
    admin = pages(cast.admin)
    page = admin.get("/admin/forces/metropolitan").text
    assert "Supervisory review cadence" in page and 'id="cadence-high"' in page
    bad = admin.post("/admin/forces/metropolitan/review-cadence", data={
        "csrf_token": cast.admin.csrf, "cadence-high": "0", "cadence-medium": "",
        "cadence-low": "40"})
    assert bad.status_code == 422
    assert field_error(bad.text, "cadence-high") == \
        "The days between reviews of high priority cases must be 1 or more."
    assert field_error(bad.text, "cadence-medium") == \
        "Enter the days between reviews of medium priority cases as a whole number."
    assert 'value="40"' in bad.text
    saved = admin.post("/admin/forces/metropolitan/review-cadence", data={
        "csrf_token": cast.admin.csrf, "cadence-high": "10", "cadence-medium": "20",
        "cadence-low": "40"})
    assert saved.status_code == 303
    assert "The review cadence is saved." in admin.get(saved.headers["location"]).text
    days: dict[Any, int] = dict(db.execute(select(ReviewCadence.priority, ReviewCadence.days)
                                           .where(ReviewCadence.force_id == "metropolitan")
                                           ).all())
    assert days == {"high": 10, "medium": 20, "low": 40}
    city_admin = make_person("admin.city", Role.ADMIN, None, force="city-of-london")
    other = pages(city_admin)
    page = other.get("/admin/forces/metropolitan").text
    assert "You administer another force" in page and 'id="cadence-high"' not in page
    assert other.post("/admin/forces/metropolitan/review-cadence", data={
        "csrf_token": city_admin.csrf, "cadence-high": "1", "cadence-medium": "2",
        "cadence-low": "3"}).status_code == 403
    assert pages(cast.supervisor).post("/admin/forces/metropolitan/review-cadence", data={
        "csrf_token": cast.supervisor.csrf, "cadence-high": "1", "cadence-medium": "2",
        "cadence-low": "3"}).status_code == 403


def test_the_case_list_filters_overdue_reviews(db: Session, cast: Cast, pages: Pages) -> None:
    late, fine = open_case(db, cast.officer, title="Late one"), open_case(db, cast.officer)
    due_in(db, late, -1)
    page = pages(cast.supervisor).get("/cases", params={"review": "overdue"}).text
    assert f'href="/cases/{late}"' in page and f'href="/cases/{fine}"' not in page
    assert "Review overdue" in page
    queue = pages(cast.supervisor).get("/queue").text
    assert 'href="/cases?review=overdue"' in queue
