"""The `Emulator`: a real Liaobots-speaking HTTP server on a loopback port, in a thread.

Tests, benchmarks and the offline demo talk to it over real sockets, so the client under test
meets real chunked encoding, keep-alive, resets and silence rather than a mocked transport.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import logging
import socket
import socketserver
import ssl
import threading
from http.server import ThreadingHTTPServer
from typing import Any, Self

from .behavior import Behavior
from .catalog import default_models
from .handler import EmulatorHandler
from .state import EmulatorState, Guests, RecordedRequest

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.02
"""How often the accept loop checks for shutdown: bounds how long stop() waits for it."""


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its open connections so stop() can close them."""

    daemon_threads = True
    block_on_close = False  # stop() closes connections itself; never wait on a stalled reply

    def __init__(
        self, address: tuple[str, int], handler: Any, tls: ssl.SSLContext | None = None
    ) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._tls = tls
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a slow resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece leaves at once
        if self._tls is not None:  # the handshake waits for the handler's first read
            sock = self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._connections_lock:
            self._connections.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection, waking handlers blocked on it."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("emulator connection failed", exc_info=True)


class Startable(abc.ABC):
    """A server that `start()` runs and `stop()` ends, so a `with` block does both.

    The emulator and the test servers in `testkit` (Streamlit, the OIDC provider) all stop
    however the block ends; one `__enter__`/`__exit__` pair serves them all.
    """

    @abc.abstractmethod
    def start(self) -> Self:
        """Begin serving; returns self so `Server().start()` reads well."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop serving and release what start() took."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Emulator(Startable):
    """A local Liaobots API server; use as a context manager or with start()/stop()."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_code: str | None = None,
        path_prefix: str = "",
        default: Behavior | None = None,
        models: list[dict[str, Any]] | None = None,
        balance: float = 100.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._host = host
        self._tls = tls
        self._requested_port = port
        self._state = EmulatorState(
            auth_code=auth_code,
            path_prefix=path_prefix,
            default=default if default is not None else Behavior(),
            models=models if models is not None else default_models(),
            balance=balance,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._stopped = False

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve in a daemon thread; returns self so `Emulator().start()` reads well."""
        with self._lifecycle:
            if self._stopped:
                raise RuntimeError("this emulator was stopped; create a new one")
            if self._server is not None:
                return self
            handler = functools.partial(EmulatorHandler, state=self._state)
            self._server = _Server((self._host, self._requested_port), handler, self._tls)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": POLL_INTERVAL},
                name=f"liaobots-emulator:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection, releasing stalls and delays at once."""
        with self._lifecycle:
            if self._stopped:
                return
            self._stopped = True
            self._state.stopping.set()
            self._state.pacer.stop()
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            server.shutdown()
            server.close_connections()
            server.server_close()
            thread.join(timeout=1.0)

    # --- where it listens -----------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for); only known after start()."""
        if self._server is None:
            raise RuntimeError("the emulator is not started; call start() first")
        return int(self._server.server_address[1])

    @property
    def requires_code(self) -> bool:
        """Whether one configured code is required (else any non-empty code passes)."""
        return self._state.requires_code

    @property
    def path_prefix(self) -> str:
        return self._state.prefix

    @property
    def base_url(self) -> str:
        """`http://host:port` (https with TLS) plus the path prefix, no trailing slash."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{host}:{self.port}{self._state.prefix}"

    # --- behaviour and data -----------------------------------------------------------------

    @property
    def default(self) -> Behavior:
        """How /api/chat answers when no one-shot behaviour is queued."""
        return self._state.default

    @default.setter
    def default(self, behavior: Behavior) -> None:
        if not isinstance(behavior, Behavior):
            raise TypeError(f"default must be a Behavior, not {type(behavior).__name__}")
        self._state.default = behavior

    @property
    def by_model(self) -> dict[str, Behavior]:
        """How /api/chat answers a request for a given model id, before the queue and the
        default (`emu.by_model["gpt-4"] = Behavior(status=503)`: that model fails)."""
        return self._state.by_model

    def enqueue(self, *behaviors: Behavior) -> None:
        """Use these behaviours, oldest first, for the next valid /api/chat requests."""
        self._state.enqueue(behaviors)

    @property
    def models(self) -> list[dict[str, Any]]:
        """What /api/models serves."""
        return self._state.models

    @models.setter
    def models(self, models: list[dict[str, Any]]) -> None:
        self._state.models = models

    @property
    def models_body(self) -> bytes | None:
        """Bytes /api/models answers with verbatim instead of `models` (None: from `models`).

        For answers JSON cannot be made to say from Python objects: `"maxLength": 1e999`,
        a cut-off list, nesting too deep to parse, text that is not JSON at all.
        """
        return self._state.models_body

    @models_body.setter
    def models_body(self, body: bytes | None) -> None:
        self._state.models_body = _raw_body(body, "models_body")

    @property
    def user_body(self) -> bytes | None:
        """Bytes /api/user answers a valid code with verbatim (None: made from `balance`)."""
        return self._state.user_body

    @user_body.setter
    def user_body(self, body: bytes | None) -> None:
        self._state.user_body = _raw_body(body, "user_body")

    @property
    def balance(self) -> float:
        """What /api/user reports for a valid code."""
        return self._state.balance

    @balance.setter
    def balance(self, balance: float) -> None:
        self._state.balance = balance

    @property
    def guests(self) -> Guests:
        """How guest sign-ins are answered (`Guests()`: allowed, codes that never expire)."""
        return self._state.guests

    @guests.setter
    def guests(self, guests: Guests) -> None:
        if not isinstance(guests, Guests):
            raise TypeError(f"guests must be Guests, not {type(guests).__name__}")
        self._state.guests = guests

    @property
    def guest_sign_ins(self) -> int:
        """How many guest codes `/api/user` has handed out."""
        return self._state.guest_sign_ins

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        return self._state.recorded()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The requests that reached /api/chat (whatever their method or outcome)."""
        return [r for r in self._state.recorded() if r.endpoint == "/api/chat"]

    def release_held(self) -> None:
        """Let replies paused by `Behavior.hold_after_bytes` go on (and later ones not pause)."""
        self._state.released.set()

    def clear(self) -> None:
        """Forget recorded requests, queued one-shot behaviours and models' own; re-arm holds."""
        self._state.clear()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else f"{self._host} (not started)"
        auth = "required" if self._state.requires_code else "any"
        return f"Emulator({where}, auth code {auth})"


def _raw_body(body: bytes | None, name: str) -> bytes | None:
    if body is not None and not isinstance(body, bytes):
        raise TypeError(f"{name} must be bytes or None, not {type(body).__name__}")
    return body
