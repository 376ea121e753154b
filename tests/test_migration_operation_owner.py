"""Revision 0008 gives every operation an owner from what it already holds: the one area of its
cases, else an empty operation's creator's home area, else the force. Every operation and case
is kept as it was."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select, text

from app.auth.roles import Role
from app.cases import service
from app.cases.models import Case
from app.cases.schemas import CaseCreate, CaseUpdate
from app.cli import alembic_config
from app.operations.models import Operation
from app.operations.schemas import OperationCreate
from app.operations.service import create_operation
from tests.conftest import CAMDEN, WESTMINSTER, Person, create_person, new_case_body
from tests.test_migration_forces import connected, session, snapshot, without_index_storage

COLUMNS = "id, name, description, unit, force_id, start_date, end_date, created_by_id, version"


def test_operations_get_the_owner_their_cases_or_creator_give(empty_database: str) -> None:
    url, config = empty_database, alembic_config(empty_database)
    command.upgrade(config, "head")
    with session(url) as db:
        officer = create_person(db, "pc.shah", Role.OFFICER, WESTMINSTER)
        camden = create_person(db, "pc.clarke", Role.OFFICER, CAMDEN)
        sergeant = create_person(db, "sgt.okafor", Role.SUPERVISOR, WESTMINSTER)
        analyst = create_person(db, "analyst.lee", Role.ANALYST, None)

        def operation(name: str, by: Person, **owner: object) -> int:
            return create_operation(db, by.actor, OperationCreate.model_validate(
                {"name": name, "start_date": "2026-04-01", "force": "metropolitan", **owner})).id

        def case(person: Person, borough: str, operation_id: int) -> None:
            made = service.create_case(db, person.actor, CaseCreate.model_validate(
                new_case_body(borough=borough, ward=None)))
            service.update_case(db, analyst.actor, made.ref, CaseUpdate(
                version=made.version, operation=operation_id))

        market = operation("Market", analyst, borough=None)  # force-wide, Westminster's cases
        across = operation("Across", analyst, borough=None)  # cases in two areas
        local = operation("Local", sergeant)  # Westminster's, no case yet
        central = operation("Central", analyst, borough=None)  # the force's, no case
        for person, borough, operation_id in ((officer, WESTMINSTER, market),
                                              (officer, WESTMINSTER, market),
                                              (officer, WESTMINSTER, across),
                                              (camden, CAMDEN, across)):
            case(person, borough, operation_id)
    before = snapshot(url)

    command.downgrade(config, "0007")
    with connected(url) as conn:
        assert "borough_code" not in {c["name"] for c in inspect(conn).get_columns("operations")}
        kept = conn.execute(text(f"SELECT {COLUMNS} FROM operations ORDER BY id")).all()
    command.upgrade(config, "head")

    with session(url) as db:
        owners = dict(db.execute(select(Operation.name, Operation.borough_code)).all())
        assert owners == {"Market": WESTMINSTER, "Across": None, "Local": WESTMINSTER,
                          "Central": None}
        assert db.scalar(select(Case.id).where(Case.operation_id.is_(None))) is None
    with connected(url) as conn:
        assert conn.execute(text(f"SELECT {COLUMNS} FROM operations ORDER BY id")).all() == kept
    after = snapshot(url)
    # Market was the force's and is now Westminster's (its cases' one area): all else as before.
    before["operations"] = after["operations"]
    assert without_index_storage(before) == without_index_storage(after)
    assert {market, across, local, central} == {row[0] for row in kept}
