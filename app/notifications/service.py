"""Notifications: producing one row per person and fact (never twice), and each person's own
list, read marks and e-mail preferences."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import visible_cases
from app.cases.access import acting_user
from app.cases.models import Case
from app.db import rowcount, utcnow
from app.errors import NotFound, StaleVersion
from app.notifications.models import (
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from app.notifications.schemas import (
    NotificationList,
    NotificationQuery,
    NotificationRead,
    PreferencesRead,
    PreferencesUpdate,
    ReadAll,
)
from app.usecase import use_case


def notify(db: Session, *, user: User, kind: NotificationKind, key: str, summary: str,
           link: str = "", case_id: int | None = None) -> bool:
    """Add a notification for ``user`` unless one with the same ``key`` exists; inactive
    accounts get none. Part of the caller's transaction. True when one was added."""
    if not user.active:
        return False
    values = {"user_id": user.id, "kind": kind, "key": key[:200], "summary": summary[:300],
              "link": link[:300], "case_id": case_id, "created_at": utcnow()}
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Notification).values(**values).on_conflict_do_nothing(
        index_elements=["user_id", "key"]).returning(Notification.id)
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT that went through SQLAlchemy's
    # PostgreSQL path here, which would count a conflict as an insert.
    return db.execute(statement).first() is not None


# --- a person's own list -----------------------------------------------------------------------

def readable(user: User) -> ColumnElement[bool]:
    """A person's own notifications, less those about a case they may no longer read (moved to
    another area): its summary would leak the case's title."""
    return and_(Notification.user_id == user.id, or_(
        Notification.case_id.is_(None),
        Notification.case_id.in_(select(Case.id).where(visible_cases(user, Case.borough_code)))))


def unread_count(db: Session, user: User) -> int:
    """For the header of every page: one count on the (user, read_at) index."""
    return db.scalar(select(func.count(Notification.id)).where(
        readable(user), Notification.read_at.is_(None))) or 0


def list_notifications(db: Session, actor: Actor, query: NotificationQuery) -> NotificationList:
    user = acting_user(actor)
    conditions = [readable(user)]
    if query.unread:
        conditions.append(Notification.read_at.is_(None))
    if query.kind:
        conditions.append(Notification.kind == query.kind)
    total = db.scalar(select(func.count(Notification.id)).where(*conditions)) or 0
    rows = db.execute(
        select(Notification, Case.ref).outerjoin(Case, Case.id == Notification.case_id)
        .where(*conditions).order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(query.limit).offset(query.offset)).all()
    result = NotificationList(items=[_read(n, ref) for n, ref in rows], total=total,
                              unread=unread_count(db, user))
    record_read(db, actor, AuditAction.NOTIFICATIONS_LIST, object_type="notifications",
                object_ref=user.username,
                details={"query": query.model_dump(mode="json", exclude_defaults=True),
                         "shown": len(rows)})
    return result


def _read(notification: Notification, ref: str | None) -> NotificationRead:
    return NotificationRead(
        id=notification.id, kind=notification.kind, label=notification.kind.label,
        summary=notification.summary, link=notification.link, case_ref=ref,
        created_at=notification.created_at, read_at=notification.read_at)


def mark_read(db: Session, actor: Actor, notification_id: int) -> NotificationRead:
    """Mark one of one's own notifications as read; anyone else's is "not found"."""
    user = acting_user(actor)
    row = db.execute(select(Notification, Case.ref)
                     .outerjoin(Case, Case.id == Notification.case_id)
                     .where(Notification.id == notification_id, readable(user))).first()
    if row is None:
        raise NotFound(f"There is no notification {notification_id}.")
    notification, ref = row
    with use_case(db, actor, AuditAction.NOTIFICATIONS_READ, object_type="notification",
                  object_ref=str(notification.id)) as done:
        if notification.read_at is not None:
            done.unchanged()  # read already
        else:
            notification.read_at = utcnow()
    return _read(notification, ref)


def mark_all_read(db: Session, actor: Actor) -> ReadAll:
    user = acting_user(actor)
    with use_case(db, actor, AuditAction.NOTIFICATIONS_READ, object_type="notifications",
                  object_ref=user.username) as done:
        marked = rowcount(db.execute(update(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None))
            .values(read_at=utcnow())))
        if marked:
            done.details = {"marked": marked}
        else:
            done.unchanged()
    return ReadAll(marked=marked, unread=0)


# --- e-mail preferences ------------------------------------------------------------------------

def deliveries(db: Session, user: User) -> dict[NotificationKind, Delivery]:
    chosen = dict(db.execute(select(NotificationPreference.kind, NotificationPreference.delivery)
                             .where(NotificationPreference.user_id == user.id)).all())
    return {kind: chosen.get(kind, Delivery.OFF) for kind in NotificationKind}


def get_preferences(db: Session, actor: Actor) -> PreferencesRead:
    user = acting_user(actor)
    return PreferencesRead(email=user.email, delivery=deliveries(db, user), version=user.version)


def set_preferences(db: Session, actor: Actor, data: PreferencesUpdate) -> PreferencesRead:
    """Set one's own address and, per kind, how it comes by e-mail. A kind switched on counts
    from now: what was notified before is not mailed."""
    user = acting_user(actor)
    if user.version != data.version:
        raise StaleVersion("Your notification settings were changed since you opened them.",
                           current_version=user.version)
    existing = {p.kind: p for p in db.scalars(select(NotificationPreference).where(
        NotificationPreference.user_id == user.id))}
    now, changed = utcnow(), []
    with use_case(db, actor, AuditAction.NOTIFICATIONS_PREFERENCES, object_type="user",
                  object_ref=user.username) as done:
        for kind in NotificationKind:
            wanted = data.delivery.get(kind, Delivery.OFF)
            current = existing.get(kind)
            if current is None and wanted is not Delivery.OFF:
                db.add(NotificationPreference(user_id=user.id, kind=kind, delivery=wanted,
                                              since=now))
            elif current is not None and current.delivery is not wanted:
                if current.delivery is Delivery.OFF:
                    current.since = now
                current.delivery = wanted
            else:
                continue
            changed.append(f"{kind.value}={wanted.value}")
        email = data.email or None
        if email != user.email:
            user.email = email
            changed.append("email")
        # The person's row carries the version of their settings: every save moves it on.
        flag_modified(user, "email")
        done.details = {"changed": changed}
    return PreferencesRead(email=user.email, delivery=deliveries(db, user), version=user.version)
