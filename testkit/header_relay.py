"""Browsers whose requests carry headers, their websockets' included, as behind a sign-in
proxy.

A sign-in proxy in front of the page adds its header (the signed-in person's e-mail, the
visitor's address) to every request, the websocket's handshake included, and the page reads
who the visitor is from that handshake (`st.context.headers`). Playwright's
`extra_http_headers` did the same until Chromium 150, which adds them to HTTP requests only
(CDP's `Network.setExtraHTTPHeaders` no longer reaches a WebSocket's handshake). So a context
made here also opens its websockets through a relay on this machine that adds the headers:
its pages' `WebSocket` is pointed at the relay, which forwards the handshake to the port the
page asked for on this machine (the tests' servers are all on loopback; Host as the page sent
it, the headers added) and then passes the bytes both ways untouched. The server sees the same
loopback peer, Host, Origin and cookies as before.

A site whose Content-Security-Policy allows websockets to itself alone (the nginx site's
`connect-src 'self'`) refuses a relay on another port: for it, `behind_sign_in_proxy` puts a
proxy in front of the whole site, as a sign-in proxy in front of nginx, and the browser opens
the proxy's address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import ssl
import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext

HEAD_LIMIT = 64 * 1024  # bytes of a handshake's request head
_DEFAULT_PORTS = {"ws": 80, "wss": 443}

# Each page of the context opens its websockets through the relay: the original scheme, host
# and port go in the relay's path (`/<token>/<scheme>/<host:port>/<path>`).
_THROUGH_THE_RELAY = """
(() => {
  const relay = %(relay)s;
  const Native = window.WebSocket;
  class Relayed extends Native {
    constructor(url, protocols) {
      const asked = new URL(url, window.location.href);
      const scheme = asked.protocol.slice(0, -1);
      const base = scheme === "wss" ? relay.tls : relay.plain;
      const via = base && `${base.replace("HOST", asked.hostname)}/${relay.token}/${scheme}/` +
        `${asked.host}${asked.pathname}${asked.search}`;
      super(via || url, protocols);
    }
  }
  window.WebSocket = Relayed;
})();
"""


def context_with_headers(
    browser: Browser, headers: Mapping[str, str], **options: Any
) -> BrowserContext:
    """A new context of `browser` (`options` as for `new_context`) whose requests and plain
    websockets carry `headers` (an HTTPS site: `behind_sign_in_proxy`)."""
    context = browser.new_context(extra_http_headers=dict(headers), **options)
    if not headers:
        return context
    relay = _loop().run(_Relay.start(dict(headers), None))
    context.on("close", lambda _: _loop().run(relay.close()))
    context.add_init_script(_THROUGH_THE_RELAY % {"relay": json.dumps(relay.addresses())})
    return context


def behind_sign_in_proxy(
    browser: Browser,
    site_url: str,
    headers: Mapping[str, str],
    *,
    certificate: tuple[Path, Path] | None = None,
    **options: Any,
) -> tuple[BrowserContext, str]:
    """A new context of `browser`, and the address of a proxy in front of `site_url` that adds
    `headers` to every request, as a sign-in proxy in front of nginx does: the browser sees one
    site, so its Content-Security-Policy (`connect-src 'self'`) holds for the websocket too.
    Each connection carries one request (the proxy asks the site to close it after its answer),
    so every request's head is the proxy's to complete. An HTTPS site gets an HTTPS proxy with
    `certificate` (for 127.0.0.1, PEM files)."""
    target = urllib.parse.urlsplit(site_url)
    tls = target.scheme == "https"
    if tls and certificate is None:
        raise ValueError("an HTTPS site needs the proxy's certificate")
    context = browser.new_context(**options)
    port = target.port or (443 if tls else 80)
    relay = _loop().run(_Relay.start(dict(headers), certificate if tls else None, front=port))
    context.on("close", lambda _: _loop().run(relay.close()))
    front = relay.ports["tls" if tls else "plain"]
    return context, f"{target.scheme}://127.0.0.1:{front}{target.path or '/'}"


class _Loop:
    """One event loop on a thread of its own for every relay of the process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="header-relay", daemon=True).start()

    def run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)


_shared: _Loop | None = None
_shared_lock = threading.Lock()


def _loop() -> _Loop:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _Loop()
        return _shared


class _Relay:
    """Listens on 127.0.0.1 (plain, and TLS with a certificate) for one context's websockets."""

    def __init__(self, headers: dict[str, str], front: int | None = None) -> None:
        self.headers = headers
        self.front = front  # the site's port on this machine, for a proxy in front of it
        self.token = secrets.token_hex(8)
        self.servers: list[asyncio.Server] = []
        self.ports: dict[str, int] = {}
        self.connections: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(
        cls,
        headers: dict[str, str],
        certificate: tuple[Path, Path] | None,
        front: int | None = None,
    ) -> _Relay:
        relay = cls(headers, front)
        await relay._listen("plain", None)
        if certificate is not None:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(str(certificate[0]), str(certificate[1]))
            await relay._listen("tls", tls)
        return relay

    async def _listen(self, kind: str, tls: ssl.SSLContext | None) -> None:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls, limit=HEAD_LIMIT)
        self.servers.append(server)
        self.ports[kind] = server.sockets[0].getsockname()[1]

    def addresses(self) -> dict[str, str | None]:
        plain, tls = self.ports.get("plain"), self.ports.get("tls")
        return {
            "token": self.token,
            "plain": f"ws://HOST:{plain}" if plain else None,
            "tls": f"wss://HOST:{tls}" if tls else None,
        }

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for task in list(self.connections):
            task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if self.front is None:
                scheme, host, port, forwarded = self._forwarded(head)
            else:
                scheme, host, port = self._scheme(writer), "127.0.0.1", self.front
                forwarded = self._completed(head)
            tls = None
            if scheme == "wss":
                tls = ssl.create_default_context()
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE  # the test's own self-signed site
            up_reader, upstream = await asyncio.open_connection(host, port, ssl=tls)
            upstream.write(forwarded)
            # Either side's end ends both: an answer the site closed, or a websocket.
            pipes = {
                asyncio.create_task(_pipe(reader, upstream)),
                asyncio.create_task(_pipe(up_reader, writer)),
            }
            _, unfinished = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for pipe in unfinished:
                pipe.cancel()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self.connections.discard(task)
            for stream in (writer, upstream):
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()

    def _forwarded(self, head: bytes) -> tuple[str, str, int, bytes]:
        """(scheme, host, port, the request head to send there) from the relay's request."""
        request_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
        method, target, version = request_line.split(" ")
        _, token, scheme, host_port, rest = target.split("/", 4)
        if token != self.token or scheme not in _DEFAULT_PORTS:
            raise ValueError("not this relay's")
        address = urllib.parse.urlsplit(f"//{host_port}")
        if address.hostname is None:
            raise ValueError("no host")
        replaced = {name.lower() for name in self.headers} | {"host"}
        kept = [line for line in lines if line.split(":", 1)[0].strip().lower() not in replaced]
        added = [f"{name}: {value}" for name, value in self.headers.items()]
        forwarded = [f"{method} /{rest} {version}", f"Host: {host_port}", *kept, *added]
        port = address.port or _DEFAULT_PORTS[scheme]
        return scheme, "127.0.0.1", port, ("\r\n".join(forwarded) + "\r\n\r\n").encode()

    def _scheme(self, writer: asyncio.StreamWriter) -> str:
        return "wss" if writer.get_extra_info("sslcontext") is not None else "ws"

    def _completed(self, head: bytes) -> bytes:
        """A request's head with the headers added, and a request to close the connection
        after its answer unless it becomes a websocket."""
        request_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
        upgrade = any(line.lower().startswith("upgrade:") for line in lines)
        replaced = {name.lower() for name in self.headers}
        if not upgrade:
            replaced.add("connection")
        kept = [line for line in lines if line.split(":", 1)[0].strip().lower() not in replaced]
        added = [f"{name}: {value}" for name, value in self.headers.items()]
        closing = [] if upgrade else ["Connection: close"]
        return ("\r\n".join([request_line, *kept, *added, *closing]) + "\r\n\r\n").encode("latin-1")


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
