"""Bounds on what people send: request bodies, file names, zip archives and CSV lines.

Each bound is checked before the expensive part (parsing, decompressing, reading a line whole),
so that a small request cannot make the server spend much memory or time refusing it.
"""

from __future__ import annotations

import struct
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TextIO

from starlette.exceptions import HTTPException

from app.settings import Settings

MAX_NAME_CHARS = 255


class BodyTooLarge(HTTPException):
    """A request body over its route's limit: 413, before or while it streams in."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request is larger than {size_text(limit)}, the most "
                              "accepted here: send less (a smaller file, fewer or shorter "
                              "fields).")


def size_text(size: int) -> str:
    megabytes = size / (1024 * 1024)
    if megabytes >= 1:
        return f"{megabytes:.0f} MB" if megabytes.is_integer() else f"{megabytes:.1f} MB"
    return f"{size // 1024} KB" if size >= 1024 else f"{size} bytes"


# --- file names --------------------------------------------------------------------------------

def file_name_problem(name: str) -> str:
    """Why an uploaded file's name is refused ("" when it is fine): a bare name, no folder, no
    control characters, not too long. The name is shown and may be used in a temporary path."""
    if len(name) > MAX_NAME_CHARS:
        return f"The file's name is longer than {MAX_NAME_CHARS} characters: rename it."
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        return "The file's name holds control characters: rename it."
    if "/" in name or "\\" in name:
        return "The file's name must not name a folder: send the file alone."
    if not name.strip(" .") or name != name.strip():
        return "The file's name is not a file name: rename it (for example june.csv)."
    return ""


# --- zip archives ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZipBounds:
    max_members: int
    max_member_bytes: int
    max_ratio: int

    @classmethod
    def of(cls, settings: Settings) -> ZipBounds:
        return cls(settings.zip_max_members, settings.zip_max_member_mb * 1024 * 1024,
                   settings.zip_max_ratio)


class ZipRefused(Exception):
    pass


_END = b"PK\x05\x06"
_END_64_LOCATOR = b"PK\x06\x07"


def declared_members(stream: IO[bytes]) -> int | None:
    """The member count the archive's end record declares, read before the central directory
    is parsed (a million tiny members would cost gigabytes as ``ZipInfo`` objects). None when
    there is no end record (not a zip; zipfile says so)."""
    stream.seek(0, 2)
    size = stream.tell()
    tail_start = max(0, size - (22 + 65535))
    stream.seek(tail_start)
    tail = stream.read()
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < 22:
        return None
    count = struct.unpack("<H", tail[at + 10:at + 12])[0]
    if count != 0xFFFF or at < 20 or tail[at - 20:at - 16] != _END_64_LOCATOR:
        return int(count)
    record_at = struct.unpack("<Q", tail[at - 12:at - 4])[0]  # the zip64 end record
    stream.seek(record_at)
    record = stream.read(56)
    return int(struct.unpack("<Q", record[32:40])[0]) if len(record) == 56 else None


def check_zip(stream: IO[bytes], bounds: ZipBounds) -> zipfile.ZipFile:
    """The archive, opened only once its declared member count, and each member's declared
    size and compression ratio, are within bounds (zipfile never yields more than a member's
    declared size: a member that lies fails its CRC check instead)."""
    declared = declared_members(stream)
    stream.seek(0)
    if declared is not None and declared > bounds.max_members:
        raise ZipRefused(f"The zip archive holds {declared:,} files; at most "
                         f"{bounds.max_members:,} are accepted.")
    archive = zipfile.ZipFile(stream)
    try:
        members = archive.infolist()
        if len(members) > bounds.max_members:
            raise ZipRefused(f"The zip archive holds {len(members):,} files; at most "
                             f"{bounds.max_members:,} are accepted.")
        for info in members:
            _check_member(info, bounds)
    except BaseException:
        archive.close()
        raise
    return archive


def _check_member(info: zipfile.ZipInfo, bounds: ZipBounds) -> None:
    if info.file_size > bounds.max_member_bytes:
        raise ZipRefused(f"{info.filename} would be {size_text(info.file_size)} unpacked; "
                         f"at most {size_text(bounds.max_member_bytes)} is accepted per file.")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > 1024 * 1024 and ratio > bounds.max_ratio:
        raise ZipRefused(f"{info.filename} is compressed {ratio:,.0f} to 1, more than the "
                         f"{bounds.max_ratio} to 1 real files reach: it is refused as a zip "
                         "bomb.")


# --- lines -------------------------------------------------------------------------------------

class LineTooLong(Exception):
    def __init__(self, line: int, limit: int) -> None:
        super().__init__(f"Line {line} is longer than {size_text(limit)}: this is not a "
                         "police.uk CSV file, or it is damaged.")
        self.line = line


def bounded_lines(text: TextIO, limit: int) -> Iterator[str]:
    """The text's lines, each read at most ``limit`` characters at a time: a longer line is
    refused with its number, never held whole in memory."""
    number = 0
    while True:
        line = text.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit:
            raise LineTooLong(number, limit)
        yield line
