"""The `peerchat` command: `serve`, and `moderation classify|eval`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from server import logs, redis_client
from server.config import ConfigError, Settings, load_settings

log = logging.getLogger("peerchat")


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; env PEERCHAT_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8000; env PEERCHAT_PORT)")
    parser.add_argument("--redis-url", dest="redis_url",
                        help="Redis for many nodes; without it, the embedded default (env PEERCHAT_REDIS_URL)")
    parser.add_argument("--data-dir", dest="data_dir", type=Path,
                        help="where the embedded default keeps its files (default ./peerchat-data; "
                             "env PEERCHAT_DATA_DIR)")
    parser.add_argument("--config", dest="config_file", type=Path,
                        help="a TOML config file: rooms, limits, history (env PEERCHAT_CONFIG)")
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

    args = parser.parse_args(argv)
    if args.command == "moderation":
        from moderation import cli as moderation_cli

        if args.mod_command == "classify":
            return moderation_cli.classify_stream(sys.stdin, sys.stdout)
        return moderation_cli.evaluate(args.file, sys.stdout)

    options = {k: getattr(args, k) for k in ("host", "port", "redis_url", "data_dir", "config_file", "log_level")}
    try:
        settings = load_settings(options)
    except ConfigError as exc:
        print(f"peerchat: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
