"""The HTTP half of the contract."""

from __future__ import annotations

import httpx

from tests.support import ServerProcess


def test_new_session_is_an_anonymous_member(server: ServerProcess) -> None:
    r = httpx.post(server.url + "/api/session")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "user", "expires"}
    assert body["user"]["role"] == "member" and body["user"]["alias"] and body["user"]["id"]
    assert body["expires"] > 0


def test_refresh_keeps_the_member_and_alias(server: ServerProcess) -> None:
    first = server.session(device="device-key-1")
    again = server.session(token=first["token"])
    assert again["user"] == first["user"] and again["token"] != "" and again["expires"] >= first["expires"]


def test_invalid_bearer_gets_a_new_member(server: ServerProcess) -> None:
    first = server.session()
    other = server.session(token=first["token"] + "x")
    assert other["user"]["id"] != first["user"]["id"]


def test_bad_session_bodies(server: ServerProcess) -> None:
    assert httpx.post(server.url + "/api/session", content=b"{nope").status_code == 400
    assert httpx.post(server.url + "/api/session", json={"device": 5}).status_code == 400
    assert httpx.post(server.url + "/api/session", json={"device": "k" * 200}).status_code == 400
    assert httpx.post(server.url + "/api/session", json=[1]).status_code == 400


def test_rooms(server: ServerProcess) -> None:
    rooms = httpx.get(server.url + "/api/rooms").json()["rooms"]
    assert len(rooms) == 60
    assert set(rooms[0]) >= {"id", "title", "topic", "count"}


def test_health_readiness_metrics(server: ServerProcess) -> None:
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert httpx.get(server.url + "/readyz").status_code == 200
    metrics = httpx.get(server.url + "/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "peerchat_connections" in metrics.text and "peerchat_messages_total" in metrics.text


def test_page_is_served_with_a_strict_csp(server: ServerProcess) -> None:
    r = httpx.get(server.url + "/")
    assert r.status_code == 200 and "<html" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_session_creation_is_rate_limited_deployment_wide(make_server) -> None:
    server = make_server("[limits]\nsessions_burst = 3\nsessions_per_second = 0.01\n")
    codes = [httpx.post(server.url + "/api/session").status_code for _ in range(5)]
    assert codes[:3] == [200] * 3 and codes[3:] == [429, 429]
    assert httpx.post(server.url + "/api/session").json()["error"] == "rate_limited"
