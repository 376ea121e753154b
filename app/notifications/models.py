from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.enums import str_enum


class NotificationKind(StrEnum):
    ACTION_ASSIGNED = "action_assigned"
    ACTION_DUE = "action_due"
    ACTION_OVERDUE = "action_overdue"
    REVIEW_DUE = "review_due"
    REVIEW_OVERDUE = "review_overdue"
    CONCERN_ROUTED = "concern_routed"
    OVERRIDE_TO_REVIEW = "override_to_review"
    HANDED_OVER = "handed_over"

    @property
    def label(self) -> str:
        return {"action_assigned": "Action assigned to you",
                "action_due": "Action due",
                "action_overdue": "Action overdue",
                "review_due": "Supervisory review due",
                "review_overdue": "Supervisory review overdue",
                "concern_routed": "Community concern for your area",
                "override_to_review": "Gate override awaiting your review",
                "handed_over": "Work handed over to you"}[self.value]


class Notification(Base):
    """One thing one person should know about. ``key`` names the fact it reports (for example
    ``action_overdue:412:2026-12-06``): the unique (user, key) pair is what makes producing
    notifications idempotent, however often and from however many processes it runs."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind))
    key: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                                index=True)
    # Shown in popcase only; e-mail carries the kind and a link, never case text.
    summary: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Set when an e-mail carrying it was handed to the SMTP server (claimed before sending).
    emailed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        # The header's count and the list: a person's unread notifications, newest first.
        Index("ix_notifications_user_read_created", "user_id", "read_at", "created_at"),
    )


class Delivery(StrEnum):
    """How a person wants one kind of notification by e-mail (in popcase they see them all)."""

    OFF = "off"
    IMMEDIATE = "immediate"
    DAILY = "daily"

    @property
    def label(self) -> str:
        return {"off": "Not by e-mail", "immediate": "By e-mail at once",
                "daily": "In a daily e-mail"}[self.value]


class NotificationPreference(Base):
    """A person's e-mail choice for one kind; no row means no e-mail for that kind."""

    __tablename__ = "notification_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind))
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery, length=16))
    # When e-mail for this kind was switched on: older notifications are not mailed, so opting
    # in does not send a year of history.
    since: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "kind"),)


class NotificationDigest(Base):
    """A daily digest claimed for one person and one London day: the unique pair is what keeps
    several processes from sending it twice."""

    __tablename__ = "notification_digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date]
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "day"),)
