"""Attachments over the JSON API: upload, download and checksums; the type read from the
content (a PNG named .pdf is kept as the PNG it is); an oversized upload refused while it
streams, before it is all written; EXIF location and camera removed from the shown copy while
the original and its hash are kept; the access log on every download and 404 out of scope;
corrections that supersede; nothing half-written when the transaction fails."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.attachments import service, storage
from app.attachments.models import Attachment
from app.audit.models import AuditEntry
from app.cases.models import CaseEvent
from app.settings import Settings
from tests.api.test_cases_api import create
from tests.attachments_kit import MINIMAL_PDF, has_location_or_camera, phone_photo, png, size_of
from tests.conftest import Cast, Person


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, environment="test",
                    attachments_dir=str(tmp_path / "attachments"), attachment_max_mb=1,
                    attachment_max_side=4000)


@pytest.fixture
def folder(settings: Settings) -> Path:
    return Path(settings.attachments_dir)


def upload(client: TestClient, person: Person, ref: str, content: bytes,
           name: str = "IMG_0001.jpg", path: str = "", **fields: Any) -> Any:
    data = {"caption": "Broken light by the stairwell", **fields}
    return client.post(f"/api/v1/cases/{ref}/attachments{path}", headers=person.api,
                       data=data, files={"file": (name, content, "application/octet-stream")})


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def errors_of(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_a_photo_is_kept_with_its_checksum_and_shown_without_location(
        client: TestClient, cast: Cast, db: Session, folder: Path) -> None:
    ref = create(client, cast.officer)["ref"]
    photo = phone_photo(64, 48)
    assert has_location_or_camera(photo)
    response = upload(client, cast.officer, ref, photo, phase="before")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "photo" and body["phase"] == "before"
    assert body["content_type"] == "image/jpeg" and body["size"] == len(photo)
    assert body["sha256"] == hashlib.sha256(photo).hexdigest()
    assert body["stage"] == "scanning" and body["added_by"] == "pc.shah"
    assert (body["width"], body["height"]) == (48, 64)  # turned upright by its orientation

    original = client.get(body["links"]["original"], headers=cast.officer.api)
    assert original.status_code == 200
    assert original.content == photo  # the evidence, byte for byte
    assert original.headers["content-type"] == "image/jpeg"
    assert original.headers["content-disposition"].startswith("attachment;")
    assert original.headers["x-content-type-options"] == "nosniff"
    policy = original.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy  # nothing runs

    shown = client.get(body["links"]["file"], headers=cast.evaluator.api)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["content-disposition"].startswith("inline;")
    assert not has_location_or_camera(shown.content)
    assert size_of(shown.content) == (48, 64)
    assert hashlib.sha256(shown.content).hexdigest() == body["shown_sha256"] != body["sha256"]

    thumbnail = client.get(body["links"]["thumbnail"], headers=cast.officer.api)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert not has_location_or_camera(thumbnail.content)

    # Stored under their content hashes, nowhere named after the upload.
    names = {p.name for p in stored_files(folder)}
    assert hashlib.sha256(photo).hexdigest() in names and body["shown_sha256"] in names
    assert not any("IMG_0001" in n for n in names)
    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "attachment"))
    assert event is not None and event.summary.startswith("Photo (before) added")


def test_every_download_is_in_the_access_log_and_out_of_scope_is_404(
        client: TestClient, cast: Cast, db: Session) -> None:
    ref = create(client, cast.officer)["ref"]
    body = upload(client, cast.officer, ref, phone_photo()).json()
    for variant in ("file", "thumbnail", "original"):
        assert client.get(body["links"][variant], headers=cast.supervisor.api).status_code == 200
    logged = list(db.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.attachment.download").order_by(AuditEntry.seq)))
    assert [(e.actor, e.object_ref, e.details["variant"]) for e in logged] == [
        ("sgt.okafor", ref, "file"), ("sgt.okafor", ref, "thumbnail"),
        ("sgt.okafor", ref, "original")]
    assert logged[2].details["sha256"] == body["sha256"]
    for variant in ("file", "thumbnail", "original"):
        # Another area's officer and the administrator are told it does not exist.
        assert client.get(body["links"][variant],
                          headers=cast.camden_officer.api).status_code == 404
        assert client.get(body["links"][variant], headers=cast.admin.api).status_code == 404
    assert client.get(f"/api/v1/cases/{ref}/attachments/{body['id']}",
                      headers=cast.camden_officer.api).status_code == 404
    # Readers outside the case's officers see the copy, not the original with its metadata.
    assert client.get(body["links"]["original"], headers=cast.evaluator.api).status_code == 403
    assert client.get(body["links"]["original"], headers=cast.analyst.api).status_code == 403
    # Another case's attachment id under this case is not found either.
    other = create(client, cast.officer)["ref"]
    assert client.get(f"/api/v1/cases/{other}/attachments/{body['id']}/file",
                      headers=cast.officer.api).status_code == 404
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "case.attachment.download",
        AuditEntry.actor == "pc.clarke")) == 0


def test_the_type_comes_from_the_content_not_the_name(
        client: TestClient, cast: Cast, folder: Path) -> None:
    ref = create(client, cast.officer)["ref"]
    # A PNG named .pdf is accepted as the PNG it is (the name is only shown).
    disguised = png()
    body = upload(client, cast.officer, ref, disguised, name="site-plan.pdf").json()
    assert (body["kind"], body["content_type"]) == ("photo", "image/png")
    assert body["original_name"] == "site-plan.pdf"
    shown = client.get(body["links"]["file"], headers=cast.officer.api)
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].endswith(".png")

    before = stored_files(folder)
    for name, content in (("notes.jpg", b"Just some text, not a photo at all."),
                          ("evil.png", b"<html><script>alert(1)</script></html>"),
                          ("fake.jpg", b"\xff\xd8\xff\xe0 broken jpeg")):
        refused = upload(client, cast.officer, ref, content, name=name)
        assert refused.status_code == 422, name
        assert "file" in errors_of(refused)
    assert stored_files(folder) == before  # nothing kept of what was refused

    document = upload(client, cast.officer, ref, MINIMAL_PDF, name="letter.PDF").json()
    assert (document["kind"], document["content_type"]) == ("document", "application/pdf")
    assert document["shown_sha256"] == document["sha256"]
    assert document["links"]["thumbnail"] is None
    assert client.get(document["links"]["file"],
                      headers=cast.officer.api).content == MINIMAL_PDF
    assert client.get(f"/api/v1/cases/{ref}/attachments/{document['id']}/thumbnail",
                      headers=cast.officer.api).status_code == 404
    phase = upload(client, cast.officer, ref, MINIMAL_PDF, phase="after")
    assert phase.status_code == 422 and "phase" in errors_of(phase)


def test_an_oversized_upload_is_refused_before_it_is_all_written(
        client: TestClient, cast: Cast, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = create(client, cast.officer)["ref"]
    limit = 1024 * 1024
    largest = [0]
    write = storage.Incoming.write

    def watched(self: storage.Incoming, chunk: bytes) -> None:
        write(self, chunk)
        largest[0] = max(largest[0], self.path.stat().st_size)

    monkeypatch.setattr(storage.Incoming, "write", watched)
    boundary = "popcase-test-boundary"

    def body() -> Iterator[bytes]:
        # No Content-Length (a chunked stream): only the streaming check can stop it.
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\n"
               f"Too big\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"huge.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
        block = phone_photo() + b"\0" * (256 * 1024)
        for _ in range(40):  # about 10 MB against a 1 MB limit
            yield block
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(f"/api/v1/cases/{ref}/attachments", content=body(), headers={
        **cast.officer.api, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 422, response.text
    assert errors_of(response) == {"file": "The file is larger than 1 MB: choose a smaller one."}
    assert 0 < largest[0] <= limit  # never more than the limit on disk
    assert stored_files(folder) == []  # the partial file removed, nothing kept
    # Declared too large: refused before reading the body at all.
    declared = client.post(f"/api/v1/cases/{ref}/attachments", content=b"x" * (limit * 2),
                           headers={**cast.officer.api, "Content-Type":
                                    f"multipart/form-data; boundary={boundary}"})
    assert declared.status_code == 422 and "file" in errors_of(declared)
    assert client.get(f"/api/v1/cases/{ref}/attachments",
                      headers=cast.officer.api).json() == []


def heic(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 10)).save(buffer, "HEIF")
    return buffer.getvalue()


def test_an_iphone_heic_photo_is_shown_as_jpeg_and_a_broken_one_is_explained(
        client: TestClient, cast: Cast, settings: Settings) -> None:
    ref = create(client, cast.officer)["ref"]
    photo = heic()
    body = upload(client, cast.officer, ref, photo, name="IMG_5001.HEIC").json()
    assert (body["kind"], body["content_type"]) == ("photo", "image/heic")
    assert (body["width"], body["height"]) == (64, 48)
    shown = client.get(body["links"]["file"], headers=cast.officer.api)
    assert shown.headers["content-type"] == "image/jpeg" and size_of(shown.content) == (64, 48)
    original = client.get(body["links"]["original"], headers=cast.officer.api)
    assert original.content == photo and original.headers["content-type"] == "image/heic"
    broken = upload(client, cast.officer, ref, photo[:16] + b"not an image" * 8,
                    name="IMG_5002.HEIC")
    assert broken.status_code == 422
    message = errors_of(broken)["file"]
    assert "HEIC/HEIF photo but could not be read" in message
    assert settings.attachments_dir not in message  # no server path in the message


def test_image_dimensions_are_checked_from_the_header(
        client: TestClient, cast: Cast, folder: Path) -> None:
    ref = create(client, cast.officer)["ref"]
    wide = upload(client, cast.officer, ref, png(4500, 2))  # a tiny file, a too-long side
    assert wide.status_code == 422
    assert "at most 4,000 pixels along a side" in errors_of(wide)["file"]
    assert stored_files(folder) == []


def test_a_correction_supersedes_and_the_old_stays_listed(
        client: TestClient, cast: Cast, db: Session) -> None:
    ref = create(client, cast.officer)["ref"]
    first = upload(client, cast.officer, ref, phone_photo(colour=(10, 10, 10))).json()
    second = upload(client, cast.supervisor, ref, phone_photo(colour=(90, 90, 90)),
                    path=f"/{first['id']}/supersede", caption="Right stairwell this time")
    assert second.status_code == 201, second.text
    assert second.json()["supersedes"] == first["id"]
    listed = client.get(f"/api/v1/cases/{ref}/attachments", headers=cast.evaluator.api).json()
    assert [(a["id"], a["superseded_by"]) for a in listed] == [
        (first["id"], second.json()["id"]), (second.json()["id"], None)]
    # The old one is unchanged: same bytes, same checksum.
    old = client.get(first["links"]["original"], headers=cast.officer.api)
    assert hashlib.sha256(old.content).hexdigest() == first["sha256"]
    again = upload(client, cast.officer, ref, png(), path=f"/{first['id']}/supersede")
    assert again.status_code == 422 and "supersedes" in errors_of(again)
    assert upload(client, cast.evaluator, ref, png(),
                  path=f"/{second.json()['id']}/supersede").status_code == 403


def test_links_to_actions_and_patrols_must_be_the_cases_own(
        client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    other = create(client, cast.officer)["ref"]
    action = client.post(f"/api/v1/cases/{other}/actions", headers=cast.officer.api, json={
        "title": "Fix the light", "owner": "Council", "due_date": "2030-01-01",
        "tactic": "natural-surveillance"})
    assert action.status_code == 201, action.text
    refused = upload(client, cast.officer, ref, png(), action=str(action.json()["id"]))
    assert refused.status_code == 422 and "action" in errors_of(refused)
    own = upload(client, cast.officer, other, png(), action=str(action.json()["id"]))
    assert own.status_code == 201 and own.json()["action"] == action.json()["id"]
    blank = upload(client, cast.officer, ref, png(), caption="")
    assert blank.status_code == 422 and "caption" in errors_of(blank)
    none = client.post(f"/api/v1/cases/{ref}/attachments", headers=cast.officer.api,
                       data={"caption": "No file"}, files={"other": ("x", b"", "text/plain")})
    assert none.status_code == 422 and "file" in errors_of(none)


def test_nothing_is_half_written_when_the_transaction_fails(
        client: TestClient, cast: Cast, db: Session, folder: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ref = create(client, cast.officer)["ref"]

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service, "_log_added", fail)
    with pytest.raises(RuntimeError):
        upload(client, cast.officer, ref, phone_photo())
    assert db.scalar(select(func.count()).select_from(Attachment)) == 0
    assert stored_files(folder) == []  # the files it had stored are cleaned away


def test_only_the_cases_officers_add_attachments(client: TestClient, cast: Cast,
                                                  folder: Path) -> None:
    ref = create(client, cast.officer)["ref"]
    for person, status in ((cast.evaluator, 403), (cast.analyst, 403),
                           (cast.camden_officer, 404), (cast.admin, 404)):
        assert upload(client, person, ref, png()).status_code == status
    assert stored_files(folder) == []
