"""Fan-out between server nodes: `base.Broker`, with `memory` for one process (Redis comes next)."""
