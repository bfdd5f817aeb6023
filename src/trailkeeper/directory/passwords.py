"""Password hashing with argon2id (argon2-cffi): never stored, logged or compared in clear.

Parameters are OWASP's recommended argon2id minimum (19 MiB, 2 passes, 1 lane): slow enough
against guessing, light enough that concurrent sign-ins cannot exhaust the server's memory.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trailkeeper.errors import InvalidArguments

MIN_PASSWORD_CHARS = 8  # NIST SP 800-63B §5.1.1.2
MAX_PASSWORD_CHARS = 1024  # bounds the work a single request can cause

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when the login is unknown, so both answers take the same time.
_DUMMY_HASH = HASHER.hash("trailkeeper: no such account")


def check_password_policy(password: str) -> None:
    """Refuse passwords that are too short or unreasonably long."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidArguments(
            f"password must be {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters"
        )


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string, salt included) of an acceptable password."""
    check_password_policy(password)
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no stored hash, spend the same time and say no."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        HASHER.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    """The hash was made with older parameters and should be replaced at the next sign-in."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
