"""Mailbox passwords encrypted at rest with Fernet (settings.MAIL_ENCRYPTION_KEYS; the first key encrypts).

settings refuses to start in production without MAIL_ENCRYPTION_KEY; the embedded mode derives a key from
SECRET_KEY. Older keys listed after the first still decrypt, so a key can be rotated (docs/operations.md).
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored password was encrypted with a key this deployment no longer has."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("MAIL_ENCRYPTION_KEY must be set.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"MAIL_ENCRYPTION_KEY holds a value that is not a Fernet key: {exc}"
        ) from None


def _current() -> MultiFernet:
    return _fernet(tuple(settings.MAIL_ENCRYPTION_KEYS))


def secret_encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode() if plain else ""


def secret_decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored password cannot be decrypted with the current MAIL_ENCRYPTION_KEY; enter it again."
        ) from None
