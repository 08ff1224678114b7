"""One exception hierarchy for everything that can go wrong talking to Liaobots.

The exceptions carry facts, not advice: a `kind` (a stable short name), the HTTP `status_code`
and `retry_after` where the service gave them, and what else the case knows (the address, the
timeout, the guest step). `str()` is a neutral technical line for developers and logs. The words
a person reads are the caller's: the page (chatpage/failures.py, chatpage/i18n) and the terminal
client (liaobots_core/cli.py) each say these facts their own way. No exception ever holds the
auth code or the server's raw response body.

    LiaobotsError
    ├── ConfigurationError (also ValueError)
    │   └── UnknownModelError
    ├── AuthError
    │   ├── MissingAuthCodeError
    │   ├── GuestRefusedError
    │   └── HumanCheckError
    ├── InsufficientBalanceError
    ├── RateLimitError
    ├── UpstreamError
    ├── StreamTimeoutError
    ├── ConnectionFailedError
    └── ProtocolError
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class LiaobotsError(Exception):
    """Base class: catch this to handle every client failure in one place."""

    kind: str = "unknown"
    retryable: bool = False
    status_code: int | None = None
    retry_after: float | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigurationError(LiaobotsError, ValueError):
    """The client was set up with a value it cannot use (a malformed base URL, say)."""

    kind = "config"


class UnknownModelError(ConfigurationError):
    """The model id is not one the service offers."""

    kind = "unknown_model"

    def __init__(self, model_id: str, valid_ids: Sequence[str]) -> None:
        self.model_id = model_id
        self.valid_ids = list(valid_ids)
        super().__init__(f"unknown model {model_id!r}; known: {', '.join(self.valid_ids)}")


class AuthError(LiaobotsError):
    """The auth code is missing, wrong or expired, or the service wants a human check.

    `reason` is "rejected" when the service said no (with `status_code` when it came as HTTP),
    or "unsendable" when the code holds characters no auth code has and nothing was sent.
    """

    kind = "auth"

    def __init__(
        self, message: str | None = None, status_code: int | None = None, reason: str = "rejected"
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        if message is None:
            if reason == "unsendable":
                message = "auth code not sent: it holds control characters or non-ASCII letters"
            else:
                where = f" (HTTP {status_code})" if status_code else ""
                message = f"auth code rejected{where}"
        super().__init__(message)


class MissingAuthCodeError(AuthError):
    """No auth code was given at all, so nothing was sent."""

    kind = "missing_code"

    def __init__(self) -> None:
        super().__init__("no auth code given (argument or LIAOBOTS_AUTH_CODE); nothing was sent")


class GuestRefusedError(AuthError):
    """The service did not let a guest in: the login or `/api/user` failed, or gave no code.

    `step` says where it failed, in the client's own terms ("guest login was refused (403)").
    """

    kind = "guest_refused"

    def __init__(self, reason: str, status_code: int | None = None) -> None:
        self.step = reason
        super().__init__(f"guest sign-in refused: {reason}", status_code=status_code)


class HumanCheckError(AuthError):
    """The service answered with a web page (a human check or a dead session), not a reply."""

    kind = "human_check"

    def __init__(self) -> None:
        super().__init__("the service answered with an HTML page (human check or expired session)")


class InsufficientBalanceError(LiaobotsError):
    """The auth code is valid but its balance is used up (402)."""

    kind = "balance"

    def __init__(self) -> None:
        self.status_code = 402
        super().__init__("balance used up (HTTP 402)")


class RateLimitError(LiaobotsError):
    """Too many requests (429); `retry_after` is the wait the service asked for, in seconds."""

    kind = "rate_limit"
    retryable = True

    def __init__(self, retry_after: float | None) -> None:
        self.status_code = 429
        self.retry_after = retry_after
        wait = f"; retry after {seconds(retry_after)}" if retry_after is not None else ""
        super().__init__(f"rate limited (HTTP 429){wait}")


class UpstreamError(LiaobotsError):
    """The service failed (5xx, kind "upstream") or answered a status this client does not
    expect (kind "refused")."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.retryable = status_code >= 500
        self.kind = "upstream" if status_code >= 500 else "refused"
        what = "service failure" if status_code >= 500 else "unexpected status"
        super().__init__(f"{what} (HTTP {status_code})")


class StreamTimeoutError(LiaobotsError):
    """The service went silent for longer than the client's timeout."""

    kind = "timeout"
    retryable = True

    def __init__(self, timeout: float, during_reply: bool) -> None:
        self.timeout = timeout
        self.during_reply = during_reply
        where = "during the reply" if during_reply else "before the reply"
        super().__init__(f"no data for {seconds(timeout)} {where}")


class ConnectionFailedError(LiaobotsError):
    """The service could not be reached (kind "connection"), or the connection broke mid-reply
    (kind "connection_cut")."""

    retryable = True

    def __init__(self, base_url: str, during_reply: bool) -> None:
        self.base_url = base_url
        self.during_reply = during_reply
        self.kind = "connection_cut" if during_reply else "connection"
        if during_reply:
            message = f"connection to {base_url} broke during the reply"
        else:
            message = f"cannot connect to {base_url}"
        super().__init__(message)


class ProtocolError(LiaobotsError):
    """The reply did not follow the protocol (malformed event stream or JSON)."""

    kind = "protocol"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"unreadable reply: {detail}")


def error_for_status(status: int, retry_after: float | None = None) -> LiaobotsError:
    """The typed error for a failure status, whether it came as HTTP or inside the stream."""
    if status in (401, 403):
        return AuthError(status_code=status)
    if status == 402:
        return InsufficientBalanceError()
    if status == 429:
        return RateLimitError(retry_after)
    return UpstreamError(status)


def seconds(value: float) -> str:
    """A duration in seconds for a technical line: "1 second", "7 seconds", "2.5 seconds"."""
    if not math.isfinite(value):
        return f"{value} seconds"
    if value == int(value):
        n = int(value)
        return f"{n} second" if n == 1 else f"{n} seconds"
    return f"{value:.1f} seconds"
