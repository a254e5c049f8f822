"""Hostile HTTP clients on raw sockets: a request that stops part-way, as a slow or stalled client would."""

import socket

READ_BOUND_SECONDS = 20  # the bound of a hung read, never a timed assertion


def held_open(address: str, request: bytes) -> socket.socket:
    """Connects and sends `request` (an incomplete one), then keeps the socket without sending more."""
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=READ_BOUND_SECONDS)
    sock.sendall(request)
    return sock


def slow_body_post(address: str, path: str, sent: bytes = b'[{"id": ', length: int = 4096) -> socket.socket:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    return held_open(address, head.encode() + sent)


def slow_headers(address: str, path: str = "/livez") -> socket.socket:
    return held_open(address, f"GET {path} HTTP/1.1\r\nHost: {address}\r\nX-Slow: ".encode())


def read_until_closed(sock: socket.socket) -> bytes:
    """All the server sends until it closes the connection (raises socket.timeout if it never does)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return received
