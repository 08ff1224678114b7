"""One HTTP request to the emulator: route it, record it, and answer as the `Behavior` says.

The chat reply goes out exactly as planned at the socket level: one `send` per piece, optional
pauses, and a deliberate reset or stall mid-body, because those are the conditions a streaming
client must survive.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import time
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .behavior import Behavior
from .framing import encode_body
from .pacer import can_pace
from .pieces import iter_piece_ends
from .replies import HUMAN_CHECK_PAGE, reply_text
from .state import GUEST_COOKIE, GUEST_LOGIN, EmulatorState, RecordedRequest

try:  # Linux: lets a reset wait until the bytes before it have left the socket.
    import fcntl
    import termios

    _TIOCOUTQ: int | None = termios.TIOCOUTQ
except (ImportError, AttributeError):  # pragma: no cover - other platforms
    _TIOCOUTQ = None

logger = logging.getLogger(__name__)

DRAIN_TIMEOUT = 5.0
"""Longest wait for sent bytes to be acknowledged before a deliberate reset discards them."""


class _BadRequestBody(Exception):
    """The request body could not be read (bad length or chunking); the connection must close."""


class EmulatorHandler(BaseHTTPRequestHandler):
    """Serves the Liaobots endpoints under the state's path prefix, HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "LiaobotsEmulator/1.0"

    def __init__(self, *args: Any, state: EmulatorState, **kwargs: Any) -> None:
        self.state = state  # set first: the base __init__ serves the whole connection
        super().__init__(*args, **kwargs)

    def version_string(self) -> str:
        """The Server header without the Python version the default appends."""
        return self.server_version

    # --- dispatch -------------------------------------------------------------------------

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_POST

    def _serve(self) -> None:
        try:
            self._serve_request()
        except OSError:
            self.close_connection = True  # the client went away, or stop() closed the socket

    def _serve_request(self) -> None:
        try:
            raw = self._read_body()
        except _BadRequestBody as exc:
            self.close_connection = True
            self._send_json(400, {"error": str(exc)})
            return
        path = urlsplit(self.path).path
        relative, endpoint = self.state.route(path)
        body = _parse_json(raw)
        self.state.record(
            RecordedRequest(
                method=self.command,
                path=relative,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                raw_body=raw,
                full_path=self.path,
                endpoint=endpoint,
                peer=":".join(str(part) for part in self.client_address[:2]),
            )
        )
        if endpoint is None:
            self._send_json(404, {"error": "not found"})
        elif self.command != "POST":
            self._send_json(405, {"error": "method not allowed; use POST"}, {"Allow": "POST"})
        elif endpoint == "/api/chat":
            self._chat(body)
        elif endpoint == "/api/models":
            self._models()
        elif endpoint == GUEST_LOGIN:
            self._guest_login(raw)
        else:
            self._user(body)

    # --- endpoints ------------------------------------------------------------------------

    def _chat(self, body: Any) -> None:
        code = self.headers.get("x-auth-code")
        if self.state.is_guest_code(code):  # a guest code works only with its session cookie
            allowed = self.state.guest_allows(code, self._guest_session(), reply=True)
        else:
            allowed = self.state.accepts(code)
        if not allowed:
            self._send_json(401, {"error": "invalid auth code"})
            return
        problem = _chat_body_problem(body)
        if problem:
            self._send_json(400, {"error": problem})
            return
        overrides = body.get("emulator")
        if overrides is not None:
            try:
                Behavior.from_mapping(overrides)  # validate before a one-shot is used up
            except ValueError as exc:
                self._send_json(400, {"error": f"invalid emulator options: {exc}"})
                return
        behavior = self.state.next_behavior(_model_id(_named_model(body)))
        if overrides:
            behavior = Behavior.from_mapping(overrides, base=behavior)
        self._answer_chat(behavior, body)

    def _models(self) -> None:
        raw = self.state.models_body
        if raw is None:
            self._send_json(200, self.state.models)
        else:
            self._send_bytes(200, raw, "application/json; charset=utf-8", {})

    def _guest_login(self, raw: bytes) -> None:
        """A token (a form, or JSON `{"token": ...}`) opens a guest session: its id comes back
        as a cookie, and the answer is `{"code": 200}`."""
        body = _parse_json(raw)
        sent_json = isinstance(body, dict)
        if sent_json:
            has_token = isinstance(body.get("token"), str)
        else:
            form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            has_token = "token" in form
        if not has_token:
            self._send_json(400, {"error": "the form field token is missing"})
            return
        expected = self.state.guests.login_body
        if expected != "any" and expected != ("json" if sent_json else "form"):
            self._send_json(400, {"error": f"the token must come as {expected}"})
            return
        status = self.state.guests.login_status
        if status != 200:
            self._send_json(status, {"code": status, "msg": _phrase(status)})
            return
        _, cookie = self._new_session()
        self._send_json(200, {"code": 200, "msg": "ok"}, cookie)

    def _new_session(self) -> tuple[str, dict[str, str]]:
        """A new guest session, and the header that hands its cookie out."""
        session = self.state.guest_login()
        return session, {"Set-Cookie": f"{GUEST_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"}

    def _guest_session(self) -> str | None:
        """The guest session named by the request's cookie, if it carries one."""
        try:
            morsel = SimpleCookie(self.headers.get("Cookie", "")).get(GUEST_COOKIE)
        except CookieError:
            return None
        return morsel.value if morsel is not None else None

    def _user(self, body: Any) -> None:
        code = body.get("authcode") if isinstance(body, dict) else None
        if code is None:
            code = self.headers.get("x-auth-code")
        session = self._guest_session()
        guests = self.state.guests
        if code == "" and session is None and "cookie" not in self.headers:
            if guests.first_ask == "check":  # the later service: log in first, then ask again
                self._send_bytes(200, HUMAN_CHECK_PAGE.encode(), "text/html; charset=utf-8", {})
                return
            if guests.first_ask == "refuse":
                self._send_json(401, {"error": "not signed in"})
                return
            session, cookie = self._new_session()  # "code": a code at once, in a new session
            self._issue_guest_code(session, cookie)
            return
        if code == "" and session is not None:  # a signed-in guest asks for its code
            self._issue_guest_code(session, {})
            return
        if self.state.is_guest_code(code):
            if self.state.guest_allows(code, session, reply=False):
                self._send_json(200, {"authCode": code, "balance": guests.balance})
            else:
                self._send_json(401, {"error": "invalid auth code"})
            return
        if not self.state.accepts(code):
            self._send_json(401, {"error": "invalid auth code"})
            return
        raw = self.state.user_body
        if raw is None:
            self._send_json(200, {"authCode": code, "balance": self.state.balance})
        else:
            self._send_bytes(200, raw, "application/json; charset=utf-8", {})

    def _issue_guest_code(self, session: str, extra: dict[str, str]) -> None:
        """Hand a signed-in guest session its code (faults as `Guests` says)."""
        guests = self.state.guests
        if guests.user_status != 200:
            self._send_json(guests.user_status, {"error": _phrase(guests.user_status)}, extra)
            return
        issued = "" if guests.empty_code else self.state.guest_code(session)
        if issued is None:
            self._send_json(401, {"error": "not signed in"}, extra)
        else:
            self._send_json(200, {"authCode": issued, "balance": guests.balance}, extra)

    def _answer_chat(self, behavior: Behavior, body: dict[str, Any]) -> None:
        extra = {"Retry-After": behavior.retry_after} if behavior.retry_after is not None else {}
        if behavior.status != 200:
            phrase = _phrase(behavior.status)
            self._send_json(behavior.status, {"error": phrase}, extra)
            return
        if behavior.html:
            content_type = "text/html" if behavior.content_type_html else "text/plain"
            self._send_bytes(
                200, HUMAN_CHECK_PAGE.encode(), f"{content_type}; charset=utf-8", extra
            )
            return
        text = reply_text(
            behavior.reply,
            behavior.reply_chars,
            body["messages"],
            _named_model(body),
            body.get("prompt"),
        )
        data = encode_body(
            text,
            behavior.framing,
            behavior.sse_done,
            role=behavior.sse_role,
            error_status=behavior.stream_error,
        )
        self._stream(data, behavior, extra)

    # --- streaming ------------------------------------------------------------------------

    def _stream(self, data: bytes, b: Behavior, extra: dict[str, str]) -> None:
        """Send `data` piece by piece, then finish, reset or stall as the behaviour says."""
        chunked = b.transfer == "chunked"
        self.send_response(200)
        if b.framing == "sse":
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
        else:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()

        cuts = [n for n in (b.disconnect_after_bytes, b.stall_after_bytes) if n is not None]
        cut = min(cuts) if cuts else None
        resets = b.disconnect_after_bytes is not None and b.disconnect_after_bytes == cut
        if b.first_byte_delay and self.state.stopping.wait(b.first_byte_delay):
            self.close_connection = True
            return
        view = memoryview(data)
        pieces: list[bytes] = []  # as written, framed
        held_before: int | None = None  # the piece a hold keeps back until release
        sent = 0
        held = b.hold_after_bytes
        ends = list(iter_piece_ends(data, b.chunk_bytes, b.split_multibyte))
        if held is not None and 0 < held < len(data):
            ends = sorted({*ends, held})  # the pause falls exactly there
        for end in ends:
            stop_at = end if cut is None else min(end, cut)
            if held is not None and held_before is None and sent >= held:
                held_before = len(pieces)
            if stop_at > sent:
                piece = view[sent:stop_at]
                pieces.append(b"%x\r\n" % len(piece) + piece + b"\r\n" if chunked else piece)
                sent = stop_at
            if cut is not None and sent >= cut:
                break
        if held_before is None:
            written = self._write_paced(pieces, b.delay, wait_first=False)
        else:
            written = (
                self._write_paced(pieces[:held_before], b.delay, wait_first=False)
                and self.state.wait_for_release()
                and self._write_paced(pieces[held_before:], b.delay, wait_first=held_before > 0)
            )
        if not written:
            self.close_connection = True
            return
        if cut is None:
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        elif resets:
            self._reset_connection()
        else:
            self.state.stopping.wait(b.stall_seconds)
            self.close_connection = True

    def _write_paced(self, pieces: list[bytes], delay: float, *, wait_first: bool) -> bool:
        """Write `pieces` with `delay` seconds before each (the first too, if `wait_first`);
        False if the emulator stopped or the client went away first."""
        if delay and can_pace(self.connection):  # one thread paces every reply (pacer.py)
            return self.state.pacer.send(self.connection, pieces, delay, wait_first=wait_first)
        for number, piece in enumerate(pieces):
            if (number or wait_first) and delay and self.state.stopping.wait(delay):
                return False
            self.wfile.write(piece)
        return True

    def _reset_connection(self) -> None:
        """Abort with a TCP reset (SO_LINGER 0), after the bytes already written have left."""
        self.close_connection = True
        sock = self.connection
        _wait_until_sent(sock, self.state)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The fd closes (and the RST goes out) only when the last file object on it is closed.
        self.rfile.close()
        sock.close()

    # --- plumbing -------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise _BadRequestBody("invalid Content-Length") from None
        if size < 0:
            raise _BadRequestBody("invalid Content-Length")
        data = self.rfile.read(size)
        if len(data) != size:
            raise _BadRequestBody("request body ended early")
        return data

    def _read_chunked_body(self) -> bytes:
        parts = []
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _BadRequestBody("invalid chunked request body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self._send_bytes(status, data, "application/json; charset=utf-8", extra or {})

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, extra: dict[str, str]
    ) -> None:
        no_body = status in (204, 304)
        self.send_response(status)
        if not no_body:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if not no_body and self.command != "HEAD":
            self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Only method, path and status: headers and bodies carry the auth code.
        logger.debug("%s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the default writes request lines to stderr."""


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _model_id(named: Any) -> Any:
    """The id of the model a chat body names (an object's `id`, or the id itself)."""
    return named.get("id") if isinstance(named, dict) else named


def _named_model(body: dict[str, Any]) -> Any:
    """The model a chat body names: the earlier `model` object, else the later `models` id."""
    if body.get("model") is not None:
        return body["model"]
    models = body.get("models")
    return models[0].get("modelId") if isinstance(models, list) and models else None


def _chat_body_problem(body: Any) -> str | None:
    """Why a chat body is unusable, or None when it is fine.

    Both generations' bodies are taken: the earlier names the model as a `model` object, the
    later as `models: [{"modelId", "provider"}]` with `search`; a client may send both.
    """
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if "models" in body:
        models = body["models"]
        if not isinstance(models, list) or not models:
            return "models must be a non-empty list"
        for m in models:
            if not (isinstance(m, dict) and isinstance(m.get("modelId"), str) and m["modelId"]):
                return "each entry of models needs a string modelId"
            if not isinstance(m.get("provider", ""), str):
                return "a provider in models must be a string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    for m in messages:
        if not (isinstance(m, dict) and isinstance(m.get("role"), str)):
            return "each message needs a string role"
        if not isinstance(m.get("content"), str):
            return "each message needs a string content"
    if "temperature" in body:  # optional; when sent, what OpenAI-style services accept
        temperature = body["temperature"]
        number = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
        if not number or not 0 <= temperature <= 2:
            return "temperature must be a number from 0 to 2"
    return None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


def _wait_until_sent(sock: socket.socket, state: EmulatorState) -> None:
    """Wait until the peer has acknowledged all written bytes (a reset would drop the rest)."""
    if _TIOCOUTQ is None:
        return
    deadline = time.monotonic() + DRAIN_TIMEOUT
    buf = struct.pack("i", 0)
    while time.monotonic() < deadline:
        try:
            unsent = struct.unpack("i", fcntl.ioctl(sock.fileno(), _TIOCOUTQ, buf))[0]
        except OSError:
            return
        if unsent == 0 or state.stopping.wait(0.001):
            return
