"""Signed checkpoints of the access log, kept outside the database.

A hash chain stored beside the data cannot catch its own truncation: whoever can write to the
database can delete the newest entries and rewind ``audit_head``. A checkpoint is the chain's
position and hash at a moment (``seq``, ``hash``, ``at``), signed with an Ed25519 key the
database never sees, and appended to a file elsewhere or handed to an external witness. A log
shorter than any checkpoint, or different from it, then fails ``popcase audit verify
--checkpoints FILE``.

One checkpoint is one JSON line:
``{"v": 1, "seq": 1200, "hash": "<sha256 hex>", "at": "<ISO 8601 UTC>", "key": "<key id>",
"sig": "<base64 Ed25519 signature>"}``; the signature covers every field but ``sig``.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.keys import SigningKey
from app.audit.models import AuditEntry, AuditHead
from app.db import utcnow

VERSION = 1
# Signed before the fields, so that a checkpoint's signature can never pass for another
# message signed with the same key.
DOMAIN = b"popcase access-log checkpoint\n"
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
TAIL_BYTES = 64 * 1024  # enough to hold the newest checkpoints of a file


class CheckpointFormatError(ValueError):
    """A line that is not a well-formed checkpoint."""


class NothingToCheckpoint(ValueError):
    """The log is empty, or its head does not match its newest entry."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str  # kept as written: the signature covers this exact text
    key: str
    sig: str

    def signed_bytes(self) -> bytes:
        return signed_bytes(self.seq, self.hash, self.at, self.key)

    def signature(self) -> bytes:
        return base64.b64decode(self.sig)

    def made_at(self) -> datetime:
        return datetime.fromisoformat(self.at)

    def to_line(self) -> str:
        return json.dumps({"v": VERSION, "seq": self.seq, "hash": self.hash, "at": self.at,
                           "key": self.key, "sig": self.sig}, separators=(",", ":"))


def signed_bytes(seq: int, hash_: str, at: str, key: str) -> bytes:
    fields = {"v": VERSION, "seq": seq, "hash": hash_, "at": at, "key": key}
    return DOMAIN + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign(key: SigningKey, seq: int, hash_: str, at: datetime | None = None) -> Checkpoint:
    stamp = (at or utcnow()).isoformat(timespec="microseconds")
    signature = key.sign(signed_bytes(seq, hash_, stamp, key.id))
    return Checkpoint(seq, hash_, stamp, key.id, base64.b64encode(signature).decode())


def current(db: Session) -> tuple[int, str]:
    """The log's newest committed position and hash, checked against its newest entry."""
    head = db.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    if head.seq == 0:
        raise NothingToCheckpoint("the access log is empty: there is nothing to checkpoint")
    newest = db.scalar(select(AuditEntry.hash).where(AuditEntry.seq == head.seq))
    if newest != head.hash:
        raise NothingToCheckpoint(f"the log's head records entry {head.seq}, which the log "
                                  "does not hold as recorded: run `popcase audit verify`")
    return head.seq, head.hash


def checkpoint_now(db: Session, key: SigningKey) -> Checkpoint:
    seq, hash_ = current(db)
    return sign(key, seq, hash_)


def parse(line: str) -> Checkpoint:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CheckpointFormatError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise CheckpointFormatError(f"not a version {VERSION} checkpoint")
    seq, hash_, at, key, sig = (data.get(k) for k in ("seq", "hash", "at", "key", "sig"))
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise CheckpointFormatError("its seq is not a positive whole number")
    if not isinstance(hash_, str) or not HASH_PATTERN.fullmatch(hash_):
        raise CheckpointFormatError("its hash is not 64 hexadecimal digits")
    if not isinstance(key, str) or not isinstance(sig, str) or not isinstance(at, str):
        raise CheckpointFormatError("its at, key or sig is missing")
    try:
        datetime.fromisoformat(at)
        base64.b64decode(sig, validate=True)
    except (ValueError, binascii.Error):
        raise CheckpointFormatError("its at is not a time or its sig is not base64") from None
    return Checkpoint(seq, hash_, at, key, sig)


def read(path: Path) -> Iterator[tuple[int, str]]:
    """The file's non-blank lines with their line numbers."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield number, line.strip()


@dataclass(frozen=True)
class Witness:
    """Where checkpoints go: an append-only file, or standard output (``path`` None)."""

    path: Path | None

    @classmethod
    def parse(cls, destination: str) -> Witness:
        return cls(None if destination.strip() == "-" else Path(destination))

    def describe(self) -> str:
        return "standard output" if self.path is None else str(self.path)

    def write(self, checkpoint: Checkpoint,
              only_if: Callable[[Checkpoint | None], bool] | None = None) -> bool:
        """Append one checkpoint. With a file, ``only_if`` sees the file's newest checkpoint
        under the lock (several processes share the file) and may decline."""
        line = checkpoint.to_line() + "\n"
        if self.path is None:
            # One write of a line shorter than PIPE_BUF: lines of processes never interleave.
            sys.stdout.write(line)
            sys.stdout.flush()
            return True
        with _locked(self.path) as fd:
            if only_if is not None and not only_if(_newest(fd)):
                return False
            data = line.encode()
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        return True


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    """The file opened for appending (O_APPEND: every write lands at its end, whoever else
    writes) under an exclusive lock that other popcase processes wait for."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def newest_in(path: Path) -> Checkpoint | None:
    """The file's newest checkpoint (None: no file yet, or none in it), read without a lock:
    appends are whole lines."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return _newest(fd)
    finally:
        os.close(fd)


def _newest(fd: int) -> Checkpoint | None:
    size = os.fstat(fd).st_size
    tail = os.pread(fd, min(size, TAIL_BYTES), max(0, size - TAIL_BYTES))
    for line in reversed(tail.decode("utf-8", errors="replace").splitlines()):
        try:
            return parse(line)
        except CheckpointFormatError:
            continue
    return None
