"""Full-text search of cases (issue 17 §3), on the database this run uses (SQLite FTS5 or
PostgreSQL tsvector): relevance on a constructed corpus, every source of text, scope in results
and counts, the index kept in the same transaction, safe parsing and safe snippets."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor
from app.auth.roles import Role
from app.cases import content, service
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.cases.schemas import (
    ActionCreate,
    CaseCreate,
    CaseFilters,
    CaseUpdate,
    HypothesisCreate,
    NoteCreate,
)
from app.cli import alembic_config
from app.community import service as community
from app.community.models import Concern
from app.community.schemas import ConcernAnswer, ConcernCreate, ConcernTriage
from app.search.highlight import highlighted
from app.search.index import MARK_END, MARK_START
from app.search.query import fts5_query
from tests.attachments_kit import png
from tests.conftest import (
    CAMDEN,
    WESTMINSTER,
    Cast,
    Person,
    create_person,
    new_case_body,
)
from tests.test_migration_forces import session


def open_case(db: Session, person: Person, **fields: Any) -> str:
    body = new_case_body(**fields)
    if body["borough"] != WESTMINSTER:
        body["ward"] = None
    return service.create_case(db, person.actor, CaseCreate.model_validate(body)).ref


def note(db: Session, person: Person, ref: str, text: str) -> None:
    content.add_note(db, person.actor, ref, NoteCreate(body=text))


def search(db: Session, person: Person, q: str, **filters: Any) -> tuple[list[str], int]:
    rows, total = service.list_cases(db, person.actor, CaseFilters(q=q, **filters), log=False)
    return [row.case.ref for row in rows], total


def api_search(client: TestClient, person: Person, query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/cases?{query}", headers=person.api)
    assert response.status_code == 200, response.text
    return response.json()


# --- relevance ---------------------------------------------------------------------------------

def test_the_title_ranks_above_the_problem_statement_above_notes(
        client: TestClient, db: Session, cast: Cast) -> None:
    officer = cast.officer
    in_note = open_case(db, officer, title="Disorder on the Lisson Green estate")
    note(db, officer, in_note, "Residents say the stairwell light on block C is broken.")
    in_title = open_case(db, officer, title="Stairwell drug use at Fisherton Street",
                         problem_statement="Needles found by cleaners each morning.")
    in_statement = open_case(db, officer, title="Rough sleeping near Edgware Road",
                             problem_statement="People sleep in the stairwell of the car park.")
    open_case(db, officer, title="Shoplifting on Oxford Street")  # no stairwell at all
    # Changed last, so "most recently updated" alone would put it first.
    note(db, officer, in_note, "Second visit: the stairwells still unlit.")

    found = api_search(client, officer, "q=stairwell")
    assert [c["ref"] for c in found["items"]] == [in_title, in_statement, in_note]
    assert found["total"] == 3
    by_ref = {c["ref"]: c["match"] for c in found["items"]}
    assert "<mark>stairwell</mark>" in by_ref[in_note].lower()
    assert "<mark>stairwell</mark>" in by_ref[in_statement].lower()
    # Another order asked for wins over relevance; without q, relevance means nothing.
    assert [c["ref"] for c in api_search(client, officer, "q=stairwell&sort=ref")["items"]] \
        == sorted([in_title, in_statement, in_note])
    everything = api_search(client, officer, "sort=relevance")
    assert everything["total"] == 4 and all(c["match"] is None for c in everything["items"])


def test_words_are_stemmed_and_all_must_match(db: Session, cast: Cast) -> None:
    ref = open_case(db, cast.officer, title="Bikes stolen from the station racks",
                    problem_statement="Cable locks cut overnight.")
    open_case(db, cast.officer, title="Bike shop burglary")
    assert search(db, cast.officer, "stealing bike locks")[0] == []  # "stealing" is not there
    assert search(db, cast.officer, "bike locks")[0] == [ref]
    assert search(db, cast.officer, "BIKES")[1] == 2
    assert search(db, cast.officer, ref.lower())[0] == [ref]  # a reference typed as q


# --- every source of text ----------------------------------------------------------------------

def test_every_source_of_case_text_is_found(db: Session, cast: Cast) -> None:
    officer, sergeant = cast.officer, cast.supervisor
    ref = open_case(db, officer, title="Robberies at the market")
    note(db, officer, ref, "Spoke to the harbourmaster about the gates.")
    content.add_hypothesis(db, officer.actor, ref, HypothesisCreate(
        statement="Offenders arrive by moped from the canal towpath",
        evidence="Footage from the lockkeeper's camera"))
    content.add_action(db, officer.actor, ref, ActionCreate(
        title="Fit anti-climb paint to the gantry", notes="Quote from the scaffolders",
        owner="Westminster highways steward", due_date=date(2027, 1, 8)))
    service.update_case(db, officer.actor, ref, CaseUpdate.model_validate({
        "version": service.view_case(db, officer.actor, ref).version,
        "cheers": {"community": {"met": True, "evidence": "Petition from the almshouses"}},
        "triangle": {"place": {"who": "The undercroft", "known": "Unlit after the curfew"}}}))
    answered = concern(db, sergeant, "Lads on the bandstand shout at the buskers")
    triage_and_answer(db, sergeant, answered, ref, "We asked the parks wardens to patrol")
    unanswered = concern(db, sergeant, "Litter by the obelisk", contact="jo@example.org")
    triage_and_answer(db, sergeant, unanswered, ref, None)

    for word in ("harbourmaster", "towpath", "lockkeeper", "gantry", "scaffolders", "steward",
                 "almshouses", "undercroft", "curfew", "bandstand", "wardens"):
        assert search(db, officer, word) == ([ref], 1), word
    # Unanswered concerns are not the case's yet; contact details are never searched.
    for word in ("obelisk", "jo", "example"):
        assert search(db, officer, word) == ([], 0), word


def test_a_photos_caption_is_found(client: TestClient, db: Session, cast: Cast) -> None:
    ref = open_case(db, cast.officer, title="Robberies at the market")
    response = client.post(f"/api/v1/cases/{ref}/attachments", headers=cast.officer.api,
                           data={"caption": "Padlocked gate by the gasholder", "phase": "before"},
                           files={"file": ("gate.png", png(), "application/octet-stream")})
    assert response.status_code == 201, response.text
    assert search(db, cast.officer, "gasholder") == ([ref], 1)


def concern(db: Session, person: Person, description: str, contact: str = "") -> int:
    return community.record_concern(db, person.actor, ConcernCreate(
        borough=WESTMINSTER, raised_on=date(2026, 11, 20), raised_by_kind="resident",
        raised_by="Jo Bloggs", contact=contact, channel="phone_or_email",
        description=description)).id


def triage_and_answer(db: Session, person: Person, concern_id: int, ref: str,
                      we_did: str | None) -> None:
    linked = community.triage_concern(db, person.actor, concern_id, ConcernTriage(
        version=1, outcome="linked", case=ref))
    if we_did:
        community.answer_concern(db, person.actor, concern_id, ConcernAnswer(
            version=linked.version, we_did=we_did))


def test_a_changed_or_removed_text_is_no_longer_found(db: Session, cast: Cast) -> None:
    officer = cast.officer
    ref = open_case(db, officer, title="Graffiti on the viaduct")
    content.add_action(db, officer.actor, ref, ActionCreate(title="Jet wash the parapet"))
    case = service.view_case(db, officer.actor, ref)
    service.update_case(db, officer.actor, ref, CaseUpdate(version=case.version,
                                                           title="Graffiti on the footbridge"))
    assert search(db, officer, "viaduct")[1] == 0
    assert search(db, officer, "footbridge")[0] == [ref]
    action = db.scalars(select(Action).where(Action.case_id == case.id)).one()
    db.delete(action)
    db.commit()
    assert search(db, officer, "parapet")[1] == 0


# --- scope -------------------------------------------------------------------------------------

def test_no_case_out_of_scope_in_results_or_counts(client: TestClient, db: Session,
                                                   cast: Cast) -> None:
    mine = [open_case(db, cast.officer, title=f"Moped robberies, hotspot {i}") for i in range(3)]
    # Camden's case mentions mopeds the most, in its title: it would lead any ranking.
    camden = open_case(db, cast.camden_officer, borough=CAMDEN, title="Moped moped moped gang",
                       problem_statement="Moped-enabled phone snatches by moped riders.")

    westminster = api_search(client, cast.officer, "q=moped&limit=2")
    assert westminster["total"] == 3 and len(westminster["items"]) == 2
    second_page = api_search(client, cast.officer, "q=moped&limit=2&offset=2")
    assert westminster["total"] == second_page["total"] == 3
    assert {c["ref"] for c in westminster["items"] + second_page["items"]} == set(mine)
    assert api_search(client, cast.camden_officer, "q=moped")["total"] == 1
    analyst = api_search(client, cast.analyst, "q=moped")
    assert analyst["total"] == 4 and analyst["items"][0]["ref"] == camden
    # Filters still narrow a search, and the count with them.
    assert api_search(client, cast.analyst, f"q=moped&borough={CAMDEN}")["total"] == 1
    assert api_search(client, cast.analyst, "q=moped&stage=analysis")["total"] == 0
    assert client.get("/api/v1/cases?q=moped", headers=cast.admin.api).status_code == 403


def test_a_case_moved_to_another_area_is_found_only_by_its_new_readers(
        client: TestClient, db: Session, cast: Cast) -> None:
    """The index keeps each case's area for the scope: a move must move it too."""
    ref = open_case(db, cast.officer, title="Tarpaulin shelters under the flyover")
    assert api_search(client, cast.officer, "q=tarpaulin")["total"] == 1
    case = db.scalars(select(Case).where(Case.ref == ref)).one()
    case.borough_code, case.ward_code = CAMDEN, None  # as a supervisor's PATCH of its area does
    db.commit()
    assert api_search(client, cast.officer, "q=tarpaulin")["total"] == 0
    assert api_search(client, cast.officer, "q=tarpaulin&stage=scanning")["total"] == 0
    found = api_search(client, cast.camden_officer, "q=tarpaulin")
    assert [c["ref"] for c in found["items"]] == [ref] and found["total"] == 1


def test_the_list_page_shows_the_marked_passage_escaped(app: Any, db: Session, cast: Cast,
                                                        pages: Any) -> None:
    ref = open_case(db, cast.officer, title="Fly-tipping behind the parade")
    note(db, cast.officer, ref, "Someone wrote <script>alert(1)</script> beside the skip "
                                "& the mattresses.")
    page = pages(cast.officer).get("/cases?q=mattresses")
    assert page.status_code == 200
    assert ref in page.text and "<mark>mattresses</mark>" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    # The sort list's first choice, the best match, is the one in force (no other is chosen).
    assert '<option value="">Best match when searching' in page.text
    assert "selected>" not in page.text.split('id="sort"')[1].split("</select>")[0]
    assert "0</strong> cases" in pages(cast.camden_officer).get("/cases?q=mattresses").text


# --- same transaction --------------------------------------------------------------------------

def test_a_rolled_back_change_is_not_found_and_a_committed_one_at_once(
        db: Session, session_factory: sessionmaker[Session], cast: Cast) -> None:
    ref = open_case(db, cast.officer, title="Noise from the rooftop bar")
    case = service.view_case(db, cast.officer.actor, ref)
    db.add(CaseEvent(case_id=case.id, kind=EventKind.NOTE, summary="Note",
                     body="The licensee mentioned a zeppelin-themed party."))
    db.flush()
    assert search(db, cast.officer, "zeppelin")[0] == [ref]  # inside the transaction
    db.rollback()
    assert search(db, cast.officer, "zeppelin") == ([], 0)

    note(db, cast.officer, ref, "The zeppelin party went ahead.")  # commits
    with session_factory() as other:
        assert search(other, cast.officer, "zeppelin")[0] == [ref]


def test_the_index_follows_commits_across_connections(fresh_factory: sessionmaker[Session]
                                                      ) -> None:
    """Real transactions on separate connections (not the test's savepoints)."""
    with fresh_factory() as db:
        officer = create_person(db, "pc.shah", Role.OFFICER, WESTMINSTER)
        ref = open_case(db, officer, title="Cycle theft at the lido")
        case_id = db.scalar(select(Case.id).where(Case.ref == ref))
    with fresh_factory() as writer:
        writer.add(CaseEvent(case_id=case_id, kind=EventKind.NOTE, body="A tandem was taken"))
        writer.flush()
        writer.rollback()
    with fresh_factory() as reader:
        assert search(reader, officer, "tandem") == ([], 0)
    with fresh_factory() as writer:
        writer.add(CaseEvent(case_id=case_id, kind=EventKind.NOTE, body="A tandem was taken"))
        writer.commit()
    with fresh_factory() as reader:
        assert search(reader, officer, "tandem") == ([ref], 1)


# --- safe parsing and safe snippets -------------------------------------------------------------

@pytest.mark.parametrize("q", [
    '"', '"unbalanced quote', "NEAR(lights broken)", "*", "light*", "-lights", "lights -broken",
    "lights OR", "AND", "^lights", "title:lights", "(lights", "lights)", "'", "\\", "&|!:",
    "broken NOT", "NEAR", "{lights}", "+lights", "lights:*", "ü ß ğ", "🚲",
])
def test_any_typed_text_is_a_query_never_an_error(client: TestClient, db: Session, cast: Cast,
                                                  q: str) -> None:
    open_case(db, cast.officer, title="Broken lights on the towpath")
    response = client.get("/api/v1/cases", params={"q": q}, headers=cast.officer.api)
    assert response.status_code == 200, response.text
    assert response.json()["total"] in (0, 1)


def test_quoted_words_and_symbols_still_find_the_case(client: TestClient, db: Session,
                                                     cast: Cast) -> None:
    ref = open_case(db, cast.officer, title="Broken lights on the towpath")
    for q in ('"broken lights"', "lights*", "(broken) lights", "lights!"):
        found = api_search(client, cast.officer, f"q={q}")
        assert [c["ref"] for c in found["items"]] == [ref], q


def test_fts5_queries_quote_every_word() -> None:
    assert fts5_query('NEAR("a" b*) -c OR d') == '"NEAR" "a" "b" "c" "OR" "d"'
    assert fts5_query('"*^:') is None


def test_highlighting_escapes_the_text_and_marks_only_the_matches() -> None:
    snippet = f"<b>x</b> {MARK_START}stair&well{MARK_END} <img src=x onerror=alert(1)>"
    assert str(highlighted(snippet)) == ("&lt;b&gt;x&lt;/b&gt; <mark>stair&amp;well</mark> "
                                         "&lt;img src=x onerror=alert(1)&gt;")
    # Stray or unbalanced markers never make markup of their own.
    assert str(highlighted(f"a{MARK_END}b{MARK_START}c")) == "ab<mark>c</mark>"


# --- the migration -----------------------------------------------------------------------------

def test_an_upgraded_database_finds_its_existing_cases(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    with session(empty_database) as db:
        officer = create_person(db, "pc.shah", Role.OFFICER, WESTMINSTER)
        ref = open_case(db, officer, title="Begging at the cash machines")
        note(db, officer, ref, "The kiosk owner keeps a log.")
    command.downgrade(config, "0012")
    command.upgrade(config, "head")
    with session(empty_database) as db:
        actor = Actor(db.merge(officer.user), officer.actor.channel)
        rows, total = service.list_cases(db, actor, CaseFilters(q="kiosk"), log=False)
        assert [r.case.ref for r in rows] == [ref] and total == 1


def test_angle_brackets_kept_from_the_index_come_back_escaped() -> None:
    assert str(highlighted("\ue002b\ue003 \ue000x\ue001")) == "&lt;b&gt; <mark>x</mark>"


def test_removing_a_concern_with_no_case_leaves_the_index_alone(db: Session, cast: Cast) -> None:
    ref = open_case(db, cast.officer, title="Cycling on the pavement by the lido")
    untriaged = db.get(Concern, concern(db, cast.supervisor, "Skateboards in the piazza"))
    db.delete(untriaged)
    db.commit()
    assert search(db, cast.officer, "lido")[0] == [ref]
