"""Concurrent writers on a real, committed database (not the rolled-back test connection)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.auth.roles import Role
from app.cases import service
from app.cases.models import Case
from app.cases.schemas import CaseCreate, CaseUpdate
from app.errors import StaleVersion
from tests.conftest import WESTMINSTER, new_case_body


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
