"""Secrets kept in the database (provider settings, callback secrets), sealed at rest.

Sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the deployment's
signing secret, so a copy of the database alone does not reveal them. Rotating
``HERALD_SECRET_KEY`` therefore makes stored provider settings and callback secrets
unreadable: set them again after a rotation.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

_CONTEXT = b"herald.delivery.sealing.v1:"


class UnsealError(Exception):
    """A sealed value was not sealed under this deployment's secret (or was tampered with)."""


def _fernet(secret: str) -> Fernet:
    # A dedicated key derived from the signing secret: the JWT key itself never encrypts.
    digest = hashlib.sha256(_CONTEXT + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str, plaintext: str) -> str:
    """Encrypt and authenticate ``plaintext`` for storage."""
    return _fernet(secret).encrypt(plaintext.encode()).decode("ascii")


def unseal(secret: str, sealed: str) -> str:
    """The plaintext of a value ``seal`` produced under the same ``secret``."""
    try:
        return _fernet(secret).decrypt(sealed.encode("ascii")).decode()
    except InvalidToken:
        raise UnsealError("a stored secret cannot be read with this deployment's key") from None
