"""Facilitator and staff accounts: made on the command line, used through `POST /api/login`.

Only the `Store` interface is used, so the same code serves the embedded store and Redis, from the
server or from `peerchat users`.

Ending sessions: a token of an account carries the account's id and `generation`. Removing the
account, or changing its password, changes both or the latter; `hello` checks them against the
store (once per connection), and the hub re-checks the accounts of connected facilitators every
few seconds, so a removed account is disconnected within seconds wherever it is connected.

Guessing passwords is throttled twice, without storing anything about the client:
- per account, in the store: after `FREE_FAILURES` consecutive failures every further attempt must
  wait `2 ** (failures - FREE_FAILURES)` seconds (capped at `MAX_BACKOFF`) after the last failure,
  and is refused with `rate_limited` before the password is even checked; a success resets it.
  Being shared through the store, this holds across every node.
- per deployment, in memory on each node: failed logins draw from one token bucket (`HttpApi`), so
  spraying guesses over many account names is slowed too. An address would be the usual per-client
  key; peerchat keeps none by design, so the bucket is deployment-wide.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, replace

from server.auth import passwords
from server.auth.tokens import Claims
from server.store.base import ROLES, Account, Store

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
FREE_FAILURES = 5
BACKOFF = 30.0  # seconds after the fifth failure; doubling with each further one
MAX_BACKOFF = 15 * 60.0


class AccountError(ValueError):
    """A command on accounts cannot be done; the message says why."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise AccountError("a name is 2-32 characters: lowercase letters, digits, '.', '_', '-'")


async def add(store: Store, name: str, role: str, password: str, rooms: tuple[str, ...] = ()) -> Account:
    check_name(name)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if await store.account(name) is not None:
        raise AccountError(f"an account named {name!r} exists already")
    try:
        password_hash = await asyncio.to_thread(passwords.hash_password, password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from None
    account = Account(name, "a_" + secrets.token_urlsafe(9), role, password_hash, 1, rooms, _now_ms())
    await store.account_put(account)
    return account


async def set_password(store: Store, name: str, password: str) -> Account:
    account = await store.account(name)
    if account is None:
        raise AccountError(f"no account named {name!r}")
    try:
        password_hash = await asyncio.to_thread(passwords.hash_password, password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from None
    # A new generation: every token issued before this no longer connects.
    account = replace(account, password_hash=password_hash, generation=account.generation + 1, failures=0)
    await store.account_put(account)
    return account


async def remove(store: Store, name: str) -> bool:
    return await store.account_remove(name)


def backoff(account: Account, now_ms: int) -> float:
    """Seconds this account's logins must still wait after its recent failures; 0 when none."""
    if account.failures < FREE_FAILURES:
        return 0.0
    wait = min(BACKOFF * 2.0 ** (account.failures - FREE_FAILURES), MAX_BACKOFF)
    return max(0.0, account.failed_at / 1000 + wait - now_ms / 1000)


@dataclass(frozen=True, slots=True)
class LoginResult:
    account: Account | None  # the account logged in, or None
    throttled: float = 0.0  # > 0: refused unchecked, retry after this many seconds


async def login(store: Store, name: str, password: str) -> LoginResult:
    account = await store.account(name) if NAME.match(name) else None
    now = _now_ms()
    if account is not None and (wait := backoff(account, now)) > 0:
        return LoginResult(None, wait)
    ok = await asyncio.to_thread(passwords.verify, account.password_hash if account else None, password)
    if account is None:
        return LoginResult(None)
    if not ok:
        await store.login_attempt(name, False, now)
        return LoginResult(None)
    if account.failures:
        await store.login_attempt(name, True, now)
    if passwords.needs_rehash(account.password_hash):
        # Parameters changed since this hash was made: store one made with today's, same generation.
        rehashed = await asyncio.to_thread(passwords.rehash, password)
        account = replace(account, password_hash=rehashed, failures=0)
        await store.account_put(account)
    return LoginResult(account)


async def current(store: Store, claims: Claims) -> Account | None:
    """The account behind a facilitator or staff token, if the token is still its current one."""
    account = await store.account(claims.alias)
    if account is None or account.id != claims.sub or account.generation != claims.gen:
        return None
    if account.role != claims.role:
        return None
    return account
