"""Attachments on the case page: the photo form opens a phone's camera, a photo added shows
as a thumbnail, before and after side by side; a refused file re-renders the form with the
message on the field; the CSRF token is checked before the file is stored; only the case's
officers see the forms and the originals; a correction leaves the old one listed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.attachments.models import Attachment
from app.audit.models import AuditEntry
from app.settings import Settings
from tests.api.test_cases_api import create
from tests.attachments_kit import MINIMAL_PDF, has_location_or_camera, phone_photo, png
from tests.conftest import Cast, Person

Pages = Callable[[Person], TestClient]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, environment="test",
                    attachments_dir=str(tmp_path / "attachments"))


def add(page: TestClient, person: Person, ref: str, content: bytes, form: str = "photo",
        path: str = "", name: str = "IMG_0420.JPG", **fields: str) -> Any:
    data = {"csrf_token": person.csrf, "form": form, f"{form}-caption": "Stairwell door",
            **fields}
    return page.post(f"/cases/{ref}/attachments{path}", data=data,
                     files={"file": (name, content, "image/jpeg")})


def test_a_photo_added_on_the_page_shows_as_a_thumbnail(
        client: TestClient, pages: Pages, cast: Cast, db: Session) -> None:
    ref = create(client, cast.officer)["ref"]
    page = pages(cast.officer)
    html = page.get(f"/cases/{ref}").text
    assert f'href="/cases/{ref}?attach=photo#attachments"' in html  # in the header
    assert 'id="attachments"' not in html  # no empty section until asked for
    html = page.get(f"/cases/{ref}?attach=photo").text
    photo_input = re.search(r'<input[^>]*id="photo-file"[^>]*>', html)
    assert photo_input is not None
    assert 'accept="image/*"' in photo_input.group(0)
    assert 'capture="environment"' in photo_input.group(0)
    assert 'enctype="multipart/form-data"' in html

    added = add(page, cast.officer, ref, phone_photo(), **{"photo-phase": "before"})
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"/cases/{ref}?flash=attached#attachments"
    after = add(page, cast.officer, ref, phone_photo(colour=(20, 160, 20)),
                **{"photo-phase": "after", "photo-caption": "New door entry system"})
    assert after.status_code == 303
    shown = page.get(f"/cases/{ref}?flash=attached").text
    assert "The attachment is added." in shown
    first, second = db.scalars(select(Attachment).order_by(Attachment.id)).all()
    pair = shown.split('id="before-after"')[1].split("</section>")[0]
    assert pair.index(f"/attachments/{first.id}/thumbnail") \
        < pair.index(f"/attachments/{second.id}/thumbnail")
    assert 'alt="New door entry system"' in pair
    thumbnail = page.get(f"/cases/{ref}/attachments/{first.id}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.headers["x-content-type-options"] == "nosniff"
    assert not has_location_or_camera(page.get(f"/cases/{ref}/attachments/{first.id}/file")
                                      .content)
    logged = db.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.attachment.download")).all()
    assert [(e.actor, e.details["variant"]) for e in logged] == [
        ("pc.shah", "thumbnail"), ("pc.shah", "file")]
    timeline = shown.split('id="timeline"')[1]
    assert "Photo (after) added: New door entry system" in timeline


def test_a_refused_file_names_the_field_and_keeps_the_caption(
        client: TestClient, pages: Pages, cast: Cast, db: Session, settings: Settings) -> None:
    ref = create(client, cast.officer)["ref"]
    page = pages(cast.officer)
    refused = add(page, cast.officer, ref, b"plain text, not a photo", name="photo.jpg",
                  **{"photo-caption": "Graffiti on the bin store"})
    assert refused.status_code == 422
    assert 'id="photo-file-error"' in refused.text
    assert "JPEG, PNG or HEIC" in refused.text and "govuk-error-summary" in refused.text
    assert 'value="Graffiti on the bin store"' in refused.text
    empty = add(page, cast.officer, ref, phone_photo(), **{"photo-caption": ""})
    assert empty.status_code == 422 and 'id="photo-caption-error"' in empty.text
    document = add(page, cast.officer, ref, MINIMAL_PDF, form="document", name="letter.pdf",
                   **{"document-caption": "Council's letter"})
    assert document.status_code == 303
    assert db.scalar(select(Attachment.content_type)) == "application/pdf"
    stored = [p for p in Path(settings.attachments_dir).rglob("*") if p.is_file()]
    assert len(stored) == 1  # only the PDF: nothing of the refused uploads


def test_the_csrf_token_is_checked_before_the_file_is_stored(
        client: TestClient, pages: Pages, cast: Cast, db: Session, settings: Settings) -> None:
    ref = create(client, cast.officer)["ref"]
    page = pages(cast.officer)
    refused = page.post(f"/cases/{ref}/attachments", data={
        "csrf_token": "wrong", "form": "photo", "photo-caption": "x"},
        files={"file": ("a.png", png(), "image/png")})
    assert refused.status_code == 403
    assert db.scalar(select(Attachment.id)) is None
    folder = Path(settings.attachments_dir)
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


def test_readers_see_the_copies_but_not_the_forms_or_originals(
        client: TestClient, pages: Pages, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    officer = pages(cast.officer)
    assert add(officer, cast.officer, ref, phone_photo()).status_code == 303
    attachment = client.get(f"/api/v1/cases/{ref}/attachments",
                            headers=cast.officer.api).json()[0]
    html = officer.get(f"/cases/{ref}").text
    assert f"/attachments/{attachment['id']}/original" in html
    evaluator = pages(cast.evaluator)
    seen = evaluator.get(f"/cases/{ref}").text
    assert "Stairwell door" in seen and 'id="add-photo"' not in seen
    assert f"/attachments/{attachment['id']}/original" not in seen
    assert evaluator.get(f"/cases/{ref}/attachments/{attachment['id']}/original"
                         ).status_code == 403
    assert evaluator.get(f"/cases/{ref}/attachments/{attachment['id']}/file").status_code == 200
    camden = pages(cast.camden_officer)
    assert camden.get(f"/cases/{ref}/attachments/{attachment['id']}/file").status_code == 404
    assert add(camden, cast.camden_officer, ref, png()).status_code == 404


def test_an_action_shows_the_photos_that_belong_to_it(
        client: TestClient, pages: Pages, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    action = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api, json={
        "title": "Fix the stairwell light", "tactic": "natural-surveillance"}).json()
    page = pages(cast.officer)
    html = page.get(f"/cases/{ref}?attach=photo").text
    assert f'<option value="action:{action["id"]}"' in html  # "Belongs to" offers the action
    assert add(page, cast.officer, ref, phone_photo(),
               **{"photo-link": f"action:{action['id']}"}).status_code == 303
    html = page.get(f"/cases/{ref}").text
    assert "Action: Fix the stairwell light" in html.split('id="attachments"')[1]
    actions = page.get(f"/cases/{ref}?section=actions", headers={"HX-Request": "true"}).text
    assert 'id="section-actions"' in actions and "1 photo or document" in actions


def test_a_correction_on_the_page_marks_the_old_one_superseded(
        client: TestClient, pages: Pages, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    page = pages(cast.officer)
    assert add(page, cast.officer, ref, phone_photo()).status_code == 303
    first = client.get(f"/api/v1/cases/{ref}/attachments", headers=cast.officer.api).json()[0]
    form = f"correct-{first['id']}"
    corrected = add(page, cast.officer, ref, png(), form=form,
                    path=f"/{first['id']}/supersede", **{f"{form}-caption": "The right door"})
    assert corrected.status_code == 303, corrected.text
    html = page.get(f"/cases/{ref}").text
    assert f"Superseded by #{first['id'] + 1}" in html and f"Corrects #{first['id']}" in html
