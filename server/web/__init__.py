"""HTTP and WebSocket endpoints: the edge where bytes become frames and frames become bytes."""
