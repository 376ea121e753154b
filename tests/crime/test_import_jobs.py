"""Import jobs run by workers: an upload queues a job, a worker imports it; two workers never
take the same job; a worker killed with SIGKILL mid-import leaves its job to another worker,
which takes it once the lease has lapsed and imports the file whole, from a clean start."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

import app
from app.auth.roles import Role
from app.crime import jobs
from app.crime.models import ImportBatch, ImportJob, ImportStatus, JobStatus, StreetCrime
from app.db import utcnow
from app.main import create_app
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import Site, site, street_file
from tests.crime.test_import_crash import write_street_file

ROWS = 250_000  # several chunks and commits: seconds of work, never done before the kill
LEASE_S = 3  # short, so that the test's second worker takes the job over soon
CHECKOUT = Path(app.__file__).resolve().parent.parent  # the code under test, for subprocesses


def rows_in(path: Path) -> int:
    """A direct count of a CSV file's data rows."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        return sum(1 for _ in csv.reader(stream)) - 1


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# --- an upload, queued and run by a worker ------------------------------------------------------

@pytest.fixture(scope="module")
def uploads(db_url: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Site, Person]]:
    with site(db_url, tmp_path_factory, "import_jobs") as jobs_site:
        with jobs_site.factory() as db:
            analyst = create_person(db, "analyst.jobs", Role.ANALYST, None, "Ada Jobs")
        yield jobs_site, analyst


@needs_data
def test_an_upload_is_queued_then_a_worker_imports_it(uploads: tuple[Site, Person]) -> None:
    jobs_site, analyst = uploads
    path = street_file("2024-04")
    later: list[Callable[[], None]] = []
    jobs_site.app.state.run_in_background = later.append  # no worker of the request's own
    try:
        with jobs_site.client(analyst) as client:
            response = client.post("/data/police-uk", data={"csrf_token": analyst.csrf},
                                   files={"file": (path.name, path.read_bytes(), "text/csv")})
            assert response.status_code == 303, response.text[:300]
            waiting = client.get("/data").text
    finally:
        jobs_site.app.state.run_in_background = lambda job: job()
    with jobs_site.factory() as db:
        job = db.scalars(select(ImportJob).order_by(ImportJob.id.desc())).first()
        assert job is not None and job.status is JobStatus.QUEUED
        assert job.user_id == analyst.user.id and job.file_name == path.name
        saved = Path(job.path)
        assert saved.read_bytes() == path.read_bytes()  # any worker can read it
    assert f"Waiting for a worker: {path.name}." in waiting
    assert 'hx-trigger="every 2s"' in waiting  # the page follows the queued job

    settings: Settings = jobs_site.app.state.settings
    assert jobs.work(jobs_site.factory, settings) == 1
    assert jobs.work(jobs_site.factory, settings) == 0  # nothing left to claim

    with jobs_site.factory() as db:
        job = db.get_one(ImportJob, job.id)
        assert (job.status, job.attempts, job.lease_until) == (JobStatus.DONE, 1, None)
        batch = db.scalars(select(ImportBatch).where(ImportBatch.job_id == job.id)).one()
        assert (batch.source, batch.status, batch.actor) == (path.name, ImportStatus.DONE,
                                                             "analyst.jobs")
        assert batch.rows_read == rows_in(path)
        assert db.scalar(select(func.count()).select_from(StreetCrime)
                         .where(StreetCrime.batch_id == batch.id)) == batch.added
    assert not saved.exists() and not saved.parent.exists()  # the job's file went with it
    with jobs_site.client(analyst) as client:
        assert "Waiting for a worker" not in client.get("/data").text


@needs_data
def test_a_server_runs_a_worker_that_imports_an_upload(
        empty_database: str, fresh_factory: sessionmaker[Session]) -> None:
    """`popcase serve` on SQLite (or with the worker switched on): the app's own worker loop,
    woken by the upload, imports the file."""
    with fresh_factory() as db:
        analyst = create_person(db, "analyst.serve", Role.ANALYST, None, "Sam Serve")
    path = street_file("2024-05")
    settings = Settings(database_url=empty_database, environment="test",
                        import_worker_in_server="on", import_poll_seconds=600)
    server = create_app(settings, fresh_factory)
    with TestClient(server, base_url="http://testserver", follow_redirects=False) as client:
        assert server.state.import_worker is not None
        client.cookies.set(SESSION_COOKIE, analyst.session_secret)
        response = client.post("/data/police-uk", data={"csrf_token": analyst.csrf},
                               files={"file": (path.name, path.read_bytes(), "text/csv")})
        assert response.status_code == 303, response.text[:300]

        def imported() -> bool:
            with fresh_factory() as db:
                return db.scalar(select(ImportJob.status)) is JobStatus.DONE

        wait_for(imported, "the server's worker to import the upload")  # woken, not polled
    with fresh_factory() as db:
        batch = db.scalars(select(ImportBatch)).one()
        assert (batch.status, batch.rows_read) == (ImportStatus.DONE, rows_in(path))


@needs_data
def test_a_job_whose_file_is_gone_fails_and_says_so(uploads: tuple[Site, Person]) -> None:
    """A worker that cannot read the saved file (a jobs folder not shared with the worker's
    machine) fails the job; the page names it, as no import batch does."""
    jobs_site, analyst = uploads
    path = street_file("2024-06")
    jobs_site.app.state.run_in_background = lambda job: None
    try:
        with jobs_site.client(analyst) as client:
            response = client.post("/data/police-uk", data={"csrf_token": analyst.csrf},
                                   files={"file": (path.name, path.read_bytes(), "text/csv")})
            assert response.status_code == 303, response.text[:300]
    finally:
        jobs_site.app.state.run_in_background = lambda job: job()
    with jobs_site.factory() as db:
        job = db.scalars(select(ImportJob).order_by(ImportJob.id.desc())).first()
        assert job is not None
    jobs.remove_file(job.path)
    assert jobs.work(jobs_site.factory, jobs_site.app.state.settings) == 1
    with jobs_site.factory() as db:
        job = db.get_one(ImportJob, job.id)
        assert job.status is JobStatus.FAILED
        assert job.message.startswith("The file is not in the jobs folder any more")
    with jobs_site.client(analyst) as client:
        page = client.get("/data").text
    assert f'id="job-{job.id}"' in page and path.name in page
    assert 'hx-trigger="every 2s"' not in page


# --- claims ------------------------------------------------------------------------------------

def queue(factory: sessionmaker[Session], n: int) -> list[int]:
    with factory() as db:
        queued = [ImportJob(status=JobStatus.QUEUED, path=f"/nowhere/{i}.csv",
                            file_name=f"{i}.csv") for i in range(n)]
        db.add_all(queued)
        db.commit()
        return [job.id for job in queued]


def test_two_workers_never_take_the_same_job(empty_database: str,
                                              fresh_factory: sessionmaker[Session]) -> None:
    settings = Settings(database_url=empty_database)
    ids = queue(fresh_factory, 24)
    taken: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claimer(name: str) -> None:
        start.wait()
        while (job := jobs.claim(fresh_factory, settings, name)) is not None:
            taken[name].append(job.id)

    threads = [threading.Thread(target=claimer, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(taken["a"]) & set(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == ids
    with fresh_factory() as db:
        held = {job.id: job.worker for job in db.scalars(select(ImportJob))}
    assert held == {**dict.fromkeys(taken["a"], "a"), **dict.fromkeys(taken["b"], "b")}


def test_a_held_job_is_taken_only_once_its_lease_has_lapsed(
        empty_database: str, fresh_factory: sessionmaker[Session]) -> None:
    settings = Settings(database_url=empty_database, import_max_attempts=2)
    [job_id] = queue(fresh_factory, 1)
    first = jobs.claim(fresh_factory, settings, "a")
    assert first is not None and first.attempts == 1
    assert jobs.claim(fresh_factory, settings, "b") is None  # a's lease runs
    assert jobs.renew(fresh_factory, settings, job_id, "a")

    def lapse() -> None:
        with fresh_factory() as db:
            db.execute(update(ImportJob).values(lease_until=utcnow() - timedelta(seconds=1)))
            db.commit()

    lapse()
    second = jobs.claim(fresh_factory, settings, "b")
    assert second is not None and (second.id, second.attempts) == (job_id, 2)
    assert not jobs.renew(fresh_factory, settings, job_id, "a")  # a has lost it
    lapse()  # b dies too: two attempts were allowed, so the job is given up
    assert jobs.claim(fresh_factory, settings, "c") is None
    with fresh_factory() as db:
        job = db.get_one(ImportJob, job_id)
        assert job.status is JobStatus.FAILED
        assert job.message.startswith("The import stopped without finishing 2 times")


# --- a worker killed mid-import -----------------------------------------------------------------

def popcase(url: str, folder: Path, *args: str,
            output: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "popcase"), *args]
    env = dict(os.environ, POPCASE_DATABASE_URL=url, POPCASE_IMPORT_JOBS_DIR=str(folder),
               POPCASE_IMPORT_LEASE_SECONDS=str(LEASE_S), POPCASE_IMPORT_POLL_SECONDS="0.2",
               PYTHONPATH=str(CHECKOUT))
    return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.DEVNULL)


def alive(process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, "the worker stopped"
    return True


def job_state(factory: sessionmaker[Session], job_id: int) -> ImportJob:
    with factory() as db:
        return db.get_one(ImportJob, job_id)


def committed_rows(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        return db.scalar(select(func.count()).select_from(StreetCrime)) or 0


def test_a_worker_killed_mid_import_leaves_its_job_to_another(
        empty_database: str, fresh_factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "2024-03-city-of-london-street.csv"
    write_street_file(path, ROWS)
    folder = tmp_path / "jobs"

    queued = popcase(empty_database, folder, "import", "police-uk", "--queue", "--json",
                     str(path), output=subprocess.PIPE)
    out, _ = queued.communicate(timeout=120)
    assert queued.returncode == 0
    [job_id] = json.loads(out)["queued"]
    assert job_state(fresh_factory, job_id).status is JobStatus.QUEUED

    first = popcase(empty_database, folder, "worker")
    try:
        wait_for(lambda: alive(first) and committed_rows(fresh_factory) > 0,
                 "the first worker to commit part of the file")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = utcnow()
    dead = job_state(fresh_factory, job_id)
    assert (dead.status, dead.attempts) == (JobStatus.RUNNING, 1)
    # The dead worker's lease lapses at most one lease length after it died.
    assert dead.lease_until is not None
    assert dead.lease_until <= killed_at + timedelta(seconds=LEASE_S)
    left = committed_rows(fresh_factory)
    assert 0 < left < ROWS  # killed mid-way

    second = popcase(empty_database, folder, "worker")
    try:
        wait_for(lambda: alive(second)
                 and job_state(fresh_factory, job_id).status is not JobStatus.RUNNING,
                 "the second worker to finish the job")
    finally:
        second.send_signal(signal.SIGTERM)  # it stops after the file it is on: there is none
        second.wait(timeout=60)
    assert second.returncode == 0

    with fresh_factory() as db:
        job = db.get_one(ImportJob, job_id)
        assert (job.status, job.attempts) == (JobStatus.DONE, 2)
        assert job.worker != dead.worker
        assert job.started_at is not None and job.started_at >= dead.lease_until  # not before
        failed, done = db.scalars(select(ImportBatch).where(ImportBatch.job_id == job_id)
                                  .order_by(ImportBatch.id)).all()
        assert (failed.status, failed.message) == (ImportStatus.FAILED, jobs.DISCARDED)
        assert db.scalar(select(func.count()).select_from(StreetCrime)
                         .where(StreetCrime.batch_id == failed.id)) == 0
        expected = rows_in(path)
        assert expected == ROWS
        assert done.status is ImportStatus.DONE
        assert (done.rows_read, done.added, done.already_present, done.rejected) == \
            (expected, expected, 0, 0)
        assert db.scalar(select(func.count()).select_from(StreetCrime)) == expected
    assert not list(folder.iterdir())  # the job's file was removed when it ended
