"""E-mail for the notifications people opted into, at once or as a daily digest.

E-mail leaves the system, so a message carries as little as will do: the subject only counts
(no case text), the body gives each item's kind, its case reference and a link back to popcase;
never a title, a note, a summary or a name. It goes to the notification's own account's address
and nowhere else, and never to a deactivated account.

Never twice: each person's notifications are claimed (``emailed_at`` set only where it is still
empty, in a committed transaction) before the message goes to the SMTP server; a refusal releases
the claim so a later run tries again. A daily digest is claimed the same way, by its unique
(person, London day) row. A crash between the claim and the hand-over loses that message rather
than risk sending it twice.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import AuditAction, record
from app.auth.models import User
from app.cases.models import Case
from app.clock import local, london_day
from app.notifications.models import (
    Delivery,
    Notification,
    NotificationDigest,
    NotificationKind,
    NotificationPreference,
)
from app.notifications.service import readable
from app.settings import Settings

log = logging.getLogger("popcase.notifications")

# How a count reads in a subject line: (one, several).
COUNTED = {
    NotificationKind.ACTION_ASSIGNED: ("action assigned", "actions assigned"),
    NotificationKind.ACTION_DUE: ("action due", "actions due"),
    NotificationKind.ACTION_OVERDUE: ("action overdue", "actions overdue"),
    NotificationKind.REVIEW_DUE: ("review due", "reviews due"),
    NotificationKind.REVIEW_OVERDUE: ("review overdue", "reviews overdue"),
    NotificationKind.CONCERN_ROUTED: ("concern to triage", "concerns to triage"),
    NotificationKind.OVERRIDE_TO_REVIEW: ("gate override to review", "gate overrides to review"),
    NotificationKind.HANDED_OVER: ("item handed over", "items handed over"),
}


@dataclass
class MailReport:
    enabled: bool = True
    emails_sent: int = 0  # messages sent at once
    digests_sent: int = 0
    failures: int = 0  # messages the server refused or could not take
    unreachable: bool = False  # the server could not be reached while mail was waiting


@dataclass(frozen=True)
class Item:
    id: int
    kind: NotificationKind
    case_ref: str | None
    link: str


class Unreachable(Exception):
    """The SMTP server could not be reached: no point trying more messages this run."""


def send_due(factory: sessionmaker[Session], settings: Settings, *, now: datetime) -> MailReport:
    """Send what is due at ``now``: the immediate e-mails, and the daily digests once the
    digest hour has come (London time)."""
    report = MailReport(enabled=bool(settings.smtp_host))
    if not report.enabled:
        return report
    try:
        with factory() as db:
            waiting = _waiting(db, Delivery.IMMEDIATE)
        for user_id, items in waiting.items():
            if _send_claimed(factory, settings, user_id, items, now, report, digest_day=None):
                report.emails_sent += 1
        if local(now).hour >= settings.digest_hour:
            day = london_day(now)
            with factory() as db:
                waiting = _waiting(db, Delivery.DAILY)
            for user_id, items in waiting.items():
                if _send_claimed(factory, settings, user_id, items, now, report, digest_day=day):
                    report.digests_sent += 1
    except Unreachable:
        report.unreachable = True
    return report


def _waiting(db: Session, delivery: Delivery) -> dict[int, list[Item]]:
    """Per active account with an address: its unread, not yet mailed notifications of the
    kinds it wants by ``delivery``, made since it asked for them, about cases it may read."""
    rows = db.execute(
        select(User, Notification.id, Notification.kind, Case.ref, Notification.link)
        .join(Notification, Notification.user_id == User.id)
        .join(NotificationPreference, and_(NotificationPreference.user_id == User.id,
                                           NotificationPreference.kind == Notification.kind))
        .outerjoin(Case, Case.id == Notification.case_id)
        .where(User.active, User.email.is_not(None), User.email != "",
               NotificationPreference.delivery == delivery,
               Notification.created_at >= NotificationPreference.since,
               Notification.emailed_at.is_(None), Notification.read_at.is_(None))
        .order_by(User.id, Notification.created_at, Notification.id)).all()
    waiting: dict[int, list[Item]] = defaultdict(list)
    allowed: dict[int, set[int]] = {}
    for user, notification_id, kind, ref, link in rows:
        if user.id not in allowed:  # the case-read rule, once per person
            allowed[user.id] = set(db.scalars(select(Notification.id).where(
                readable(user), Notification.emailed_at.is_(None),
                Notification.read_at.is_(None))))
        if notification_id in allowed[user.id]:
            waiting[user.id].append(Item(notification_id, kind, ref, link))
    return dict(waiting)


def _send_claimed(factory: sessionmaker[Session], settings: Settings, user_id: int,
                  items: list[Item], now: datetime, report: MailReport, *,
                  digest_day: date | None) -> bool:
    """Claim, send, and release the claim if the server did not take the message."""
    with factory() as db:
        user = db.get(User, user_id)
        if user is None or not user.active or not user.email:
            return False
        address, username = user.email, user.username
        if digest_day is not None and not _claim_digest(db, user_id, digest_day, now):
            db.rollback()
            return False  # already sent today, by this process or another
        claimed = set(db.scalars(
            update(Notification).where(Notification.id.in_([i.id for i in items]),
                                       Notification.emailed_at.is_(None))
            .values(emailed_at=now).returning(Notification.id)
            .execution_options(synchronize_session=False)))
        if not claimed:
            db.rollback()
            return False
        db.commit()
    mine = [item for item in items if item.id in claimed]
    message = compose(settings, address, mine, digest=digest_day is not None)
    try:
        deliver(settings, message)
    except Unreachable:
        report.failures += 1
        _release(factory, user_id, claimed, now, digest_day)
        raise
    except smtplib.SMTPException as exc:
        log.warning("the SMTP server refused a message for %s: %s", username, exc)
        report.failures += 1
        _release(factory, user_id, claimed, now, digest_day)
        return False
    with factory() as db:  # a system job's entry (no Actor) after the send: not use_case
        record(db, None, AuditAction.NOTIFICATIONS_EMAIL, object_type="user",
               object_ref=username, actor_name="popcase notify",
               details={"notifications": sorted(claimed), "digest": digest_day is not None})
        db.commit()
    return True


def _claim_digest(db: Session, user_id: int, day: date, now: datetime) -> bool:
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    return db.execute(dialect.insert(NotificationDigest).values(
        user_id=user_id, day=day, claimed_at=now).on_conflict_do_nothing(
        index_elements=["user_id", "day"]).returning(NotificationDigest.id)).first() is not None


def _release(factory: sessionmaker[Session], user_id: int, claimed: set[int], now: datetime,
             digest_day: date | None) -> None:
    """Give the claim back so that a later run tries again."""
    with factory() as db:
        db.execute(update(Notification).where(
            Notification.id.in_(claimed), Notification.emailed_at == now)
            .values(emailed_at=None).execution_options(synchronize_session=False))
        if digest_day is not None:
            db.execute(delete(NotificationDigest).where(NotificationDigest.user_id == user_id,
                                                        NotificationDigest.day == digest_day))
        db.commit()


# --- the message -------------------------------------------------------------------------------

def subject_line(items: list[Item], *, digest: bool) -> str:
    counts = Counter(item.kind for item in items)
    parts = [f"{count} {COUNTED[kind][0 if count == 1 else 1]}"
             for kind in NotificationKind if (count := counts[kind])]
    return f"popcase {'daily summary' if digest else 'notification'}: {', '.join(parts)}"


def compose(settings: Settings, address: str, items: list[Item], *,
            digest: bool) -> EmailMessage:
    base = settings.base_url.rstrip("/")
    lines = [f"popcase has {len(items)} notification{'s' if len(items) != 1 else ''} "
             f"for you{' since the last summary' if digest else ''}:", ""]
    for item in items:
        lines.append(f"- {item.kind.label}" + (f": {item.case_ref}" if item.case_ref else ""))
        lines.append(f"  {base}{item.link or '/notifications'}")
    lines += ["", f"All your notifications: {base}/notifications",
              f"Choose what comes by e-mail: {base}/notifications/settings",
              "", "This message holds no case details: sign in to popcase to read them."]
    message = EmailMessage()
    message["Subject"] = subject_line(items, digest=digest)
    message["From"] = settings.smtp_from
    message["To"] = address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(lines))
    return message


def deliver(settings: Settings, message: EmailMessage) -> None:
    """Hand one message to the configured server. Raises ``Unreachable`` when the server cannot
    be reached, ``smtplib.SMTPException`` when it refuses the message."""
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                            timeout=settings.smtp_timeout_seconds)
    except (OSError, smtplib.SMTPConnectError) as exc:
        raise Unreachable(str(exc)) from exc
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message, to_addrs=[message["To"]])
    except smtplib.SMTPServerDisconnected as exc:
        raise Unreachable(str(exc)) from exc
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
