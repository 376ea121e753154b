"""Checkpoints written without anyone asking: every N entries and every M minutes.

Every N entries: ``record`` notes the positions a transaction takes; when they pass a multiple
of N (one transaction in N or so), the head is read just before the commit (a savepoint rolled
back may have undone positions) and, if it is still past, the checkpoint is signed and written
*after* the commit, so a request never waits for a file while it holds the log's lock,
and a checkpoint never names an entry that was rolled back. Positions are handed out one
transaction at a time, so exactly one transaction, in whichever process, crosses each multiple.

Every M minutes: a thread of ``popcase serve`` checkpoints the head when the log has grown.
With a file, several processes agree through the file itself (read under its lock): a process
skips when the file's newest checkpoint already covers the head or is recent.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from app.audit.models import AuditHead
from app.db import utcnow
from app.observability.logs import job_line
from app.settings import Settings

if TYPE_CHECKING:  # the signing library loads only where checkpoints are on (a command starts
    # without it: `record` calls note_position on every change)
    from app.audit.checkpoints import Checkpoint, Witness
    from app.audit.keys import SigningKey

log = logging.getLogger("popcase.audit")

FIRST_SEQ = "popcase.audit.first_seq"  # Session.info: the first position this transaction took
LAST_SEQ = "popcase.audit.last_seq"  # Session.info: the last (a savepoint may have undone it)
DUE = "popcase.audit.checkpoint_due"  # Session.info: (seq, hash) to checkpoint after commit
INSTALLED = "_popcase_checkpoints"


@dataclass(frozen=True)
class AutoCheckpoints:
    key: SigningKey
    witness: Witness
    every_entries: int
    every_minutes: float

    @classmethod
    def from_settings(cls, settings: Settings) -> AutoCheckpoints | None:
        """None unless a key and a destination are both set (a bad key raises KeyProblem)."""
        if not settings.audit_checkpoint_file.strip():
            return None
        from app.audit.checkpoints import Witness
        from app.audit.keys import signing_key

        key = signing_key(settings)
        if key is None:
            return None
        return cls(key, Witness.parse(settings.audit_checkpoint_file),
                   settings.audit_checkpoint_every_entries,
                   settings.audit_checkpoint_every_minutes)

    def write(self, seq: int, hash_: str) -> None:
        """Sign and write; a failure is logged, never raised: the change is already
        committed, and the next checkpoint covers it."""
        from app.audit.checkpoints import sign

        try:
            self.witness.write(sign(self.key, seq, hash_))
            job_line("checkpoint", status="done", seq=seq, trigger="entries")
        except OSError:
            log.exception("could not write the access log's checkpoint of entry %s to %s",
                          seq, self.witness.describe())


def note_position(db: Session, seq: int) -> None:
    """Called by ``record``: the first and last positions this transaction took."""
    db.info.setdefault(FIRST_SEQ, seq)
    db.info[LAST_SEQ] = max(seq, db.info.get(LAST_SEQ, 0))


def install(factory: sessionmaker[Session], settings: Settings) -> AutoCheckpoints | None:
    """Hook checkpoints every N entries onto the sessions of ``factory`` (once)."""
    auto = AutoCheckpoints.from_settings(settings)
    if auto is None or auto.every_entries <= 0 or getattr(factory, INSTALLED, False):
        return auto
    every = auto.every_entries

    def crosses(first: int, last: int) -> bool:
        return last // every > (first - 1) // every

    def before_commit(db: Session) -> None:
        first, last = db.info.get(FIRST_SEQ), db.info.get(LAST_SEQ)
        if first is None or last is None or not crosses(first, last):
            return  # most transactions: no query at all
        # The head is the truth: a savepoint rolled back may have undone the last positions.
        seq, hash_ = db.execute(select(AuditHead.seq, AuditHead.hash)
                                .where(AuditHead.id == 1)).one()
        if crosses(first, seq):
            db.info[DUE] = (seq, hash_)

    def after_commit(db: Session) -> None:
        due = db.info.pop(DUE, None)
        if due is not None:
            auto.write(*due)

    def after_transaction_end(db: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # the whole transaction, not a savepoint
            for name in (FIRST_SEQ, LAST_SEQ, DUE):
                db.info.pop(name, None)

    event.listen(factory, "before_commit", before_commit)
    event.listen(factory, "after_commit", after_commit)
    event.listen(factory, "after_transaction_end", after_transaction_end)
    setattr(factory, INSTALLED, True)
    return auto


class CheckpointLoop:
    """A daemon thread of ``popcase serve``: a checkpoint every M minutes when the log grew."""

    def __init__(self, factory: sessionmaker[Session], auto: AutoCheckpoints) -> None:
        self.factory, self.auto = factory, auto
        self.interval = timedelta(minutes=auto.every_minutes)
        self.last_seq = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="popcase-checkpoints",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def tick(self) -> Checkpoint | None:
        """One round: the checkpoint written, or None when none was due."""
        from app.audit.checkpoints import NothingToCheckpoint, checkpoint_now

        with self.factory() as db:
            try:
                checkpoint = checkpoint_now(db, self.auto.key)
            except NothingToCheckpoint:
                return None
        if checkpoint.seq <= self.last_seq:
            return None
        if not self.auto.witness.write(checkpoint,
                                       only_if=lambda newest: self._due(newest, checkpoint)):
            return None
        self.last_seq = checkpoint.seq
        job_line("checkpoint", status="done", seq=checkpoint.seq, trigger="minutes")
        return checkpoint

    def _due(self, newest: Checkpoint | None, checkpoint: Checkpoint) -> bool:
        """Another process may have written one since: skip when the file's newest covers
        this position or is less than half an interval old."""
        if newest is None:
            return True
        return (newest.seq < checkpoint.seq
                and utcnow() - newest.made_at() >= self.interval / 2)

    def _loop(self) -> None:
        while not self.stopped.wait(self.interval.total_seconds()):
            try:
                self.tick()
            except Exception:  # the loop must outlive a database restart
                log.exception("an access-log checkpoint failed; the next round will try again")


def start_loop(factory: sessionmaker[Session],
               auto: AutoCheckpoints | None) -> CheckpointLoop | None:
    """The loop, started, when checkpoints every M minutes are on; else None."""
    if auto is None or auto.every_minutes <= 0:
        return None
    loop = CheckpointLoop(factory, auto)
    loop.start()
    return loop
