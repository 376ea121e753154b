"""One notification run (produce, then send), for `popcase notify` and for the loop that
`popcase serve` may run. Any number of processes may run it at once: producing and sending are
both claimed in the database, never in a process."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from app.notifications.mail import MailReport, send_due
from app.notifications.produce import ProduceReport, produce
from app.observability.logs import job
from app.observability.metrics import notifications_sent
from app.settings import Settings

log = logging.getLogger("popcase.notifications")


@dataclass(frozen=True)
class RunReport:
    produced: ProduceReport
    mail: MailReport

    def as_dict(self) -> dict[str, object]:
        return {"produced": self.produced.total, "produced_by_kind": self.produced.produced,
                "emails_sent": self.mail.emails_sent, "digests_sent": self.mail.digests_sent,
                "failures": self.mail.failures, "smtp_unreachable": self.mail.unreachable,
                "email_enabled": self.mail.enabled}


def run_once(factory: sessionmaker[Session], settings: Settings) -> RunReport:
    now = utcnow()
    with job("notify") as line:
        with factory() as db:
            produced = produce(db, now=now)
        report = RunReport(produced, send_due(factory, settings, now=now))
        notifications_sent(report.mail.emails_sent, report.mail.digests_sent)
        line.update(produced=produced.total, emails_sent=report.mail.emails_sent,
                    digests_sent=report.mail.digests_sent, failures=report.mail.failures)
    return report


class NotifyLoop:
    """A daemon thread that runs ``run_once`` every so many minutes until stopped."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory, self.settings = factory, settings
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="popcase-notify", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def _loop(self) -> None:
        interval = self.settings.notify_every_minutes * 60
        while not self.stopped.wait(interval):
            try:
                report = run_once(self.factory, self.settings)
                if report.produced.total or report.mail.emails_sent or report.mail.failures:
                    log.info("notifications: %s", report.as_dict())
            except Exception:  # the loop must outlive a database restart
                log.exception("a notification run failed; the next one will try again")
