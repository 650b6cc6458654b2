"""Local servers that are not S3, for the endpoint mistakes users make: the wrong port, the wrong scheme.

Each runs on a free loopback port in a daemon thread for the length of a `with` block. They answer every
path and method the same way, as a web server, a JSON API or a console that is not S3 would.
"""
from __future__ import annotations

import http.server
import socket
import threading
from contextlib import contextmanager
from typing import Iterator

# What each kind of server answers: status, content type, body.
ANSWERS = {
    "html": (200, "text/html", b"<html><body><h1>Welcome</h1></body></html>"),
    "json": (200, "application/json", b'{"status": "ok", "version": "1.2.3"}'),
    "404": (404, "text/html", b"<html><body>Not Found</body></html>"),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    answer = ANSWERS["html"]

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        status, content_type, body = self.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer


@contextmanager
def web_server(kind: str) -> Iterator[str]:
    """A plain-HTTP server answering every request with ANSWERS[kind]; yields 'host:port'."""
    handler = type("Handler", (_Handler,), {"answer": ANSWERS[kind]})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def tls_only_server() -> Iterator[str]:
    """A port that expects a TLS handshake: given plain HTTP, it answers a TLS alert and hangs up, as HTTPS
    servers do. Yields 'host:port'."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with connection:
                connection.recv(4096)
                connection.sendall(b"\x15\x03\x01\x00\x02\x02\x46")  # alert: protocol_version

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()
