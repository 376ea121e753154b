"""The crime data pages: the Data page (police.uk and boundary uploads, import reports), the
hotspot finder (page, map layer, "open a case here") and a case's crime picture, baseline,
target and comparison areas.

The module has a database of its own (imports commit from their own sessions): the City of
London's borough and ward boundaries and its street crime of January to March 2024 (real
data.police.uk files) are imported once; uploads go through the pages, with the app's
background runner made synchronous. Expected figures are counted here from the files with the
csv module, pyproj and shapely, never taken from the app.
"""

from __future__ import annotations

import csv
import gc
import html
import io
import json
import re
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from httpx import Response
from pyproj import Transformer
from sqlalchemy import func, select

from app.auth.roles import Role
from app.cases.models import Case
from app.crime.importer import STALE_AFTER
from app.crime.models import Area, AreaKind, ImportBatch, ImportKind, ImportStatus
from app.main import create_app
from app.sara.problem import CATEGORIES
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    LIVERPOOL_STREET,
    MONTHS,
    PERIOD,
    THEFT,
    WESTMINSTER,
    Site,
    borough_features,
    centre,
    count_in,
    crimes_of,
    geojson,
    load_boundaries,
    load_months,
    mid,
    project,
    rounding_matters,
    site,
    street_file,
    ward_features,
)

pytestmark = needs_data
FINDER = f"borough={CITY}&{PERIOD}&cell_m=250&top_k=5"
TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)



@dataclass
class Pages:
    site: Site
    analyst: Person
    sergeant: Person  # City of London supervisor

    def client(self, person: Person, **options: Any) -> TestClient:
        return self.site.client(person, **options)


@pytest.fixture(scope="module")
def pages(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    with site(db_url, tmp_path_factory, "crime_pages") as crime_site:
        with crime_site.factory() as db:
            analyst = create_person(db, "analyst.lee", Role.ANALYST, None, "Grace Lee")
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Niamh Byrne")
        load_boundaries(crime_site.factory, (CITY,), (CITY,))
        load_months(crime_site.factory, MONTHS)
        yield Pages(crime_site, analyst, sergeant)


# --- helpers -----------------------------------------------------------------------------------

def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


PLAIN_MAP = ("outline", "street")  # what a map layer adds when no tile server is set


def drawn(layer: dict[str, Any]) -> list[dict[str, Any]]:
    """A map layer's features but the outline and street names it adds without tiles."""
    return [f for f in layer["features"] if f["properties"]["role"] not in PLAIN_MAP]


def element(page: str, start: str) -> str:
    """The HTML from ``start`` to the end of the element it opens (same tag, nesting counted)."""
    begin = page.index(start)
    tag = re.match(r"<(\w+)", page[begin:])
    assert tag, start
    name, depth, position = tag.group(1), 0, begin
    for match in re.finditer(rf"<(/?){name}\b[^>]*>", page[begin:]):
        depth += -1 if match.group(1) else 1
        position = begin + match.end()
        if depth == 0:
            break
    return page[begin:position]


def cells_of_row(page: str, row_start: str) -> list[str]:
    row = element(page, row_start)
    return [text_of(cell) for cell in re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", row, re.S)]


def batch_row(page: str, batch_id: int) -> list[str]:
    match = re.search(rf'<tr class="govuk-table__row">\s*<td class="govuk-table__cell">{batch_id}'
                      r"</td>", page)
    assert match, f"no row for import {batch_id}"
    return cells_of_row(page, match.group(0))


def summary_list(page: str) -> dict[str, str]:
    rows = re.findall(r'<dt class="govuk-summary-list__key">(.*?)</dt>\s*'
                      r'<dd class="govuk-summary-list__value">(.*?)</dd>', page, re.S)
    return {text_of(key): text_of(value) for key, value in rows}


def newest_batch(pages: Pages) -> ImportBatch:
    with pages.site.factory() as db:
        batch = db.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))
        assert batch is not None
        return batch


def count_cases(pages: Pages) -> int:
    with pages.site.factory() as db:
        return db.scalar(select(func.count()).select_from(Case)) or 0


def upload(client: TestClient, person: Person, name: str, content: bytes,
           content_type: str = "text/csv") -> Response:
    return client.post("/data/police-uk", data={"csrf_token": person.csrf},
                       files={"file": (name, content, content_type)})


def upload_boundaries(client: TestClient, person: Person, content: bytes,
                      kind: str = "ward") -> Response:
    return client.post("/data/boundaries", data={"csrf_token": person.csrf, "kind": kind},
                       files={"boundary_file": ("wards.geojson", content,
                                                "application/geo+json")})


def area_id(pages: Pages, name: str, kind: AreaKind = AreaKind.WARD) -> int:
    with pages.site.factory() as db:
        found = db.scalar(select(Area.id).where(Area.kind == kind, Area.name == name))
        assert found is not None, name
        return found


def area_geometry(pages: Pages, area: int) -> dict[str, Any]:
    with pages.site.factory() as db:
        found = db.get(Area, area)
        assert found is not None
        return found.geometry


def new_case(client: TestClient, person: Person, **overrides: Any) -> str:
    body = {"title": "Phones snatched around Liverpool Street station",
            "problem_statement": "Phones taken from commuters on weekday evenings.",
            "category": "theft-from-the-person", "borough": CITY, "priority": "high",
            "target_area": LIVERPOOL_STREET} | overrides
    response = client.post("/api/v1/cases", json=body, headers=person.api)
    assert response.status_code == 201, response.text
    return response.json()["ref"]


def read_case(client: TestClient, person: Person, ref: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/cases/{ref}", headers=person.api)
    assert response.status_code == 200, response.text
    return response.json()


def save_section(client: TestClient, person: Person, ref: str, section: str,
                 form: dict[str, str]) -> Response:
    version = read_case(client, person, ref)["version"]
    return client.post(f"/cases/{ref}/sections/{section}",
                       data=form | {"csrf_token": person.csrf, "version": str(version)})


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p id="{field}-error" class="govuk-error-message">(.*?)</p>', page, re.S)
    return text_of(match.group(1)).removeprefix("Error:").strip() if match else ""


def error_summary(page: str) -> list[str]:
    if "govuk-error-summary__list" not in page:
        return []
    return [text_of(item) for item in re.findall(
        r"<li>(.*?)</li>", element(page, '<ul class="govuk-list govuk-error-summary__list"'),
        re.S)]


# --- the Data page: police.uk uploads ----------------------------------------------------------

def test_an_uploaded_street_file_is_imported_and_reported(pages: Pages) -> None:
    path = street_file("2024-04")
    rows = crimes_of("2024-04")
    without_location = sum(1 for crime in rows if crime.easting is None)
    with pages.client(pages.analyst) as client:
        response = upload(client, pages.analyst, path.name, path.read_bytes())
        assert response.status_code == 303, response.text[:300]
        batch = newest_batch(pages)
        assert re.fullmatch(rf"/data\?started=1&after={batch.id - 1}&at=\d+",
                            response.headers["location"])

        assert (batch.source, batch.kind, batch.status) == (
            path.name, ImportKind.STREET, ImportStatus.DONE)
        assert (batch.rows_read, batch.added, batch.already_present, batch.without_location,
                batch.rejected) == (len(rows), len(rows), 0, without_location, 0)

        listing = client.get(response.headers["location"])
        assert listing.status_code == 200
        assert "Import started: 1 file." in text_of(listing.text)
        assert batch_row(listing.text, batch.id) == [
            str(batch.id), f"{path.name} City of London Police: Street-level crime, Apr 2024",
            "Done",
            f"{len(rows):,}", f"{len(rows):,}", "0", f"{without_location:,}", "0"]
        assert 'hx-trigger="every 2s"' not in listing.text  # nothing is running

        report = client.get(f"/data/imports/{batch.id}")
        assert report.status_code == 200
        facts = summary_list(report.text)
        assert facts["Kind"] == "Street-level crime"
        assert facts["Months"] == "April 2024"
        assert (facts["Rows read"], facts["Added"], facts["Already present"],
                facts["Rejected"]) == (f"{len(rows):,}", f"{len(rows):,}", "0", "0")
        assert facts["Without location"].startswith(f"{without_location:,} ")
        assert "Imported" in text_of(report.text)


def test_an_import_that_starts_after_the_response_completes(pages: Pages) -> None:
    path = street_file("2024-05")
    jobs: list[Callable[[], None]] = []
    pages.site.app.state.run_in_background = jobs.append  # run when the request has ended
    try:
        with pages.client(pages.analyst) as client:
            response = upload(client, pages.analyst, path.name, path.read_bytes())
            assert response.status_code == 303
            follow = response.headers["location"]
            # The batch is not opened yet: the page follows it rather than show it finished.
            waiting = client.get(follow)
            assert f'hx-get="{follow.replace("&", "&amp;")}" hx-trigger="every 2s"' \
                in waiting.text
            assert len(jobs) == 1
            jobs.pop()()
            polled = client.get(follow, headers={"HX-Request": "true"})
        assert path.name in text_of(polled.text)
        assert "hx-trigger" not in polled.text  # begun and finished: the polling stops
        # An import that never began (its job died first) is not followed past the stale time.
        stale = int(time.time() - STALE_AFTER.total_seconds()) - 1
        with pages.client(pages.analyst) as client:
            forgotten = client.get(f"/data?started=1&after={2**31 - 1}&at={stale}").text
            recent = client.get(f"/data?started=1&after={2**31 - 1}&at={stale + 60}").text
        assert 'hx-trigger="every 2s"' not in forgotten
        assert 'hx-trigger="every 2s"' in recent
    finally:
        pages.site.app.state.run_in_background = lambda job: job()
    batch = newest_batch(pages)
    assert (batch.source, batch.status) == (path.name, ImportStatus.DONE)


def test_an_archive_lists_each_file_by_its_own_name(pages: Pages) -> None:
    months = ("2024-07", "2024-08")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for month in months:
            bundle.write(street_file(month), f"{month}/{street_file(month).name}")
    with pages.client(pages.analyst) as client:
        response = upload(client, pages.analyst, "city-2024.zip", archive.getvalue(),
                          "application/zip")
        assert response.status_code == 303, response.text[:300]
        listing = client.get(response.headers["location"]).text
    newest = newest_batch(pages)
    for batch_id, month in zip((newest.id - 1, newest.id), months, strict=True):
        label = date.fromisoformat(f"{month}-01").strftime("%b %Y")
        assert batch_row(listing, batch_id)[1] == (
            f"{street_file(month).name} City of London Police: Street-level crime, {label}; "
            "in city-2024.zip")
    assert newest.source == f"city-2024.zip:2024-08/{street_file('2024-08').name}"


@pytest.mark.parametrize(("source", "file_name", "archive"), [
    ("2024-06-city-of-london-street.csv", "2024-06-city-of-london-street.csv", ""),
    ("a.zip:2024-06/b.csv", "b.csv", "a.zip"),
    ("a.zip:b.csv", "b.csv", "a.zip"),
    ("odd:name.csv", "odd:name.csv", ""),
])
def test_a_batch_names_its_file_and_archive(source: str, file_name: str, archive: str) -> None:
    batch = ImportBatch(source=source)
    assert (batch.file_name, batch.archive) == (file_name, archive)


@pytest.mark.parametrize(("name", "content", "content_type", "message"), [
    pytest.param("map.png", b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png",
                 "This is not a CSV text file ('utf-8' codec can't decode byte 0x89 in position "
                 "0: invalid start byte).", id="png"),
    pytest.param("2024-06-city-of-london-street.csv",
                 b"Crime ID,Month,Falls within,Crime type\r\n1,2024-06,City,Robbery\r\n",
                 "text/csv", "This is not a police.uk street, outcomes or stop-and-search CSV "
                 "file", id="wrong header"),
])
def test_a_file_that_is_not_a_police_uk_csv_fails_with_its_message(
        pages: Pages, name: str, content: bytes, content_type: str, message: str) -> None:
    with pages.client(pages.analyst) as client:
        response = upload(client, pages.analyst, name, content, content_type)
        assert response.status_code == 303, response.text[:300]
        batch = newest_batch(pages)
        assert (batch.source, batch.status, batch.added) == (name, ImportStatus.FAILED, 0)
        assert batch.message.startswith(message), batch.message

        row = batch_row(client.get("/data").text, batch.id)
        assert row[2] == "Failed"
        report = text_of(client.get(f"/data/imports/{batch.id}").text)
        assert "The file was not imported" in report
        assert message in report
        assert "Nothing from this file was kept." in report


def test_an_upload_without_a_file_is_refused_beside_the_field(pages: Pages) -> None:
    with pages.site.factory() as db:
        before = db.scalar(select(func.count()).select_from(ImportBatch))
    with pages.client(pages.analyst) as client:
        response = client.post("/data/police-uk", data={"csrf_token": pages.analyst.csrf})
    assert response.status_code == 422
    page = response.text
    assert error_summary(page) == ["Choose a CSV or zip file."]
    assert '<a href="#file">' in element(page, '<ul class="govuk-list govuk-error-summary__list"')
    group = element(page, '<div class="govuk-form-group govuk-form-group--error">')
    assert field_error(group, "file") == "Choose a CSV or zip file."
    assert group.index('id="file-error"') < group.index('<input class="govuk-file-upload')
    with pages.site.factory() as db:
        assert db.scalar(select(func.count()).select_from(ImportBatch)) == before


def test_the_file_field_is_described_by_its_error(pages: Pages) -> None:
    with pages.client(pages.analyst) as client:
        page = client.post("/data/police-uk", data={"csrf_token": pages.analyst.csrf}).text
    field = re.search(r'<input class="govuk-file-upload[^>]*id="file"[^>]*>', page)
    assert field
    described = re.search(r'aria-describedby="([^"]*)"', field.group(0))
    assert described and "file-error" in described.group(1).split()


@pytest.mark.filterwarnings("default::ResourceWarning")
def test_an_uploaded_file_is_closed_when_the_request_ends(pages: Pages) -> None:
    content = geojson(ward_features(WESTMINSTER)[:1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pages.client(pages.analyst) as client:
            assert upload_boundaries(client, pages.analyst, content).status_code == 303
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)
                and "SpooledTemporaryFile" in str(w.message)]
    assert not unclosed


def test_an_upload_refused_for_its_csrf_token_is_closed_too(pages: Pages) -> None:
    """The CSRF check reads the form before the route does: a refused upload never reaches the
    route that would close it, so the check closes it."""
    content = geojson(ward_features(WESTMINSTER)[:1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pages.client(pages.analyst) as client:
            refused = client.post("/data/boundaries", data={"csrf_token": "wrong", "kind": "ward"},
                                  files={"boundary_file": ("wards.geojson", content,
                                                           "application/geo+json")})
            assert refused.status_code == 403
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)
                and "SpooledTemporaryFile" in str(w.message)]
    assert not unclosed


def test_imports_are_listed_with_their_counts(pages: Pages) -> None:
    """The module's own imports (made like the command line does), on both pages."""
    with pages.site.factory() as db:
        batches = {b.source: b for b in db.scalars(select(ImportBatch).where(
            ImportBatch.kind == ImportKind.STREET, ImportBatch.status == ImportStatus.DONE))}
    with pages.client(pages.sergeant) as client:  # any case reader may look
        listing = client.get("/data")
        assert listing.status_code == 200
        for month in MONTHS:
            rows = crimes_of(month)
            located = sum(1 for crime in rows if crime.easting is not None)
            batch = batches[street_file(month).name]
            cells = batch_row(listing.text, batch.id)
            assert cells[2:] == ["Done", f"{len(rows):,}", f"{len(rows):,}", "0",
                                 f"{len(rows) - located:,}", "0"]
            facts = summary_list(client.get(f"/data/imports/{batch.id}").text)
            assert facts["Rows read"] == f"{len(rows):,}"
            assert facts["Without location"].startswith(f"{len(rows) - located:,} ")
        assert "Import police.uk files" not in listing.text  # no upload form without the right
        # Each force's months, in runs (the module imports City of London Police's files only).
        assert re.search(r"City of London Police Jan 2024 to [^()]+ \(\d+ months\) No data "
                         r"No data 1 ", text_of(listing.text))


def test_a_running_import_is_polled_and_a_finished_one_is_not(pages: Pages) -> None:
    with pages.site.factory() as db:
        batch = ImportBatch(kind=ImportKind.STREET, source="2024-07-city-of-london-street.csv",
                            sha256="0" * 64, status=ImportStatus.RUNNING, bytes_total=4000,
                            bytes_done=1000, rows_read=220, actor="analyst.lee")
        db.add(batch)
        db.commit()
        batch_id = batch.id
    try:
        with pages.client(pages.analyst) as client:
            listing = client.get("/data").text
            section = element(listing, '<section id="batches"')
            assert 'hx-get="/data" hx-trigger="every 2s"' in section
            assert batch_row(listing, batch_id)[2] == "Running 25%"
            fragment = client.get("/data", headers={"HX-Request": "true"})
            assert fragment.text.lstrip().startswith('<section id="batches"')
            assert 'hx-trigger="every 2s"' in fragment.text and "<html" not in fragment.text

            report = client.get(f"/data/imports/{batch_id}").text
            section = element(report, '<section id="report"')
            assert f'hx-get="/data/imports/{batch_id}" hx-trigger="every 1s"' in section
            assert '<progress class="app-progress" max="100" value="25">' in section
            assert "220 rows read so far" in text_of(section)
    finally:
        with pages.site.factory() as db:
            finished = db.get(ImportBatch, batch_id)
            assert finished is not None
            finished.status, finished.message = ImportStatus.FAILED, "Stopped by the test."
            db.commit()
    with pages.client(pages.analyst) as client:
        assert "hx-trigger" not in element(client.get("/data").text, '<section id="batches"')
        report = element(client.get(f"/data/imports/{batch_id}").text, '<section id="report"')
        assert "hx-get" not in report and "hx-trigger" not in report
        assert "Stopped by the test." in text_of(report)


# --- the Data page: boundaries -----------------------------------------------------------------

def test_boundaries_are_added_then_updated(pages: Pages) -> None:
    wards = sorted(ward_features(WESTMINSTER), key=lambda f: f["properties"]["WD22NM"])[-2:]
    codes = sorted(f["properties"]["WD22CD"] for f in wards)
    content = geojson(wards)
    with pages.client(pages.analyst) as client:
        first = upload_boundaries(client, pages.analyst, content)
        assert first.status_code == 303
        report = summary_list(client.get(first.headers["location"]).text)
        assert (report["Kind"], report["Areas in the file"], report["New areas"],
                report["Areas updated"], report["Rejected"]) == ("Boundaries", "2", "2", "0", "0")

        again = upload_boundaries(client, pages.analyst, content)
        assert again.status_code == 303 and again.headers["location"] != first.headers["location"]
        report = summary_list(client.get(again.headers["location"]).text)
        assert (report["New areas"], report["Areas updated"]) == ("0", "2")
    with pages.site.factory() as db:
        stored = db.execute(select(Area.code, Area.name, Area.borough_code).where(
            Area.kind == AreaKind.WARD, Area.code.in_(codes)).order_by(Area.code)).all()
    assert [tuple(row) for row in stored] == sorted(
        (f["properties"]["WD22CD"], f["properties"]["WD22NM"], WESTMINSTER) for f in wards)


def test_a_feature_without_a_code_is_rejected_with_its_number(pages: Pages) -> None:
    named, nameless = (json.loads(json.dumps(f)) for f in ward_features(WESTMINSTER)[:2])
    nameless["properties"] = {"WD22NM": nameless["properties"]["WD22NM"]}
    with pages.client(pages.analyst) as client:
        response = upload_boundaries(client, pages.analyst, geojson([named, nameless]))
        assert response.status_code == 303
        page = client.get(response.headers["location"]).text
        report = summary_list(page)
        assert (report["Areas in the file"], report["Rejected"]) == ("2", "1")
        problems = element(page, "<table class=\"govuk-table govuk-!-font-size-16\"><thead")
        assert cells_of_row(problems, '<tr class="govuk-table__row"><td')[:2] == [
            "2", "feature 2: it has no code (name the code's property explicitly)"]
        batch_id = int(response.headers["location"].rsplit("/", 1)[1])
        api = client.get(f"/api/v1/imports/{batch_id}", headers=pages.analyst.api).json()
    assert api["status"] == "done" and api["rejected"] == 1
    assert api["problems"] == [{"line": 2, "message": "feature 2: it has no code (name the "
                                                      "code's property explicitly)"}]


# --- the hotspot finder ------------------------------------------------------------------------

def finder_answer(client: TestClient, person: Person, query: str = FINDER) -> dict[str, Any]:
    response = client.get(f"/api/v1/hotspots?{query}", headers=person.api)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_finder_shows_the_total_the_pai_and_the_top_cell(pages: Pages) -> None:
    with pages.client(pages.analyst) as client:
        answer = finder_answer(client, pages.analyst)
        response = client.get(f"/hotspots?{FINDER}")
    assert response.status_code == 200
    results = element(response.text, '<div id="results"')
    words = text_of(results)
    top = answer["cells"][0]
    assert "City of London, Jan 2024 to Mar 2024" in words
    assert (f"{answer['crimes_total']:,} located crimes in {answer['study_cells']} cells of "
            "250 m, from City of London Police's data.") in words
    assert answer["crimes_total"] == sum(cell["count"] for cell in answer["cells"])
    assert (f"{answer['share_in_top']:.1%} of the crime on {answer['area_share_of_top']:.1%} "
            "of the area") in words
    assert f"Predictive Accuracy Index {answer['pai']:,.2f}" in words
    assert answer["pai"] == pytest.approx(answer["share_in_top"] / answer["area_share_of_top"])
    first_row = re.search(r'<tr class="govuk-table__row[^"]*" id="cell-1">', results)
    assert first_row
    cells = cells_of_row(results, first_row.group(0))
    assert cells[:5] == ["1 top", f"{top['count']:,}", f"{top['share']:.1%}",
                         f"{top['z']:,.2f}", f"{top['p']:.3f}"]
    # Named by its streets, its centre beneath.
    centre_text = re.search(r"\d+\.\d{5}, -?\d+\.\d{5}$", cells[5])
    assert top["place"].startswith("On or near ") and centre_text
    assert cells[5] == f"{top['place']} {centre_text[0]}"
    # The top cell's count, from the files: crimes whose point lies in its 250 m square.
    square = shapely.box(top["col"] * 250, top["row"] * 250, (top["col"] + 1) * 250,
                         (top["row"] + 1) * 250)
    assert not rounding_matters(square, MONTHS)
    assert sum(count_in(square, MONTHS).values()) == top["count"]


def test_the_finders_total_is_every_located_crime_in_the_borough(pages: Pages) -> None:
    city = project(borough_features(CITY)[0]["geometry"])
    assert not rounding_matters(city, MONTHS)
    expected = sum(count_in(city, MONTHS).values())
    with pages.client(pages.analyst) as client:
        answer = finder_answer(client, pages.analyst)
        page = text_of(client.get(f"/hotspots?{FINDER}").text)
    assert f"{expected:,} located crimes" in page
    assert answer["crimes_total"] == expected


def test_an_htmx_request_gets_the_results_block_alone(pages: Pages) -> None:
    with pages.client(pages.analyst) as client:
        answer = finder_answer(client, pages.analyst)
        response = client.get(f"/hotspots?{FINDER}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="results"')
    assert "<html" not in response.text
    assert '<form method="get" action="/hotspots"' not in response.text  # not the form again
    assert f"{answer['crimes_total']:,} located crimes" in text_of(response.text)


BAD_FINDER = [
    pytest.param("first=2024-13&last=2024-03", "first",
                 "'2024-13' is not a month: use YYYY-MM, e.g. 2024-06.", id="month 13"),
    pytest.param(f"{PERIOD}&cell_m=77", "cell_m", "Choose a cell size from the list.",
                 id="cell 77 m"),
    pytest.param(f"{PERIOD}&cell_m=wide", "cell_m", "Choose a cell size from the list.",
                 id="cell not a number"),
    pytest.param("first=2024-03&last=2024-01", "last", "The period must end after it starts.",
                 id="last before first"),
    pytest.param(f"{PERIOD}&top_k=0", "top_k", "Choose between 1 and 100 top cells.",
                 id="top 0"),
    pytest.param(f"{PERIOD}&category=jaywalking", "category", "Unknown category jaywalking.",
                 id="unknown category"),
]


@pytest.mark.parametrize(("query", "field", "message"), BAD_FINDER)
def test_bad_finder_parameters_are_shown_on_the_form(pages: Pages, query: str, field: str,
                                                      message: str) -> None:
    with pages.client(pages.analyst) as client:
        response = client.get(f"/hotspots?borough={CITY}&{query}")
    assert response.status_code == 422, response.text[:300]
    assert error_summary(response.text) == [message]
    if field != "category":  # the crime types are checkboxes, with no message of their own
        assert field_error(response.text, field) == message
    assert '<form method="get" action="/hotspots"' in response.text


def test_bad_finder_parameters_sent_by_htmx_are_explained(pages: Pages) -> None:
    with pages.client(pages.analyst) as client:
        response = client.get(f"/hotspots?borough={CITY}&first=2024-03&last=2024-01",
                              headers={"HX-Request": "true"})
    assert response.status_code == 422
    message = "The period must end after it starts."
    assert message in text_of(response.text) or message in response.headers.get(
        "HX-Trigger", "")


def test_the_map_layer_has_the_cells_and_the_study_outline(pages: Pages) -> None:
    with pages.client(pages.analyst) as client:
        answer = finder_answer(client, pages.analyst)
        response = client.get(f"/hotspots/map.geojson?{FINDER}")
    assert response.status_code == 200
    layer = response.json()
    assert layer["type"] == "FeatureCollection"
    outline, *cells = drawn(layer)
    assert outline["properties"] == {"role": "target", "label": "City of London"}
    assert outline["geometry"] == area_geometry(pages, area_id(pages, "City of London",
                                                               AreaKind.BOROUGH))
    assert {cell["properties"]["role"] for cell in cells} == {"cell"}
    assert [(c["properties"]["rank"], c["properties"]["count"], c["geometry"]) for c in cells] \
        == [(c["rank"], c["count"], c["geometry"]) for c in answer["cells"]]
    assert cells[0]["properties"]["href"] == "#cell-1"
    top = answer["cells"][0]
    assert top["place"].startswith("On or near ")
    assert cells[0]["properties"]["label"].startswith(
        f"Rank 1: {top['place']}: {top['count']:,} crimes")


def street_rows(location: str) -> list[tuple[float, float, int, int]]:
    """The City's located rows of the period at a police.uk location: (longitude, latitude,
    easting, northing), the point rounded to the metre as stored; read with csv and pyproj."""
    found = []
    for month in MONTHS:
        with street_file(month).open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.DictReader(stream):
                if row["Location"] == location and row["Longitude"].strip():
                    lon, lat = float(row["Longitude"]), float(row["Latitude"])
                    easting, northing = (round(v) for v in TO_BNG.transform(lon, lat))
                    found.append((lon, lat, easting, northing))
    return found


def test_without_tiles_the_finder_map_names_the_streets(pages: Pages) -> None:
    """No tile server is set: the layer adds street names, each a police.uk location placed at
    the mean of its crimes' points in a 500 m square, the most frequent first."""
    with pages.client(pages.analyst) as client:
        layer = client.get(f"/hotspots/map.geojson?{FINDER}").json()
    streets = [f for f in layer["features"] if f["properties"]["role"] == "street"]
    assert len(streets) > 50
    counts = [f["properties"]["count"] for f in streets]
    assert counts == sorted(counts, reverse=True)
    for street in streets[:5]:
        label, (lng, lat) = street["properties"]["label"], street["geometry"]["coordinates"]
        assert not label.startswith("On or near") and label
        easting, northing = TO_BNG.transform(lng, lat)
        # The rows of that location in the label's 500 m square, counted from the files.
        rows = [r for r in street_rows(f"On or near {label}")
                if (r[2] // 500, r[3] // 500) == (int(easting // 500), int(northing // 500))]
        assert len(rows) == street["properties"]["count"], label
        assert lng == pytest.approx(sum(r[0] for r in rows) / len(rows), abs=2e-6)
        assert lat == pytest.approx(sum(r[1] for r in rows) / len(rows), abs=2e-6)


def test_without_tiles_the_case_map_has_its_areas_outline_and_street_names(
        pages: Pages) -> None:
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        layer = client.get(f"/cases/{ref}/map.geojson").json()
    outline = [f for f in layer["features"] if f["properties"]["role"] == "outline"]
    assert [f["properties"] for f in outline] == [{"role": "outline", "label": "City of London"}]
    assert outline[0]["geometry"] == area_geometry(pages, area_id(pages, "City of London",
                                                                  AreaKind.BOROUGH))
    streets = [f for f in layer["features"] if f["properties"]["role"] == "street"]
    assert len(streets) > 20
    middle = shapely.Point(*centre(LIVERPOOL_STREET["geometry"]))
    for street in streets:
        point = shapely.Point(*TO_BNG.transform(*street["geometry"]["coordinates"]))
        assert point.distance(middle) < 300 + 2_000 + 500 * 1.5  # around the target area


def test_with_a_tile_server_the_maps_add_nothing(pages: Pages) -> None:
    tiled = create_app(Settings(database_url=pages.site.url, environment="test",
                                map_tiles_url="https://tiles.example/{z}/{x}/{y}.png",
                                map_attribution="© Example contributors"), pages.site.factory)
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
    with TestClient(tiled, base_url="http://testserver") as client:
        client.cookies.set(SESSION_COOKIE, pages.sergeant.session_secret)
        finder = client.get(f"/hotspots/map.geojson?{FINDER}").json()
        case = client.get(f"/cases/{ref}/map.geojson").json()
        page = client.get(f"/hotspots?{FINDER}").text
    assert {f["properties"]["role"] for f in finder["features"]} == {"target", "cell"}
    assert [f["properties"]["role"] for f in case["features"]] == ["target"]
    assert 'data-tiles="https://tiles.example/{z}/{x}/{y}.png"' in page


@pytest.mark.parametrize("query", [
    pytest.param(f"{PERIOD}&cell_m=0", id="cell 0 m: 500"),
    pytest.param(f"{PERIOD}&cell_m=77", id="cell 77 m: drawn"),
    pytest.param("first=2024-03&last=2024-01", id="last before first: drawn"),
])
def test_the_map_layer_refuses_what_the_finder_refuses(pages: Pages, query: str) -> None:
    with pages.client(pages.analyst, raise_server_exceptions=False) as client:
        response = client.get(f"/hotspots/map.geojson?borough={CITY}&{query}")
    assert response.status_code == 422, (response.status_code, response.text[:200])


def test_opening_a_case_on_the_top_cell(pages: Pages) -> None:
    """Through the page that proposes the category: the case is of the category proposed
    (the cell's commonest), and its evidence counts that category's crimes."""
    with pages.client(pages.sergeant) as client:
        answer = finder_answer(client, pages.sergeant)
        top = answer["cells"][0]
        page = html.unescape(client.get(f"/hotspots?{FINDER}").text)
        assert "Open a case here" in page  # offered to a City supervisor on the City
        choose = f"/hotspots/cases/new?{FINDER}&col={top['col']}&row={top['row']}"
        assert f'href="{choose}"' in page
        form = client.get(choose)
        assert form.status_code == 200, form.text[:300]
        proposed = re.findall(r'name="case_category" type="radio" value="([a-z-]+)"[^>]*checked',
                              form.text)
        assert len(proposed) == 1
        category = proposed[0]
        kind = finder_answer(client, pages.sergeant, f"{FINDER}&category={category}")
        mine = next(c for c in kind["cells"] if (c["col"], c["row"]) == (top["col"], top["row"]))
        response = client.post("/hotspots/cases", data={
            "csrf_token": pages.sergeant.csrf, "borough": CITY, "first": "2024-01",
            "last": "2024-03", "cell_m": "250", "top_k": "5", "col": str(top["col"]),
            "row": str(top["row"]), "case_category": category})
        assert response.status_code == 303, response.text[:300]
        location = response.headers["location"]
        assert re.fullmatch(r"/cases/CL-\d{4}-\d{4}\?flash=opened", location)
        ref = location.split("/")[2].split("?")[0]
        case = read_case(client, pages.sergeant, ref)
        opened = text_of(client.get(location).text)
    assert f"Case {ref} is open in Scanning." in opened
    assert (case["stage"], case["borough"], case["category"]) == ("scanning", CITY, category)
    assert case["target_area"] == {
        "name": f"250 m grid cell {mid(top['place'])}, ranked 1 in City of London (all crime)",
        "geometry": top["geometry"], "radius_m": None}
    assert case["title"] == (f"Hotspot {mid(top['place'])}: {CATEGORIES[category].lower()} "
                             f"(City of London, cell {mine['rank']} of {len(kind['cells'])})")
    assert f"Hotspot {mid(top['place'])}" in opened
    assert case["target_area"]["geometry"]["type"] == "Polygon"
    # The category's crimes in the cell, from the files.
    square = shapely.box(top["col"] * 250, top["row"] * 250, (top["col"] + 1) * 250,
                         (top["row"] + 1) * 250)
    label = CATEGORIES[category]
    assert not rounding_matters(square, MONTHS, {label})
    assert sum(count_in(square, MONTHS, {label}).values()) == mine["count"]
    figures = (f"{mine['count']} crimes ({label.lower()}) in Jan 2024 to Mar 2024 in this 250 m "
               f"cell, ranked {mine['rank']} of {len(kind['cells'])} cells with such crime in "
               f"City of London; {mine['share']:.1%} of the area's {kind['crimes_total']:,} "
               "located crimes of this kind")
    assert case["cheers"]["events"]["evidence"].startswith(figures)
    assert case["cheers"]["events"]["met"] is None
    assert case["problem_statement"].startswith(
        f"Found by the hotspot finder searching all crime, where this cell ranked 1 of "
        f"{len(answer['cells'])} with {top['count']:,} crimes; the case is about "
        f"{label.lower()}, chosen when it was opened. {figures}")
    assert "Source: police.uk open data (City of London Police)." in case["problem_statement"]


def test_a_cell_without_crime_is_refused_clearly(pages: Pages) -> None:
    before = count_cases(pages)
    with pages.client(pages.sergeant) as client:
        response = client.post("/hotspots/cases", data={
            "csrf_token": pages.sergeant.csrf, "borough": CITY, "first": "2024-01",
            "last": "2024-03", "cell_m": "250", "top_k": "5", "col": "1", "row": "1",
            "case_category": "drugs"})
    assert response.status_code == 422
    assert "That cell has no crime in the period chosen." in text_of(response.text)
    assert count_cases(pages) == before


# --- a case's crime picture --------------------------------------------------------------------

def test_the_picture_section_shows_the_chart_and_the_tables(pages: Pages) -> None:
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        found = client.get(f"/api/v1/cases/{ref}/crime-picture?{PERIOD}",
                           headers=pages.sergeant.api).json()
        response = client.get(f"/cases/{ref}?section=picture&{PERIOD}")
    assert response.status_code == 200
    section = element(response.text, '<section id="section-picture"')
    svg = re.search(r"<svg\b[^>]*>", section)
    assert svg and 'role="img"' in svg.group(0)
    assert re.search(r'<title id="crime-picture-chart-title">Crimes a month in Liverpool Street '
                     r"station</title>", section)
    expected = [(date.fromisoformat(m["month"]), m["count"]) for m in found["monthly"]]
    assert found["total"] > 0
    bars = re.findall(r'data-month="(\d{4}-\d{2})"><title>(\w{3} \d{4}): (\d+)</title>', section)
    assert [(month, int(count)) for month, _label, count in bars] == [
        (f"{m:%Y-%m}", n) for m, n in expected]
    months_table = element(section, '<details class="govuk-details">')
    assert re.findall(r'<th scope="row" class="govuk-table__header">(\w{3} \d{4})</th>'
                      r'<td class="govuk-table__cell govuk-table__cell--numeric" '
                      r'data-figure="crimes\.[\d-]+">(\d+)</td>',
                      months_table) == [(f"{m:%b %Y}", str(n)) for m, n in expected]
    by_type = element(section[section.index(">By type<"):], "<table")
    assert cells_of_row(by_type, '<tr class="govuk-table__row">') == [
        found["by_category"][0]["label"], str(found["by_category"][0]["count"])]
    outcomes = element(section[section.index(">By last outcome<"):], "<table")
    assert [text_of(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", outcomes)] == [
        o["label"] for o in found["by_outcome"][:8]]
    assert found["summary"] in text_of(section)  # the paragraph "Keep these figures" adds


@pytest.mark.parametrize(("first", "last", "start", "end"), [
    ("2024-01", "2024-03", "2024-01-01", "2024-03-31"),
    ("2024-02", "2024-02", "2024-02-01", "2024-02-29"),  # a leap year's February
    ("2023-12", "2024-01", "2023-12-01", "2024-01-31"),  # across the year's end
])
def test_the_baseline_is_whole_months(pages: Pages, first: str, last: str, start: str,
                                      end: str) -> None:
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        version = read_case(client, pages.sergeant, ref)["version"]
        response = client.post(f"/cases/{ref}/baseline", data={
            "csrf_token": pages.sergeant.csrf, "version": str(version),
            "baseline_first": first, "baseline_last": last})
        assert response.status_code == 303, response.text[:300]
        assert response.headers["location"] == (
            f"/cases/{ref}?section=picture&flash=baseline#section-picture")
        case = read_case(client, pages.sergeant, ref)
        assert "The baseline period is set." in text_of(
            client.get(response.headers["location"]).text)
    assert (case["baseline_start"], case["baseline_end"]) == (start, end)


@pytest.mark.parametrize(("first", "last", "message"), [
    ("2024-03", "2024-01", "The baseline must end after it starts."),
    ("2024-13", "2024-01", "'2024-13' is not a month: use YYYY-MM, e.g. 2024-06."),
])
def test_a_refused_baseline_says_why(pages: Pages, first: str, last: str, message: str) -> None:
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        version = read_case(client, pages.sergeant, ref)["version"]
        response = client.post(f"/cases/{ref}/baseline", data={
            "csrf_token": pages.sergeant.csrf, "version": str(version),
            "baseline_first": first, "baseline_last": last})
    assert response.status_code == 422
    assert message in text_of(response.text)


def test_pinning_the_picture_appends_its_summary(pages: Pages) -> None:
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        case = read_case(client, pages.sergeant, ref)
        patched = client.patch(f"/api/v1/cases/{ref}", headers=pages.sergeant.api, json={
            "version": case["version"], "analysis_summary": "Seen on the station's CCTV."})
        assert patched.status_code == 200, patched.text
        summary = client.get(f"/api/v1/cases/{ref}/crime-picture?{PERIOD}",
                             headers=pages.sergeant.api).json()["summary"]
        response = client.post(f"/cases/{ref}/pin-picture", data={
            "csrf_token": pages.sergeant.csrf, "version": str(patched.json()["version"]),
            "first": "2024-01", "last": "2024-03"})
        assert response.status_code == 303, response.text[:300]
        assert response.headers["location"] == (
            f"/cases/{ref}?section=analysis&flash=pinned#section-analysis")
        after = read_case(client, pages.sergeant, ref)
    assert after["analysis_summary"] == f"Seen on the station's CCTV.\n\n{summary}"
    assert summary.startswith("Crime picture of Liverpool Street station (28.3 ha), theft from "
                              "the person, Jan 2024 to Mar 2024: ")


def stale_pin(pages: Pages) -> tuple[Response, str, dict[str, Any]]:
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        stale = read_case(client, pages.sergeant, ref)["version"]
        response = client.post(f"/cases/{ref}/baseline", data={
            "csrf_token": pages.sergeant.csrf, "version": str(stale),
            "baseline_first": "2024-01", "baseline_last": "2024-02"})
        assert response.status_code == 303
        response = client.post(f"/cases/{ref}/pin-picture", data={
            "csrf_token": pages.sergeant.csrf, "version": str(stale), "first": "2024-01",
            "last": "2024-03"})
        return response, ref, read_case(client, pages.sergeant, ref)


def test_a_stale_pin_is_refused(pages: Pages) -> None:
    response, _ref, case = stale_pin(pages)
    assert response.status_code == 409
    assert case["analysis_summary"] == ""


def test_a_stale_pin_shows_the_conflict(pages: Pages) -> None:
    response, ref, case = stale_pin(pages)
    assert response.status_code == 409
    assert (f"{ref} has changed since you opened it (you had version {case['version'] - 1}, "
            f"it is now at version {case['version']}).") in text_of(response.text)


# --- target, buffer and comparison areas -------------------------------------------------------

def ward_options(page: str) -> dict[str, str]:
    group = element(page, '<optgroup label="Wards">')
    return {text_of(name): value for value, name in re.findall(
        r'<option value="(\d+)"[^>]*>([^<]*)</option>', group)}


def test_the_area_form_offers_the_boroughs_wards(pages: Pages) -> None:
    with pages.site.factory() as db:
        wards = {a.name: (a.id, a.borough_code) for a in db.scalars(
            select(Area).where(Area.kind == AreaKind.WARD))}
    city = {name: str(i) for name, (i, borough) in wards.items() if borough == CITY}
    assert len(city) == len(ward_features(CITY))
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        response = client.get(f"/cases/{ref}?section=area&edit=1")
    assert response.status_code == 200
    assert ward_options(response.text) == city
    assert 'name="target_area-kind" type="radio" value="boundary"' in response.text


def test_choosing_a_ward_stores_a_copy_of_it(pages: Pages) -> None:
    bishopsgate = area_id(pages, "Bishopsgate")
    geometry = area_geometry(pages, bishopsgate)
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        response = save_section(client, pages.sergeant, ref, "area", {
            "target_area-kind": "boundary", "target_area-boundary": str(bishopsgate),
            "target_area-name": ""})
        assert response.status_code == 303, response.text[:300]
        named = new_case(client, pages.sergeant)
        response = save_section(client, pages.sergeant, named, "area", {
            "target_area-kind": "boundary", "target_area-boundary": str(bishopsgate),
            "target_area-name": "Bishopsgate and the station"})
        assert response.status_code == 303
        # A later boundary import changes the ward, not the cases made from it.
        with pages.site.factory() as db:
            ward = db.get(Area, bishopsgate)
            assert ward is not None
            ward.geometry = {"type": "Polygon", "coordinates": [[
                [-0.08, 51.51], [-0.07, 51.51], [-0.07, 51.52], [-0.08, 51.51]]]}
            db.commit()
        try:
            case, other = (read_case(client, pages.sergeant, r) for r in (ref, named))
        finally:
            with pages.site.factory() as db:
                ward = db.get(Area, bishopsgate)
                assert ward is not None
                ward.geometry = geometry
                db.commit()
    assert case["target_area"] == {"name": "Bishopsgate (Ward)", "geometry": geometry,
                                   "radius_m": None}
    assert other["target_area"]["name"] == "Bishopsgate and the station"
    assert other["target_area"]["geometry"] == geometry


def test_a_buffer_width_draws_a_ring_on_the_map(pages: Pages) -> None:
    (lng, lat), radius = LIVERPOOL_STREET["geometry"]["coordinates"], 300
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        response = save_section(client, pages.sergeant, ref, "area", {
            "target_area-kind": "point", "target_area-name": "Liverpool Street station",
            "target_area-lat": str(lat), "target_area-lng": str(lng),
            "target_area-radius_m": str(radius)})
        assert response.status_code == 303, response.text[:300]
        # The buffer is set with the comparison areas (Analysis), where analysts may set it.
        response = save_section(client, pages.sergeant, ref, "comparison", {
            "buffer_width_m": "200", "control_area-kind": "none"})
        assert response.status_code == 303, response.text[:300]
        layer = client.get(f"/cases/{ref}/map.geojson").json()
    roles = [f["properties"]["role"] for f in drawn(layer)]
    assert roles == ["target", "buffer"]
    target, buffer = drawn(layer)
    assert target["properties"] == {"role": "target", "label": "Liverpool Street station",
                                    "radius_m": 300}
    assert buffer["properties"] == {"role": "buffer", "label": "200 m buffer"}
    ring = project(buffer["geometry"])
    middle = shapely.Point(*centre(LIVERPOOL_STREET["geometry"]))
    assert not ring.contains(middle)
    assert ring.distance(middle) == pytest.approx(300, abs=0.5)  # it starts at the target's edge
    assert shapely.hausdorff_distance(ring.exterior if ring.geom_type == "Polygon" else ring,
                                      middle.buffer(500, quad_segs=64).exterior) < 1
    assert ring.area == pytest.approx(3.14159265 * (500**2 - 300**2), rel=0.005)


def suggestions(page: str) -> list[tuple[str, int]]:
    section = element(page, '<section id="section-comparison"')
    listed = element(section, '<ul class="govuk-list govuk-list--bullet">')
    return [(name, int(count)) for name, count in re.findall(
        r"<li>(.*?) \(ward\): (\d+) crimes</li>", html.unescape(listed))]


def test_the_comparison_suggests_controls_clear_of_the_target_and_buffer(pages: Pages) -> None:
    bishopsgate = area_id(pages, "Bishopsgate")
    target = project(area_geometry(pages, bishopsgate))
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        assert save_section(client, pages.sergeant, ref, "area", {
            "target_area-kind": "boundary", "target_area-boundary": str(bishopsgate),
            "target_area-name": ""}).status_code == 303
        assert save_section(client, pages.sergeant, ref, "comparison", {
            "buffer_width_m": "200", "control_area-kind": "none"}).status_code == 303
        version = read_case(client, pages.sergeant, ref)["version"]
        assert client.post(f"/cases/{ref}/baseline", data={
            "csrf_token": pages.sergeant.csrf, "version": str(version),
            "baseline_first": "2024-01", "baseline_last": "2024-03"}).status_code == 303
        page = client.get(f"/cases/{ref}?section=comparison").text
        offered = suggestions(page)
        edit = client.get(f"/cases/{ref}?section=comparison&edit=1").text
    assert 1 <= len(offered) <= 5
    table = text_of(element(page, '<section id="section-comparison"'))
    assert "Theft from the person, Jan 2024 to Mar 2024 (the baseline)" in table
    target_count = sum(count_in(target, MONTHS, {THEFT}).values())
    assert not rounding_matters(target, MONTHS, {THEFT})
    assert f"Target: Bishopsgate (Ward) {target_count} " in table
    for name, count in offered:
        ward = project(area_geometry(pages, area_id(pages, name)))
        assert ward.distance(target) > 199.5, f"{name} touches the target or its 200 m buffer"
        if not rounding_matters(ward, MONTHS, {THEFT}):
            assert sum(count_in(ward, MONTHS, {THEFT}).values()) == count, name
    group = element(edit, '<optgroup label="Suggested: similar crime, not touching the target '
                          'or buffer">')
    assert [text_of(o) for o in re.findall(r"<option[^>]*>([^<]*)</option>", group)] == [
        f"{name} (ward): {count} crimes" for name, count in offered]

    control_name = offered[0][0]
    control = area_id(pages, control_name)
    with pages.client(pages.sergeant) as client:
        response = save_section(client, pages.sergeant, ref, "comparison", {
            "buffer_width_m": "200", "control_area-kind": "boundary",
            "control_area-boundary": str(control), "control_area-name": ""})
        assert response.status_code == 303, response.text[:300]
        case = read_case(client, pages.sergeant, ref)
        table = text_of(element(client.get(f"/cases/{ref}?section=comparison").text,
                                '<section id="section-comparison"'))
        layer = client.get(f"/cases/{ref}/map.geojson").json()
    assert case["control_area"] == {"name": f"{control_name} (Ward)",
                                    "geometry": area_geometry(pages, control), "radius_m": None}
    assert f"Control: {control_name} (Ward) {offered[0][1]} " in table
    assert [f["properties"]["role"] for f in drawn(layer)] == ["target", "control", "buffer"]


def crime_bins(pages: Pages) -> tuple[int, list[tuple[int, int, dict[str, Any]]]]:
    """The crime picture's total, and the case map's bins as (col, row, properties)."""
    with pages.client(pages.sergeant) as client:
        ref = new_case(client, pages.sergeant)
        total = client.get(f"/api/v1/cases/{ref}/crime-picture?{PERIOD}",
                           headers=pages.sergeant.api).json()["total"]
        layer = client.get(f"/cases/{ref}/map.geojson?bins=1&{PERIOD}").json()
        plain = client.get(f"/cases/{ref}/map.geojson").json()
    assert [f["properties"]["role"] for f in drawn(plain)] == ["target"]
    assert drawn(layer)[0]["properties"]["role"] == "target"
    bins = []
    for feature in drawn(layer)[1:]:
        assert feature["properties"]["role"] == "bin"
        square_drawn = project(feature["geometry"])
        col, row = int(square_drawn.centroid.x // 50), int(square_drawn.centroid.y // 50)
        square = shapely.box(col * 50, row * 50, (col + 1) * 50, (row + 1) * 50)
        assert shapely.hausdorff_distance(square_drawn, square) < 0.2  # a 50 m grid square
        bins.append((col, row, feature["properties"]))
    return total, bins


def test_the_case_map_shows_its_crimes_in_50_m_squares(pages: Pages) -> None:
    total, bins = crime_bins(pages)
    assert bins and sum(props["count"] for _c, _r, props in bins) >= total > 0
    for _col, _row, props in bins:
        count = props["count"]
        assert count > 0
        assert props["label"] == (
            f"{count} {'crime' if count == 1 else 'crimes'}, Jan 2024 to Mar 2024")


def test_each_50_m_square_is_drawn_once_with_all_its_crimes(pages: Pages) -> None:
    _total, bins = crime_bins(pages)
    squares = [(col, row) for col, row, _props in bins]
    assert len(squares) == len(set(squares)), "a square is drawn more than once"
    for col, row, props in bins:
        square = shapely.box(col * 50, row * 50, (col + 1) * 50, (row + 1) * 50)
        if not rounding_matters(square, MONTHS, {THEFT}):
            assert sum(count_in(square, MONTHS, {THEFT}).values()) == props["count"]
