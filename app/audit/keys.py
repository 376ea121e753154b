"""The Ed25519 key that signs the access log's checkpoints.

The private key lives outside the database (a PEM file, or the environment), so someone who can
write to the database cannot sign a checkpoint. Whoever verifies needs only the public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.settings import Settings


class KeyProblem(ValueError):
    """A key that cannot be read: the message says which and why."""


def key_id(public: Ed25519PublicKey) -> str:
    """A short fingerprint that names the key in each checkpoint (SHA-256 of the raw key)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def verifies(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def generate(private_path: Path) -> tuple[SigningKey, Path]:
    """A new key pair: the private key to ``private_path`` (created, never overwritten,
    readable by its owner only) and the public key beside it as ``<name>.pub``."""
    key = SigningKey(Ed25519PrivateKey.generate())
    public_path = private_path.with_name(private_path.name + ".pub")
    if public_path.exists():
        raise KeyProblem(f"{public_path} already exists: it is not overwritten")
    pem = key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyProblem(f"{private_path} already exists: it is not overwritten") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path.write_bytes(public_pem(key.public))
    return key, public_path


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def signing_key(settings: Settings) -> SigningKey | None:
    """The configured private key (POPCASE_AUDIT_KEY, else POPCASE_AUDIT_KEY_FILE), or None."""
    if settings.audit_key:
        return SigningKey(_private_from_text(settings.audit_key, "POPCASE_AUDIT_KEY"))
    if settings.audit_key_file:
        path = Path(settings.audit_key_file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyProblem(f"cannot read the signing key {path}: {exc.strerror}") from None
        return SigningKey(_private_from_pem(data, str(path)))
    return None


def load_public(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file (``.pub`` from keygen); a private key file also does."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyProblem(f"cannot read the public key {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" in data:
        return _private_from_pem(data, str(path)).public_key()
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        raise KeyProblem(f"{path} is not a PEM public key") from None
    if not isinstance(public, Ed25519PublicKey):
        raise KeyProblem(f"{path} is not an Ed25519 key")
    return public


def _private_from_text(text: str, source: str) -> Ed25519PrivateKey:
    """PEM text, or the 32-byte private key in base64 (easier to keep in one variable)."""
    if "PRIVATE KEY" in text:
        return _private_from_pem(text.encode(), source)
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise KeyProblem(f"{source} is neither a PEM key nor base64") from None
    if len(raw) != 32:
        raise KeyProblem(f"{source} must be 32 bytes in base64 (an Ed25519 private key)")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _private_from_pem(data: bytes, source: str) -> Ed25519PrivateKey:
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyProblem(f"{source} is not an unencrypted PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyProblem(f"{source} is not an Ed25519 key")
    return private
