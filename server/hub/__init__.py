"""The hub: rooms, members, presence, ordering and the service that routes each frame.

It reaches storage and fan-out only through `server.store.base.Store` and
`server.broker.base.Broker`, and connections only through `Peer`: whichever backs them, the hub
is the same code (an import-linter contract keeps it so).
"""
