"""A small server that speaks only the guest flow, written apart from the emulator's code.

So the client's guest sign-in is checked against a second, independent reading of the
protocol: the login sets a cookie; `/api/user` needs that cookie and an empty code to hand
out a code; `/api/chat` needs the cookie and the code it was handed out with.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs

COOKIE = "session"


class GuestOnlyServer:
    """`with GuestOnlyServer(reply="...") as server:` then talk to `server.base_url`."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.codes: dict[str, str | None] = {}  # session cookie → the code handed out
        self.chats = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> GuestOnlyServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                cookie = SimpleCookie(self.headers.get("Cookie", "")).get(COOKIE)
                session = cookie.value if cookie is not None else None
                with server._lock:
                    known = session in server.codes
                    issued = server.codes.get(session) if known else None
                if self.path == "/recaptcha/api/login":
                    if "token" not in parse_qs(body.decode()):
                        return self._send(400, b"{}")
                    new = secrets.token_hex(8)
                    with server._lock:
                        server.codes[new] = None
                    return self._send(200, b"{}", f"{COOKIE}={new}; Path=/")
                if self.path == "/api/user":
                    if not known or json.loads(body).get("authcode") not in ("", issued):
                        return self._send(401, b"{}")
                    code = issued or "independent-guest-" + secrets.token_hex(8)
                    with server._lock:
                        server.codes[session] = code  # type: ignore[index]
                    answer = {"authCode": code, "balance": 1.5}
                    return self._send(200, json.dumps(answer).encode())
                if self.path == "/api/chat":
                    code = self.headers.get("x-auth-code")
                    if not known or issued is None or code != issued:
                        return self._send(401, b"{}")
                    with server._lock:
                        server.chats += 1
                    return self._send(200, server.reply.encode(), content_type="text/plain")
                return self._send(404, b"{}")

            def _send(
                self,
                status: int,
                data: bytes,
                cookie: str | None = None,
                content_type: str = "application/json",
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if cookie:
                    self.send_header("Set-Cookie", cookie)
                self.end_headers()
                self.wfile.write(data)

        return Handler
