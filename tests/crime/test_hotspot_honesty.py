"""The hotspot finder on real data: small numbers said plainly (API and page), and a case opened
on a cell whose category the person chooses from a proposal that says why, and whose evidence
counts the crimes of that category.

The module has a database of its own with the City of London's borough and ward boundaries and
only January 2024 of its street crime (a real data.police.uk file): a period reaching into
February has months without data, and a ward or a rare crime type gives a handful of crimes.
Every expected count is made here from the CSV file (csv, pyproj, shapely), never by the app.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

from app.auth.roles import Role
from app.cases.models import Case
from app.crime.models import Area, AreaKind
from app.sara.problem import CATEGORIES
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    Site,
    borough_features,
    count_in,
    load_boundaries,
    load_months,
    mid,
    project,
    rounding_matters,
    site,
    ward_features,
)

pytestmark = needs_data

MONTHS = ["2024-01"]  # the only month imported
JAN = "first=2024-01&last=2024-01"
FINDER = f"borough={CITY}&{JAN}&cell_m=250&top_k=10"
SIZE = 250
LABEL = "Jan 2024 to Jan 2024"  # how the app names the period (Period.label)


@dataclass
class World:
    site: Site
    analyst: Person
    sergeant: Person  # a City of London supervisor
    client: TestClient

    def api(self, url: str, person: Person | None = None) -> Any:
        response = self.client.get(url, headers=(person or self.analyst).api)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        return response.json()

    def cases(self) -> int:
        with self.site.factory() as db:
            return db.scalar(select(func.count()).select_from(Case)) or 0


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "hotspot_honesty") as where:
        with where.factory() as db:
            analyst = create_person(db, "analyst.lee", Role.ANALYST, None, "Grace Lee")
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Niamh Byrne")
        load_boundaries(where.factory, (CITY,), (CITY,))
        load_months(where.factory, MONTHS)
        with where.client(sergeant) as client:
            yield World(where, analyst, sergeant, client)


# --- independent counts and page reading -------------------------------------------------------

def city() -> BaseGeometry:
    return project(borough_features(CITY)[0]["geometry"])


def ward(name: str) -> BaseGeometry:
    found = [f for f in ward_features(CITY) if f["properties"]["WD22NM"] == name]
    assert len(found) == 1, name
    return project(found[0]["geometry"])


def crimes_in(area: BaseGeometry, slug: str | None = None) -> int:
    """Located crimes of January 2024 in ``area`` (of one category), from the file."""
    assert not rounding_matters(area, MONTHS, {CATEGORIES[slug]} if slug else None)
    return sum(count_in(area, MONTHS, {CATEGORIES[slug]} if slug else None).values())


def cell_area(cell: dict[str, Any]) -> BaseGeometry:
    """The part of a cell's square inside the City: what the finder counts for it."""
    square = shapely.box(cell["col"] * SIZE, cell["row"] * SIZE, (cell["col"] + 1) * SIZE,
                         (cell["row"] + 1) * SIZE)
    return shapely.intersection(square, city())


def by_category(area: BaseGeometry) -> dict[str, int]:
    counts = {slug: crimes_in(area, slug) for slug in CATEGORIES}
    return {slug: n for slug, n in counts.items() if n}


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def warnings_on(page: str) -> list[tuple[str, str]]:
    """(code, message) of each GOV.UK warning text on a page."""
    return [(code, text_of(body).removeprefix("! Warning").strip()) for code, body in re.findall(
        r'<div class="govuk-warning-text" data-warning="([a-z_]+)">(.*?)</div>', page, re.S)]


def radios(page: str) -> list[tuple[str, bool, str]]:
    """(value, checked, hint) of each case-category radio, in the order shown."""
    items = re.findall(r'<input class="govuk-radios__input"[^>]*value="([^"]+)"([^>]*)>.*?'
                       r'<div id="[^"]+-item-hint" class="govuk-hint govuk-radios__hint">(.*?)'
                       r"</div>", page, re.S)
    return [(value, "checked" in rest, text_of(hint)) for value, rest, hint in items]


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p id="{field}-error" class="govuk-error-message">(.*?)</p>', page, re.S)
    return text_of(match.group(1)).removeprefix("Error:").strip() if match else ""


def open_form(cell: dict[str, Any], query: str = FINDER) -> str:
    return f"/hotspots/cases/new?{query}&col={cell['col']}&row={cell['row']}"


def post_case(world: World, cell: dict[str, Any], category: str | None,
              searched: tuple[str, ...] = ()) -> Any:
    form: dict[str, Any] = {
        "csrf_token": world.sergeant.csrf, "borough": CITY, "first": "2024-01",
        "last": "2024-01", "cell_m": str(SIZE), "top_k": "10", "col": str(cell["col"]),
        "row": str(cell["row"]), "category": list(searched)}
    if category is not None:
        form["case_category"] = category
    return world.client.post("/hotspots/cases", data=form)


def read_case(world: World, location: str) -> dict[str, Any]:
    match = re.fullmatch(r"/cases/(CL-\d{4}-\d{4})\?flash=opened", location)
    assert match, location
    return world.api(f"/api/v1/cases/{match[1]}", world.sergeant)


# --- small numbers -----------------------------------------------------------------------------

def test_plenty_of_crime_brings_no_small_number_warning(world: World) -> None:
    answer = world.api(f"/api/v1/hotspots?{FINDER}")
    assert answer["crimes_total"] == crimes_in(city()) >= 20
    assert answer["warnings"] == []
    assert all(cell["count"] >= 5 for cell in answer["cells"][:10])
    assert answer["pai"] == pytest.approx(answer["share_in_top"] / answer["area_share_of_top"])
    page = world.client.get(f"/hotspots?{FINDER}").text
    assert warnings_on(page) == []
    assert f"Predictive Accuracy Index {answer['pai']:,.2f}" in text_of(page)


def test_months_without_data_are_a_warning_in_the_api_and_on_the_page(world: World) -> None:
    query = f"borough={CITY}&first=2024-01&last=2024-03&cell_m=250&top_k=10"
    answer = world.api(f"/api/v1/hotspots?{query}")
    message = ("No data of City of London Police has been imported for 2 of these months "
               "(Feb 2024, Mar 2024): they are left out, not counted as zero.")
    assert answer["warnings"] == [{"code": "months_missing", "message": message}]
    assert answer["months_missing"] == ["2024-02-01", "2024-03-01"]  # the field kept as it was
    assert answer["crimes_total"] == crimes_in(city())
    assert warnings_on(world.client.get(f"/hotspots?{query}").text) == [
        ("months_missing", message)]


def test_a_ward_with_a_handful_of_crimes_is_warned_of_and_its_pai_withheld(
        world: World) -> None:
    with world.site.factory() as db:
        lime_street = db.scalar(select(Area.id).where(Area.kind == AreaKind.WARD,
                                                      Area.name == "Lime Street"))
    expected = crimes_in(ward("Lime Street"))
    assert 0 < expected < 5
    answer = world.api(f"/api/v1/hotspots?area={lime_street}&{JAN}&cell_m=100&top_k=5")
    assert answer["crimes_total"] == expected
    assert answer["pai"] is None  # withheld: the share is still given
    assert answer["share_in_top"] == 1.0 and answer["area_share_of_top"] > 0
    assert [w["code"] for w in answer["warnings"]] == ["few_crimes", "pai_withheld",
                                                       "small_cells"]
    few, withheld, small = (w["message"] for w in answer["warnings"])
    assert few.startswith(f"Only {expected} located crimes in this area and period (fewer "
                          "than 20)")
    assert withheld.startswith(f"The Predictive Accuracy Index is withheld: from {expected} "
                               "crimes")
    assert small.startswith("5 of the top 5 cells hold fewer than 5 crimes (ranks 1 to 5)")


def test_one_crime_gives_no_pai(world: World) -> None:
    """The issue's borough showing a PAI of 28 from one crime: now withheld, with the reason."""
    wards = {f["properties"]["WD22NM"]: project(f["geometry"]) for f in ward_features(CITY)}
    name, slug = next((name, slug) for name, shape in sorted(wards.items())
                      for slug in CATEGORIES if crimes_in(shape, slug) == 1)
    with world.site.factory() as db:
        area = db.scalar(select(Area.id).where(Area.kind == AreaKind.WARD, Area.name == name))
    answer = world.api(f"/api/v1/hotspots?area={area}&{JAN}&cell_m=50&top_k=1&category={slug}")
    assert (answer["crimes_total"], answer["share_in_top"], answer["pai"]) == (1, 1.0, None)
    assert answer["warnings"][0] == {
        "code": "few_crimes", "message": "Only 1 located crime in this area and period (fewer "
                                         "than 20): too few for the Gi* z-scores or the "
                                         "concentration to show a pattern rather than chance."}
    assert answer["warnings"][1]["code"] == "pai_withheld"


def test_the_page_shows_the_apis_warnings_and_the_withheld_pai(world: World) -> None:
    query = f"{FINDER}&category=possession-of-weapons"
    expected = crimes_in(city(), "possession-of-weapons")
    assert 0 < expected < 20
    answer = world.api(f"/api/v1/hotspots?{query}")
    assert answer["crimes_total"] == expected and answer["pai"] is None
    page = world.client.get(f"/hotspots?{query}").text
    assert warnings_on(page) == [(w["code"], w["message"]) for w in answer["warnings"]]
    assert {"few_crimes", "pai_withheld"} <= {w["code"] for w in answer["warnings"]}
    assert "Predictive Accuracy Index Withheld: too few crimes" in text_of(page)


# --- a case opened on a cell -------------------------------------------------------------------

def test_the_finder_links_each_cell_to_the_choice_of_category(world: World) -> None:
    answer = world.api(f"/api/v1/hotspots?{FINDER}")
    page = html.unescape(world.client.get(f"/hotspots?{FINDER}").text)
    for cell in answer["cells"][:20]:
        assert f'href="{open_form(cell)}"' in page
    assert 'action="/hotspots/cases"' not in page  # nothing is opened from the table itself


def test_the_proposal_is_the_cells_commonest_category_and_says_so(world: World) -> None:
    top = world.api(f"/api/v1/hotspots?{FINDER}")["cells"][0]
    counts = by_category(cell_area(top))
    assert sum(counts.values()) == top["count"]
    order = list(CATEGORIES)
    proposed = min(counts, key=lambda slug: (-counts[slug], order.index(slug)))
    response = world.client.get(open_form(top))
    assert response.status_code == 200, response.text[:300]
    page = response.text
    reason = text_of(re.search(r'<div id="proposal" class="govuk-inset-text">(.*?)</div>',
                               page, re.S)[1])
    tied = [s for s in counts if counts[s] == counts[proposed]]
    if len(tied) == 1:
        assert reason == (f"Most of this cell's crime is {CATEGORIES[proposed].lower()} "
                          f"({counts[proposed]} of {top['count']}), so it is proposed as the "
                          "case's category.")
    shown = radios(page)
    assert [value for value, checked, _hint in shown if checked] == [proposed]
    assert sorted(value for value, _c, _h in shown) == sorted(CATEGORIES)  # every category
    for value, _checked, hint in shown:
        n = counts.get(value, 0)
        assert hint.startswith(f"{n} crime{'' if n == 1 else 's'} in this cell" if n else
                               "No crime of this kind in this cell"), (value, hint)
    assert f"all crime: {top['count']} crimes, ranked 1 of" in text_of(page)


def test_a_case_of_another_category_counts_that_category(world: World) -> None:
    answer = world.api(f"/api/v1/hotspots?{FINDER}")
    top = answer["cells"][0]
    counts = by_category(cell_area(top))
    order = list(CATEGORIES)
    ranked = sorted(counts, key=lambda slug: (-counts[slug], order.index(slug)))
    chosen = ranked[1]  # not the proposal: the person chose another
    label = CATEGORIES[chosen].lower()
    same_kind = world.api(f"/api/v1/hotspots?{FINDER}&category={chosen}")
    mine = next(c for c in same_kind["cells"] if (c["col"], c["row"]) == (top["col"],
                                                                         top["row"]))
    assert mine["count"] == counts[chosen] < top["count"]

    before = world.cases()
    response = post_case(world, top, chosen)
    assert response.status_code == 303, response.text[:500]
    case = read_case(world, response.headers["location"])
    assert world.cases() == before + 1
    assert case["category"] == chosen
    # Named by the cell found (all crime), where the person opened it.
    assert case["title"] == (f"Hotspot {mid(top['place'])}: {label} (City of London, cell "
                             f"{mine['rank']} of {len(same_kind['cells'])})")
    figures = (f"{counts[chosen]} crime{'' if counts[chosen] == 1 else 's'} ({label}) in "
               f"{LABEL} in this 250 m cell, ranked {mine['rank']} of "
               f"{len(same_kind['cells'])} cells with such crime in City of London; "
               f"{mine['share']:.1%} of the area's {same_kind['crimes_total']:,} located crimes "
               "of this kind; ")
    events = case["cheers"]["events"]["evidence"]
    assert events.startswith(figures), events
    assert "(all crime)" not in events and f"{top['count']} crimes" not in events
    assert case["problem_statement"] == (
        "Found by the hotspot finder searching all crime, where this cell ranked 1 of "
        f"{len(answer['cells'])} with {top['count']:,} crimes; the case is about {label}, "
        f"chosen when it was opened. {events}")
    assert case["cheers"]["recurring"]["evidence"].startswith(f"{label.capitalize()} recorded "
                                                              "here across 1 months")
    assert case["target_area"]["name"] == (f"250 m grid cell {mid(top['place'])}, ranked 1 in "
                                           "City of London (all crime)")
    assert case["target_area"]["geometry"] == top["geometry"]
    assert (case["stage"], case["borough"], case["source"]) == ("scanning", CITY, "data")


def test_a_search_for_one_type_proposes_it_and_its_case_says_so_once(world: World) -> None:
    slug, label = "theft-from-the-person", "theft from the person"
    query = f"{FINDER}&category={slug}"
    answer = world.api(f"/api/v1/hotspots?{query}")
    top = answer["cells"][0]
    assert top["count"] == crimes_in(cell_area(top), slug)
    page = world.client.get(open_form(top, query)).text
    assert (f"The search counted {label} alone, so the case is proposed as {label} "
            f"({top['count']} crimes in this cell).") in text_of(page)
    assert [v for v, checked, _h in radios(page) if checked] == [slug]
    response = post_case(world, top, slug, searched=(slug,))
    assert response.status_code == 303, response.text[:500]
    case = read_case(world, response.headers["location"])
    assert case["category"] == slug
    assert case["problem_statement"].startswith(
        f"Found by the hotspot finder. {top['count']} crimes ({label}) in {LABEL} in this "
        f"250 m cell, ranked 1 of {len(answer['cells'])} cells with such crime")
    assert case["target_area"]["name"] == (f"250 m grid cell {mid(top['place'])}, ranked 1 in "
                                           f"City of London ({label})")


def test_a_cell_with_few_crimes_of_the_category_says_so_in_the_evidence(world: World) -> None:
    top = world.api(f"/api/v1/hotspots?{FINDER}")["cells"][0]
    counts = by_category(cell_area(top))
    few = next(slug for slug in CATEGORIES if 0 < counts.get(slug, 0) < 5)
    response = post_case(world, top, few)
    assert response.status_code == 303, response.text[:500]
    case = read_case(world, response.headers["location"])
    n = counts[few]
    assert (f"Only {n} crime{'' if n == 1 else 's'} ({CATEGORIES[few].lower()}) in this cell, "
            "fewer than 5: too few to call it a hotspot on their own.") \
        in case["cheers"]["events"]["evidence"]


@pytest.mark.parametrize(("choice", "message"), [
    pytest.param(None, "Choose the case's category.", id="none chosen"),
    pytest.param("jaywalking", "Choose a category from the list.", id="unknown"),
    pytest.param("empty", f"No {{label}} was recorded in this cell in {LABEL}: choose a "
                          "category with crime here, or open a case from the Cases page if the "
                          "problem is known from elsewhere.", id="no crime of it here"),
])
def test_a_bad_choice_is_asked_again_naming_the_field(world: World, choice: str | None,
                                                      message: str) -> None:
    top = world.api(f"/api/v1/hotspots?{FINDER}")["cells"][0]
    if choice == "empty":
        counts = by_category(cell_area(top))
        choice = next(slug for slug in CATEGORIES if slug not in counts)
        message = message.format(label=CATEGORIES[choice].lower())
    before = world.cases()
    response = post_case(world, top, choice)
    assert response.status_code == 422, response.text[:300]
    page = response.text
    assert field_error(page, "case_category") == message
    assert f'<a href="#case_category">{message}</a>' in html.unescape(page)  # the summary
    assert 'id="case_category" name="case_category" type="radio"' in page  # its target
    assert "<title>Error: Open a case on a hotspot cell" in page
    assert world.cases() == before
    # The form is whole again: the proposal, every category and the finder's query.
    assert 'id="proposal"' in page and len(radios(page)) == len(CATEGORIES)
    assert f'name="col" value="{top["col"]}"' in page


def test_a_cell_without_crime_is_refused_before_any_choice(world: World) -> None:
    response = world.client.get(open_form({"col": 1, "row": 1}))
    assert response.status_code == 422
    assert "That cell has no crime in the period chosen." in text_of(response.text)
