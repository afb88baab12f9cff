"""Passwords and token secrets: what is checked before one is kept, and how each is hashed.

Passwords are hashed with argon2id (``argon2-cffi``, imported only when a password is used, so a store
without password logins does not need it). API token secrets are long random strings, so one sha256 is
enough to keep them unreadable at rest and lets a request find its token by one indexed lookup.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInput, MissingDependency

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "sy_"
MAX_SECRET_LENGTH = 200


def check_password(password: object) -> str:
    if not isinstance(password, str):
        raise InvalidInput(f"A password is text; got {type(password).__name__}.")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"A password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long; the one given "
            f"has {len(password)}. Choose a longer passphrase (a few words is easiest to remember)."
        )
    return password


@functools.cache
def hasher() -> PasswordHasher:
    try:
        from argon2 import PasswordHasher
    except ImportError:
        raise MissingDependency.for_extra("argon2-cffi", "server", "Password login") from None
    return PasswordHasher()  # argon2id with the library's current recommended cost


def hash_password(password: str) -> str:
    return hasher().hash(password)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with nothing stored it still spends the time of a check,
    so that an unknown user name cannot be told from a wrong password by how long the answer takes."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return hasher().check_needs_rehash(stored)


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_prefix(secret: str) -> str:
    return secret[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8]


def plausible_secret(secret: object) -> bool:
    """Whether ``secret`` has a token's shape (worth a database lookup at all)."""
    return (
        isinstance(secret, str)
        and secret.startswith(TOKEN_PREFIX)
        and len(TOKEN_PREFIX) < len(secret) <= MAX_SECRET_LENGTH
        and secret.isascii()
    )
