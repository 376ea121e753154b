"""E-mail notifications delivered to a real SMTP server (aiosmtpd on loopback), on a committed
database of their own: content, preferences, digests, never twice, retried after a refusal."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.auth.roles import Role
from app.cases import content, service
from app.cases.models import Case
from app.cases.schemas import ActionCreate, CaseCreate
from app.clock import LONDON
from app.main import create_app
from app.notifications import service as notifications
from app.notifications.mail import MailReport, send_due
from app.notifications.models import Notification, NotificationDigest
from app.notifications.produce import produce
from app.notifications.schemas import PreferencesUpdate
from app.reference.models import Borough
from app.settings import Settings
from tests.conftest import WESTMINSTER, new_case_body
from tests.mailbox import Mailbox, free_port, smtp_server

MORNING = datetime(2026, 12, 7, 10, 0, tzinfo=LONDON)
EARLY = datetime(2026, 12, 7, 6, 30, tzinfo=LONDON)  # before the digest hour (7)
TODAY = date(2026, 12, 7)
BASE = "https://popcase.example.police.uk"
TITLE = "Robberies by the Church Street market"
ACTION = "Ask the market manager to move stall 14"


@dataclass
class World:
    factory: sessionmaker[Session]
    officer: Actor
    supervisor: Actor
    ref: str
    case_id: int


def _user(db: Session, username: str, role: Role, email: str | None) -> User:
    area = db.get(Borough, WESTMINSTER)
    assert area is not None
    user = User(username=username, display_name=username.title(), role=role,
                borough_code=WESTMINSTER, force_id=area.force_id, email=email)
    db.add(user)
    db.commit()
    return user


@pytest.fixture
def world(fresh_factory: sessionmaker[Session]) -> World:
    """An officer with an overdue action and a supervisor with a review due, both with
    addresses; nobody has opted into e-mail yet."""
    with fresh_factory() as db:
        officer = Actor(_user(db, "pc.shah", Role.OFFICER, "amira.shah@met.police.uk"),
                        Channel.API)
        supervisor = Actor(_user(db, "sgt.okafor", Role.SUPERVISOR, "d.okafor@met.police.uk"),
                           Channel.API)
        case = service.create_case(db, officer, CaseCreate.model_validate(
            new_case_body(title=TITLE)))
        action = content.add_action(db, officer, case.ref, ActionCreate.model_validate(
            {"title": ACTION, "due_date": TODAY - timedelta(days=2)}))
        assert officer.user is not None
        action.assignee_id = officer.user.id
        case.next_review_on = TODAY + timedelta(days=3)
        db.commit()
        return World(fresh_factory, officer, supervisor, case.ref, case.id)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def settings_for(box: Mailbox, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": box.host, "smtp_port": box.port, "smtp_starttls": False,
        "smtp_from": "popcase@met.police.uk", "base_url": BASE + "/", "digest_hour": 7}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def opt_in(world: World, actor: Actor, **delivery: str) -> None:
    with world.factory() as db:
        user = db.get(User, actor.user.id)  # type: ignore[union-attr]
        assert user is not None
        me = Actor(user, Channel.API)
        current = notifications.get_preferences(db, me)
        notifications.set_preferences(db, me, PreferencesUpdate(
            version=current.version, email=user.email, delivery=delivery))  # type: ignore[arg-type]


def run(world: World, settings: Settings, now: datetime = MORNING) -> MailReport:
    with world.factory() as db:
        produce(db, now=now)
    return send_due(world.factory, settings, now=now)


def emailed(world: World) -> int:
    with world.factory() as db:
        return db.scalar(select(func.count(Notification.id)).where(
            Notification.emailed_at.is_not(None))) or 0


def test_an_immediate_email_carries_refs_and_links_but_no_case_text(
        world: World, mailbox: Mailbox) -> None:
    opt_in(world, world.officer, action_overdue="immediate", action_assigned="immediate")
    report = run(world, settings_for(mailbox))
    assert (report.emails_sent, report.digests_sent, report.failures) == (1, 0, 0)
    [mail] = mailbox.received
    assert mail.rcpt_tos == ["amira.shah@met.police.uk"]
    assert mail.message["To"] == "amira.shah@met.police.uk"
    assert mail.mail_from == "popcase@met.police.uk"
    subject = mail.message["Subject"]
    assert subject == "popcase notification: 1 action assigned, 1 action overdue"
    assert world.ref not in subject
    body = mail.body
    assert f"Action overdue: {world.ref}" in body
    assert f"Action assigned to you: {world.ref}" in body
    assert f"{BASE}/cases/{world.ref}" in body and "//cases" not in body
    assert f"{BASE}/notifications/settings" in body
    for secret in (TITLE, ACTION, "Church Street", "market"):
        assert secret not in body and secret not in subject
    # A second run, or a third, sends nothing again.
    assert run(world, settings_for(mailbox)).emails_sent == 0
    assert run(world, settings_for(mailbox)).emails_sent == 0
    assert len(mailbox.received) == 1


def _new_review_date(world: World, days: int) -> None:
    """A new review date: a new fact to notify."""
    with world.factory() as db:
        case = db.get(Case, world.case_id)
        assert case is not None
        case.next_review_on = TODAY + timedelta(days=days)
        db.commit()


def test_preferences_off_sends_nothing_and_daily_waits_for_the_digest(
        world: World, mailbox: Mailbox) -> None:
    settings = settings_for(mailbox)
    report = run(world, settings)  # nobody opted in
    assert (report.emails_sent, report.digests_sent) == (0, 0) and mailbox.received == []
    opt_in(world, world.supervisor, review_due="daily")
    # What was notified before opting in is not mailed.
    assert run(world, settings).digests_sent == 0 and mailbox.received == []
    _new_review_date(world, 4)
    early = run(world, settings, EARLY)
    assert (early.emails_sent, early.digests_sent) == (0, 0) and mailbox.received == []
    report = run(world, settings, MORNING)
    assert (report.emails_sent, report.digests_sent) == (0, 1)
    [digest] = mailbox.received
    assert digest.rcpt_tos == ["d.okafor@met.police.uk"]
    assert digest.message["Subject"] == "popcase daily summary: 1 review due"
    assert f"Supervisory review due: {world.ref}" in digest.body and TITLE not in digest.body
    # Once a day: a later run that day sends none, even with something new to tell.
    assert run(world, settings, MORNING + timedelta(hours=5)).digests_sent == 0
    _new_review_date(world, 5)
    assert run(world, settings, MORNING + timedelta(hours=6)).digests_sent == 0
    tomorrow = run(world, settings, MORNING + timedelta(days=1))
    assert tomorrow.digests_sent == 1 and len(mailbox.received) == 2
    assert mailbox.received[1].message["Subject"] == "popcase daily summary: 1 review due"
    with world.factory() as db:
        assert db.scalar(select(func.count(NotificationDigest.id))) == 2


def test_read_notifications_and_other_kinds_are_not_mailed(world: World,
                                                            mailbox: Mailbox) -> None:
    opt_in(world, world.officer, action_overdue="immediate")
    with world.factory() as db:
        produce(db, now=MORNING)
        notifications.mark_all_read(db, world.officer)
    report = send_due(world.factory, settings_for(mailbox), now=MORNING)
    assert report.emails_sent == 0 and mailbox.received == []


def test_a_refused_delivery_is_retried_by_a_later_run(world: World, mailbox: Mailbox) -> None:
    opt_in(world, world.officer, action_overdue="immediate")
    mailbox.refuse = True
    refused = run(world, settings_for(mailbox))
    assert (refused.emails_sent, refused.failures, refused.unreachable) == (0, 1, False)
    assert mailbox.received == [] and emailed(world) == 0  # the claim was released
    mailbox.refuse = False
    retried = run(world, settings_for(mailbox))
    assert (retried.emails_sent, retried.failures) == (1, 0) and len(mailbox.received) == 1
    assert emailed(world) == 1


def test_an_unreachable_server_is_reported_and_nothing_is_lost(world: World,
                                                               mailbox: Mailbox) -> None:
    opt_in(world, world.officer, action_overdue="immediate")
    opt_in(world, world.supervisor, review_due="immediate")
    down = run(world, settings_for(mailbox, smtp_port=free_port(), smtp_timeout_seconds=2))
    assert down.unreachable and down.failures == 1 and down.emails_sent == 0
    assert emailed(world) == 0
    back = run(world, settings_for(mailbox))
    assert back.emails_sent == 2 and not back.unreachable
    assert sorted(m.rcpt_tos[0] for m in mailbox.received) == [
        "amira.shah@met.police.uk", "d.okafor@met.police.uk"]


def test_no_email_without_a_host_an_address_or_an_active_account(world: World,
                                                                  mailbox: Mailbox) -> None:
    opt_in(world, world.officer, action_overdue="immediate")
    opt_in(world, world.supervisor, review_due="immediate")
    assert not run(world, settings_for(mailbox, smtp_host="")).enabled
    with world.factory() as db:
        officer = db.get(User, world.officer.user.id)  # type: ignore[union-attr]
        supervisor = db.get(User, world.supervisor.user.id)  # type: ignore[union-attr]
        assert officer is not None and supervisor is not None
        officer.active = False
        supervisor.email = None
        db.commit()
    report = run(world, settings_for(mailbox))
    assert report.emails_sent == 0 and mailbox.received == []


def _together(jobs: int, work: object) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(jobs)

    def run_one() -> None:
        try:
            start.wait()
            work()  # type: ignore[operator]
        except BaseException as exc:  # reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=run_one) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_two_senders_at_once_send_each_email_once(world: World, mailbox: Mailbox) -> None:
    opt_in(world, world.officer, action_overdue="immediate")
    opt_in(world, world.supervisor, review_due="daily")
    with world.factory() as db:
        produce(db, now=MORNING)
    settings = settings_for(mailbox)
    reports: list[MailReport] = []
    assert _together(4, lambda: reports.append(
        send_due(world.factory, settings, now=MORNING))) == []
    assert sum(r.emails_sent for r in reports) == 1 and sum(r.digests_sent for r in reports) == 1
    assert sorted(m.rcpt_tos[0] for m in mailbox.received) == [
        "amira.shah@met.police.uk", "d.okafor@met.police.uk"]


def test_producers_running_at_once_add_each_notification_once(world: World) -> None:
    """Four runs at the same moment, each with its own session and connection, then two more:
    each (person, fact) once."""
    def produce_once() -> None:
        with world.factory() as db:
            produce(db, now=MORNING)

    assert _together(4, produce_once) == []
    produce_once()
    produce_once()
    with world.factory() as db:
        keys = db.execute(select(Notification.user_id, Notification.key)).all()
    # The officer: assigned and overdue; the supervisor: the review due.
    assert len(keys) == len(set(keys)) == 3


def test_the_server_runs_the_same_step_when_asked(world: World, mailbox: Mailbox) -> None:
    """POPCASE_NOTIFY_EVERY_MINUTES: a thread of the server process produces and sends, and
    stops with the server."""
    opt_in(world, world.officer, action_overdue="immediate")
    settings = settings_for(mailbox, notify_every_minutes=0.005)  # every 0.3 s
    app = create_app(settings, world.factory)
    with TestClient(app):
        deadline = time.monotonic() + 30
        while not mailbox.received and time.monotonic() < deadline:
            time.sleep(0.1)
        loop = app.state.notify_loop
    assert loop is not None and not loop.thread.is_alive()
    assert [m.rcpt_tos for m in mailbox.received] == [["amira.shah@met.police.uk"]]
    with world.factory() as db:
        assert db.scalar(select(func.count(Notification.id))) == 3
    # Without the setting there is no thread.
    with TestClient(create_app(settings_for(mailbox), world.factory)) as client:
        assert client.app.state.notify_loop is None  # type: ignore[attr-defined]
