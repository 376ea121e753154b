"""Reading a multipart upload as it streams in: the small text fields into memory, the one
file part straight into the store's temporary file, which refuses it past the size limit.

Starlette's ``request.form()`` would spool the whole file first and only then let us look at
its size; this reads the body chunk by chunk and stops at the limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:  # python-multipart declares its callbacks' types for type checkers only
    from python_multipart.multipart import MultipartCallbacks

from app.attachments.storage import Incoming, Received, Store, TooLarge
from app.bounds import file_name_problem

# Fed to the parser (and so to the disk) at most this much at a time: a refused upload leaves
# at most the limit on disk, and never more than one slice is past it.
SLICE = 64 * 1024
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 12
FILE_FIELD = "file"


class UploadProblem(Exception):
    """The request is not an upload we accept; ``field`` names what is wrong. ``status`` 400:
    the request itself is malformed (a file name no file can have)."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    file: Received | None = None
    filename: str = ""

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    incoming: Incoming | None = None


def too_large_message(limit: int) -> str:
    return f"The file is larger than {limit // (1024 * 1024)} MB: choose a smaller one."


async def read_upload(chunks: AsyncIterator[bytes], content_type: str, store: Store, limit: int,
                      before_file: Callable[[dict[str, str]], None] | None = None) -> Upload:
    """The fields and the file. ``before_file`` sees the fields sent before the file (the
    page's CSRF token comes first) and may refuse the request before a byte is written."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadProblem(FILE_FIELD, "Send the file as multipart/form-data.")
    reader = _Reader(store, limit, before_file)
    parser = MultipartParser(boundary, reader.callbacks())
    try:
        async for chunk in chunks:
            for start in range(0, len(chunk), SLICE):
                parser.write(chunk[start:start + SLICE])
        parser.finalize()
    except TooLarge:
        raise UploadProblem(FILE_FIELD, too_large_message(limit)) from None
    except (MultipartParseError, UnicodeDecodeError):
        reader.abandon()
        raise UploadProblem(FILE_FIELD, "The upload was cut short or malformed: send it "
                                        "again.") from None
    except BaseException:
        reader.abandon()
        raise
    return reader.result()


class _Reader:
    def __init__(self, store: Store, limit: int,
                 before_file: Callable[[dict[str, str]], None] | None) -> None:
        self.store, self.limit, self.before_file = store, limit, before_file
        self.upload = Upload()
        self.part = _Part()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.count = 0

    def callbacks(self) -> MultipartCallbacks:
        return {"on_part_begin": self.part_begin, "on_part_data": self.part_data,
                "on_part_end": self.part_end, "on_header_field": self.header_field_data,
                "on_header_value": self.header_value_data, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished}

    def part_begin(self) -> None:
        self.part, self.headers = _Part(), {}
        self.count += 1
        if self.count > MAX_FIELDS:
            raise UploadProblem(FILE_FIELD, "The upload has too many fields.")

    def header_field_data(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field, self.header_value = bytearray(), bytearray()

    def headers_finished(self) -> None:
        _kind, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            return
        self.part.filename = filename.decode("utf-8", "replace")
        if self.part.name != FILE_FIELD or self.upload.file is not None:
            raise UploadProblem(FILE_FIELD, "Send one file, in the field named file.")
        if self.part.filename and (problem := file_name_problem(self.part.filename)):
            raise UploadProblem(FILE_FIELD, problem, status=400)
        if self.before_file is not None:
            self.before_file(self.upload.fields)
        self.part.incoming = self.store.incoming(self.limit)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.incoming is not None:
            self.part.incoming.write(data[start:end])
            return
        self.part.data += data[start:end]
        if len(self.part.data) > MAX_FIELD_BYTES:
            raise UploadProblem(self.part.name or FILE_FIELD,
                                "This field is too long.")

    def part_end(self) -> None:
        if self.part.incoming is not None:
            received = self.part.incoming.finish()
            self.part.incoming = None
            self.upload.filename = (self.part.filename or "")[:255]
            if received.size == 0:  # an empty file input: no file chosen
                received.discard()
                return
            self.upload.file = received
            return
        if self.part.name and self.part.name not in self.upload.fields:
            self.upload.fields[self.part.name] = self.part.data.decode("utf-8")

    def abandon(self) -> None:
        if self.part.incoming is not None:
            self.part.incoming.discard()
        self.upload.discard()

    def result(self) -> Upload:
        if self.part.incoming is not None:  # the body ended inside the file
            self.abandon()
            raise UploadProblem(FILE_FIELD, "The upload was cut short: send it again.")
        return self.upload
