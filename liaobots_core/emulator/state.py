"""What the emulator's handler threads share: configuration, the behaviour queue, the record.

Tests change behaviours and read the record from their own thread while handler threads serve
requests, so every mutable piece lives behind one lock here.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from .behavior import Behavior
from .pacer import Pacer

GUEST_LOGIN = "/recaptcha/api/login"
ENDPOINTS = ("/api/chat", "/api/models", "/api/user", GUEST_LOGIN)
GUEST_COOKIE = "gkp2"  # the session cookie's name on the real service, as its clients saw it


FirstAsk = Literal["check", "code", "refuse"]
LoginBody = Literal["any", "form", "json"]


@dataclass(frozen=True)
class Guests:
    """How the emulator treats guest sign-ins, faults included, in both generations at once.

    A guest signs in with `POST /recaptcha/api/login` (a session cookie comes back; the token
    as a form, as earlier clients sent it, or as JSON, as later ones did, answered
    `{"code": 200}`), then `POST /api/user` with `{"authcode": ""}` and that cookie (a guest
    code comes back); chat then needs the code and the same cookie.

    `/api/user` asked with an empty code and no cookie at all (the later clients' first step)
    answers as `first_ask` says: `check`, the human-check page with status 200 (the client
    logs in, then asks again); `code`, a code at once with a new session's cookie; `refuse`,
    401. `login_body` `form` or `json` refuses the other body with 400, as a service of one
    generation would.

    `login_status` / `user_status` other than 200 refuse guests at that step, `empty_code`
    answers `"authCode": ""`, and a guest code stops working (401) after `replies` chat
    requests, as a guest's allowance running out.
    """

    login_status: int = 200
    user_status: int = 200
    empty_code: bool = False
    replies: int | None = None
    balance: float = 10.0
    first_ask: FirstAsk = "check"
    login_body: LoginBody = "any"

    def __post_init__(self) -> None:
        if self.first_ask not in ("check", "code", "refuse"):
            raise ValueError(f"first_ask must be check, code or refuse, not {self.first_ask!r}")
        if self.login_body not in ("any", "form", "json"):
            raise ValueError(f"login_body must be any, form or json, not {self.login_body!r}")
        for name in ("login_status", "user_status"):
            status = getattr(self, name)
            if not isinstance(status, int) or not 200 <= status <= 599:
                raise ValueError(f"{name} must be a status between 200 and 599, not {status!r}")
        if self.replies is not None and self.replies < 0:
            raise ValueError(f"replies must not be negative, not {self.replies!r}")


@dataclass
class _GuestCode:
    session: str
    replies: int = 0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it, so tests can check what a client really sent.

    `path` is relative to the path prefix (`/api/chat`); a request outside the prefix keeps its
    full path there. `endpoint` names the endpoint it reached, or is None (it got a 404).
    `peer` tells the client's connections apart (a reused one keeps its port).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    full_path: str
    endpoint: str | None
    peer: str = ""  # the client's address and port: requests on one connection share it


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
        # How chat answers a request for one model, before the queue and the default: one
        # model of several failing, or slower than the others.
        self.by_model: dict[str, Behavior] = {}
        self.models = models
        self.balance = balance
        # Bytes served verbatim instead of the JSON made from `models` / the balance.
        self.models_body: bytes | None = None
        self.user_body: bytes | None = None
        self.stopping = threading.Event()
        self.released = threading.Event()  # held replies go on (`Behavior.hold_after_bytes`)
        self.pacer = Pacer(self.stopping)  # writes paced replies' pieces on time
        self._auth_code = auth_code
        self._lock = threading.Lock()
        self._queue: deque[Behavior] = deque()
        self._requests: list[RecordedRequest] = []
        self.guests = Guests()
        self._guest_sessions: set[str] = set()
        self._guest_codes: dict[str, _GuestCode] = {}

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

    # --- guests ----------------------------------------------------------------------------

    def guest_login(self) -> str:
        """A new guest session: the value of its cookie."""
        session = secrets.token_urlsafe(18)
        with self._lock:
            self._guest_sessions.add(session)
        return session

    def guest_code(self, session: object) -> str | None:
        """A new guest code for a signed-in session; None for a session never signed in."""
        if not isinstance(session, str):
            return None
        code = "guest-" + secrets.token_urlsafe(18)
        with self._lock:
            if session not in self._guest_sessions:
                return None
            self._guest_codes[code] = _GuestCode(session)
        return code

    def is_guest_code(self, code: object) -> bool:
        with self._lock:
            return isinstance(code, str) and code in self._guest_codes

    def guest_allows(self, code: object, session: object, *, reply: bool) -> bool:
        """Whether a guest code still works with this cookie; a reply counts against it."""
        limit = self.guests.replies
        with self._lock:
            guest = self._guest_codes.get(code) if isinstance(code, str) else None
            if guest is None or not isinstance(session, str):
                return False
            if not hmac.compare_digest(guest.session.encode(), session.encode()):
                return False
            if limit is not None and guest.replies >= limit:
                return False
            if reply:
                guest.replies += 1
            return True

    @property
    def guest_sign_ins(self) -> int:
        """Guest codes handed out so far."""
        with self._lock:
            return len(self._guest_codes)

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

    def next_behavior(self, model_id: object = None) -> Behavior:
        """The model's own behaviour if it has one, else the oldest queued one-shot
        behaviour, or the default once the queue is empty."""
        with self._lock:
            own = self.by_model.get(model_id) if isinstance(model_id, str) else None
            if own is not None:
                return own
            return self._queue.popleft() if self._queue else self.default

    def wait_for_release(self) -> bool:
        """Until held replies may go on (True) or the emulator stops (False)."""
        while not self.released.wait(0.05):
            if self.stopping.is_set():
                return False
        return True

    def clear(self) -> None:
        self.released.clear()
        with self._lock:
            self._queue.clear()
            self.by_model.clear()
            self._requests.clear()
