"""Logging that cannot leak who someone is.

Rules: never message text, tokens, passwords or addresses; users are named by id only. Our own log
lines follow them by construction; this filter is the net under everyone else's (uvicorn logs a
line with the client's address for every WebSocket it accepts, and at debug level the websockets
library dumps whole frames): third-party loggers never go below info, per-connection lines are
dropped, and anything shaped like an IP address left in a record is masked.
"""

from __future__ import annotations

import logging
import re
import sys

_IPV4 = r"\b(?:\d{1,3}\.){3}\d{1,3}\b"
_IPV6 = r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])"
ADDRESS = re.compile(f"{_IPV4}|{_IPV6}")
# uvicorn's per-request and per-WebSocket lines start with the client's address
_PER_CONNECTION = re.compile(r'^%s - "|^%s:%d - ')


# `log.info(..., extra=INFRASTRUCTURE)` marks our own lines about where the server's own services are
# (the Redis host): an operator needs that address, and it is never a member's.
INFRASTRUCTURE = {"infrastructure": True}


class PrivacyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and _PER_CONNECTION.match(record.msg):
            return False
        if getattr(record, "infrastructure", False) and record.name.startswith("peerchat"):
            return True
        message = record.getMessage()
        masked = ADDRESS.sub("[address]", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "websockets"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        # At debug level these dump raw frames and request headers: message text, tokens, hosts.
        # Our own loggers may go to debug; theirs never do.
        logger.setLevel(max(logging.INFO, root.level))
    logging.getLogger("uvicorn.access").disabled = True
