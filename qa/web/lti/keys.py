"""The tool's secrets, made on first use and kept beside the platforms file (mode 0600): the
RSA key pair that signs deep-linking responses (its public half is served as the JWKS), and
the secret that signs the session tokens a launch hands to the chat page."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

__all__ = ["ToolKeys", "load_keys"]

PRIVATE_KEY = "tool-private-key.pem"
SESSION_SECRET = "session-secret"


@dataclass(frozen=True)
class ToolKeys:
    """The tool's key pair (PEM text), its key id, and the session-signing secret."""

    private_pem: str
    public_pem: str
    kid: str
    session_secret: bytes

    def jwks(self) -> dict:
        """The public key as a JSON Web Key Set (what the LMS fetches from ``/lti/jwks``)."""
        from jwcrypto.jwk import JWK

        jwk = json.loads(JWK.from_pem(self.public_pem.encode()).export_public())
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}


def _write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (never readable by others, even for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def load_keys(folder: Path) -> ToolKeys:
    """The tool's keys in ``folder``, generated there on first use (one process makes them
    while the others wait on a lock, so every worker signs with the same key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwcrypto.jwk import JWK

    folder.mkdir(parents=True, exist_ok=True)
    key_path, secret_path = folder / PRIVATE_KEY, folder / SESSION_SECRET
    with FileLock(str(folder / ".keys.lock"), timeout=30):
        if not key_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_secret(key_path, pem)
        if not secret_path.exists():
            _write_secret(secret_path, secrets.token_bytes(32))
    private_pem = key_path.read_text(encoding="ascii")
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    kid = JWK.from_pem(public_pem.encode()).thumbprint()
    return ToolKeys(private_pem, public_pem, kid, secret_path.read_bytes())
