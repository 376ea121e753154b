"""Attachments in the case file: every carried file under its checksum and listed in the
manifest; photos carried from the copy without EXIF location; report.html showing before and
after side by side from files inside the zip; redaction leaving photos out unless asked (and
documents always), saying so in the manifest; import bringing them back with their checksums
verified, and the same case.json when exported again."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.attachments.storage import Store
from app.auth.context import Actor
from app.exports.files import CaseFileError
from app.exports.importer import import_case_file
from app.exports.service import export_case
from app.settings import Settings
from tests.api.test_attachments_api import upload
from tests.api.test_cases_api import create
from tests.attachments_kit import MINIMAL_PDF, has_location_or_camera, phone_photo
from tests.conftest import Cast


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def with_evidence(client: TestClient, cast: Cast) -> tuple[str, list[dict[str, Any]]]:
    """A case with a before photo, an after photo and its correction, and a PDF."""
    ref = create(client, cast.officer)["ref"]
    before = upload(client, cast.officer, ref, phone_photo(colour=(200, 0, 0)), phase="before",
                    caption="Broken light at the stairwell door").json()
    after = upload(client, cast.officer, ref, phone_photo(colour=(0, 0, 200)), phase="after",
                   caption="Wrong door").json()
    corrected = upload(client, cast.officer, ref, phone_photo(colour=(0, 200, 0)),
                       phase="after", caption="New light working",
                       path=f"/{after['id']}/supersede").json()
    letter = upload(client, cast.officer, ref, MINIMAL_PDF, name="council.pdf",
                    caption="Council's letter").json()
    return ref, [before, after, corrected, letter]


def export(client: TestClient, cast: Cast, ref: str, **params: Any) -> bytes:
    response = client.get(f"/api/v1/cases/{ref}/export", headers=cast.evaluator.api,
                          params={"reason": "For the Tilley award write-up", **params})
    assert response.status_code == 200, response.text
    return response.content


def test_the_case_file_carries_every_attachment_under_its_checksum(
        client: TestClient, cast: Cast) -> None:
    ref, added = with_evidence(client, cast)
    found = members(export(client, cast, ref))
    manifest = json.loads(found["manifest.json"])
    carried = {name: data for name, data in found.items() if name.startswith("attachments/")}
    assert len(carried) == 4
    for name, data in carried.items():
        digest = hashlib.sha256(data).hexdigest()
        assert name.split("/")[1].split(".")[0] == digest  # named by its checksum
        assert manifest["files"][name] == digest  # and listed with it
    listed = {a["key"]: a for a in manifest["attachments"]}
    assert [listed[k]["original_sha256"] for k in (1, 2, 3, 4)] == [a["sha256"] for a in added]
    assert [listed[k]["sha256"] for k in (1, 2, 3, 4)] == [a["shown_sha256"] for a in added]
    for item in listed.values():
        assert item["file"] in carried
        if item["kind"] == "photo":
            assert not has_location_or_camera(carried[item["file"]])
    assert carried[listed[4]["file"]] == MINIMAL_PDF

    case = json.loads(found["case.json"])["case"]
    assert [(a["key"], a["phase"], a["supersedes"]) for a in case["attachments"]] == [
        (1, "before", None), (2, "after", None), (3, "after", 2), (4, None, None)]
    assert case["attachments"][0]["original_sha256"] == added[0]["sha256"]

    report = found["report.html"].decode("utf-8")
    pairs = report.split('<table class="evidence">')[1].split("</table>")[0]
    row = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", pairs, re.S)
    assert len(row) == 1  # the before photo beside the corrected after photo
    assert f'src="{listed[1]["file"]}"' in row[0][0] and f'src="{listed[3]["file"]}"' in row[0][1]
    for source in re.findall(r'src="([^"]+)"', report):
        assert source in carried  # every image from inside the zip, nothing from outside
    assert not re.search(r"""(href|src)\s*=\s*["'](https?:|//)""", report)


def test_redaction_leaves_photos_out_unless_asked_and_says_so(
        client: TestClient, cast: Cast) -> None:
    ref, _added = with_evidence(client, cast)
    redacted = members(export(client, cast, ref, redact=True))
    manifest = json.loads(redacted["manifest.json"])
    assert not any(name.startswith("attachments/") for name in redacted)
    assert manifest["redaction"]["photos"] == "left out (3)"
    assert manifest["redaction"]["documents"].startswith("left out (1)")
    assert all(a["file"] is None for a in manifest["attachments"])
    case = json.loads(redacted["case.json"])["case"]
    assert all(a["file"] is None for a in case["attachments"])
    assert "not included in this file" in redacted["report.html"].decode("utf-8")

    asked = members(export(client, cast, ref, redact=True, photos=True))
    manifest = json.loads(asked["manifest.json"])
    assert manifest["redaction"]["photos"] == "included on request"
    carried = [name for name in asked if name.startswith("attachments/")]
    assert len(carried) == 3 and not any(name.endswith(".pdf") for name in carried)


def test_import_brings_attachments_back_with_their_checksums(
        client: TestClient, cast: Cast, db: Session, settings: Settings) -> None:
    ref, added = with_evidence(client, cast)
    content = export(client, cast, ref)
    store = Store.from_settings(settings)
    imported = import_case_file(db, Actor.cli(), content, store)
    assert imported.ref != ref
    listed = client.get(f"/api/v1/cases/{imported.ref}/attachments",
                        headers=cast.officer.api).json()
    assert [(a["sha256"], a["shown_sha256"], a["superseded_by"] is not None) for a in listed] \
        == [(a["sha256"], a["shown_sha256"], i == 1) for i, a in enumerate(added)]
    shown = client.get(listed[0]["links"]["file"], headers=cast.officer.api)
    assert hashlib.sha256(shown.content).hexdigest() == added[0]["shown_sha256"]
    assert client.get(listed[0]["links"]["thumbnail"], headers=cast.officer.api).status_code \
        == 200
    again = export_case(db, Actor.cli(), imported.ref, reason="Round trip", store=store)
    first, second = (json.loads(members(c)["case.json"])["case"]["attachments"]
                     for c in (content, again.content))
    assert first == second


def test_an_attachment_not_under_its_checksum_is_refused(
        client: TestClient, cast: Cast, db: Session, settings: Settings) -> None:
    ref, _added = with_evidence(client, cast)
    found = members(export(client, cast, ref))
    case = json.loads(found["case.json"])
    case["case"]["attachments"][0]["file_sha256"] = "0" * 64
    found["case.json"] = json.dumps(case).encode()
    manifest = json.loads(found.pop("manifest.json"))
    manifest["files"]["case.json"] = hashlib.sha256(found["case.json"]).hexdigest()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in found.items():
            archive.writestr(name, data)
    with pytest.raises(CaseFileError, match="under its checksum"):
        import_case_file(db, Actor.cli(), buffer.getvalue(), Store.from_settings(settings))
