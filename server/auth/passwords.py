"""Password hashes for facilitator and staff accounts: Argon2id through argon2-cffi.

Parameters (RFC 9106's second recommended option, "memory-constrained"): time cost 3, memory 64 MiB,
parallelism 4, a 16-byte salt and a 32-byte hash. One check costs tens of milliseconds and 64 MiB:
cheap for a person logging in, ruinous for someone trying millions of guesses offline. The hash
string records its parameters, so a hash made with older ones still verifies, and `needs_rehash`
tells the login path to store a fresh one when these constants change.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12  # characters; a passphrase of a few words passes, "password1" does not
MAX_LENGTH = 1024  # hashing cost does not depend on it, but nobody needs more

TIME_COST = 3
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 4

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM,
                         hash_len=32, salt_len=16)
# Checked against when an account does not exist, so that a wrong name takes as long as a wrong password.
_DUMMY = _hasher.hash("not a real password, only here to spend the same time")


class WeakPassword(ValueError):
    """The password does not meet the minimum; the message says why."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakPassword("a password needs more than a few distinct characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def rehash(password: str) -> str:
    """A hash with today's parameters of a password that was just verified (no strength check:
    the account keeps its password; it is not being set)."""
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; `None` (no such account) spends the same time and is false."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password[:MAX_LENGTH]) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
