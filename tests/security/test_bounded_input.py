"""Bounded input (review findings 1-3), replayed as the review did and measured.

Each attack runs in-process (the app in this test process), with the process's resident memory
sampled every millisecond and a stopwatch. The bounds asserted are generous (the
machine is shared): what matters is that they are far below what the attack cost before the fix
(the zip took the server from 193 MB to 783 MB; the polygon took 6 s).
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette import formparsers

from app.auth.context import Actor
from app.bounds import ZipBounds
from app.crime.importer import SourceError, expand, import_sources
from app.crime.models import ImportBatch
from app.main import create_app
from app.settings import Settings
from tests.conftest import Cast, Person, new_case_body, page_client

T = TypeVar("T")
MB = 1024 * 1024
HEADER = (b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          b"LSOA name,Crime type,Last outcome category,Context\n")


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Cost:
    cpu_s: float  # processor time of the whole process (the server runs in it)
    wall_s: float
    rss_growth: int  # bytes of resident memory above where it started, at its highest

    def within(self, cpu_s: float = 1.0, rss_mb: int = 48) -> bool:
        """Under a second of work and ``rss_mb`` of memory; the wall clock only loosely (the
        machine is shared: a second of work may take several when others are busy)."""
        return self.cpu_s < cpu_s and self.wall_s < 5 * cpu_s and self.rss_growth < rss_mb * MB


def measured(action: Callable[[], T]) -> tuple[T, Cost]:
    """What ``action`` returns, and what it cost: the process's resident memory is sampled
    every millisecond while it runs."""
    gc.collect()  # earlier tests' garbage is not this action's cost
    start, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            done.wait(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        result = action()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        done.set()
        sampler.join()
    return result, Cost(cpu, wall, max(peak[0], rss()) - start)


@pytest.fixture
def bounded_app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    app = create_app(settings, session_factory)
    app.state.run_in_background = lambda job: job()  # an upload imports before the answer
    return app


@pytest.fixture
def analyst_pages(bounded_app: FastAPI, cast: Cast) -> Iterator[TestClient]:
    with page_client(bounded_app, cast.analyst) as client:
        assert client.get("/data").status_code == 200  # templates compiled before measuring
        yield client


def upload(client: TestClient, person: Person, name: str, content: bytes,
           content_type: str = "text/csv") -> Any:
    return client.post("/data/police-uk", data={"csrf_token": person.csrf},
                       files={"file": (name, content, content_type)})


BOUNDARY = "bounded-test"


def raw_multipart(fields: dict[str, str], name: str, content: bytes) -> bytes:
    """A multipart body with the file name exactly as given (httpx would percent-encode control
    characters, as browsers do; an attacker need not)."""
    parts = [f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n"
             f"{value}\r\n".encode() for key, value in fields.items()]
    parts.append(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
                 f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                 .encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode())
    return b"".join(parts)


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def batches(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ImportBatch)) or 0


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The review's archive: one 300 MiB CSV member of a single line, about 300 KB zipped."""
    path = tmp_path_factory.mktemp("bomb") / "2024-01-city-of-london-street.zip"
    block = b"a" * MB
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("2024-01-city-of-london-street.csv", "w", force_zip64=True) as member:
        member.write(HEADER)
        for _ in range(300):
            member.write(block)
    return path.read_bytes()


# --- finding 1: memory from a small upload -----------------------------------------------------

def test_a_zip_bomb_upload_is_refused_before_any_member_is_read(
        analyst_pages: TestClient, cast: Cast, db: Session, zip_bomb: bytes) -> None:
    assert len(zip_bomb) < 400 * 1024
    before = batches(db)
    response, cost = measured(lambda: upload(
        analyst_pages, cast.analyst, "2024-01-city-of-london-street.zip", zip_bomb,
        "application/zip"))
    assert response.status_code == 422
    assert "compressed" in response.text and "zip bomb" in response.text
    assert batches(db) == before  # nothing imported, not even a failed batch
    assert cost.within(rss_mb=48), cost


def test_a_zip_of_too_many_members_is_refused_from_its_end_record(tmp_path: Path) -> None:
    """20,000 empty members against the default 10,000: refused from the count the archive's end
    record declares, before zipfile builds an object for each member."""
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(20_000):
            archive.writestr(f"{number}.csv", b"")
    message, cost = measured(lambda: _refused(lambda: expand([path])))
    assert message == "many.zip: The zip archive holds 20,000 files; at most 10,000 are accepted."
    assert cost.within(cpu_s=0.2, rss_mb=16), cost


def test_a_zip_member_too_large_unpacked_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "2024-01-city-of-london-street.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("2024-01-city-of-london-street.csv", HEADER + os.urandom(3 * MB))
    bounds = ZipBounds(max_members=10, max_member_bytes=2 * MB, max_ratio=200)
    message, cost = measured(lambda: _refused(lambda: expand([path], bounds)))
    assert message == ("2024-01-city-of-london-street.zip: 2024-01-city-of-london-street.csv "
                       "would be 3.0 MB unpacked; at most 2 MB is accepted per file.")
    assert cost.within(cpu_s=0.2, rss_mb=16), cost


def _refused(action: Callable[[], object]) -> str:
    with pytest.raises(SourceError) as refused:
        action()
    return str(refused.value)


def test_a_csv_line_is_bounded_while_it_is_read(
        tmp_path: Path, session_factory: sessionmaker[Session], db: Session) -> None:
    """A 128 MiB line (what a member that passed the zip checks could hold): the file is
    refused with the line's number and memory stays near the line bound, not the line's size."""
    path = tmp_path / "2024-01-city-of-london-street.csv"
    with path.open("wb") as out:
        out.write(HEADER)
        for _ in range(128):
            out.write(b"x" * MB)
    sources = expand([path])
    [report], cost = measured(lambda: import_sources(session_factory, Actor.cli(),
                                                              sources))
    assert report.status == "failed"
    assert report.message == ("Line 2 is longer than 64 KB: this is not a police.uk CSV file, "
                              "or it is damaged.")
    assert report.added == 0
    assert cost.within(rss_mb=48), cost


def test_a_csv_row_over_the_bound_is_refused_on_the_data_page_with_its_line(
        analyst_pages: TestClient, cast: Cast, db: Session) -> None:
    content = HEADER + b"x" * (200 * 1024) + b"\n"
    response, cost = measured(lambda: upload(
        analyst_pages, cast.analyst, "2024-01-city-of-london-street.csv", content))
    assert response.status_code == 303
    batch = db.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))
    assert batch is not None and batch.status.value == "failed"
    assert batch.message.startswith("Line 2 is longer than 64 KB")
    assert cost.within(rss_mb=48), cost


class Watched(formparsers.SpooledTemporaryFile):  # type: ignore[misc, name-defined]
    """The spooled file Starlette writes an upload to, remembering the most written."""

    largest = 0

    def write(self, data: bytes) -> int:
        written = super().write(data)
        Watched.largest = max(Watched.largest, self.tell())
        return written


def test_an_upload_over_the_limit_is_refused_while_it_streams(
        settings: Settings, session_factory: sessionmaker[Session], cast: Cast, db: Session,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """POPCASE_MAX_UPLOAD_MB=1: a 20 MB upload is cut off near the limit (chunked: no length
    given), and refused before a byte is read when its length says it is too large."""
    app = create_app(settings.model_copy(update={"max_upload_mb": 1}), session_factory)
    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", Watched)
    Watched.largest = 0
    before = batches(db)
    boundary = BOUNDARY

    def body() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
               f"{cast.analyst.csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; "
               f"name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()
        yield HEADER + b"x" * (20 * MB)
        yield f"\r\n--{boundary}--\r\n".encode()

    with page_client(app, cast.analyst) as client:
        assert client.get("/data").status_code == 200  # templates compiled before measuring
        streamed, cost = measured(lambda: client.post(
            "/data/police-uk", content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}))
        assert streamed.status_code == 413
        assert "larger than 2 MB" in streamed.text  # the limit and its room for the form
        assert 0 < Watched.largest <= 2 * MB  # never the whole 20 MB on disk
        assert cost.within(rss_mb=48), cost
        Watched.largest = 0
        declared = upload(client, cast.analyst, "big.csv", HEADER + b"x" * (3 * MB))
        assert declared.status_code == 413 and Watched.largest == 0  # nothing read at all
    assert batches(db) == before


# --- finding 2: slow refusal of a huge body ----------------------------------------------------

def polygon(vertices: int) -> dict[str, Any]:
    ring = [[-0.17 + i * 1e-9, 51.52] for i in range(vertices - 1)] + [[-0.17, 51.52]]
    return {"geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_a_huge_json_body_is_refused_before_it_is_parsed(
        client: TestClient, cast: Cast) -> None:
    """The review's million-vertex polygon, about 14 MB of JSON: 413 at once, unparsed."""
    body = json.dumps(new_case_body(target_area=polygon(1_000_000))).encode()
    assert len(body) > 12 * MB
    response, cost = measured(lambda: client.post(
        "/api/v1/cases", content=body,
        headers={**cast.officer.api, "Content-Type": "application/json"}))
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert "larger than 1 MB" in response.json()["message"]
    assert cost.within(rss_mb=48), cost


def test_too_many_vertices_within_the_body_limit_are_counted_before_they_are_checked(
        client: TestClient, cast: Cast) -> None:
    """Short positions fit 160,000 vertices into the body limit: refused by counting them."""
    ring = [[0, 0]] * 160_000
    body = json.dumps(new_case_body(target_area={
        "geometry": {"type": "Polygon", "coordinates": [ring]}}), separators=(",", ":")).encode()
    assert len(body) < 1024 * 1024
    response, cost = measured(lambda: client.post(
        "/api/v1/cases", content=body,
        headers={**cast.officer.api, "Content-Type": "application/json"}))
    assert response.status_code == 422
    assert "160000 points; simplify it to at most 20000" in response.text
    assert cost.within(rss_mb=96), cost


def test_a_large_form_is_refused_as_a_page(pages: Callable[[Person], TestClient],
                                           cast: Cast) -> None:
    client = pages(cast.officer)
    response = client.post("/cases", data={"csrf_token": cast.officer.csrf,
                                           "title": "x" * (2 * MB)})
    assert response.status_code == 413
    assert "What you sent is too large" in response.text
    assert "larger than 1 MB" in response.text


# --- finding 3: a 500 from a file name ---------------------------------------------------------

ODD_NAMES = {
    "..": "is not a file name",
    ".": "is not a file name",
    "../../etc/passwd.csv": "must not name a folder",
    "data\\june.csv": "must not name a folder",
    "june\x00.csv": "control characters",
    "june\t.csv": "control characters",
    "j" * 300 + ".csv": "longer than 255 characters",
}


@pytest.mark.parametrize("name", list(ODD_NAMES), ids=lambda n: repr(n)[:24])
def test_an_odd_file_name_is_refused_with_a_message_and_leaves_nothing(
        analyst_pages: TestClient, cast: Cast, db: Session, name: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A temporary folder of this test's own: other test workers upload into the shared one
    # at the same time, so comparing that folder's listing before and after races with them.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = batches(db)
    response, cost = measured(lambda: analyst_pages.post(
        "/data/police-uk", content=raw_multipart({"csrf_token": cast.analyst.csrf}, name, HEADER),
        headers=MULTIPART))
    assert response.status_code == 400, response.text[:300]
    assert ODD_NAMES[name] in response.text
    assert list(tmp_path.iterdir()) == []  # no temporary folder left behind
    assert batches(db) == before
    assert cost.within(rss_mb=48), cost


@pytest.mark.parametrize("name", ["..", "a/b.png", "door\x07.png"])
def test_an_odd_attachment_name_is_refused_with_a_message(
        client: TestClient, cast: Cast, attachments_folder: Path, name: str) -> None:
    ref = client.post("/api/v1/cases", json=new_case_body(), headers=cast.officer.api).json()
    files_before = sorted(attachments_folder.rglob("*"))
    warm = client.post(f"/api/v1/cases/{ref['ref']}/attachments",  # first use of the route
                       headers={**cast.officer.api, **MULTIPART},
                       content=raw_multipart({"caption": "Door"}, "..", b"\x89PNG\r\n"))
    assert warm.status_code == 400
    response, cost = measured(lambda: client.post(
        f"/api/v1/cases/{ref['ref']}/attachments", headers={**cast.officer.api, **MULTIPART},
        content=raw_multipart({"caption": "Door"}, name, b"\x89PNG\r\n")))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "name" in response.json()["message"]
    assert sorted(attachments_folder.rglob("*")) == files_before
    assert cost.within(rss_mb=48), cost
