"""The simulator's stand-in for Twilio's recording storage: serves "recordings" over HTTP.

Recordings are published at Twilio-shaped URLs
(`/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}`) on a loopback port and
served only with the account's Basic auth, like Twilio's API. The service must list
the host in `RECORDING_HOSTS` to fetch from it.
"""

from __future__ import annotations

import base64
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class MediaHost:
    """Serves published audio files until `close()`."""

    def __init__(self, account_sid: str, auth_token: str, port: int = 0) -> None:
        self.account_sid = account_sid
        self.files: dict[str, Path] = {}
        self.requests: list[str] = []
        expected = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append(self.path)
                if self.headers.get("Authorization") != expected:
                    self.send_error(401)
                    return
                path = host.files.get(self.path.split("?")[0])
                if path is None:
                    self.send_error(404)
                    return
                body = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def netloc(self) -> str:
        """`127.0.0.1:port`, the entry the service needs in `RECORDING_HOSTS`."""
        return f"127.0.0.1:{self.server.server_port}"

    def publish(self, path: Path) -> tuple[str, str]:
        """Make `path` available as a new recording; return its (RecordingSid, RecordingUrl)."""
        recording_sid = "RE" + secrets.token_hex(16)
        url_path = f"/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}"
        self.files[url_path] = Path(path)
        return recording_sid, f"http://{self.netloc}{url_path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
