"""Streamlit's browser protocol without a browser: enough of it to open a page and chat.

A `StreamlitSession` does on `/_stcore/stream` what Streamlit's frontend does for one tab:

- asks `/_stcore/health` first (which sets the `_streamlit_xsrf` cookie), then opens the
  websocket with the subprotocols `["streamlit", <that token, or a placeholder>]`, the cookie,
  an `Origin` and any extra headers (a sign-in proxy's user header, say);
- sends the first `rerun_script` (the server runs nothing until it arrives), then a
  `rerun_script` per interaction, carrying the page's query string (kept up to date from
  `page_info_changed`, as the browser's address bar is), the page's script hash, the context a
  browser reports, and no cached message hashes, so every message arrives whole;
- offers websocket compression (permessage-deflate) as a browser does, and counts the bytes
  that crossed the socket (`wire_bytes`) beside the bytes of the messages (`bytes_received`);
- re-runs fragments on the timers `auto_rerun` asks for (`st.fragment(run_every=...)`) until a
  full run or `stop_auto_rerun` ends them, as the browser does;
- remembers the chat input's widget id from the deltas, and the fragment that drew it, so
  `send_chat` can submit a message as the chat input's `WidgetState` with `chat_input_value`,
  re-running that fragment only, as the browser does.

Unlike a browser it sends only the widget states it is told to (Streamlit keeps the previous
value of every widget a rerun does not mention), and keeps no element tree: each received
`ForwardMsg` goes to a listener with its arrival time and payload size, and the caller decides
what it means. Every websocket frame is one serialized `ForwardMsg`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

# RootContainer: which part of the page a delta's path starts in.
MAIN, SIDEBAR, EVENT, BOTTOM = 0, 1, 2, 3
FINISHED = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
FINISHED_EARLY = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
FINISHED_FRAGMENT = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
XSRF_COOKIE = "_streamlit_xsrf"
NO_TOKEN = "PLACEHOLDER_AUTH_TOKEN"  # what the frontend sends when it has no XSRF cookie
MAX_HTTP_HEAD = 64 * 1024
CLOSE_TIMEOUT = 2.0

Listener = Callable[[float, int, ForwardMsg], None]


class CountingConnection(ClientConnection):
    """A websocket connection that counts the bytes read from its socket (compressed or not)."""

    wire_bytes = 0

    def data_received(self, data: bytes) -> None:
        self.wire_bytes += len(data)
        super().data_received(data)


class SessionError(Exception):
    """The page could not be reached, or broke the protocol."""


async def http_cookies(
    host: str, port: int, path: str, headers: Mapping[str, str], timeout: float
) -> dict[str, str]:
    """GET `path` on a plain-HTTP server; the cookies its answer sets (name -> value).

    A minimal HTTP/1.1 client so the load generator needs nothing beyond the event loop:
    one request, `Connection: close`, at most `MAX_HTTP_HEAD` bytes of head read.
    """

    async def fetch() -> dict[str, str]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError as exc:
            raise SessionError(f"GET {path}: answer head too long") from exc
        except asyncio.IncompleteReadError as exc:
            raise SessionError(f"GET {path}: connection closed before an answer") from exc
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        status, *fields = head.decode("latin-1").split("\r\n")
        if not status.startswith("HTTP/1.1 200"):
            raise SessionError(f"GET {path}: {status}")
        cookies: dict[str, str] = {}
        for field in fields:
            name, _, value = field.partition(":")
            if name.strip().lower() == "set-cookie":
                pair = value.strip().split(";", 1)[0]
                key, _, cookie = pair.partition("=")
                cookies[key.strip()] = cookie.strip()
        return cookies

    return await asyncio.wait_for(fetch(), timeout)


class StreamlitSession:
    """One browser tab on a Streamlit page, spoken to over its websocket."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        locale: str = "en-US",
        listener: Listener | None = None,
        open_timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"need an http://host:port/ address, not {url!r}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port
        self.base_path = parts.path.rstrip("/")
        self.headers = dict(headers or {})
        self.locale = locale
        self.listener = listener
        self.open_timeout = open_timeout
        self.query_string = parts.query
        self.page_script_hash = ""
        self.chat_input_id: str | None = None
        self.chat_input_fragment = ""  # the fragment that drew the chat input, if any
        self.session_id: str | None = None
        self.bytes_received = 0
        self.messages_received = 0
        self.ref_hashes = 0  # messages the server sent as a hash only (none expected)
        self.fragment_reruns_sent = 0
        self.close_reason: str | None = None
        self.closed = asyncio.Event()
        self._ws: CountingConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._timers: dict[str, tuple[float, asyncio.Task[None]]] = {}

    # --- connecting -----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect as the frontend does and ask for the first run; returns once it is asked."""
        origin = f"http://{self.host}:{self.port}"
        cookies = await http_cookies(
            self.host,
            self.port,
            f"{self.base_path}/_stcore/health",
            self.headers,
            self.open_timeout,
        )
        headers = dict(self.headers)
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        token = cookies.get(XSRF_COOKIE) or NO_TOKEN
        self._ws = await connect(
            f"ws://{self.host}:{self.port}{self.base_path}/_stcore/stream",
            origin=origin,  # type: ignore[arg-type]
            subprotocols=["streamlit", token],  # type: ignore[list-item]
            additional_headers=headers,
            compression="deflate",  # offered, as a browser does; the server may decline
            create_connection=CountingConnection,
            proxy=None,  # loopback only, whatever the environment says
            max_size=None,  # a whole page can be one large message
            max_queue=None,  # never stall the server's sender behind our reading
            open_timeout=self.open_timeout,
            ping_interval=None,  # a browser sends no pings; the server's are answered
            close_timeout=CLOSE_TIMEOUT,
            user_agent_header="streamlit-load-generator",
        )
        self._reader = asyncio.create_task(self._read(), name=f"read:{self.url}")
        await self.rerun()

    @property
    def wire_bytes(self) -> int:
        """Bytes read from the socket so far, the opening handshake's answer included."""
        return self._ws.wire_bytes if self._ws is not None else 0

    @property
    def compressed(self) -> bool:
        """Whether the server accepted permessage-deflate."""
        return self._ws is not None and any(
            getattr(extension, "name", "") == "permessage-deflate"
            for extension in self._ws.protocol.extensions
        )

    async def close(self) -> None:
        """Close the websocket and stop every fragment timer; safe to call twice."""
        self._stop_timers()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), CLOSE_TIMEOUT * 2)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self.closed.set()

    # --- what the browser sends -----------------------------------------------------------

    async def rerun(
        self,
        widgets: Iterable[WidgetState] = (),
        *,
        fragment_id: str = "",
        auto: bool = False,
    ) -> None:
        """A `rerun_script`: the whole page, or one fragment (`fragment_id`)."""
        if self._ws is None:
            raise SessionError("not connected")
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_script_hash
        state.widget_states.SetInParent()
        state.widget_states.widgets.extend(widgets)
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        context = state.context_info
        context.timezone = "UTC"
        context.timezone_offset = 0
        context.locale = self.locale
        context.url = self.url
        context.is_embedded = False
        context.color_scheme = "light"
        await self._ws.send(msg.SerializeToString())

    async def send_chat(self, text: str) -> None:
        """Submit `text` in the page's chat input, as pressing Enter does."""
        if self.chat_input_id is None:
            raise SessionError("the page has drawn no chat input")
        await self.rerun(
            [chat_input_state(self.chat_input_id, text)], fragment_id=self.chat_input_fragment
        )

    # --- what the server sends ------------------------------------------------------------

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for data in self._ws:
                at = time.monotonic()
                if isinstance(data, str):
                    raise SessionError("a text frame: Streamlit sends binary protobufs only")
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self.bytes_received += len(data)
                self.messages_received += 1
                self._track(msg)
                if self.listener is not None:
                    self.listener(at, len(data), msg)
            self.close_reason = "closed by the server"
        except ConnectionClosed as exc:
            self.close_reason = f"connection closed: {exc}"
        except SessionError as exc:
            self.close_reason = str(exc)
        finally:
            self._stop_timers()
            self.closed.set()

    def _track(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "delta":
            element = msg.delta.new_element
            if msg.delta.WhichOneof("type") == "new_element" and element.HasField("chat_input"):
                self.chat_input_id = element.chat_input.id
                self.chat_input_fragment = msg.delta.fragment_id
        elif kind == "new_session":
            if not msg.metadata.run.fragment_ids:  # a full run: the browser drops its timers
                self._stop_timers()
            self.page_script_hash = msg.new_session.page_script_hash
            if msg.new_session.initialize.session_id:
                self.session_id = msg.new_session.initialize.session_id
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self._stop_timer(fragment_id)
        elif kind == "ref_hash":
            self.ref_hashes += 1

    # --- fragment timers (`st.fragment(run_every=...)`) -----------------------------------

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        if not fragment_id or interval <= 0:
            return
        current = self._timers.get(fragment_id)
        if current is not None and current[0] == interval:
            return  # the browser keeps a timer it already has
        self._stop_timer(fragment_id)
        task = asyncio.create_task(
            self._every(fragment_id, interval), name=f"fragment:{fragment_id}"
        )
        self._timers[fragment_id] = (interval, task)

    async def _every(self, fragment_id: str, interval: float) -> None:
        while not self.closed.is_set():  # ends with the session, or when cancelled
            await asyncio.sleep(interval)
            try:
                await self.rerun(fragment_id=fragment_id, auto=True)
            except (ConnectionClosed, SessionError):
                return
            self.fragment_reruns_sent += 1

    def _stop_timer(self, fragment_id: str) -> None:
        entry = self._timers.pop(fragment_id, None)
        if entry is not None:
            entry[1].cancel()

    def _stop_timers(self) -> None:
        for fragment_id in list(self._timers):
            self._stop_timer(fragment_id)


def chat_input_state(widget_id: str, text: str) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.chat_input_value.data = text
    return state


def new_element(msg: ForwardMsg) -> tuple[tuple[int, ...], str, Any] | None:
    """(delta path, element type, element proto) of a delta that draws an element, else None."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return None
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    if kind is None:
        return None
    return tuple(msg.metadata.delta_path), kind, getattr(element, kind)


def describe(msg: ForwardMsg) -> str:
    """One line about a message, for a trace of what a session received."""
    kind = msg.WhichOneof("type") or "?"
    run = msg.metadata.run
    text = kind
    drawn = new_element(msg)
    if drawn is not None:
        path, element_kind, element = drawn
        text += f" {list(path)} {element_kind}"
        body = getattr(element, "body", None)
        if isinstance(body, str):
            text += f" {body[:60]!r}"
    elif kind == "delta":
        text += f" {list(msg.metadata.delta_path)} {msg.delta.WhichOneof('type')}"
    elif kind == "script_finished":
        text += f" {ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)}"
    elif kind == "auto_rerun":
        text += f" every {msg.auto_rerun.interval:g}s {msg.auto_rerun.fragment_id[:12]}"
    if run.script_run_id:
        text += f" run={run.script_run_id[:8]}"
    if run.fragment_ids:
        text += " fragment"
    return text
