"""Checking the access log against signed checkpoints (``popcase audit verify --checkpoints``).

Every checkpoint must carry a signature that verifies with a public key given, and the log must
hold the checkpoint's entry with the checkpoint's hash. The chain itself is checked first
(``verify_chain``): a log whose chain is intact and that holds entry S with hash H holds, by
the chain, exactly the entries 1..S that were there when the checkpoint was made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.checkpoints import Checkpoint, CheckpointFormatError, parse
from app.audit.keys import key_id, verifies
from app.audit.models import AuditEntry
from app.audit.service import ChainReport

BATCH = 500  # checkpoints compared with the log per query


@dataclass(frozen=True)
class Numbered:
    line: int
    checkpoint: Checkpoint

    def name(self) -> str:
        return f"checkpoint on line {self.line} (made {self.checkpoint.at})"


@dataclass(frozen=True)
class CheckpointReport:
    ok: bool
    checked: int  # checkpoints read
    problem: str = ""
    newest: Numbered | None = None  # the one with the highest entry


class CheckpointFileError(ValueError):
    """A checkpoint file that cannot be trusted as a whole: a bad line or a bad signature."""


def signed_checkpoints(lines: Iterable[tuple[int, str]],
                       keys: list[Ed25519PublicKey]) -> list[Numbered]:
    """Every checkpoint of the file, each signature checked; the first bad one is refused."""
    by_id = {key_id(key): key for key in keys}
    known = ", ".join(by_id)
    found = []
    for number, line in lines:
        try:
            checkpoint = parse(line)
        except CheckpointFormatError as exc:
            raise CheckpointFileError(f"line {number} is not a checkpoint: {exc}") from None
        item = Numbered(number, checkpoint)
        key = by_id.get(checkpoint.key)
        if key is None:
            raise CheckpointFileError(f"the {item.name()} of entry {checkpoint.seq} names key "
                                      f"{checkpoint.key}, not the public key given ({known}): "
                                      "it was not signed with this key")
        if not verifies(key, checkpoint.signature(), checkpoint.signed_bytes()):
            raise CheckpointFileError(f"the {item.name()} of entry {checkpoint.seq}: its "
                                      "signature does not verify with the public key "
                                      f"{checkpoint.key}: the checkpoint was changed or forged")
        found.append(item)
    return found


def compare(db: Session, chain: ChainReport, checkpoints: list[Numbered]) -> CheckpointReport:
    """The log (whose chain ``chain`` reports intact) against every checkpoint."""
    if not checkpoints:
        return CheckpointReport(False, 0, "the checkpoint file holds no checkpoint")
    newest = max(checkpoints, key=lambda item: item.checkpoint.seq)
    failures = _too_long_for_the_log(chain.checked, checkpoints) + _differing(db, checkpoints)
    if not failures:
        return CheckpointReport(True, len(checkpoints), newest=newest)
    _seq, first_problem = min(failures, key=lambda failure: failure[0])
    more = f" ({len(failures)} of {len(checkpoints)} checkpoints fail)" \
        if len(failures) > 1 else ""
    return CheckpointReport(False, len(checkpoints), first_problem + more, newest)


def _too_long_for_the_log(length: int, checkpoints: list[Numbered]) -> list[tuple[int, str]]:
    return [(item.checkpoint.seq,
             f"the log ends at entry {length}, but the {item.name()} records entry "
             f"{item.checkpoint.seq}: at least {item.checkpoint.seq - length} entries were "
             "removed")
            for item in checkpoints if item.checkpoint.seq > length]


def _differing(db: Session, checkpoints: list[Numbered]) -> list[tuple[int, str]]:
    failures = []
    for start in range(0, len(checkpoints), BATCH):
        batch = checkpoints[start:start + BATCH]
        seqs = sorted({item.checkpoint.seq for item in batch})
        hashes = {seq: hash_ for seq, hash_ in db.execute(
            select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(seqs)))}
        for item in batch:
            logged = hashes.get(item.checkpoint.seq)
            if logged is not None and logged != item.checkpoint.hash:
                failures.append((item.checkpoint.seq,
                                 f"entry {item.checkpoint.seq} differs from the {item.name()}: "
                                 f"the log's hash is {logged[:16]}…, the checkpoint's "
                                 f"{item.checkpoint.hash[:16]}…; the log was rewritten"))
    return failures
