"""Retention on the pages: the queue (officers refused), a review form's GOV.UK errors naming
each field, retain then dispose without JavaScript, and the admin's retention periods form."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.clock import today
from app.retention.models import RetentionPeriod
from tests.conftest import Cast
from tests.web.test_pages import Pages, field_error, open_case
from tests.web.test_review_pages import close


def test_a_supervisor_reviews_from_the_queue_and_errors_name_the_fields(
        db: Session, cast: Cast, pages: Pages) -> None:
    ref = open_case(db, cast.officer)
    close(db, cast.supervisor, ref)
    db.execute(update(Case).where(Case.ref == ref).values(
        retention_review_on=today() - timedelta(days=3)))
    db.commit()
    supervisor = pages(cast.supervisor)
    queue = supervisor.get("/retention").text
    assert f'data-retention-ref="{ref}"' in queue and "3 days overdue" in queue
    assert pages(cast.officer).get("/retention").status_code == 403
    odd = supervisor.get("/retention?due=never&force=atlantis")
    assert odd.status_code == 200 and "Some choices were ignored" in odd.text
    assert f'data-retention-ref="{ref}"' in odd.text  # the default: due within 30 days
    assert pages(cast.officer).get(f"/retention/{ref}").status_code == 403

    form = {"csrf_token": cast.supervisor.csrf}
    wrong = supervisor.post(f"/retention/{ref}/reviews", data=form)
    assert wrong.status_code == 422
    page = html.unescape(wrong.text)
    assert 'href="#decision"' in page and 'href="#reason"' in page
    assert field_error(wrong.text, "decision") and field_error(wrong.text, "reason")
    no_date = supervisor.post(f"/retention/{ref}/reviews", data={
        **form, "decision": "retain", "reason": "Claim pending"})
    assert no_date.status_code == 422
    assert "next retention review" in field_error(no_date.text, "next_review_on")

    later = today() + timedelta(days=200)
    kept = supervisor.post(f"/retention/{ref}/reviews", data={
        **form, "decision": "retain", "reason": "Claim pending",
        "next_review_on-day": str(later.day), "next_review_on-month": str(later.month),
        "next_review_on-year": str(later.year)})
    assert kept.status_code == 303 and kept.headers["location"].endswith("flash=retained")
    assert db.scalar(select(Case.retention_review_on).where(Case.ref == ref)) == later
    gone = supervisor.post(f"/retention/{ref}/reviews", data={
        **form, "decision": "dispose", "reason": "Period over",
        "next_review_on-day": "", "next_review_on-month": "", "next_review_on-year": ""})
    assert gone.status_code == 303
    page = supervisor.get(gone.headers["location"]).text
    assert "The case&#39;s personal data is disposed of." in page
    assert "Record the review" not in page
    again = supervisor.post(f"/retention/{ref}/reviews", data={
        **form, "decision": "dispose", "reason": "Twice"})
    assert again.status_code == 409 and "disposed of on" in again.text


def test_an_admin_sets_the_retention_periods(db: Session, cast: Cast, pages: Pages) -> None:
    admin = pages(cast.admin)
    page = admin.get("/admin/forces/metropolitan").text
    assert 'id="retention-violent-crime"' in page and 'value="120"' in page
    form = {"csrf_token": cast.admin.csrf, **{
        name: "72" for name in ("retention-anti-social-behaviour", "retention-bicycle-theft",
                                "retention-burglary", "retention-criminal-damage-arson",
                                "retention-drugs", "retention-other-theft",
                                "retention-possession-of-weapons", "retention-public-order",
                                "retention-robbery", "retention-shoplifting",
                                "retention-theft-from-the-person", "retention-vehicle-crime",
                                "retention-violent-crime", "retention-other-crime")}}
    wrong = admin.post("/admin/forces/metropolitan/retention-periods",
                       data={**form, "retention-drugs": "0"})
    assert wrong.status_code == 422
    assert "from 1 to 1200" in field_error(wrong.text, "retention-drugs")
    saved = admin.post("/admin/forces/metropolitan/retention-periods",
                       data={**form, "retention-drugs": "96"})
    assert saved.status_code == 303
    assert db.scalar(select(RetentionPeriod.months).where(
        RetentionPeriod.force_id == "metropolitan", RetentionPeriod.category == "drugs")) == 96
    refused = pages(cast.supervisor).post("/admin/forces/metropolitan/retention-periods",
                                          data={**form, "csrf_token": cast.supervisor.csrf})
    assert refused.status_code == 403
