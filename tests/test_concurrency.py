"""Concurrent writers, and readers beside them, on a real, committed database (not the
rolled-back test connection, whose one transaction cannot show how SQLite's begin)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEntry
from app.audit.service import AuditAction, record_read, verify_chain
from app.auth import throttle
from app.auth.context import Actor, Channel
from app.auth.models import ANY_USERNAME, RateCounter, SigninThrottle, User
from app.auth.roles import Role
from app.cases import service
from app.cases.models import Case, CaseEvent, EventKind
from app.cases.schemas import CaseCreate, CaseUpdate
from app.clock import today
from app.db import SQLITE_BUSY_TIMEOUT_MS, is_busy, reading_session, utcnow
from app.errors import Conflict, StaleVersion
from app.main import create_app
from app.patrols import service as patrols
from app.patrols.models import Patrol
from app.patrols.schemas import OutputCorrection, OutputsCreate, PatrolCreate, PatrolStart
from app.sara.patrols import OutputKind
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from tests.conftest import WESTMINSTER, Person, create_person, new_case_body


@pytest.fixture
def factory(fresh_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    return fresh_factory


@pytest.fixture
def officer(factory: sessionmaker[Session]) -> Actor:
    with factory() as db:
        user = User(username="pc.shah", display_name="PC Shah", role=Role.OFFICER,
                    borough_code=WESTMINSTER)
        db.add(user)
        db.commit()
        return Actor(user, Channel.API)


def test_simultaneous_openings_get_distinct_references(factory: sessionmaker[Session],
                                                       officer: Actor) -> None:
    refs: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_one(number: int) -> None:
        try:
            with factory() as db:
                start.wait()
                case = service.create_case(db, officer, CaseCreate.model_validate(
                    new_case_body(title=f"Problem {number}")))
                refs.append(case.ref)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(refs) == len(set(refs)) == 6
    assert sorted(int(ref[-4:]) for ref in refs) == [1, 2, 3, 4, 5, 6]


def test_an_update_based_on_a_stale_read_is_refused(factory: sessionmaker[Session],
                                                    officer: Actor) -> None:
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
    # Two people open the case at version 1; the first saves, then the second.
    with factory() as first:
        service.update_case(first, officer, ref,
                            CaseUpdate(version=1, title="Changed by the first"))
    with factory() as second, pytest.raises(StaleVersion) as raised:
        service.update_case(second, officer, ref, CaseUpdate(version=1, title="Second"))
    assert raised.value.current_version == 2
    with factory() as db:
        assert db.scalar(select(Case.title).where(Case.ref == ref)) == "Changed by the first"


def test_a_write_racing_inside_the_same_moment_is_refused(factory: sessionmaker[Session],
                                                          officer: Actor,
                                                          empty_database: str) -> None:
    """Both writers have read version 1 inside their transactions before either writes.
    (SQLite transactions take the write lock when they begin, so there two writers queue
    instead of overlapping: the race can only be staged on PostgreSQL.)"""
    if empty_database.startswith("sqlite"):
        pytest.skip("SQLite serialises writers at BEGIN: no overlap to stage")
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
    first, second = factory(), factory()
    try:
        second_case = second.scalar(select(Case).where(Case.ref == ref))
        assert second_case is not None and second_case.version == 1
        service.update_case(first, officer, ref, CaseUpdate(version=1, title="First wins"))
        with pytest.raises(StaleVersion):
            service.update_case(second, officer, ref, CaseUpdate(version=1, title="Too late"))
    finally:
        first.close()
        second.close()


# --- many writers at once ----------------------------------------------------------------------

def _officers(factory: sessionmaker[Session], count: int) -> list[Actor]:
    with factory() as db:
        users = [User(username=f"pc.{n:02d}", display_name=f"PC {n:02d}", role=Role.OFFICER,
                      borough_code=WESTMINSTER) for n in range(count)]
        db.add_all(users)
        db.commit()
        return [Actor(user, Channel.API) for user in users]


def _together(work: list[Callable[[], object]]) -> list[BaseException]:
    """Run each piece of work in its own thread, all released at the same moment."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def run(job: Callable[[], object]) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:  # reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_twenty_concurrent_patrol_and_output_writers_leave_exact_totals(
        factory: sessionmaker[Session], officer: Actor) -> None:
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
    writers = _officers(factory, 20)
    day = today() - timedelta(days=1)

    def write(actor: Actor, number: int) -> Callable[[], object]:
        def job() -> None:
            with factory() as db:
                start = datetime(day.year, day.month, day.day, 8, 0) + timedelta(minutes=number)
                patrol = patrols.add_patrol(db, actor, ref, PatrolCreate(
                    started_at=start, ended_at=start + timedelta(minutes=12)))
                patrols.record_outputs(db, actor, ref, OutputsCreate.model_validate({
                    "on": day.isoformat(), "counts": {"arrests": 1, "knives": 2},
                    "patrol_id": patrol.id}))
        return job

    assert _together([write(actor, n) for n, actor in enumerate(writers)]) == []
    with factory() as db:
        case = db.scalar(select(Case).where(Case.ref == ref))
        assert case is not None
        assert db.scalar(select(func.count()).select_from(Patrol)
                         .where(Patrol.case_id == case.id)) == 20
        totals = patrols.output_totals(db, [case.id])
        assert (totals[OutputKind.ARRESTS], totals[OutputKind.KNIVES]) == (20, 40)
        events = db.scalar(select(func.count()).select_from(CaseEvent)
                           .where(CaseEvent.case_id == case.id))
        assert events == 1 + 20 + 20  # opened, and a patrol and an outputs entry each
        assert verify_chain(db).intact


def test_two_corrections_of_one_entry_at_once_keep_one(factory: sessionmaker[Session],
                                                       officer: Actor) -> None:
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
        entry = patrols.record_outputs(db, officer, ref, OutputsCreate.model_validate({
            "on": today().isoformat(), "counts": {"arrests": 3}}))[0].id
    outcomes: list[str] = []

    def correct(count: int) -> Callable[[], object]:
        def job() -> None:
            with factory() as db:
                try:
                    patrols.correct_output(db, officer, ref, entry, OutputCorrection(
                        count=count, reason="Checked the custody record"))
                    outcomes.append("saved")
                except Conflict:
                    outcomes.append("conflict")
        return job

    assert _together([correct(1), correct(2)]) == []
    assert sorted(outcomes) == ["conflict", "saved"]
    with factory() as db:
        case_id = db.scalar(select(Case.id).where(Case.ref == ref))
        assert patrols.output_totals(db, [case_id or 0])[OutputKind.ARRESTS] in (1, 2)


def test_a_double_tap_on_start_patrol_starts_one(factory: sessionmaker[Session],
                                                 officer: Actor) -> None:
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
    outcomes: list[str] = []

    def tap() -> None:
        with factory() as db:
            try:
                patrols.start_patrol(db, officer, ref, PatrolStart())
                outcomes.append("started")
            except Conflict:
                outcomes.append("refused")

    assert _together([tap, tap, tap]) == []
    assert sorted(outcomes) == ["refused", "refused", "started"]
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Patrol)
                         .where(Patrol.ended_at.is_(None))) == 1


def test_two_people_saving_the_same_case_at_once_lose_no_edit(
        factory: sessionmaker[Session], officer: Actor) -> None:
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
    others = _officers(factory, 2)
    outcomes: dict[str, str] = {}

    def save(actor: Actor, title: str) -> Callable[[], object]:
        def job() -> None:
            with factory() as db:
                try:
                    service.update_case(db, actor, ref, CaseUpdate(version=1, title=title))
                    outcomes[title] = "saved"
                except StaleVersion:
                    outcomes[title] = "conflict"
        return job

    assert _together([save(others[0], "Title from the first"),
                      save(others[1], "Title from the second")]) == []
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    saved = next(title for title, outcome in outcomes.items() if outcome == "saved")
    with factory() as db:
        case = db.scalar(select(Case).where(Case.ref == ref))
        assert case is not None and case.title == saved and case.version == 2


def test_two_first_failed_sign_ins_at_once_both_count(factory: sessionmaker[Session]) -> None:
    """Both find no count for the username and address; both must count, neither fail on the
    row the other inserted. (SQLite takes its write lock at BEGIN, so sign-ins never overlap
    there: the interleaving below would wait on itself.)"""
    if factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no two sign-ins overlap")
    settings = Settings(database_url="sqlite://")
    both_read = threading.Barrier(2)
    errors: list[BaseException] = []

    def fail_once() -> None:
        try:
            with factory() as db:
                found = throttle.counts(db, "pc.shah", "192.0.2.7")
                both_read.wait(timeout=10)
                throttle.count_failure(db, found, utcnow(), settings)
                db.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fail_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with factory() as db:
        counts = {(row.username, row.failures) for row in db.scalars(select(SigninThrottle))}
    assert counts == {("pc.shah", 2), (ANY_USERNAME, 2)}



# --- readers beside a writer -------------------------------------------------------------------
# Requests that read begin deferred on SQLite (app.db.reading_session): they take no write lock
# until their access-log entry, which then waits for the lock like any writer.

def test_a_reader_reads_while_a_writer_holds_its_transaction_open(
        factory: sessionmaker[Session], officer: Actor) -> None:
    """A SQLite reader that waited for the write lock would fail here with "database is
    locked" once the busy timeout ran out, as the writer commits only after the read."""
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
    writer = factory()
    try:
        writer.execute(update(Case).where(Case.ref == ref).values(title="Not saved yet"))
        with reading_session(factory) as reader:
            assert reader.scalar(select(Case.title).where(Case.ref == ref)) != "Not saved yet"
        writer.commit()
    finally:
        writer.close()


def test_a_read_overtaken_by_a_writer_still_logs_it(factory: sessionmaker[Session],
                                                    officer: Actor) -> None:
    """The reader's snapshot is older than the writer's commit when it appends its entry: a
    SQLite read transaction that upgraded itself would be refused at once ("database is
    locked"); the entry must instead be written, after the writer's, in an intact chain."""
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
    with reading_session(factory) as reader:
        case = reader.scalar(select(Case).where(Case.ref == ref))
        assert case is not None and case.version == 1
        with factory() as writer:
            service.update_case(writer, officer, ref, CaseUpdate(version=1, title="Renamed"))
        record_read(reader, officer, AuditAction.CASE_VIEW, object_type="case",
                    object_ref=case.ref)
    with factory() as db:
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
        assert actions[-2:] == [AuditAction.CASE_UPDATE, AuditAction.CASE_VIEW]
        assert verify_chain(db).intact



def test_a_log_entry_that_cannot_get_the_lock_fails_as_busy(
        factory: sessionmaker[Session], officer: Actor, empty_database: str) -> None:
    """A reading request whose entry waits out the busy timeout behind a writer fails with the
    error that pages and the API answer 503 for (``is_busy``), and nothing is logged."""
    if not empty_database.startswith("sqlite"):
        pytest.skip("PostgreSQL readers never wait for SQLite's write lock")
    with factory() as db:
        ref = service.create_case(db, officer, CaseCreate.model_validate(new_case_body())).ref
    writer = factory()
    try:
        writer.execute(update(Case).where(Case.ref == ref).values(title="Holding the lock"))
        with reading_session(factory) as reader:
            reader.execute(text("PRAGMA busy_timeout = 100"))  # this connection only
            try:
                assert reader.scalar(select(Case.title).where(Case.ref == ref)) is not None
                with pytest.raises(OperationalError) as raised:
                    record_read(reader, officer, AuditAction.CASE_VIEW, object_type="case",
                                object_ref=ref)
                assert is_busy(raised.value)
                reader.rollback()
            finally:
                reader.execute(text(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"))
        writer.rollback()
    finally:
        writer.close()
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == AuditAction.CASE_VIEW)) == 0
        assert verify_chain(db).intact

def _people(factory: sessionmaker[Session], name: str, count: int) -> list[Person]:
    with factory() as db:
        return [create_person(db, f"pc.{name}{n:02d}", Role.OFFICER) for n in range(count)]


def _views(factory: sessionmaker[Session]) -> dict[str, int]:
    """Case views logged, by the request that made them."""
    with factory() as db:
        rows = db.execute(select(AuditEntry.request_id, func.count())
                          .where(AuditEntry.action == AuditAction.CASE_VIEW)
                          .group_by(AuditEntry.request_id))
        return {request: count for request, count in rows}


def test_readers_beside_a_writer_all_succeed_and_every_read_is_logged(
        factory: sessionmaker[Session], empty_database: str) -> None:
    """Six people read a case (its page and the API, in turn) while a seventh adds notes to
    it through the API: real sessions and separate connections, all at once."""
    readers, (writer,) = _people(factory, "reader", 6), _people(factory, "writer", 1)
    with factory() as db:
        ref = service.create_case(db, writer.actor, CaseCreate.model_validate(
            new_case_body())).ref
    app = create_app(Settings(database_url=empty_database, environment="test"), factory)
    rounds, statuses = 8, Counter[int]()
    request_ids: list[str] = []

    def read(person: Person) -> Callable[[], object]:
        def job() -> None:
            client = TestClient(app, base_url="http://testserver", follow_redirects=False)
            client.cookies.set(SESSION_COOKIE, person.session_secret)
            for n in range(rounds):
                answer = (client.get(f"/cases/{ref}") if n % 2 else
                          client.get(f"/api/v1/cases/{ref}", headers=person.api))
                statuses[answer.status_code] += 1
                request_ids.append(answer.headers["X-Request-ID"])
        return job

    def write() -> None:
        client = TestClient(app, base_url="http://testserver")
        for n in range(rounds):
            answer = client.post(f"/api/v1/cases/{ref}/notes", headers=writer.api,
                                 json={"body": f"Note {n} from the writer"})
            statuses[answer.status_code] += 1

    assert _together([*(read(person) for person in readers), write]) == []
    assert statuses == {200: len(readers) * rounds, 201: rounds}
    assert _views(factory) == {request: 1 for request in request_ids}
    with factory() as db:
        case = db.scalar(select(Case).where(Case.ref == ref))
        assert case is not None
        notes = db.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.NOTE))
        assert notes == rounds
        assert verify_chain(db).intact


def test_concurrent_api_reads_count_every_request_against_the_limit(
        factory: sessionmaker[Session], empty_database: str) -> None:
    """The rate-limit count is a short write of its own per API request: none may be lost
    when many requests of one token read at once."""
    (person,) = _people(factory, "reader", 1)
    app = create_app(Settings(database_url=empty_database, environment="test",
                              api_rate_limit="1000/minute"), factory)
    threads, rounds = 6, 5
    statuses = Counter[int]()

    def read() -> None:
        client = TestClient(app, base_url="http://testserver")
        for _ in range(rounds):
            statuses[client.get("/api/v1/cases", headers=person.api).status_code] += 1

    assert _together([read] * threads) == []
    assert statuses == {200: threads * rounds}
    with factory() as db:
        assert db.scalar(select(func.sum(RateCounter.count))) == threads * rounds
