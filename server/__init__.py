"""peerchat server: the real-time hub, its protocol, broker, stores and HTTP/WebSocket endpoints."""
