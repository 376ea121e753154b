"""Demo data for supervision: every open demo case's review date follows the force's cadence
from its opening, as an upgraded database's would; the Westminster sergeant's reviews of two
cases (Church Street reviewed three times, its older reviews folded on the page); and the City
operations' cases, all Sgt Byrne's, reviewed by the City's other sergeant at the operations'
meeting (nobody reviews their own case). Lisson Green, never reviewed since it opened 40 days
ago, is overdue: it leads Sgt Okafor's work queue (and Broadgate, weeks old, Sgt Quinn's).

The reviews go through the review service (so the rules, the timeline and the access log
apply) and are then dated on the days the story says, as ``app.demo`` dates its timelines.
Loading the demo again adds nothing: the reviews are made once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases.models import Case, CaseEvent, EventKind
from app.clock import LONDON, today
from app.reviews.models import CaseReview
from app.reviews.schedule import reschedule_for_priority
from app.reviews.schemas import ReviewCreate
from app.reviews.service import record_review, review_summary, set_next_review
from app.sara.reviews import ReviewDecision
from app.sara.stages import Stage


@dataclass(frozen=True)
class DemoReview:
    title: str
    days_ago: int
    decision: ReviewDecision
    note: str
    next_in_days: int  # after the review's own day


REVIEWER, CITY_REVIEWER = "sgt.okafor", "sgt.quinn"
CITY = "E09000001"
OPERATIONS_MEETING = DemoReview(
    "", 6, ReviewDecision.CONTINUE, "Reviewed at the operations meeting with Sgt Byrne: "
    "patrols and outputs on plan, nothing to change before the next meeting.", 14)
REVIEWS = (
    DemoReview("Street violence around Church Street market", 70, ReviewDecision.CONTINUE,
               "CHEERS evidence is solid and the ward panel backs it. Get the analysis done "
               "before the summer market season.", 28),
    DemoReview("Street violence around Church Street market", 40,
               ReviewDecision.CHANGE_APPROACH,
               "Assaults cluster at pack-up time, not at lunchtime: move the patrols to "
               "16:00-18:00 and ask the markets team about staggered closing.", 28),
    DemoReview("Street violence around Church Street market", 11, ReviewDecision.CONTINUE,
               "Patrols at pack-up are delivered and the CCTV action is late: chase the CCTV "
               "team this week.", 14),
    DemoReview("Anti-social behaviour at Marylebone station forecourt", 144,
               ReviewDecision.CONTINUE,
               "Network Rail and the council are both in: a low-priority problem that the "
               "partners are handling well. Next look in four months.", 112),
    DemoReview("Anti-social behaviour at Marylebone station forecourt", 30,
               ReviewDecision.READY_TO_CLOSE,
               "The assessment shows fewer incidents and the station manager agrees. Close "
               "once the last month's figures are in.", 56),
)


def ensure_reviews(db: Session, users: dict[str, User], *, make: bool = True) -> int:
    """Date every open case's next review from its opening and (``make``) make the demo's
    reviews, unless they exist. Returns the number of reviews made."""
    if db.scalar(select(func.count(CaseReview.id))):
        return 0
    for case in db.scalars(select(Case).where(Case.stage != Stage.CLOSED,
                                              Case.next_review_on.is_not(None))):
        reschedule_for_priority(db, case)  # from the opening day: nothing reviewed yet
    db.commit()
    if not make:
        return 0
    reviewer = users.get(REVIEWER)
    made = 0
    for review in REVIEWS:
        case = db.scalar(select(Case).where(Case.title == review.title))
        if reviewer is None or case is None or case.stage is Stage.CLOSED:
            continue
        _review(db, reviewer, case, review)
        made += 1
    city_reviewer = users.get(CITY_REVIEWER)
    for case in db.scalars(select(Case).where(
            Case.borough_code == CITY, Case.operation_id.is_not(None),
            Case.stage != Stage.CLOSED).order_by(Case.id)):
        if city_reviewer is not None and case.owner_id != city_reviewer.id:
            _review(db, city_reviewer, case, OPERATIONS_MEETING)
            made += 1
    return made


def _review(db: Session, reviewer: User, case: Case, story: DemoReview) -> None:
    """Record the review now, then date it on its day with the next date it set then."""
    made_on = today() - timedelta(days=story.days_ago)
    at = datetime.combine(made_on, time(15, 30), LONDON)
    due_on = case.next_review_on
    next_on = made_on + timedelta(days=story.next_in_days)
    actor = Actor(reviewer, Channel.CLI, client_addr="local", operator="demo")
    made = record_review(db, actor, case.ref, ReviewCreate(note=story.note,
                                                           decision=story.decision))
    made.reviewed_at, made.next_review_on = at, next_on
    event = db.scalar(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.SUPERVISORY_REVIEW)
        .order_by(CaseEvent.id.desc()).limit(1))
    assert event is not None
    event.at = at
    event.summary = review_summary(story.decision, due_on, made_on, next_on)
    event.details = {**event.details, "next_review_on": next_on.isoformat()}
    set_next_review(db, case, next_on)
    last = db.scalar(select(func.max(CaseEvent.at)).where(CaseEvent.case_id == case.id))
    db.execute(update(Case).where(Case.id == case.id).values(last_activity_at=last),
               execution_options={"synchronize_session": False})
    db.commit()

