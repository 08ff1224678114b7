"""How the emulator answers one `/api/chat` request: every way the real service has behaved.

A `Behavior` is plain data so a test can name a failure mode in one line, and so a request body
can carry the same options as JSON (`"emulator": {...}`) when the caller cannot reach the
emulator object (a browser page, another process).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

Framing = Literal["raw", "sse"]
Transfer = Literal["chunked", "close"]


@dataclass(frozen=True)
class Behavior:
    """How one `/api/chat` response is produced; the defaults give a healthy raw reply.

    For SSE: `sse_done` ends the events with `data: [DONE]` (earlier clients' habit; a later
    client failed on it, so it is off by default), `sse_role` marks each event
    `"role": "assistant"` as the later service did, and `stream_error` (a status) follows the
    reply's events with the later service's error event `{"error": true, "res_status": ...}`.

    `hold_after_bytes` pauses the reply there, mid-stream and connection open, until the test
    says go on (`Emulator.release_held()`): a step taken "while the reply is being written"
    then never depends on how fast the machine is. A hold at or past the reply's last byte
    never pauses it.
    """

    framing: Framing = "raw"
    transfer: Transfer = "chunked"
    status: int = 200
    retry_after: str | None = None
    html: bool = False
    content_type_html: bool = True
    reply: str | None = None
    reply_chars: int | None = None
    chunk_bytes: int = 64
    split_multibyte: bool = False
    delay: float = 0.0
    first_byte_delay: float = 0.0
    disconnect_after_bytes: int | None = None
    stall_after_bytes: int | None = None
    stall_seconds: float = 3600.0
    hold_after_bytes: int | None = None  # pause there until `Emulator.release_held()`
    sse_done: bool = False
    sse_role: bool = True
    stream_error: int | None = None

    def __post_init__(self) -> None:
        hints = _field_hints()
        for f in fields(self):
            value = getattr(self, f.name)
            if not _matches(value, hints[f.name]):
                raise ValueError(f"{f.name} must be {_describe(hints[f.name])}, not {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, not {value!r}")
        _check_ranges(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: Behavior | None = None) -> Behavior:
        """Build a behaviour from JSON-like options laid over `base` (defaults when None).

        Raises ValueError naming unknown keys or the first value of the wrong type, so a
        request body with a typo is refused instead of silently ignored.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"emulator options must be an object, not {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ValueError(
                f"unknown emulator option(s): {', '.join(unknown)}; "
                f"valid options: {', '.join(sorted(known))}"
            )
        return replace(base if base is not None else cls(), **dict(data))


def _check_ranges(b: Behavior) -> None:
    if not 200 <= b.status <= 599:
        raise ValueError(f"status must be between 200 and 599, not {b.status}")
    if b.stream_error is not None:
        if not 400 <= b.stream_error <= 599:
            raise ValueError(f"stream_error must be between 400 and 599, not {b.stream_error}")
        if b.framing != "sse":
            raise ValueError("stream_error needs framing 'sse': raw text cannot carry an event")
    if b.chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be at least 1, not {b.chunk_bytes}")
    for name in (
        "reply_chars",
        "delay",
        "first_byte_delay",
        "disconnect_after_bytes",
        "stall_after_bytes",
        "stall_seconds",
        "hold_after_bytes",
    ):
        value = getattr(b, name)
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative, not {value!r}")


_HINTS: dict[str, Any] = {}


def _field_hints() -> dict[str, Any]:
    # Resolved once: the annotations are strings because of `from __future__ import annotations`.
    if not _HINTS:
        _HINTS.update(get_type_hints(Behavior))
    return _HINTS


def _matches(value: Any, hint: Any) -> bool:
    """JSON-strict type check: bools are not numbers, ints are accepted where floats are."""
    origin = get_origin(hint)
    if origin is Literal:
        return any(type(value) is type(a) and value == a for a in get_args(hint))
    if origin in (Union, types.UnionType):
        return any(_matches(value, a) for a in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(hint))
    names = {type(None): "null", bool: "a boolean", int: "an integer", float: "a number"}
    return names.get(hint, "a string" if hint is str else getattr(hint, "__name__", str(hint)))
