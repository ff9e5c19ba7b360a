"""What the server counts, for `GET /metrics` (Prometheus text format).

Counters are per fan-out, never per recipient: the delivery counter moves by the number of
recipients once per message, so counting costs nothing on the per-connection path. Nothing here
carries a user id, a room member's alias or any text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge("peerchat_connections", "Open WebSocket connections", registry=r)
        self.sessions = Gauge("peerchat_sessions", "Authenticated WebSocket sessions", registry=r)
        self.messages = Counter("peerchat_messages", "Messages stored and published", registry=r)
        self.deliveries = Counter("peerchat_deliveries", "Frames fanned out to room members on this node",
                                  registry=r)
        self.reports = Counter("peerchat_reports", "Messages reported by members", registry=r)
        self.errors = Counter("peerchat_errors", "Error frames sent, by code", ["code"], registry=r)
        self.closes = Counter("peerchat_closes", "Connections closed by the server, by close code",
                              ["code"], registry=r)
        self.flags = Counter("peerchat_flags", "Flags raised for facilitators, by category", ["category"],
                             registry=r)
        self.held = Counter("peerchat_held", "Messages held for review", registry=r)
        self.logins = Counter("peerchat_logins", "Facilitator and staff logins, by outcome", ["outcome"],
                              registry=r)
        self.sessions_created = Counter("peerchat_anonymous_sessions", "Anonymous sessions issued",
                                        registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
