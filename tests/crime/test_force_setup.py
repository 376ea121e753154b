"""Setting up forces: boundary files read in the ONS style, Welsh names, wards linked to their
local policing area by code or by place, the refusals that keep one force's areas its own,
reference prefixes, and which force a police.uk file's rows belong to.

Small boundary files here are squares placed inside real areas (the real ones hold no Welsh
names and no Welsh wards); every police.uk file is real, or a real file's rows renamed or with
their force changed, as a user's mistake would make them.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import mapping, shape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor
from app.auth.roles import Role
from app.auth.service import NewUser, UserChanges, create_user, update_user
from app.cases.models import Case
from app.cases.schemas import CaseCreate
from app.cases.service import create_case
from app.crime.boundaries import import_boundaries, read_names
from app.crime.importer import Source, import_source
from app.crime.models import Area, AreaKind, ImportBatch
from app.errors import ValidationFailed
from app.reference.codes import derive_prefix
from app.reference.models import Borough, Ward
from app.reference.service import change_prefix
from tests.conftest import POLICE_UK_DATA, WESTMINSTER, Cast, needs_data

NORTH_WALES_FILE = POLICE_UK_DATA / "boundaries" / "north-wales-local-authorities.geojson"
GWYNEDD = "W06000002"
# The Welsh names ONS publishes (LAD20NMW) beside the English ones.
WELSH = {"W06000001": "Ynys Môn", "W06000002": "Gwynedd", "W06000003": "Conwy",
         "W06000004": "Sir Ddinbych", "W06000005": "Sir y Fflint", "W06000006": "Wrecsam"}
CLI = Actor.cli()


def collection(features: list[dict[str, Any]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def square(lon: float, lat: float, size: float = 0.004) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat],
                                                [lon + size, lat + size], [lon, lat + size],
                                                [lon, lat]]]}


def north_wales(welsh: bool = False) -> bytes:
    """The real boundary file; with ``welsh``, each feature also carries its Welsh name."""
    data = json.loads(NORTH_WALES_FILE.read_bytes())
    if welsh:
        for feature in data["features"]:
            feature["properties"]["lad20nmw"] = WELSH[feature["properties"]["lad20cd"]]
    return json.dumps(data).encode()


def set_up_north_wales(db: Session, welsh: bool = False) -> None:
    report = import_boundaries(db, CLI, "north-wales.geojson", north_wales(welsh),
                               AreaKind.BOROUGH, force_id="north-wales")
    assert (report.status, report.added + report.updated, report.rejected) == ("done", 6, 0)


# --- reading the properties --------------------------------------------------------------------

@pytest.mark.parametrize(("properties", "kind", "expected"), [
    ({"lad20cd": "W06000002", "lad20nm": "Gwynedd", "lad20nmw": "Gwynedd"}, AreaKind.BOROUGH,
     ("W06000002", "Gwynedd", "Gwynedd", "")),
    ({"LAD23CD": "E06000032", "LAD23NM": "Luton", "LAD21CD": "E06000099"}, AreaKind.BOROUGH,
     ("E06000032", "Luton", "", "")),  # the newest year's code wins
    ({"WD22CD": "W05000100", "WD22NM": "Deiniol", "WD22NMW": "Deiniol", "LAD22CD": GWYNEDD},
     AreaKind.WARD, ("W05000100", "Deiniol", "Deiniol", GWYNEDD)),
    ({"wd24cd": "E05014000", "wd24nm": "Castle", "lad24cd": "e08000025"}, AreaKind.WARD,
     ("E05014000", "Castle", "", "E08000025")),
    ({"GSS_CODE": "E09000033", "NAME": "Westminster"}, AreaKind.BOROUGH,
     ("E09000033", "Westminster", "", "")),
    ({"PFA23CD": "W15000001", "PFA23NM": "North Wales"}, AreaKind.FORCE,
     ("W15000001", "North Wales", "", "")),
])
def test_codes_and_names_are_read_in_the_ons_style(properties: dict[str, Any], kind: AreaKind,
                                                   expected: tuple[str, str, str, str]) -> None:
    names = read_names(properties, kind)
    assert (names.code, names.name, names.welsh, names.parent) == expected


def test_prefixes_are_derived_from_names_and_never_taken_twice() -> None:
    taken = {"WM", "CM", "BN"}
    assert derive_prefix("Gwynedd", taken) == "GW"
    assert derive_prefix("Isle of Anglesey", taken) == "IA"
    assert derive_prefix("Kingston upon Thames", taken) == "KT"
    assert derive_prefix("Bath and North East Somerset", taken) == "BNE"  # BN is Barnet's
    assert derive_prefix("Ynys Môn", taken) == "YM"
    assert derive_prefix("Westminster", taken) == "WS"


# --- local policing areas ----------------------------------------------------------------------

@needs_data
def test_welsh_names_are_kept_and_shown_beside_the_english(db: Session) -> None:
    set_up_north_wales(db, welsh=True)
    anglesey = db.get(Borough, "W06000001")
    gwynedd = db.get(Borough, GWYNEDD)
    assert anglesey is not None and gwynedd is not None
    assert (anglesey.name, anglesey.name_welsh, anglesey.label) == (
        "Isle of Anglesey", "Ynys Môn", "Isle of Anglesey / Ynys Môn")
    assert gwynedd.label == "Gwynedd"  # the same in both languages: said once
    assert (anglesey.kind_label, anglesey.force_id, anglesey.ref_prefix) == (
        "Principal area", "north-wales", "IA")


@needs_data
def test_an_invalid_coastline_is_repaired_not_refused(db: Session) -> None:
    source = json.loads(NORTH_WALES_FILE.read_bytes())["features"][0]
    assert not shape(source["geometry"]).is_valid  # the Isle of Anglesey, as published
    set_up_north_wales(db)
    stored = db.scalar(select(Area).where(Area.kind == AreaKind.BOROUGH,
                                          Area.code == "W06000001"))
    assert stored is not None
    repaired = shape(stored.geometry)
    assert repaired.is_valid
    assert repaired.area == pytest.approx(shapely.make_valid(shape(source["geometry"])).area)


@needs_data
def test_wards_are_linked_by_their_code_or_else_by_where_they_lie(db: Session) -> None:
    set_up_north_wales(db)
    bangor, caernarfon = square(-4.13, 53.225), square(-4.275, 53.138)
    report = import_boundaries(db, CLI, "wards.geojson", collection([
        {"type": "Feature", "geometry": bangor, "properties": {
            "WD22CD": "W05000107", "WD22NM": "Deiniol", "WD22NMW": "Deiniol",
            "LAD22CD": GWYNEDD}},
        {"type": "Feature", "geometry": caernarfon, "properties": {  # no local authority named
            "WD22CD": "W05000097", "WD22NM": "Menai (Caernarfon)",
            "WD22NMW": "Menai (Caernarfon)"}},
    ]), AreaKind.WARD, force_id="north-wales")
    assert (report.status, report.added, report.rejected, report.wards_linked) == (
        "done", 2, 0, 2)
    wards = {w.code: w for w in db.scalars(select(Ward).where(Ward.borough_code == GWYNEDD))}
    assert set(wards) == {"W05000107", "W05000097"}
    areas = db.scalars(select(Area).where(Area.kind == AreaKind.WARD,
                                          Area.code.in_(list(wards))))
    assert {(a.borough_code, a.force_id) for a in areas} == {(GWYNEDD, "north-wales")}


@needs_data
def test_a_ward_of_another_forces_area_is_refused_by_its_line(db: Session) -> None:
    set_up_north_wales(db)
    report = import_boundaries(db, CLI, "wards.geojson", collection([
        {"type": "Feature", "geometry": square(-0.17, 51.52), "properties": {
            "WD22CD": "E05013794", "WD22NM": "Church Street", "LAD22CD": WESTMINSTER}},
    ]), AreaKind.WARD, force_id="north-wales")
    assert (report.status, report.added, report.rejected) == ("done", 0, 1)
    assert report.problems == [{"line": 1, "message": "feature 1: it lies in Westminster, a "
                                                      "local policing area of another force"}]


def test_one_forces_area_is_never_moved_to_another(db: Session) -> None:
    report = import_boundaries(db, CLI, "wrong.geojson", collection([
        {"type": "Feature", "geometry": square(-0.15, 51.5), "properties": {
            "GSS_CODE": WESTMINSTER, "NAME": "Westminster"}}]),
        AreaKind.BOROUGH, force_id="north-wales")
    assert report.rejected == 1
    assert report.problems[0]["message"] == (
        "feature 1: E09000033 (Westminster) is a local policing area of another force "
        "(metropolitan); it was left as it is")
    westminster = db.get(Borough, WESTMINSTER)
    assert westminster is not None and westminster.force_id == "metropolitan"


def test_only_local_authority_codes_become_local_policing_areas(db: Session) -> None:
    report = import_boundaries(db, CLI, "wards-as-areas.geojson", collection([
        {"type": "Feature", "geometry": square(-4.13, 53.225), "properties": {
            "code": "W05000107", "name": "Deiniol"}}]), AreaKind.BOROUGH,
        force_id="north-wales")
    assert report.problems[0]["message"] == (
        "feature 1: W05000107 is not a local authority's code (E06, E07, E08, E09 or W06 and "
        "six digits)")
    assert db.get(Borough, "W05000107") is None


def test_an_unknown_force_is_refused(db: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_boundaries(db, CLI, "x.geojson", b"{}", AreaKind.BOROUGH, force_id="gotham")
    assert refused.value.errors[0].field == "force"


def test_local_authorities_without_a_force_are_plain_areas(db: Session) -> None:
    report = import_boundaries(db, CLI, "luton.geojson", collection([
        {"type": "Feature", "geometry": square(-0.42, 51.88), "properties": {
            "LAD23CD": "E06000032", "LAD23NM": "Luton"}}]), AreaKind.BOROUGH)
    assert (report.added, report.unlinked, report.local_areas) == (1, 1, [])
    assert db.get(Borough, "E06000032") is None


# --- reference prefixes ------------------------------------------------------------------------

@needs_data
def test_an_admin_changes_a_prefix_for_new_cases_only(db: Session, cast: Cast) -> None:
    set_up_north_wales(db)
    officer = create_user(db, CLI, NewUser("pc.jones", Role.OFFICER, "PC Jones", GWYNEDD))
    actor = Actor(officer, CLI.channel)
    before = create_case(db, actor, CaseCreate(title="Bangor High Street disorder",
                                               category="public-order", borough=GWYNEDD))
    assert before.ref.startswith("GW-")
    change_prefix(db, cast.admin.actor, GWYNEDD, "gwy")
    after = create_case(db, actor, CaseCreate(title="Caernarfon harbour thefts",
                                              category="other-theft", borough=GWYNEDD))
    assert after.ref.startswith("GWY-") and after.ref.endswith("-0001")
    assert db.scalar(select(Case.ref).where(Case.id == before.id)) == before.ref
    for prefix, message in (("CN", "CN is already used by Conwy: choose another."),
                            ("WM", "WM is already used by Westminster: choose another."),
                            ("G1", "Use 2 to 4 capital letters, such as GW.")):
        with pytest.raises(ValidationFailed) as refused:
            change_prefix(db, cast.admin.actor, "W06000004", prefix)  # Denbighshire
        assert refused.value.errors[0].message == message
    # Gwynedd's old prefix is on its cases: another area never takes it.
    with pytest.raises(ValidationFailed) as refused:
        change_prefix(db, cast.admin.actor, "W06000003", "GW")
    assert refused.value.errors[0].message.startswith("GW is already used by the case GW-")


def test_only_an_admin_changes_a_prefix(client: TestClient, cast: Cast) -> None:
    for person in (cast.supervisor, cast.analyst):
        refused = client.patch(f"/api/v1/boroughs/{WESTMINSTER}", headers=person.api,
                               json={"ref_prefix": "WSM"})
        assert refused.status_code == 403
    bad = client.patch(f"/api/v1/boroughs/{WESTMINSTER}", headers=cast.admin.api,
                       json={"ref_prefix": "W"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ref_prefix"
    done = client.patch(f"/api/v1/boroughs/{WESTMINSTER}", headers=cast.admin.api,
                        json={"ref_prefix": "wsm"})
    assert done.status_code == 200 and done.json()["ref_prefix"] == "WSM"


# --- users' scope ------------------------------------------------------------------------------

@needs_data
def test_a_users_force_follows_their_home_area(db: Session, cast: Cast) -> None:
    set_up_north_wales(db)
    officer = create_user(db, CLI, NewUser("pc.jones", Role.OFFICER, "PC Jones", GWYNEDD))
    assert (officer.borough_code, officer.force_id) == (GWYNEDD, "north-wales")
    analyst = create_user(db, CLI, NewUser("analyst.price", Role.ANALYST, force_id="north-wales"))
    assert (analyst.borough_code, analyst.force_id) == (None, "north-wales")
    with pytest.raises(ValidationFailed) as refused:
        create_user(db, CLI, NewUser("pc.wrong", Role.OFFICER, borough_code=GWYNEDD,
                                     force_id="metropolitan"))
    assert refused.value.errors[0].message == (
        "Gwynedd is an area of North Wales Police, not of Metropolitan Police.")
    moved = update_user(db, cast.admin.actor, "pc.jones", UserChanges(
        version=officer.version, borough_code=WESTMINSTER))
    assert (moved.borough_code, moved.force_id) == (WESTMINSTER, "metropolitan")
    force_wide = update_user(db, cast.admin.actor, "pc.jones", UserChanges(
        version=moved.version, all_boroughs=True))
    assert (force_wide.borough_code, force_wide.force_id) == (None, "metropolitan")
    everywhere = update_user(db, cast.admin.actor, "pc.jones", UserChanges(
        version=force_wide.version, all_boroughs=True, every_force=True))
    assert (everywhere.borough_code, everywhere.force_id) == (None, None)


# --- which force a file belongs to -------------------------------------------------------------

def real_file(name: str) -> Path:
    month = name[:7]
    return POLICE_UK_DATA / month / name


def source_of(name: str, content: bytes) -> Source:
    return Source(name, len(content), lambda: io.BytesIO(content))


@needs_data
@pytest.mark.parametrize(("name", "force_id", "owner"), [
    ("2024-01-north-wales-street.csv", None, "north-wales"),  # police.uk's own name
    ("2024-01-north-wales-street (1).csv", None, "north-wales"),  # saved twice by a browser
    ("january.csv", None, "north-wales"),  # renamed: its rows say "North Wales Police"
    ("january.csv", "north-wales", "north-wales"),
])
def test_a_files_rows_belong_to_the_force_that_published_it(
        fresh_factory: sessionmaker[Session], name: str, force_id: str | None,
        owner: str) -> None:
    content = real_file("2024-01-north-wales-street.csv").read_bytes()
    report = import_source(fresh_factory, CLI, source_of(name, content), force_id=force_id)
    assert (report.status, report.added) == ("done", 5185)
    with fresh_factory() as db:
        batch = db.get(ImportBatch, report.batch_id)
        assert batch is not None and (batch.force_id, batch.months) == (owner, ["2024-01"])


@needs_data
@pytest.mark.parametrize(("name", "content_of", "force_id", "message"), [
    ("2024-01-city-of-london-street.csv", "2024-01-north-wales-street.csv", None,
     "Its rows were reported by North Wales Police, not by City of London Police."),
    ("2024-01-north-wales-street.csv", "2024-01-north-wales-street.csv", "city-of-london",
     "The file's name says it is North Wales Police's, not City of London Police's."),
    ("searches.csv", "2018-04-city-of-london-stop-and-search.csv", None,
     "popcase cannot tell which police force published this file: keep police.uk's file "
     "name (such as 2024-01-north-wales-street.csv) or choose the force."),
    ("2024-01-north-wales-street.csv", "2024-01-north-wales-street.csv", "gotham",
     "There is no police force gotham."),
])
def test_a_file_of_no_clear_force_is_refused_whole(
        fresh_factory: sessionmaker[Session], name: str, content_of: str,
        force_id: str | None, message: str) -> None:
    content = real_file(content_of).read_bytes()
    report = import_source(fresh_factory, CLI, source_of(name, content), force_id=force_id)
    assert (report.status, report.added, report.message) == ("failed", 0, message)


def test_a_point_geometry_is_not_a_boundary(db: Session) -> None:
    report = import_boundaries(db, CLI, "points.geojson", collection([
        {"type": "Feature", "geometry": mapping(shapely.Point(-4.1, 53.2)),
         "properties": {"lad20cd": GWYNEDD, "lad20nm": "Gwynedd"}}]), AreaKind.BOROUGH,
        force_id="north-wales")
    assert report.problems == [{"line": 1, "message": "feature 1: its geometry is a Point, "
                                                      "not a polygon"}]


def test_an_administrator_works_for_every_force(db: Session, cast: Cast) -> None:
    for scope in ({"force_id": "north-wales"}, {"borough_code": WESTMINSTER}):
        with pytest.raises(ValidationFailed) as refused:
            create_user(db, CLI, NewUser("admin.nw", Role.ADMIN, **scope))  # type: ignore[arg-type]
        assert [(e.field, e.message) for e in refused.value.errors] == [(
            "force", "An administrator works for every force: leave the force and the home "
                     "area empty.")]
    with pytest.raises(ValidationFailed):
        update_user(db, cast.admin.actor, cast.officer.user.username, UserChanges(
            version=cast.officer.user.version, role=Role.ADMIN))  # keeps Westminster


def test_setting_up_a_force_names_the_accounts_that_read_every_force(
        pages: Any, cast: Cast) -> None:
    page = pages(cast.admin).get("/admin/forces/north-wales")
    assert page.status_code == 200
    words = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    # The analyst and the evaluator of the cast name no force; the officers' home areas do.
    assert "2 accounts read every force's areas, North Wales Police's included: Grace Lee " \
           "(analyst), Rhys Morgan (evaluator)." in words
