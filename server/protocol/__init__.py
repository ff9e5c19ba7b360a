"""The wire protocol: frames, their validation and their encoding.

Nothing in this package does I/O or knows about sockets, event loops or storage (an import-linter
contract keeps it so): bytes or text come in, typed frames or `ProtocolError` come out, and server
frames are encoded once no matter how many connections receive them.
"""
