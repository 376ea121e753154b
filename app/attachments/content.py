"""What a received file is, read from its bytes (never its name), and the copies made of a
photo: the one shown and exported, without location or camera metadata, and a thumbnail.

No HTTP and no SQL here: a path in, plain results out, ``Refused`` with a message for the
person when the file is not one popcase keeps.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from app.attachments.models import AttachmentKind

# HEIC/HEIF (iPhone photos) through Pillow's own opener API.
register_heif_opener()

THUMBNAIL_SIDE = 320
SHOWN_JPEG_QUALITY = 88
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1",
                         b"msf1"})


class Refused(ValueError):
    """The file is not one popcase keeps; the message says why, for the person."""


@dataclass(frozen=True)
class Sniffed:
    kind: AttachmentKind
    content_type: str
    pillow_format: str | None  # what Pillow must find when it reads the header
    extension: str


JPEG = Sniffed(AttachmentKind.PHOTO, "image/jpeg", "JPEG", "jpg")
PNG = Sniffed(AttachmentKind.PHOTO, "image/png", "PNG", "png")
HEIF = Sniffed(AttachmentKind.PHOTO, "image/heic", "HEIF", "heic")
PDF = Sniffed(AttachmentKind.DOCUMENT, "application/pdf", None, "pdf")
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic",
              "application/pdf": "pdf"}


def sniff(head: bytes) -> Sniffed:
    """The type from the first bytes (16 are enough). A PNG named ``.pdf`` is a PNG: the name
    is only what the sender called it."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return HEIF
    if head.startswith(b"%PDF-"):
        return PDF
    raise Refused("The file must be a photo (JPEG, PNG or HEIC) or a PDF document: this one "
                  "is none of them, whatever its name says.")


@dataclass(frozen=True)
class Limits:
    max_pixels: int
    max_side: int


@dataclass(frozen=True)
class Copies:
    """What is kept beside the original: for a photo, the shown copy (and its type) and a
    thumbnail (JPEG); a document is shown as itself."""

    shown: bytes | None
    shown_type: str
    thumbnail: bytes | None
    width: int | None
    height: int | None


def inspect(path: Path, found: Sniffed, limits: Limits) -> Copies:
    if found.kind is AttachmentKind.DOCUMENT:
        return Copies(None, found.content_type, None, None, None)
    with _open_image(path, found, limits) as image:
        upright = ImageOps.exif_transpose(image)
        shown, shown_type = _shown_copy(upright, found)
        return Copies(shown, shown_type, _thumbnail(upright), upright.width, upright.height)


def _open_image(path: Path, found: Sniffed, limits: Limits) -> Image.Image:
    """Open and check the size from the header alone: nothing is decoded before the pixel
    count is known to be within the limits (a small file can hold a huge image)."""
    try:
        with warnings.catch_warnings():
            # Our own limit (below Pillow's) decides; Pillow's bomb error stays as a backstop.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=[found.pillow_format] if found.pillow_format
                               else None)
    except Image.DecompressionBombError:
        raise Refused(_too_big(limits)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        what = "HEIC/HEIF" if found is HEIF else found.pillow_format
        why = "its content is not a readable image" if isinstance(exc, UnidentifiedImageError) \
            else _reason(exc, path)
        raise Refused(f"The file starts like a {what} photo but could not be read as one "
                      f"({why}).") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > limits.max_pixels \
            or max(width, height) > limits.max_side:
        image.close()
        raise Refused(_too_big(limits))
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        image.close()
        raise Refused(f"The photo is damaged and could not be read ({_reason(exc, path)}).") \
            from None
    return image


def _too_big(limits: Limits) -> str:
    return (f"The photo is too large: at most {limits.max_side:,} pixels along a side and "
            f"{limits.max_pixels / 1_000_000:g} megapixels in all.")


def _reason(exc: BaseException, path: Path) -> str:
    # Never the server's temporary path in a message for the person.
    text = str(exc).replace(str(path), "the file").strip().rstrip(".")
    return text[:200] or exc.__class__.__name__


def _shown_copy(image: Image.Image, found: Sniffed) -> tuple[bytes, str]:
    """Re-encoded from the pixels alone: no EXIF (GPS, camera, times), no XMP, no comments.
    A PNG stays a PNG (it may be a screenshot or a plan); JPEG and HEIC become JPEG."""
    image.info.clear()  # what the encoders would otherwise copy over (XMP, comments, ...)
    buffer = io.BytesIO()
    if found is PNG:
        pixels = image if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA") \
            else image.convert("RGBA")
        pixels.save(buffer, "PNG", optimize=False)
        return buffer.getvalue(), "image/png"
    pixels = image if image.mode in ("L", "RGB") else image.convert("RGB")
    pixels.save(buffer, "JPEG", quality=SHOWN_JPEG_QUALITY)
    return buffer.getvalue(), "image/jpeg"


def _thumbnail(image: Image.Image) -> bytes:
    small = image.convert("RGB") if image.mode != "RGB" else image.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    small.info.clear()
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()
