"""The folder attachment files live in, each under its SHA-256 (content-addressed: no name a
person chose or could guess becomes a path, and a file is never rewritten).

An upload streams into a temporary file in the same folder, hashed as it goes and refused the
moment it passes the size limit (the partial file removed); only an accepted file is moved
into place, with ``os.replace`` (atomic on one file system).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from app.settings import Settings, attachments_folder

DIGEST = re.compile(r"^[0-9a-f]{64}$")
INCOMING_PREFIX = ".incoming-"


class TooLarge(Exception):
    """The upload passed the size limit: the partial file is already gone."""


@dataclass
class Incoming:
    """A file being received. ``write`` refuses the chunk that would pass ``limit``."""

    path: Path
    limit: int
    size: int = 0
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256)
    _head: bytes = b""
    _out: BinaryIO | None = None

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self.limit:
            self.discard()
            raise TooLarge()
        self._file().write(chunk)
        self._hash.update(chunk)
        if len(self._head) < 16:
            self._head = (self._head + chunk)[:16]
        self.size += len(chunk)

    def _file(self) -> BinaryIO:
        if self._out is None:
            self._out = self.path.open("wb")
        return self._out

    def finish(self) -> Received:
        self._file().close()
        return Received(self.path, self.size, self._hash.hexdigest(), self._head)

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Received:
    """A whole upload, still in its temporary file."""

    path: Path
    size: int
    sha256: str
    head: bytes  # the first bytes, for sniffing the type

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        return cls(attachments_folder(settings))

    def incoming(self, limit: int) -> Incoming:
        self.root.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.root, prefix=INCOMING_PREFIX, suffix=".part")
        os.close(handle)
        return Incoming(Path(name), limit)

    def path_of(self, digest: str) -> Path:
        if not DIGEST.match(digest):
            raise ValueError("not a SHA-256")
        return self.root / digest[:2] / digest

    def keep(self, received: Received) -> tuple[str, bool]:
        """Move an accepted upload into place: its digest, and whether the file is new (the
        same bytes kept before are not stored twice)."""
        return received.sha256, self._place(received.path, received.sha256)

    def put(self, content: bytes) -> tuple[str, bool]:
        digest = hashlib.sha256(content).hexdigest()
        if self.path_of(digest).exists():
            return digest, False
        incoming = self.incoming(len(content))
        incoming.write(content)
        incoming.finish()
        return digest, self._place(incoming.path, digest)

    def _place(self, temporary: Path, digest: str) -> bool:
        target = self.path_of(digest)
        if target.exists():
            temporary.unlink(missing_ok=True)
            return False
        target.parent.mkdir(exist_ok=True)
        os.replace(temporary, target)
        return True

    def read(self, digest: str) -> bytes:
        return self.path_of(digest).read_bytes()

    def remove(self, digest: str) -> None:
        self.path_of(digest).unlink(missing_ok=True)
