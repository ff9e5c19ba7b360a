"""Durable and shared state: room history with its sequence numbers, nonces, presence, reports.

`base.Store` is the interface the hub sees; `sqlite.SQLiteStore` backs the single-process embedded
default. Implementations are chosen in `server.web.app` and never imported by the hub.
"""
