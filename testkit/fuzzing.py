"""What the fuzz tests share: how many examples, odd values, and a server that says anything.

Every fuzz test runs a bounded number of examples so CI stays fast; `CHAT_FUZZ_SCALE=20`
multiplies them all for a deeper run on a developer's machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
from types import TracebackType
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

SCALE = max(1, int(os.environ.get("CHAT_FUZZ_SCALE", "1") or 1))


def fuzz_settings(max_examples: int, *, shrink: bool = True) -> settings:
    """Bounded examples, no deadline (a page run or a socket varies), fixtures shared.

    `shrink=False` for examples that each cost a page run: shrinking one would take minutes
    (past the test timeout), so the first failing example is reported as it was found.
    """
    phases = tuple(p for p in Phase if shrink or p not in (Phase.shrink, Phase.explain))
    return settings(
        max_examples=max_examples * SCALE,
        deadline=None,
        phases=phases,
        # Fixtures here (an emulator, a database, the environment) are meant to be shared by
        # every example of a test; each example starts its own page session or request.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --- values -------------------------------------------------------------------------------

# The controls the page refuses in a message and removes from any other text (the one rule,
# `limits.without_controls`): C0 but tab, line feed and carriage return; DEL; C1.
REFUSED = "".join(
    chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0))
)
TRICKY = "\u202e\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u200b\u200c\u200d\u2060\ufeff\u00a0"
"""Bidi controls (right-to-left override, isolates, marks) and zero-width characters."""

# Text a person can type: any character but surrogates (no keyboard or browser sends a lone
# one), with bidi controls and zero-width characters made likely.
TYPED = st.characters(exclude_categories=("Cs",)) | st.sampled_from(TRICKY)
# Text the page would have stored: as typed, without the controls it refuses.
STORED = st.characters(exclude_categories=("Cs",), exclude_characters=REFUSED) | st.sampled_from(
    TRICKY
)


class Raw(str):
    """JSON text written as it is: `1e999`, `NaN`, a 5,000-digit number, a lone surrogate."""


ODD_LITERALS = [
    Raw("1e999"),
    Raw("-1e999"),
    Raw("NaN"),
    Raw("Infinity"),
    Raw("9" * 5000),
    Raw("-0.0"),
    Raw("1e-999"),
    Raw('"\\ud800 lone surrogate"'),
    Raw('"nul \\u0000 inside"'),
    Raw('"\\u202e\\u200b bidi and zero-width"'),
]
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
    st.sampled_from(ODD_LITERALS),
)
"""A value of any JSON type, with the ones a parser turns odd: infinity, NaN, huge numbers."""


def dump(value: Any) -> str:
    """JSON text for a document that may hold `Raw` literals."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        pairs = (f"{json.dumps(str(k), ensure_ascii=False)}: {dump(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# --- a server that answers exactly the bytes it is given ------------------------------------


class ScriptedServer:
    """A loopback HTTP server that answers every request with `response`, byte for byte.

    Status line, headers and body are whatever the test wrote, so it can say what no real
    server library would: a body shorter than its Content-Length, a chunk size that is not
    hex, a status of 999. After the bytes it closes the connection (`reset=True`: with a TCP
    reset), so a client never waits on it. One connection at a time, in a daemon thread.
    """

    def __init__(self) -> None:
        self.response = b"HTTP/1.1 204 No Content\r\n\r\n"
        self.reset = False
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, name="scripted-server", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed
                return
            with connection:
                try:
                    self.requests.append(_read_request(connection))
                    connection.sendall(self.response)
                    if self.reset:
                        linger = struct.pack("ii", 1, 0)
                        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                except OSError:
                    continue  # the client gave up first

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() waiting on it
        self._listener.close()
        self._thread.join(timeout=30)

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _read_request(connection: socket.socket) -> bytes:
    """One request, headers and Content-Length body, read whole before answering."""
    connection.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        piece = connection.recv(65536)
        if not piece:
            break
        body += piece
    return head + b"\r\n\r\n" + body
