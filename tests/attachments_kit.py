"""Files for the attachment tests: a phone photo with GPS and camera EXIF, a PNG, a PDF."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

GPS_IFD = ExifTags.IFD.GPSInfo
# Church Street market, as a phone would write it (degrees, minutes, seconds).
GPS = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (51.0, 31.0, 21.7),
       ExifTags.GPS.GPSLongitudeRef: "W", ExifTags.GPS.GPSLongitude: (0.0, 10.0, 14.5)}
MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def phone_photo(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (180, 40, 40),
                orientation: int = 6) -> bytes:
    """A JPEG with GPS, camera make and model, and an orientation (6: turn it a quarter
    clockwise to show it upright)."""
    image = Image.new("RGB", (width, height), colour)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme"
    exif[ExifTags.Base.Model] = "PhoneCam 9"
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(GPS_IFD).update(GPS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def png(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (20, 120, 200, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def exif_of(content: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(content)) as image:
        return image.getexif()


def has_location_or_camera(content: bytes) -> bool:
    exif = exif_of(content)
    return bool(exif.get_ifd(GPS_IFD)) or ExifTags.Base.Make in exif \
        or ExifTags.Base.Model in exif or GPS_IFD in exif


def size_of(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as image:
        return image.size
