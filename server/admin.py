"""`peerchat users ...` and `peerchat audit`: accounts and the audit log, without a running server.

Why these open the store themselves: a facilitator account must be makeable before the first start
and while the server runs. The SQLite store is opened non-exclusively (no lock file, no message
writes: the server keeps the lock and the only `seq` counter), so SQLite's own locking orders these
short writes against the server's; with `--redis-url` the Redis store is shared anyway.
"""

from __future__ import annotations

import asyncio
import datetime
import getpass
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from server import backends
from server.auth import accounts
from server.config import Settings
from server.store.base import Store


def open_store(settings: Settings) -> Store:
    return backends.build_store(settings)


def read_password(stdin: TextIO, confirm: bool = True) -> str:
    """From a prompt on a terminal (twice), else the first line of standard input."""
    if stdin.isatty():
        first = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != first:
            raise accounts.AccountError("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def _run(settings: Settings, job: Callable[[Store], Awaitable[int]]) -> int:
    async def main() -> int:
        store = open_store(settings)
        await store.open()
        try:
            return await job(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except accounts.AccountError as exc:
        print(f"peerchat: {exc}", file=sys.stderr)
        return 1


def users(settings: Settings, args: Any, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    if args.users_command in ("add", "passwd"):
        try:
            password = read_password(stdin)
        except accounts.AccountError as exc:
            print(f"peerchat: {exc}", file=sys.stderr)
            return 1
    rooms = tuple(r.strip() for r in (getattr(args, "rooms", None) or "").split(",") if r.strip())
    unknown = [r for r in rooms if settings.room(r) is None]
    if unknown:
        print(f"peerchat: no such room: {', '.join(unknown)}", file=sys.stderr)
        return 1

    async def job(store: Store) -> int:
        if args.users_command == "add":
            account = await accounts.add(store, args.name, args.role, password, rooms)
            print(f"added {account.role} {account.name} ({account.id})", file=out)
        elif args.users_command == "passwd":
            await accounts.set_password(store, args.name, password)
            print(f"password of {args.name} changed; its sessions end within seconds", file=out)
        elif args.users_command == "remove":
            if not await accounts.remove(store, args.name):
                raise accounts.AccountError(f"no account named {args.name!r}")
            print(f"removed {args.name}; its sessions end within seconds", file=out)
        else:
            for a in await store.accounts():
                print(f"{a.name}\t{a.role}\t{','.join(a.rooms) or 'all rooms'}\t{a.id}", file=out)
        return 0

    return _run(settings, job)


def audit(settings: Settings, args: Any, out: TextIO = sys.stdout) -> int:
    since = int((time.time() - args.hours * 3600) * 1000) if args.hours else 0

    async def job(store: Store) -> int:
        for entry in await store.audit(since, args.limit):
            if args.json:
                print(json.dumps(entry.wire()), file=out)
            else:
                stamp = datetime.datetime.fromtimestamp(entry.ts / 1000, datetime.UTC)
                when = stamp.strftime("%Y-%m-%d %H:%M:%S")
                where = f"{entry.room}#{entry.seq}" if entry.seq else entry.room
                print(f"{when}Z\t{entry.actor}\t{entry.action}\t{where or '-'}\t{entry.target or '-'}\t"
                      f"{entry.detail}", file=out)
        return 0

    return _run(settings, job)
