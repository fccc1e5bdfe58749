"""Loopback HTTP(S) servers standing in for Twilio's media hosts, for the fetch tests."""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workers.recording_fetch import (
    fetch_recording,
)

SID, TOKEN = "ACtest0000", "secret-token-4242"
BASIC = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
WAV = b"RIFF" + bytes(range(256)) * 40

Respond = Callable[[BaseHTTPRequestHandler], None]


class FakeHost:
    """A threaded HTTP server on 127.0.0.1 that records requests; TLS optional.

    With `tls`, a connection whose first byte is a TLS handshake is wrapped, any other
    is served in plain HTTP: the same host:port speaks both https and http.
    """

    def __init__(self, respond: Respond, tls: ssl.SSLContext | None = None) -> None:
        self.respond, self.seen, self.release = respond, [], threading.Event()
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                host.seen.append((self.path, self.headers.get("Authorization")))
                host.respond(self)

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, address = super().get_request()
                if tls and sock.recv(1, socket.MSG_PEEK) == b"\x16":
                    sock = tls.wrap_socket(sock, server_side=True)
                return sock, address

            def handle_error(self, request, client_address) -> None:
                pass  # clients hanging up early is what several tests do

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.netloc = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def url(self, path: str = "/rec", scheme: str = "http") -> str:
        return f"{scheme}://{self.netloc}{path}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def host():
    """Make a `FakeHost(respond)`; all are stopped after the test."""
    made: list[FakeHost] = []

    def make(respond: Respond, tls: ssl.SSLContext | None = None) -> FakeHost:
        made.append(FakeHost(respond, tls))
        return made[-1]

    yield make
    for server in made:
        server.stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> tuple[ssl.SSLContext, str]:
    """A server TLS context for 127.0.0.1 (self-signed) and the CA file to trust it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, str(cert)


def send(handler, status=200, body=b"", headers=None, *, length=True) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if length:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def wav(handler) -> None:
    if handler.headers.get("Authorization") != BASIC:
        return send(handler, 401, b"auth required")
    send(handler, 200, WAV, {"Content-Type": "audio/x-wav"})


def redirect_to(location: str) -> Respond:
    return lambda handler: send(handler, 302, headers={"Location": location})


def sequence(*responders: Respond) -> Respond:
    """Answer with each responder in turn, the last one forever."""
    calls = iter(range(10**6))
    return lambda handler: responders[min(next(calls), len(responders) - 1)](handler)


def fetch(url, dest, allowed, **options):
    """Fetch with the fake hosts' `host:port` allowed, plain http included (`http://`)."""
    options = {"auth": (SID, TOKEN), "retry_delay_s": 0.01, "timeout_s": 2} | options
    listed = {entry if "://" in entry else f"http://{entry}" for entry in allowed}
    return fetch_recording(url, dest, allowed_hosts=listed, **options)


def leftovers(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []
