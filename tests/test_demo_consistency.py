"""The demo an evaluator opens first holds together: every demo case's dates, actions,
assessments and outcome agree with one another and with the figures the assessment computed
from the real police.uk data.

The rules, for every case in a freshly loaded demo (the cases are read from the database, none
is named here):

- Its timeline runs forward. The case opened with its first entry; no entry is dated before
  the opening or after now; its stage moves are dated in the order they were made; the dates
  the case shows (opened, in its stage since) are those of its timeline.
- An action is done between the case's opening and its closing (when closed), and no later
  than the timeline entry that recorded it done.
- An assessment evaluates the response the case worked. The response's start is the case's
  last move into Response before the assessment was saved; the before period ends before the
  month the response began, so that no month of it saw the response, and the after period
  starts with the first whole month of the response (the month itself when it began on the
  1st), so that it starts after the case was opened. The snapshot records that start, was
  saved on the day of its timeline entry, and after its after period had ended (figures for
  months still to come cannot exist). A baseline period set in Analysis had ended by the time
  the case left Analysis.
- A closed case's outcome agrees with its latest assessment: "fewer incidents" only if the
  target area's count fell and fell further than the control area's (odds ratio above 1);
  "problem eliminated" only if the target had crimes before and none after. The other three
  of Eck's outcomes (less harm per incident, better handling, moved to another agency) make no
  claim about the counts. The impact evaluation quotes the target's counts it rests on
  ("from B to A"), so its words cannot drift from the figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.assessment.models import AssessmentSnapshot
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.clock import london_day, today
from app.db import utcnow
from app.demo import load_demo
from app.reviews.models import CaseReview
from app.sara.assessment import Outcome
from app.sara.stages import Stage
from tests.conftest import fresh_database, migrated, needs_data

pytestmark = needs_data


@dataclass
class DemoCase:
    case: Case
    events: list[CaseEvent]  # in the order they were made
    actions: list[Action]
    snapshots: list[AssessmentSnapshot]  # oldest first
    reviews: list[CaseReview]  # oldest first

    @property
    def name(self) -> str:
        return f"{self.case.ref} ({self.case.title})"

    def moves(self) -> list[CaseEvent]:
        return [e for e in self.events if e.kind is EventKind.MOVED]

    def closed_at(self) -> datetime | None:
        """When the case was last closed, if it is closed now."""
        if self.case.stage is not Stage.CLOSED:
            return None
        return max(e.at for e in self.moves() if e.to_stage is Stage.CLOSED)


@pytest.fixture(scope="module")
def demo(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[DemoCase]]:
    """A database of its own with the whole demo loaded (London and North Wales), as
    ``popcase demo`` leaves it."""
    with fresh_database(db_url, tmp_path_factory, "demo") as url, migrated(url) as factory:
        with factory() as db:
            load_demo(db)
        yield read_cases(factory)


def read_cases(factory: sessionmaker[Session]) -> list[DemoCase]:
    with factory() as db:
        found = []
        for case in db.scalars(select(Case).order_by(Case.id)).unique():
            found.append(DemoCase(
                case=case,
                events=list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                       .order_by(CaseEvent.id)).unique()),
                actions=list(db.scalars(select(Action).where(Action.case_id == case.id)
                                        .order_by(Action.id))),
                snapshots=list(db.scalars(select(AssessmentSnapshot).where(
                    AssessmentSnapshot.case_id == case.id)
                    .order_by(AssessmentSnapshot.number)).unique()),
                reviews=list(db.scalars(select(CaseReview).where(CaseReview.case_id == case.id)
                                        .order_by(CaseReview.reviewed_at)).unique())))
        db.expunge_all()
        return found


def same_moment(one: datetime, other: datetime) -> bool:
    """Within a second: a service stamps a case and its timeline entry a moment apart."""
    return abs(one - other) < timedelta(seconds=1)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def first_whole_month(start: date) -> date:
    return start if start.day == 1 else next_month(month_of(start))


def test_the_demo_holds_every_kind_of_case_the_rules_are_about(demo: list[DemoCase]) -> None:
    """So that none of the rules below passes for want of a case to check."""
    assert demo, "the demo loaded no cases"
    assert any(c.snapshots for c in demo), "no demo case has an assessment"
    assert any(a.completed_on for c in demo for a in c.actions), "no demo action is done"
    assert any(c.case.stage is Stage.CLOSED and c.case.outcome and c.snapshots
               for c in demo), "no closed demo case with an outcome and an assessment"


def test_every_demo_case_timeline_runs_forward(demo: list[DemoCase]) -> None:
    now, problems = utcnow() + timedelta(minutes=1), []
    for item in demo:
        case, events = item.case, item.events
        if not events or events[0].kind is not EventKind.CREATED:
            problems.append(f"{item.name}: its timeline does not start with its opening")
            continue
        opened = events[0].at
        if not same_moment(case.created_at, opened):
            problems.append(f"{item.name}: opened {case.created_at}, its timeline says "
                            f"{opened}")
        early = [e for e in events if e.at < opened]
        late = [e for e in events if e.at > now]
        problems += [f"{item.name}: '{e.summary}' dated {e.at}, before the case was opened"
                     for e in early]
        problems += [f"{item.name}: '{e.summary}' dated {e.at}, in the future" for e in late]
        moves = item.moves()
        for earlier, later in pairwise(moves):
            if later.at < earlier.at:
                problems.append(f"{item.name}: '{later.summary}' ({later.at}) is dated before "
                                f"'{earlier.summary}' ({earlier.at}), made before it")
        entered = moves[-1].at if moves else opened
        if not same_moment(case.stage_entered_at, entered):
            problems.append(f"{item.name}: in {case.stage.value} since "
                            f"{case.stage_entered_at}, its timeline says since {entered}")
    assert not problems, "\n".join(problems)


def test_every_demo_action_is_done_while_its_case_was_open(demo: list[DemoCase]) -> None:
    problems = []
    for item in demo:
        opened, closed = london_day(item.case.created_at), item.closed_at()
        for action in item.actions:
            done = action.completed_on
            if done is None:
                continue
            if done < opened:
                problems.append(f"{item.name}: '{action.title}' done on {done}, before the "
                                f"case was opened on {opened}")
            if closed is not None and done > london_day(closed):
                problems.append(f"{item.name}: '{action.title}' done on {done}, after the "
                                f"case was closed on {london_day(closed)}")
            recorded = [e.at for e in item.events if e.kind is EventKind.ACTION
                        and e.details.get("action") == action.id
                        and (e.summary.startswith("Added") or "status" in
                             e.details.get("fields", []))]
            if recorded and done > london_day(max(recorded)):
                problems.append(f"{item.name}: '{action.title}' done on {done}, after the "
                                f"timeline recorded it done on {london_day(max(recorded))}")
    assert not problems, "\n".join(problems)


def test_every_demo_assessment_evaluates_the_response_its_case_worked(
        demo: list[DemoCase]) -> None:
    problems = []
    for item in demo:
        problems += baseline_problems(item)
        for snapshot in item.snapshots:
            problems += snapshot_problems(item, snapshot)
    assert not problems, "\n".join(problems)


def baseline_problems(item: DemoCase) -> list[str]:
    baseline_end = item.case.baseline_end
    left = [e.at for e in item.moves() if e.from_stage is Stage.ANALYSIS]
    if baseline_end is None or not left or baseline_end < london_day(min(left)):
        return []
    return [f"{item.name}: its baseline ends on {baseline_end}, after the case left Analysis "
            f"on {london_day(min(left))}"]


def snapshot_problems(item: DemoCase, snapshot: AssessmentSnapshot) -> list[str]:
    name = f"{item.name}, assessment {snapshot.number}"
    saved = [e.at for e in item.events if e.kind is EventKind.ASSESSMENT
             and e.details.get("snapshot") == snapshot.number]
    if len(saved) != 1:
        return [f"{name}: its timeline has {len(saved)} entries for it"]
    problems = []
    if london_day(snapshot.created_at) != london_day(saved[0]):
        problems.append(f"{name}: saved on {london_day(snapshot.created_at)}, its timeline "
                        f"says {london_day(saved[0])}")
    if london_day(saved[0]) < next_month(snapshot.after_last):
        problems.append(f"{name}: saved on {london_day(saved[0])}, before its after period "
                        f"(to {snapshot.after_last:%b %Y}) had ended")
    responses = [e.at for e in item.moves() if e.to_stage is Stage.RESPONSE and e.at <= saved[0]]
    if not responses:
        return [*problems, f"{name}: saved before the case's response began"]
    began = london_day(max(responses))
    recorded = snapshot.results.get("response_start")
    if recorded != began.isoformat():
        problems.append(f"{name}: records the response as begun on {recorded}, its timeline "
                        f"says {began}")
    if snapshot.before_last >= month_of(began):
        problems.append(f"{name}: its before period runs to {snapshot.before_last:%b %Y}, "
                        f"when the response had begun ({began})")
    if snapshot.after_first < first_whole_month(began):
        problems.append(f"{name}: its after period starts in {snapshot.after_first:%b %Y}, "
                        f"before the response's first whole month (it began on {began})")
    return problems


def test_every_closed_demo_case_outcome_agrees_with_its_figures(demo: list[DemoCase]) -> None:
    problems = []
    for item in demo:
        case = item.case
        if case.stage is not Stage.CLOSED or case.outcome is None or not item.snapshots:
            continue
        results = item.snapshots[-1].results
        target = results["areas"]["target"]
        before, after = target["before"], target["after"]
        ratio = results["odds_ratio"]["value"]
        if case.outcome is Outcome.FEWER_INCIDENTS:
            if after >= before:
                problems.append(f"{item.name}: 'fewer incidents', but the target went from "
                                f"{before} to {after}")
            if ratio is not None and ratio <= 1:
                problems.append(f"{item.name}: 'fewer incidents', but the target did no "
                                f"better than the control (odds ratio {ratio:.2f})")
        if case.outcome is Outcome.ELIMINATED and (before == 0 or after > 0):
            problems.append(f"{item.name}: 'problem eliminated', but the target went from "
                            f"{before} to {after}")
        if f"from {before} to {after}" not in case.impact_evaluation:
            problems.append(f"{item.name}: its impact evaluation does not quote the target's "
                            f"counts (from {before} to {after}): {case.impact_evaluation!r}")
    assert not problems, "\n".join(problems)


def test_every_demo_case_has_its_review_date_and_its_reviews_hold_together(
        demo: list[DemoCase]) -> None:
    """An open case has a next review date, a closed one none; each review was made while the
    case was open, after the one before, on the day its timeline entry says, and set the date
    the next review was due (the last one, the case's date). The Westminster queue has an
    overdue review to show, and some case has more reviews than the page shows unfolded."""
    problems = []
    for item in demo:
        case = item.case
        if (case.stage is Stage.CLOSED) != (case.next_review_on is None):
            problems.append(f"{item.name}: {case.stage.value} with next review "
                            f"{case.next_review_on}")
        entries = [e for e in item.events if e.kind is EventKind.SUPERVISORY_REVIEW]
        if len(entries) != len(item.reviews):
            problems.append(f"{item.name}: {len(item.reviews)} reviews, {len(entries)} on the "
                            "timeline")
            continue
        for before, after in pairwise(item.reviews):
            if after.due_on != before.next_review_on:
                problems.append(f"{item.name}: a review due {after.due_on}, but the one "
                                f"before set {before.next_review_on}")
        for review, entry in zip(item.reviews, entries, strict=True):
            if not same_moment(review.reviewed_at, entry.at):
                problems.append(f"{item.name}: reviewed {review.reviewed_at}, its timeline "
                                f"says {entry.at}")
            if not item.case.created_at < review.reviewed_at <= utcnow():
                problems.append(f"{item.name}: reviewed {review.reviewed_at}, outside the "
                                "case's life")
            if review.next_review_on <= london_day(review.reviewed_at):
                problems.append(f"{item.name}: a review set its next date on or before its "
                                "own day")
        if item.reviews and item.reviews[-1].next_review_on != case.next_review_on:
            problems.append(f"{item.name}: its last review set {item.reviews[-1].next_review_on}"
                            f", the case says {case.next_review_on}")
    assert problems == []
    overdue = [c.case.ref for c in demo if c.case.borough_code == "E09000033"
               and c.case.next_review_on and c.case.next_review_on < today()]
    assert overdue, "no Westminster demo case's review is overdue"
    assert any(len(c.reviews) > 2 for c in demo), "no demo case has folded reviews"
