"""Loopback HTTP servers the tests stand in for others with (Twilio's REST API, the group
robot, the work-order system): a quiet handler that answers in one call, and a server
running in a daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that writes no access log."""

    def answer(self, status: int, body: bytes = b"", content_type: str = "application/json"):
        """Send `status` with `body` (and its type and length)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def form_body(self) -> bytes:
        """The request's body, as long as its Content-Length says."""
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, *args) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """`handler` served on a free loopback port (`server_port`) from a daemon thread;
    `shutdown()` stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def post_recorder(received: list[tuple[dict, bytes]]) -> ThreadingHTTPServer:
    """A served endpoint keeping each POST's headers and body in `received`; answers 204."""

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            received.append((dict(self.headers), self.form_body()))
            self.answer(204)

    return serve(Handler)
