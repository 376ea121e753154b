"""Demo data for attachments: PC Shah's before and after photos of the Penfold Street walkway
on the Church Street case (the council's new lighting, the action they belong to) and the
council's confirmation as a PDF. The photos carry a phone's GPS and camera details, as real
ones do: the originals keep them, the copies shown and exported do not.

They go through the attachment service (the rules, the timeline and the access log apply).
Loading the demo again adds nothing: the case's attachments are made once.
"""

from __future__ import annotations

import io

from PIL import ExifTags, Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.attachments import content
from app.attachments.models import Attachment
from app.attachments.schemas import AttachmentCreate
from app.attachments.service import add_attachment
from app.attachments.storage import Store
from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases.models import Action, Case
from app.settings import Settings

CASE_TITLE = "Street violence around Church Street market"
ACTION_TITLE = "Council to replace lighting on the Penfold Street walkway"
TEXT = (b"BT /F1 14 Tf 60 760 Td (Westminster City Council: Penfold Street walkway lighting) "
        b"Tj 0 -24 Td (Eight LED columns installed and working.) Tj ET")
LETTER = b"\n".join([
    b"%PDF-1.4", b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj",
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj",
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
    b"/Resources<</Font<</F1 5 0 R>>>>>>endobj",
    b"4 0 obj<</Length %d>>stream" % len(TEXT), TEXT, b"endstream endobj",
    b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj",
    b"trailer<</Root 1 0 R>>", b"%%EOF", b""])


def walkway(lit: bool) -> bytes:
    """A phone photo of the walkway at dusk: dark under a broken lamp, or lit under new ones.
    With the GPS and camera EXIF a phone writes."""
    image = Image.new("RGB", (800, 600), (28, 32, 48) if not lit else (70, 78, 104))
    draw = ImageDraw.Draw(image)
    draw.polygon([(250, 600), (550, 600), (430, 260), (370, 260)],
                 fill=(40, 40, 44) if not lit else (150, 146, 128))
    for x in (180, 620):
        draw.rectangle([x, 150, x + 10, 520], fill=(90, 90, 96))
        glow = (255, 236, 160) if lit else (60, 60, 64)
        draw.ellipse([x - 25, 120, x + 35, 170], fill=glow)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Demo"
    exif[ExifTags.Base.Model] = "Phone"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (51.0, 31.0, 22.0),
        ExifTags.GPS.GPSLongitudeRef: "W", ExifTags.GPS.GPSLongitude: (0.0, 10.0, 15.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif)
    return buffer.getvalue()


def ensure_attachments(db: Session, users: dict[str, User], settings: Settings) -> int:
    """The Church Street evidence, unless the case has attachments already. The number
    added."""
    case = db.scalar(select(Case).where(Case.title == CASE_TITLE))
    officer = users.get("pc.shah")
    if case is None or officer is None or db.scalar(select(func.count(Attachment.id)).where(
            Attachment.case_id == case.id)):
        return 0
    action = db.scalar(select(Action.id).where(Action.case_id == case.id,
                                               Action.title == ACTION_TITLE))
    store = Store.from_settings(settings)
    limits = content.Limits(settings.attachment_max_pixels, settings.attachment_max_side)
    actor = Actor(officer, Channel.CLI, client_addr="local", operator="demo")
    for data, name, fields in (
            (walkway(False), "IMG_0311.JPG", {"caption": "Penfold Street walkway at dusk: "
                                              "the lamps out", "phase": "before"}),
            (walkway(True), "IMG_0987.JPG", {"caption": "The same spot with the council's new "
                                             "lighting", "phase": "after"}),
            (LETTER, "lighting-confirmation.pdf", {"caption": "The council's confirmation "
                                                   "that the lighting is in"})):
        incoming = store.incoming(len(data))
        incoming.write(data)
        add_attachment(db, actor, case.ref, AttachmentCreate.model_validate(
            {**fields, "action": action}), incoming.finish(), store, original_name=name,
            limits=limits)
    return 3
