"""Import jobs: police.uk files queued in the database and imported by whichever worker claims
them, so that an import outlives the process that received the upload.

A job is a row of ``import_jobs`` and a saved file in the jobs folder. A worker claims the
oldest open job in one short transaction (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``, so
two workers never wait for or take the same row; SQLite: the claim's transaction begins
IMMEDIATE and holds the single write lock, so claims happen one after another). The claim gives
the worker a lease of ``import_lease_seconds``, which a thread renews every third of that while
the file imports. A job whose lease has lapsed (its worker was killed, its machine lost) is open
again: the next worker to look takes it, first discards every batch of the dead attempt (their
rows removed by batch id, as the importer removes a failed file's), then imports the file again
from the start. Progress stays on the batch rows, readable from any process.

No queue library is used: procrastinate and PgQueuer are PostgreSQL-only; Celery, RQ and
Dramatiq need a broker; Huey's SqlHuey runs on both databases but deletes a task when a worker
takes it, so a killed worker's task is lost. A job table with a lease is a few dozen lines on
both databases.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import AuditAction, record
from app.auth.context import Actor, Channel
from app.auth.models import User
from app.crime.cells import recount_cells
from app.crime.importer import TABLES, Report, SourceError, expand, import_sources
from app.crime.models import ImportBatch, ImportJob, ImportKind, ImportStatus, JobStatus
from app.db import reading_session, rowcount, utcnow
from app.settings import Settings, import_jobs_folder
from app.usecase import use_case

log = logging.getLogger("popcase.jobs")
FOLDER_PREFIX = "job-"  # each job's file sits in a folder of its own, removed when it ends
DISCARDED = "The worker importing this file stopped; the file was imported again from the start."


class LeaseLost(Exception):
    """Another worker holds the job now (this one was too slow to renew its lease)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:200]


# --- queueing ----------------------------------------------------------------------------------

def save_file(settings: Settings, name: str, stream: IO[bytes]) -> Path:
    """Copies an upload into a folder of its own in the jobs folder: any worker can read it."""
    folder = import_jobs_folder(settings) / f"{FOLDER_PREFIX}{secrets.token_hex(8)}"
    folder.mkdir(parents=True)
    path = folder / Path(name).name
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, length=1 << 20)
    return path.resolve()


def remove_file(path: str | Path) -> None:
    folder = Path(path).parent
    if folder.name.startswith(FOLDER_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def queue_file(db: Session, actor: Actor, path: Path, *, force_id: str | None) -> ImportJob:
    """One use case: a saved file queued for a worker, with its access-log entry."""
    with use_case(db, actor, AuditAction.DATA_IMPORT, object_type="import-job") as done:
        job = ImportJob(status=JobStatus.QUEUED, path=str(path), file_name=path.name[:500],
                        force_id=force_id, user_id=actor.user.id if actor.user else None,
                        operator=actor.operator[:64], channel=actor.channel.value,
                        message="")
        db.add(job)
        done.flush()
        done.object_ref = str(job.id)
        done.details = {"source": job.file_name, "status": "queued"}
    return job


def jobs_of(db: Session, user_id: int) -> tuple[list[ImportJob], list[ImportJob]]:
    """A person's jobs not finished yet, and those of the last week that failed before any
    file was imported (a vanished file, an account no longer allowed): no batch shows them."""
    unfinished = list(db.scalars(select(ImportJob).where(
        ImportJob.user_id == user_id,
        ImportJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])).order_by(ImportJob.id)))
    refused = list(db.scalars(select(ImportJob).where(
        ImportJob.user_id == user_id, ImportJob.status == JobStatus.FAILED,
        ImportJob.finished_at > utcnow() - timedelta(days=7),
        ~select(ImportBatch.id).where(ImportBatch.job_id == ImportJob.id).exists(),
    ).order_by(ImportJob.id.desc()).limit(5)))
    return unfinished, refused


# --- claiming ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    id: int
    path: str
    force_id: str | None
    user_id: int | None
    operator: str
    channel: str
    attempts: int


def claim(factory: sessionmaker[Session], settings: Settings, worker: str,
          job_id: int | None = None) -> Claimed | None:
    """The oldest job that is queued or whose lease has lapsed (or job ``job_id`` if it is),
    now held by ``worker``; None when there is none."""
    lease = timedelta(seconds=settings.import_lease_seconds)
    while True:
        if not _any_open(factory, job_id):  # an idle worker's look takes no write lock
            return None
        with factory() as db:
            now = utcnow()
            job = db.scalar(_open_jobs(now, job_id).with_for_update(skip_locked=True))
            if job is None:
                db.rollback()
                return None
            if job.status is JobStatus.RUNNING and job.attempts >= settings.import_max_attempts:
                _give_up(db, job, worker)  # its file killed its workers every time
                continue
            job.status, job.worker, job.started_at = JobStatus.RUNNING, worker, now
            job.attempts += 1
            job.lease_until = now + lease
            claimed = Claimed(job.id, job.path, job.force_id, job.user_id, job.operator,
                              job.channel, job.attempts)
            db.commit()
            return claimed


def _open_jobs(now: datetime, job_id: int | None) -> Select[ImportJob]:
    query = select(ImportJob).where(or_(
        ImportJob.status == JobStatus.QUEUED,
        and_(ImportJob.status == JobStatus.RUNNING, ImportJob.lease_until < now)))
    if job_id is not None:
        query = query.where(ImportJob.id == job_id)
    return query.order_by(ImportJob.id).limit(1)


def _any_open(factory: sessionmaker[Session], job_id: int | None) -> bool:
    with reading_session(factory) as db:
        return db.scalar(_open_jobs(utcnow(), job_id).with_only_columns(ImportJob.id)) \
            is not None


def _give_up(db: Session, job: ImportJob, worker: str) -> None:
    discard_attempts(db, job.id, worker)
    job.status, job.finished_at, job.lease_until = JobStatus.FAILED, utcnow(), None
    job.message = (f"The import stopped without finishing {job.attempts} times; nothing was "
                   "kept. The file may be too large for the worker's memory.")
    db.commit()
    remove_file(job.path)


def discard_attempts(db: Session, job_id: int, worker: str) -> int:
    """Removes the rows of the job's earlier attempts and marks their batches failed: the file
    is imported again whole, so its counts are those of one clean import."""
    batches = list(db.scalars(select(ImportBatch).where(
        ImportBatch.job_id == job_id, ImportBatch.status != ImportStatus.FAILED)))
    # One entry per batch, in the caller's transaction (the worker commits): not ``use_case``.
    actor = Actor(None, Channel.CLI, f"job-{job_id}", "worker", f"worker:{worker}"[:64])
    for batch in batches:
        counted = batch.status is ImportStatus.DONE
        if batch.kind in TABLES:
            table = TABLES[batch.kind]
            db.execute(delete(table).where(table.c.batch_id == batch.id))
        batch.status, batch.message, batch.finished_at = ImportStatus.FAILED, DISCARDED, utcnow()
        batch.added = batch.already_present = 0
        if counted and batch.kind is ImportKind.STREET:
            recount_cells(db, batch.force_id, batch.months)
        record(db, actor, AuditAction.DATA_IMPORT, object_type="import",
               object_ref=str(batch.id), details={"source": batch.source, "status": "discarded"})
    db.flush()
    return len(batches)


# --- the lease ---------------------------------------------------------------------------------

def renew(factory: sessionmaker[Session], settings: Settings, job_id: int, worker: str) -> bool:
    """Moves the lease forward; False if the job is no longer this worker's."""
    with factory() as db:
        renewed = db.execute(update(ImportJob).where(
            ImportJob.id == job_id, ImportJob.worker == worker,
            ImportJob.status == JobStatus.RUNNING,
        ).values(lease_until=utcnow() + timedelta(seconds=settings.import_lease_seconds)))
        db.commit()
        return bool(rowcount(renewed))


class _Lease:
    """A thread that renews the lease every third of its length while the file imports: a
    slow step (hashing a large file, recounting cells) does not let the lease lapse."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, job_id: int,
                 worker: str) -> None:
        self.factory, self.settings, self.job_id, self.worker = factory, settings, job_id, worker
        self.stopped, self.lost = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"popcase-lease-{job_id}",
                                       daemon=True)

    def __enter__(self) -> _Lease:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _renew(self) -> None:
        while not self.stopped.wait(self.settings.import_lease_seconds / 3):
            try:
                if not renew(self.factory, self.settings, self.job_id, self.worker):
                    self.lost.set()
                    return
            except Exception:  # a database blip: the next renewal may still be in time
                log.warning("job %s: the lease could not be renewed", self.job_id,
                            exc_info=True)

    def check(self, _batch: ImportBatch | None = None) -> None:
        """The importer's progress callback: stop the import once the job is another's."""
        if self.lost.is_set():
            raise LeaseLost(f"import job {self.job_id} is held by another worker now")


# --- running -----------------------------------------------------------------------------------

def run_job(factory: sessionmaker[Session], settings: Settings, job: Claimed,
            worker: str) -> list[Report]:
    """Imports a claimed job's file from a clean start and records how the job ended."""
    if job.attempts > 1:
        with factory() as db:
            if discard_attempts(db, job.id, worker):
                log.info("job %s: discarded the batches of an attempt that died", job.id)
            db.commit()
    reports: list[Report] = []
    try:
        with _Lease(factory, settings, job.id, worker) as lease:
            actor = _actor(factory, job)
            if not Path(job.path).is_file():  # said without the server's folder names
                raise _JobRefused("The file is not in the jobs folder any more: the worker "
                                  "must read the folder the server saved it to.")
            reports = import_sources(factory, actor, expand([Path(job.path)]), lease.check,
                                     force_id=job.force_id, job_id=job.id)
    except LeaseLost:
        log.warning("job %s: another worker took it over; this attempt stopped", job.id)
        return reports
    except (SourceError, _JobRefused) as refused:
        _end(factory, job, worker, JobStatus.FAILED, str(refused))
    except Exception:
        log.exception("job %s failed", job.id)
        _end(factory, job, worker, JobStatus.FAILED,
             "The import stopped unexpectedly; nothing was kept.")
    else:
        failed = sum(r.status != "done" for r in reports)
        _end(factory, job, worker, JobStatus.DONE,
             f"{len(reports)} file{'s' if len(reports) != 1 else ''} imported"
             + (f", {failed} refused or failed" if failed else ""))
    return reports


class _JobRefused(Exception):
    pass


def _actor(factory: sessionmaker[Session], job: Claimed) -> Actor:
    """Who queued the job, as they are now: one who may no longer import is refused."""
    user = None
    if job.user_id is not None:
        with factory() as db:
            user = db.get(User, job.user_id)
            if user is None or not user.active:
                raise _JobRefused("The person who uploaded the file can no longer import.")
            db.expunge(user)
    return Actor(user, Channel(job.channel), f"job-{job.id}", "worker", job.operator)


def _end(factory: sessionmaker[Session], job: Claimed, worker: str, status: JobStatus,
         message: str) -> None:
    with factory() as db:
        ended = db.execute(update(ImportJob).where(
            ImportJob.id == job.id, ImportJob.worker == worker,
            ImportJob.status == JobStatus.RUNNING,
        ).values(status=status, message=message[:2000], finished_at=utcnow(), lease_until=None))
        db.commit()
    if rowcount(ended):
        remove_file(job.path)


def run_queued(factory: sessionmaker[Session], settings: Settings, job_id: int) -> None:
    """Runs one job now if no worker has taken it (a page's "import at once" hook)."""
    worker = worker_name()
    job = claim(factory, settings, worker, job_id)
    if job is not None:
        run_job(factory, settings, job, worker)


def work(factory: sessionmaker[Session], settings: Settings,
         stop: Callable[[], bool] = lambda: False, worker: str | None = None) -> int:
    """Claims and runs jobs until none is open (or ``stop`` says so): how many it ran."""
    worker = worker or worker_name()
    done = 0
    while not stop():
        job = claim(factory, settings, worker)
        if job is None:
            break
        log.info("job %s: claimed by %s (attempt %s)", job.id, worker, job.attempts)
        run_job(factory, settings, job, worker)
        done += 1
    return done


class WorkerLoop:
    """A daemon thread that runs ``work`` every ``import_poll_seconds`` (at once when woken by
    an upload) until stopped: the worker of `popcase serve`, as NotifyLoop runs notifications."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory, self.settings = factory, settings
        self.stopped, self.nudged = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.run, name="popcase-import-worker",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def wake(self) -> None:
        self.nudged.set()

    def stop(self, timeout: float | None = 5) -> None:
        self.stopped.set()
        self.nudged.set()
        self.thread.join(timeout=timeout)

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                work(self.factory, self.settings, self.stopped.is_set)
            except Exception:  # the loop must outlive a database restart
                log.exception("the import worker failed; it will look again")
            self.nudged.wait(self.settings.import_poll_seconds)
            self.nudged.clear()
