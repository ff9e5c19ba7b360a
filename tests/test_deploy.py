"""What can be checked of the deployment files without a Docker engine: the compose file parses and
has every service the docs promise, and nginx accepts its configuration (`nginx -t`)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_has_redis_with_aof_two_nodes_and_nginx() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"redis", "peerchat1", "peerchat2", "nginx"} <= set(services)
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
    for name in ("peerchat1", "peerchat2"):
        env = services[name]["environment"]
        assert env["PEERCHAT_REDIS_URL"].startswith("redis://redis:")
        assert "${PEERCHAT_SECRET" in env["PEERCHAT_SECRET"]  # shared through the environment, not in the file
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    for name in ("peerchat1", "peerchat2"):
        assert f"server {name}:8000" in nginx


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed (Debian package nginx; .ci/run installs it)")
    # The compose service names only resolve inside Docker's network: point them at loopback.
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("peerchat1:8000", "127.0.0.1:18001").replace("peerchat2:8000", "127.0.0.1:18002")
    conf = conf.replace("events {", f"pid {tmp_path}/nginx.pid;\n\nevents {{", 1)
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    result = subprocess.run([nginx, "-t", "-c", str(path), "-p", str(tmp_path)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


async def test_nginx_balances_websockets_over_two_nodes(tmp_path: Path, make_server, redis_url: str) -> None:
    """The real thing minus Docker: nginx with this config in front of two nodes over one Redis."""
    import time

    import httpx

    from tests.support import UNIT, Client, ServerProcess, free_port

    env = {"PEERCHAT_REDIS_URL": redis_url, "PEERCHAT_SECRET": "s" * 40}
    one, two = make_server(env=env), make_server(env=env)
    port = free_port()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("peerchat1:8000", f"127.0.0.1:{one.port}").replace("peerchat2:8000", f"127.0.0.1:{two.port}")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("worker_processes auto;", "worker_processes 1;")
    conf = conf.replace("events {", f"pid {tmp_path}/nginx.pid;\n\nevents {{", 1)
    (tmp_path / "logs").mkdir()
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with (tmp_path / "nginx.stderr").open("wb") as stderr:
        proc = subprocess.Popen([nginx, "-c", str(path), "-p", str(tmp_path), "-g", "daemon off;"], stderr=stderr)
    try:
        proxy = ServerProcess(tmp_path, port=port)  # only its URLs and helpers: nginx is the process
        deadline = time.monotonic() + 10 * UNIT
        while True:
            try:
                if httpx.get(proxy.url + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "nginx did not come up"
            await asyncio.sleep(0.05)
        clients = [await Client.open(proxy, origin=f"http://127.0.0.1:{port}") for _ in range(4)]
        for c in clients:
            await c.join("t20")
        ack = await clients[0].say("t20", "through the proxy")
        for c in clients:
            assert (await c.messages("t20", 1))[0]["seq"] == ack["seq"]
        # least_conn spreads the four sockets over both nodes
        counts = [httpx.get(n.url + "/metrics").text for n in (one, two)]
        assert all("peerchat_connections 0.0" not in text for text in counts)
    finally:
        proc.terminate()
        proc.wait(10)
