"""The signing secret: from configuration, or generated once into the data dir.

Every node of a deployment must share it (tokens are checked by signature alone), so a multi-node
deployment passes it in `PEERCHAT_SECRET`; a single process keeps one in `<data-dir>/secret`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def load_or_create_secret(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    path = data_dir / "secret"
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    return value
