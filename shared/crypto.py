"""Secrets at rest: encrypted with `PLAUDIT_ENCRYPTION_KEY`.

The variable is a comma list: the first key encrypts, every key decrypts, so keys rotate by
putting a new one first and dropping the old one once nothing encrypted with it remains. Each key
is any high-entropy string (`plaudit gen-key` prints one); it is stretched to a Fernet key
(AES-128-CBC with HMAC-SHA256) by SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("PLAUDIT_ENCRYPTION_KEY holds no key")
        self._fernet = MultiFernet([_fernet(key) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "a stored secret cannot be decrypted with any key in PLAUDIT_ENCRYPTION_KEY"
            ) from None


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe secret of `nbytes` random bytes that never begins with `-`: pasted after
    `--secret` on a command line, one that did would be taken for an option (1 in 64 would)."""
    while (secret := secrets.token_urlsafe(nbytes)).startswith("-"):
        pass
    return secret
