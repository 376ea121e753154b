"""A process that appends checkpoints to a shared file (the several-processes test spawns it:
this module imports only what it needs, so each process starts in about a second)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from app.audit.checkpoints import Witness, sign
from app.audit.keys import SigningKey


def append_many(path: str, pem: bytes, start: int, count: int) -> None:
    private = load_pem_private_key(pem, password=None)
    assert isinstance(private, Ed25519PrivateKey)
    witness, key = Witness(Path(path)), SigningKey(private)
    for seq in range(start, start + count):
        witness.write(sign(key, seq, f"{seq:064x}"))
