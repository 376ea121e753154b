"""Prometheus metrics (``prometheus-client``), served at ``/metrics`` to a configured scraper.

Counters and histograms live in this module and are bumped where things happen. With
``PROMETHEUS_MULTIPROC_DIR`` set (``popcase serve --workers N`` sets a fresh one) the client
keeps them in files that every worker shares, and a scrape of any worker sums them all. What
the database knows (imports running, the access log's checkpoint age) is read at scrape time,
so every process and machine reports the same.
"""

from __future__ import annotations

import atexit
import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from typing import Any
from weakref import WeakSet

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from app.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Page and API answers take milliseconds; imports and exports run to tens of seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUEST_SECONDS = Histogram(
    "popcase_http_request_duration_seconds", "HTTP request latency, by route template.",
    ["route", "method", "status"], buckets=LATENCY_BUCKETS)
POOL_CHECKED_OUT = Gauge(
    "popcase_db_pool_checked_out", "Database connections in use (summed over workers).",
    multiprocess_mode="livesum")
POOL_SIZE = Gauge(
    "popcase_db_pool_size", "Database connections kept open per pool (summed over workers).",
    multiprocess_mode="livesum")
IMPORT_ROWS = Counter(
    "popcase_import_rows", "Rows added by finished police.uk imports.", ["kind"])
IMPORTS_FINISHED = Counter(
    "popcase_imports_finished", "police.uk imports finished, by outcome.", ["status"])
IMPORT_FAILURES = Counter("popcase_import_failures", "police.uk imports that failed.")
ACCESS_LOG_ENTRIES = Counter(
    "popcase_access_log_entries", "Access-log entries committed.")
NOTIFICATIONS_SENT = Counter(
    "popcase_notifications_sent", "Notification e-mails sent, by kind.", ["kind"])

_ENTRIES_KEY = "popcase.metrics.access_entries"  # Session.info: entries this transaction wrote
_watched: WeakSet[Engine] = WeakSet()


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


if multiprocess_mode():
    # A worker that ends takes its live gauges (pool in use) out of the sums.
    atexit.register(multiprocess.mark_process_dead, os.getpid())


# --- bumped where things happen ---------------------------------------------------------------

def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route=route, method=method, status=str(status)).observe(seconds)


def import_done(kind: str, added: int) -> None:
    IMPORTS_FINISHED.labels(status="done").inc()
    IMPORT_ROWS.labels(kind=kind or "unknown").inc(added)


def import_failed() -> None:
    IMPORTS_FINISHED.labels(status="failed").inc()
    IMPORT_FAILURES.inc()


def notifications_sent(emails: int, digests: int) -> None:
    if emails:
        NOTIFICATIONS_SENT.labels(kind="email").inc(emails)
    if digests:
        NOTIFICATIONS_SENT.labels(kind="digest").inc(digests)


def note_access_entry(db: Session) -> None:
    """Called by ``app.audit.service.record``: counted once the transaction commits."""
    db.info[_ENTRIES_KEY] = db.info.get(_ENTRIES_KEY, 0) + 1


@event.listens_for(Session, "after_commit")
def _count_committed_entries(db: Session) -> None:
    written = db.info.pop(_ENTRIES_KEY, 0)
    if written:
        ACCESS_LOG_ENTRIES.inc(written)


@event.listens_for(Session, "after_transaction_end")
def _forget_rolled_back_entries(db: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        db.info.pop(_ENTRIES_KEY, None)


def watch_pool(engine: Engine) -> None:
    """Connections in use and pool size of ``engine`` (once per engine)."""
    if engine in _watched:
        return
    _watched.add(engine)
    size = getattr(engine.pool, "size", None)
    if callable(size):
        POOL_SIZE.inc(size())

    @event.listens_for(engine, "checkout")
    def _out(*_args: Any) -> None:
        POOL_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _in(*_args: Any) -> None:
        POOL_CHECKED_OUT.dec()


# --- read at scrape time ----------------------------------------------------------------------

class _DatabaseCollector(Collector):
    """What the database and the checkpoint file say, at the moment of the scrape."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory, self.settings = factory, settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from app.crime.models import ImportBatch, ImportStatus

        try:
            with self.factory() as db:
                running = db.scalar(select(func.count()).select_from(ImportBatch)
                                    .where(ImportBatch.status == ImportStatus.RUNNING))
        except SQLAlchemyError:  # the scrape still answers while the database is away
            running = None
        yield GaugeMetricFamily("popcase_database_up",
                                "1 when the database answered this scrape, else 0.",
                                value=0 if running is None else 1)
        if running is not None:
            yield GaugeMetricFamily("popcase_imports_running",
                                    "police.uk imports running now, in any process.",
                                    value=running)
        age = checkpoint_age_seconds(self.settings)
        if age is not None:
            yield GaugeMetricFamily(
                "popcase_audit_checkpoint_age_seconds",
                "Seconds since the newest signed checkpoint of the access log.", value=age)


def checkpoint_age_seconds(settings: Settings) -> float | None:
    """Age of the newest checkpoint in the checkpoint file; None without a file (none set, or
    standard output) or before the first checkpoint."""
    from app.audit.checkpoints import Witness, newest_in

    witness = Witness.parse(settings.audit_checkpoint_file)
    if not settings.audit_checkpoint_file.strip() or witness.path is None:
        return None
    newest = newest_in(witness.path)
    if newest is None:
        return None
    return max(0.0, time.time() - newest.made_at().timestamp())


def exposition(factory: sessionmaker[Session], settings: Settings) -> tuple[bytes, str]:
    """The scrape's body and content type."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_DatabaseCollector(factory, settings))
    return generate_latest(registry) + generate_latest(scraped), CONTENT_TYPE_LATEST


# --- who may scrape ---------------------------------------------------------------------------

def configured(settings: Settings) -> bool:
    return bool(settings.metrics_token or settings.metrics_allow.strip())


def refusal(settings: Settings, authorization: str, client: str) -> int | None:
    """None when the scraper may read the metrics; else the status to answer (404 when
    metrics are off: the route then does not exist as far as anyone can tell)."""
    if not configured(settings):
        return 404
    if settings.metrics_token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return 401
        if not hmac.compare_digest(given.strip().encode(), settings.metrics_token.encode()):
            return 403
    if settings.metrics_allow.strip() and not address_allowed(settings.metrics_allow, client):
        return 403
    return None


def address_allowed(allow: str, client: str) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    for item in (part.strip() for part in allow.split(",")):
        try:
            if item and address in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


# --- jobs -------------------------------------------------------------------------------------

def import_finished(batch: Any) -> None:
    """Called once an import's outcome is committed (done or failed): its counters and its job
    line. Counts and ids only: a file's name or a refusal's text is not logged."""
    from app.observability.logs import job_line

    status = getattr(batch.status, "value", str(batch.status))
    kind = batch.kind.value if batch.kind else ""
    if status == "done":
        import_done(kind, batch.added)
    else:
        import_failed()
    seconds = ((batch.finished_at - batch.started_at).total_seconds()
               if batch.finished_at and batch.started_at else None)
    job_line("import", status=status, import_id=batch.id, kind=kind or None,
             force_id=batch.force_id, user_id=batch.user_id, rows_read=batch.rows_read,
             added=batch.added, already_present=batch.already_present,
             rejected=batch.rejected,
             duration_ms=round(seconds * 1000, 1) if seconds is not None else None)
