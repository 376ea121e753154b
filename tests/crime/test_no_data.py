"""No data is never zero: a figure without imported data behind it says "no data" on the pages,
is null with a ``no_data_reason`` in the API, an empty cell marked "no data" in CSV, and is named
as such in the analysis summary the crime picture pins.

The module has a database of its own holding real City of London files: street-level crime of
April, May, June and August 2018 (July left out) and stop and search of May and June 2018 only.
Expected counts are made here from the files (csv, pyproj, shapely), never taken from the app.
"""

from __future__ import annotations

import csv
import html
import io
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

from app.auth.context import Actor
from app.auth.roles import Role
from app.crime.importer import expand, import_sources
from app.exports.no_data import FORCE_COUNTS_COLUMNS
from app.web.deps import SESSION_COOKIE
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    DATA,
    LIVERPOOL_STREET,
    THEFT,
    Site,
    borough_features,
    centre,
    count_in,
    load_boundaries,
    load_months,
    project,
    rounding_matters,
    site,
)

pytestmark = needs_data

STREET_MONTHS = ["2018-04", "2018-05", "2018-06", "2018-08"]  # no July
SEARCH_MONTHS = ["2018-05", "2018-06"]
PERIOD_MONTHS = ["2018-04", "2018-05", "2018-06", "2018-07", "2018-08"]
PERIOD = "first=2018-04&last=2018-08"
FORCE = "City of London Police"
RADIUS = LIVERPOOL_STREET["radius_m"]


@dataclass
class World:
    site: Site
    analyst: Person
    sergeant: Person  # City of London supervisor
    client: TestClient

    def get(self, url: str, person: Person | None = None) -> Any:
        response = self.client.get(url, headers=(person or self.analyst).api)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        return response.json()

    def page(self, url: str, person: Person | None = None, status: int = 200) -> str:
        with self.site.client(person or self.analyst) as client:
            response = client.get(url)
        assert response.status_code == status, (url, response.status_code,
                                                response.text[:300])
        return response.text

    def new_case(self) -> str:
        response = self.client.post("/api/v1/cases", headers=self.sergeant.api, json={
            "title": "Phones snatched around Liverpool Street station",
            "problem_statement": "Phones taken from commuters on weekday evenings.",
            "category": "theft-from-the-person", "borough": CITY, "priority": "high",
            "target_area": LIVERPOOL_STREET})
        assert response.status_code == 201, response.text
        return str(response.json()["ref"])


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "no_data") as crime_site:
        with crime_site.factory() as db:
            analyst = create_person(db, "analyst.lee", Role.ANALYST, None, "Grace Lee")
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Niamh Byrne")
        load_boundaries(crime_site.factory, (CITY,), ())
        load_months(crime_site.factory, STREET_MONTHS)
        searches = import_sources(crime_site.factory, Actor.cli(), expand(
            [search_file(m) for m in SEARCH_MONTHS]))
        assert [r.status for r in searches] == ["done"] * len(SEARCH_MONTHS), searches
        with crime_site.client() as client:
            yield World(crime_site, analyst, sergeant, client)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# --- independent counts ------------------------------------------------------------------------

def search_file(month: str) -> Any:
    return DATA / month / f"{month}-city-of-london-stop-and-search.csv"


def target() -> shapely.Polygon:
    return shapely.Point(*centre(LIVERPOOL_STREET["geometry"])).buffer(RADIUS, quad_segs=256)


def searches_in_target(month: str) -> int:
    """Located searches of a month's file within the target's radius: none lies within a metre
    of its edge, so the app's circle of straight segments counts the same ones."""
    middle = shapely.Point(*centre(LIVERPOOL_STREET["geometry"]))
    with search_file(month).open(encoding="utf-8-sig", newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["Longitude"] and r["Latitude"]]
    points = [project({"type": "Point", "coordinates": [float(r["Longitude"]),
                                                         float(r["Latitude"])]})
              for r in rows]
    distances = [middle.distance(p) for p in points]
    assert all(abs(d - RADIUS) > 1 for d in distances), month
    return sum(1 for d in distances if d < RADIUS)


def thefts_in_target() -> dict[str, int]:
    area = target()
    present = [m for m in PERIOD_MONTHS if m in STREET_MONTHS]
    assert not rounding_matters(area, present, {THEFT})
    counted = count_in(area, present, {THEFT})
    return {m: counted[date.fromisoformat(f"{m}-01")] for m in present}


# --- the crime picture over the API ------------------------------------------------------------

def test_the_picture_says_which_months_have_no_data(world: World) -> None:
    ref = world.new_case()
    found = world.get(f"/api/v1/cases/{ref}/crime-picture?{PERIOD}", world.sergeant)
    thefts = thefts_in_target()
    assert found["monthly"] == [
        {"month": f"{m}-01", "count": thefts[m], "no_data_reason": None} if m in thefts else
        {"month": f"{m}-01", "count": None,
         "no_data_reason": f"No street-level crime of {FORCE} is imported for Jul 2018."}
        for m in PERIOD_MONTHS]
    assert found["months_missing"] == ["2018-07-01"]
    assert found["no_data_reason"] == f"No street-level crime of {FORCE} is imported for Jul 2018."
    assert found["total"] == sum(thefts.values()) > 0
    searches = {m: searches_in_target(m) for m in SEARCH_MONTHS}
    assert found["stop_search_monthly"] == [
        {"month": f"{m}-01", "count": searches[m], "no_data_reason": None} if m in searches
        else {"month": f"{m}-01", "count": None, "no_data_reason":
              f"No stop and search of {FORCE} is imported for {m_label(m)}."}
        for m in PERIOD_MONTHS]
    assert found["stop_search_total"] == sum(searches.values()) > 0
    assert found["stop_search_months_missing"] == ["2018-04-01", "2018-07-01", "2018-08-01"]
    assert found["stop_search_no_data_reason"] == (
        f"No stop and search of {FORCE} is imported for Apr 2018, Jul 2018 to Aug 2018.")
    # The summary: no month without data counts as a zero in the total, the mean or the peak.
    peak_month = max(thefts, key=lambda m: (thefts[m], m))
    summary = found["summary"]
    assert f": {found['total']} crimes recorded by police.uk in the 4 months with data; " \
        f"a monthly mean of {sum(thefts.values()) / 4:.1f}, peaking at {thefts[peak_month]} " \
        f"in {m_label(peak_month)}" in summary
    assert f"stop and search in the area: {found['stop_search_total']} in the months with data " \
        "(no data imported for Apr 2018, Jul 2018 to Aug 2018)" in summary
    assert summary.endswith("; street-level crime: no data imported for Jul 2018 (no data, "
                            "not zero crimes).")


def m_label(month: str) -> str:
    return f"{date.fromisoformat(f'{month}-01'):%b %Y}"


def test_without_stop_and_search_the_picture_says_no_data(world: World) -> None:
    ref = world.new_case()
    found = world.get(f"/api/v1/cases/{ref}/crime-picture?first=2018-04&last=2018-04",
                      world.sergeant)
    assert found["stop_search_total"] is None
    assert found["stop_search_monthly"] == [{
        "month": "2018-04-01", "count": None,
        "no_data_reason": f"No stop and search of {FORCE} is imported for Apr 2018."}]
    assert found["stop_search_no_data_reason"] == \
        f"No stop and search of {FORCE} is imported for Apr 2018."
    assert (found["stop_search_by_object"], found["stop_search_by_outcome"]) == ([], [])
    assert "; stop and search: no data imported for these months" in found["summary"]
    assert "stop and search in the area" not in found["summary"]
    assert (found["months_missing"], found["no_data_reason"]) == ([], None)


def test_a_period_without_any_data_is_refused_not_zero(world: World) -> None:
    ref = world.new_case()
    response = world.client.get(f"/api/v1/cases/{ref}/crime-picture?first=2018-07&last=2018-07",
                                headers=world.sergeant.api)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "first", "message": (
        f"No street-level crime of {FORCE} is imported for Jul 2018: choose months from "
        "Apr 2018 to Jun 2018, Aug 2018.")}]


# --- the crime picture on the case page and pinned into the analysis summary -------------------

def test_the_case_page_says_no_data_in_words(world: World) -> None:
    ref = world.new_case()
    thefts = thefts_in_target()
    searches = {m: searches_in_target(m) for m in SEARCH_MONTHS}
    page = world.page(f"/cases/{ref}?section=picture&{PERIOD}", world.sergeant)
    figures = {key: text_of(value) for key, value in re.findall(
        r'data-figure="((?:crimes|searches)\.[\d-]+)">(.*?)</td>', page, re.S)}
    assert figures == {
        **{f"crimes.{m}": str(thefts[m]) if m in thefts else "no data" for m in PERIOD_MONTHS},
        **{f"searches.{m}": str(searches[m]) if m in searches else "no data"
           for m in PERIOD_MONTHS}}
    words = text_of(page)
    assert f"{sum(thefts.values())} theft from the person crimes in Liverpool Street station, " \
        f"Apr 2018 to Aug 2018 (the 4 months with data): {sum(thefts.values()) / 4:.1f} a month " \
        "on average." in words
    assert f"No street-level crime of {FORCE} is imported for Jul 2018. Those months are drawn " \
        "grey" in words
    assert f"Stop and search in the area {sum(searches.values())} searches in the 2 of these " \
        "months with data." in words
    assert f"No stop and search of {FORCE} is imported for Apr 2018, Jul 2018 to Aug 2018." \
        in words
    assert "in the area: 0" not in words
    # The chart draws July as a gap, not a bar of zero.
    assert re.search(r'app-chart__bar--missing"[^>]*data-month="2018-07"><title>Jul 2018: no '
                     r"data imported</title>", page)


def test_a_page_without_stop_and_search_never_shows_a_zero(world: World) -> None:
    ref = world.new_case()
    words = text_of(world.page(f"/cases/{ref}?section=picture&first=2018-04&last=2018-04",
                               world.sergeant))
    assert f"Stop and search in the area No data: no stop-and-search data of {FORCE} is " \
        "imported for these months, so how many searches there were is not known (no data, " \
        "not zero)." in words
    assert not re.search(r"Stop and search in the area:? 0", words)


@pytest.mark.parametrize(("first", "last", "expected"), [
    ("2018-04", "2018-08", ["stop and search in the area: {searches} in the months with data "
                            "(no data imported for Apr 2018, Jul 2018 to Aug 2018)",
                            "street-level crime: no data imported for Jul 2018 (no data, not "
                            "zero crimes)"]),
    ("2018-04", "2018-04", ["stop and search: no data imported for these months"]),
])
def test_the_pinned_summary_says_no_data(world: World, first: str, last: str,
                                         expected: list[str]) -> None:
    ref = world.new_case()
    version = world.get(f"/api/v1/cases/{ref}", world.sergeant)["version"]
    with world.site.client(world.sergeant) as client:
        response = client.post(f"/cases/{ref}/pin-picture", data={
            "csrf_token": world.sergeant.csrf, "version": str(version), "first": first,
            "last": last})
    assert response.status_code == 303, response.text[:300]
    pinned = world.get(f"/api/v1/cases/{ref}", world.sergeant)["analysis_summary"]
    searches = sum(searches_in_target(m) for m in SEARCH_MONTHS)
    for text in expected:
        assert text.format(searches=searches) in pinned
    assert not re.search(r"stop and search[^;]*: 0\b", pinned)
    # What was pinned is what the picture says, word for word.
    assert pinned == world.get(f"/api/v1/cases/{ref}/crime-picture?first={first}&last={last}",
                               world.sergeant)["summary"]


# --- a force's crime by area: API, page and CSV ------------------------------------------------

def city_monthly() -> dict[str, int | None]:
    city = project(borough_features(CITY)[0]["geometry"])
    present = [m for m in PERIOD_MONTHS if m in STREET_MONTHS]
    assert not rounding_matters(city, present)
    counted = count_in(city, present)
    return {m: counted[date.fromisoformat(f"{m}-01")] if m in present else None
            for m in PERIOD_MONTHS}


def test_force_counts_are_null_with_a_reason(world: World) -> None:
    found = world.get(f"/api/v1/forces/city-of-london/crime-counts?{PERIOD}")
    expected = city_monthly()
    [city] = [a for a in found["areas"] if a["code"] == CITY]
    assert city["monthly"] == list(expected.values())
    assert city["total"] == sum(n for n in expected.values() if n is not None) > 0
    assert found["months_missing"] == ["2018-07-01"]
    assert found["no_data_reason"] == f"No street-level crime of {FORCE} is imported for Jul 2018."
    assert found["outside_areas"]["monthly"][3] is None
    complete = world.get("/api/v1/forces/city-of-london/crime-counts?first=2018-04&last=2018-06")
    assert (complete["months_missing"], complete["no_data_reason"]) == ([], None)


def test_force_counts_of_a_period_without_data_are_refused(world: World) -> None:
    response = world.client.get(
        "/api/v1/forces/city-of-london/crime-counts?first=2018-07&last=2018-07",
        headers=world.analyst.api)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "first", "message": (
        f"No street-level crime of {FORCE} is imported for Jul 2018: choose months from "
        "Apr 2018 to Jun 2018, Aug 2018.")}]
    page = world.page("/data/forces/city-of-london?first=2018-07&last=2018-07", status=422)
    assert "is imported for Jul 2018: choose months from Apr 2018 to Jun 2018, Aug 2018." \
        in text_of(page)
    # Instead of zeros, the page shows the force's whole data.
    whole = world.get("/api/v1/forces/city-of-london/crime-counts")
    shown = re.search(r'data-figure="rows">([\d,]+)<', page)
    assert shown and int(shown.group(1).replace(",", "")) == whole["rows"] > 0


def test_the_force_page_says_no_data(world: World) -> None:
    page = world.page(f"/data/forces/city-of-london?{PERIOD}")
    expected = city_monthly()
    cells = {key: text_of(value) for key, value in re.findall(
        rf'data-figure="({CITY}\.\d+)">(.*?)</td>', page, re.S)}
    assert cells == {f"{CITY}.{i}": "no data" if n is None else f"{n:,}"
                     for i, n in enumerate(expected.values())}
    assert f"No street-level crime of {FORCE} is imported for Jul 2018. Those months show " \
        "“no data”, not zero, and count in no total." in text_of(page)
    link = re.search(r'href="([^"]+counts\.csv[^"]*)"', page)
    assert link and link.group(1).replace("&amp;", "&") == \
        f"/data/forces/city-of-london/counts.csv?{PERIOD}"


def test_the_csv_leaves_a_month_without_data_empty(world: World) -> None:
    with world.site.client(world.analyst) as client:
        response = client.get(f"/data/forces/city-of-london/counts.csv?{PERIOD}")
        refused = client.get("/data/forces/city-of-london/counts.csv?first=2018-07&last=2018-07")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == [name for name, _meaning in FORCE_COUNTS_COLUMNS] == [
        "area_code", "area_name", "month", "count", "data"]
    city = [row for row in rows[1:] if row[0] == CITY]
    assert [(month, count, data) for _code, _name, month, count, data in city] == [
        (m, "", "no data") if n is None else (m, str(n), "imported")
        for m, n in city_monthly().items()]
    api = world.get(f"/api/v1/forces/city-of-london/crime-counts?{PERIOD}")
    outside = [row for row in rows[1:] if row[0] == ""]
    assert [int(r[3]) if r[3] else None for r in outside] == api["outside_areas"]["monthly"]
    lines = len(api["areas"]) + 1  # the areas, and the rows outside them
    assert len(rows) == 1 + lines * len(PERIOD_MONTHS)
    assert [r[2] for r in rows[1:] if r[4] == "no data"] == ["2018-07"] * lines
    assert all(r[3] == "" for r in rows[1:] if r[4] == "no data")
    # A period the page refuses is not a CSV of zeros: the page says why.
    assert refused.status_code == 422 and "text/html" in refused.headers["content-type"]
    assert "choose months from" in text_of(refused.text)


def test_the_data_page_names_the_data_a_force_lacks(world: World) -> None:
    words = text_of(world.page("/data"))
    assert re.search(rf"{FORCE} Apr 2018 to Jun 2018, Aug 2018 \(4 months\) May 2018 to Jun "
                     r"2018 \(2 months\) No data 1\b", words), words[:2000]


# --- in Chromium, on a phone and a desktop -----------------------------------------------------

@pytest.fixture(scope="module")
def live_url(world: World) -> Iterator[str]:
    """The module's app served over HTTP for a real browser."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(world.site.app, host=host, port=port,
                                           log_level="warning", lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                assert thread.is_alive() and time.monotonic() < deadline, "no live server"
                time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_data_reads_as_words_in_chromium(world: World, live_url: str, browser: Any,
                                            viewport: dict[str, int]) -> None:
    ref = world.new_case()
    context = browser.new_context(viewport=viewport, base_url=live_url, locale="en-GB")
    context.add_cookies([{"name": SESSION_COOKIE, "value": world.sergeant.session_secret,
                          "url": live_url}])
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"/cases/{ref}?section=picture&{PERIOD}#section-picture")
        section = page.locator("#section-picture")
        section.get_by_text("The numbers by month").click()
        july = section.locator('[data-figure="crimes.2018-07"]')
        assert july.is_visible() and july.inner_text() == "no data"
        assert [section.locator(f'[data-figure="searches.{m}"]').inner_text()
                for m in ("2018-04", "2018-07", "2018-08")] == ["no data"] * 3
        searches = section.locator('[data-no-data="stop-search"]')
        assert searches.is_visible() and "Apr 2018, Jul 2018 to Aug 2018" in searches.inner_text()
        pinned = section.locator(".govuk-inset-text")
        assert "(no data, not zero crimes)" in pinned.inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{width}px wide at {viewport['width']}px"
        folder = ARTIFACTS / "no-data"
        folder.mkdir(parents=True, exist_ok=True)
        name = "phone" if viewport is PHONE else "desktop"
        section.screenshot(path=str(folder / f"crime-picture-{name}.png"))
        page.goto(f"/data/forces/city-of-london?{PERIOD}")
        cell = page.locator(f'[data-figure="{CITY}.3"]')
        assert cell.inner_text() == "no data"
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=str(folder / f"force-counts-{name}.png"), full_page=True)
    finally:
        context.close()
    assert errors == []
