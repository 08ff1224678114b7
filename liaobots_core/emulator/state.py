"""What the emulator's handler threads share: configuration, the behaviour queue, the record.

Tests change behaviours and read the record from their own thread while handler threads serve
requests, so every mutable piece lives behind one lock here.
"""

from __future__ import annotations

import hmac
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from .behavior import Behavior

ENDPOINTS = ("/api/chat", "/api/models", "/api/user")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it, so tests can check what a client really sent.

    `path` is relative to the path prefix (`/api/chat`); a request outside the prefix keeps its
    full path there. `endpoint` names the endpoint it reached, or is None (it got a 404).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    full_path: str
    endpoint: str | None


def normalize_prefix(prefix: str) -> str:
    """`""`, `"/"` → `""`; `"liaobots/"` → `"/liaobots"`: endpoints are appended to it."""
    if any(c in prefix for c in "?#"):
        raise ValueError(f"path_prefix must be a plain path, not {prefix!r}")
    stripped = prefix.strip("/")
    return f"/{stripped}" if stripped else ""


class EmulatorState:
    """Configuration and record of one emulator, safe to use from any thread."""

    def __init__(
        self,
        *,
        auth_code: str | None,
        path_prefix: str,
        default: Behavior,
        models: list[dict[str, Any]],
        balance: float,
    ) -> None:
        self.prefix = normalize_prefix(path_prefix)
        self.default = default
        self.models = models
        self.balance = balance
        # Bytes served verbatim instead of the JSON made from `models` / the balance.
        self.models_body: bytes | None = None
        self.user_body: bytes | None = None
        self.stopping = threading.Event()
        self._auth_code = auth_code
        self._lock = threading.Lock()
        self._queue: deque[Behavior] = deque()
        self._requests: list[RecordedRequest] = []

    @property
    def requires_code(self) -> bool:
        return self._auth_code is not None

    def accepts(self, code: object) -> bool:
        """A configured code must match exactly; without one, any non-empty code passes."""
        if not isinstance(code, str) or not code:
            return False
        if self._auth_code is None:
            return True
        return hmac.compare_digest(code.encode(), self._auth_code.encode())

    def route(self, path: str) -> tuple[str, str | None]:
        """Split a request path into (path relative to the prefix, endpoint or None)."""
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return path, None
            path = path[len(self.prefix) :]
        return path, path if path in ENDPOINTS else None

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def recorded(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def enqueue(self, behaviors: tuple[Behavior, ...]) -> None:
        for b in behaviors:
            if not isinstance(b, Behavior):
                raise TypeError(f"enqueue takes Behavior objects, not {type(b).__name__}")
        with self._lock:
            self._queue.extend(behaviors)

    def next_behavior(self) -> Behavior:
        """The oldest queued one-shot behaviour, or the default once the queue is empty."""
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
