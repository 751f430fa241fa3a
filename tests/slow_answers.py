"""An HTTP server answering every GET and PUT with a body that stalls, trickles or never ends: what a
client that reads a remote answer (the model fetch, the issuer's keys) must bound in time and size;
and one that closes connections unanswered (botocore's ConnectionClosedError)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def endless(size: int = 64 * 1024) -> Iterator[bytes]:
    while True:
        yield b"x" * size


def stalled() -> Iterator[bytes]:
    """Nothing, for as long as the client waits."""
    while True:
        time.sleep(30)
        yield b""


@contextmanager
def answering(pieces: Iterable[bytes], length: int | None = None, pause: float = 0.0) -> Iterator[str]:
    """The base URL of a server that answers 200, the Content-Length `length` (none if None), then
    `pieces`, one every `pause` seconds, the connection closing after the last."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # without a Content-Length the body ends when the connection does

        def do_GET(self) -> None:
            self.send_response(200)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.flush()
            try:
                for piece in pieces:
                    self.wfile.write(piece)
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:  # the client stopped reading
                pass

        do_PUT = do_GET  # the request's own body is left unread

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def dropping(answered: int = 0, body: bytes = b"") -> Iterator[str]:
    """The base URL of a server that answers the first `answered` connections 200 with `body` and
    reads each later request, then closes the connection without an answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    left = [answered]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed
                return
            with conn:
                conn.recv(65536)
                if left[0] > 0:
                    left[0] -= 1
                    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                    conn.sendall(head.encode() + body)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
