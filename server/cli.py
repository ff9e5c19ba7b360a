"""The `peerchat` command: `serve`, `users add|list|remove|passwd`, `audit`, `moderation classify|eval`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from server import logs, redis_client
from server.config import ConfigError, Settings, load_settings

log = logging.getLogger("peerchat")


def _serve_options(parser: argparse.ArgumentParser, serving: bool = True) -> None:
    if serving:
        parser.add_argument("--host", help="address to listen on (default 127.0.0.1; env PEERCHAT_HOST)")
        parser.add_argument("--port", type=int, help="port to listen on (default 8000; env PEERCHAT_PORT)")
    parser.add_argument("--redis-url", dest="redis_url",
                        help="Redis for many nodes; without it, the embedded default (env PEERCHAT_REDIS_URL)")
    parser.add_argument("--data-dir", dest="data_dir", type=Path,
                        help="where the embedded default keeps its files (default ./peerchat-data; "
                             "env PEERCHAT_DATA_DIR)")
    parser.add_argument("--config", dest="config_file", type=Path,
                        help="a TOML config file: rooms, limits, history (env PEERCHAT_CONFIG)")
    if serving:
        parser.add_argument("--log-level", dest="log_level", choices=["debug", "info", "warning", "error"],
                            help="default info (env PEERCHAT_LOG_LEVEL)")


def serve(settings: Settings) -> int:
    import uvicorn

    from server.web.app import create_app
    from server.web.transport import LeanWebSocketProtocol

    app = create_app(settings)
    if settings.redis_url:
        mode = f"redis mode ({redis_client.describe(settings.redis_url)}"
        mode += ", cluster)" if redis_client.is_cluster(settings.redis_url) else ")"
    else:
        mode = f"embedded mode (SQLite in {settings.data_dir}, in-memory broker)"
    log.info("peerchat starting in %s on port %d", mode, settings.port, extra=logs.INFRASTRUCTURE)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws=LeanWebSocketProtocol,
        ws_max_size=settings.limits.transport_max_bytes,
        # Compression would run once per recipient on every frame: fan-out encodes each frame once
        # and writes the same bytes to every connection, and chat frames are small anyway.
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="peerchat", description="Anonymous peer-support chat server")
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_options(commands.add_parser("serve", help="run the server"))
    moderation = commands.add_parser("moderation", help="the moderation engine on the command line")
    mod_commands = moderation.add_subparsers(dest="mod_command", required=True)
    mod_commands.add_parser("classify", help="JSON lines {\"text\"} on stdin -> verdicts on stdout")
    evaluate = mod_commands.add_parser("eval", help="precision, recall, F1 on a JSONL file of {text, label}")
    evaluate.add_argument("file")
    users = commands.add_parser("users", help="facilitator and staff accounts (the server need not run)")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser("add", help="a new account; the password from standard input or a prompt")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["facilitator", "staff"])
    add.add_argument("--rooms", help="comma-separated rooms a facilitator keeps (default: all rooms)")
    _serve_options(add, serving=False)
    for name, text in (("list", "every account"), ("remove", "remove an account and end its sessions"),
                       ("passwd", "a new password (stdin or a prompt); ends the account's sessions")):
        sub = user_commands.add_parser(name, help=text)
        if name != "list":
            sub.add_argument("name")
        _serve_options(sub, serving=False)
    audit = commands.add_parser("audit", help="the moderation audit log, oldest first")
    audit.add_argument("--hours", type=float, help="only the last HOURS hours")
    audit.add_argument("--limit", type=int, default=10_000)
    audit.add_argument("--json", action="store_true", help="one JSON object a line")
    _serve_options(audit, serving=False)

    args = parser.parse_args(argv)
    if args.command == "moderation":
        from moderation import cli as moderation_cli

        if args.mod_command == "classify":
            return moderation_cli.classify_stream(sys.stdin, sys.stdout)
        return moderation_cli.evaluate(args.file, sys.stdout)

    names = ("host", "port", "redis_url", "data_dir", "config_file", "log_level")
    options = {k: getattr(args, k, None) for k in names}
    try:
        settings = load_settings(options)
    except ConfigError as exc:
        print(f"peerchat: {exc}", file=sys.stderr)
        return 2
    if args.command in ("users", "audit"):
        from server import admin

        return admin.users(settings, args) if args.command == "users" else admin.audit(settings, args)
    logs.configure(settings.log_level)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
