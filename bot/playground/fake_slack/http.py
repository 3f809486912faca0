"""The fake's HTTP plumbing: a threading server whose handler hands every request
to the FakeSlack it serves."""

from __future__ import annotations

import email.parser
import email.policy
import json
import select
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from bot.playground.fake_slack.common import _SlackError

if TYPE_CHECKING:
    from bot.playground.fake_slack.server import FakeSlack

# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hang up; loud about bugs in the fake."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: a hang can't block a pooled socket
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: tests shouldn't print access logs."""

    def do_POST(self) -> None:
        self.server.fake._handle_http(self)

    def do_GET(self) -> None:
        self.server.fake._handle_http(self)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, bytes | str):
            data = body.encode() if isinstance(body, str) else body
            ctype = "text/plain; charset=utf-8"
        else:
            data = json.dumps(body).encode()
            ctype = "application/json; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up; nothing to tell it
            self.close_connection = True

    def peer_gone(self) -> bool:
        """True once the client closed its end (it gave up waiting)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    ctype = content_type.split(";")[0].strip().lower()
    if not raw:
        return {}
    if ctype == "application/json":
        try:
            data = json.loads(raw)
        except ValueError:
            raise _SlackError("invalid_json") from None
        return data if isinstance(data, dict) else {}
    if ctype == "multipart/form-data":
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
        )
        out: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                out[str(name)] = payload
            else:
                out[str(name)] = payload.decode("utf-8", "replace")
        return out
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
