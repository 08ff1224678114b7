"""One exception hierarchy for everything that can go wrong talking to Liaobots.

Every message is written for the person at the keyboard: it says what happened and what to
do next. None of them ever contains the auth code or the server's raw response body.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class LiaobotsError(Exception):
    """Base class: catch this to handle every client failure in one place."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigurationError(LiaobotsError, ValueError):
    """The client was set up with a value it cannot use (a malformed base URL, say)."""


class UnknownModelError(ConfigurationError):
    """The model id is not one the service offers."""

    def __init__(self, model_id: str, valid_ids: Sequence[str]) -> None:
        self.model_id = model_id
        self.valid_ids = list(valid_ids)
        super().__init__(f"Unknown model {model_id!r}. Choose one of: {', '.join(self.valid_ids)}.")


class AuthError(LiaobotsError):
    """The auth code is missing, wrong or expired, or the service wants a human check."""

    def __init__(self, message: str | None = None, status_code: int | None = None) -> None:
        self.status_code = status_code
        if message is None:
            where = f" ({status_code})" if status_code else ""
            message = (
                f"The auth code was rejected{where}. "
                "Paste a new code in the sidebar or set LIAOBOTS_AUTH_CODE."
            )
        super().__init__(message)


class MissingAuthCodeError(AuthError):
    """No auth code was given at all, so nothing was sent."""

    def __init__(self) -> None:
        super().__init__(
            "No auth code is set. Paste your Liaobots auth code in the sidebar "
            "or set LIAOBOTS_AUTH_CODE."
        )


class GuestRefusedError(AuthError):
    """The service did not let a guest in: the login or `/api/user` failed, or gave no code."""

    def __init__(self, reason: str, status_code: int | None = None) -> None:
        super().__init__(
            f"The service does not let guests in right now ({reason}). Use a Liaobots auth "
            "code (paste it in the sidebar or set LIAOBOTS_AUTH_CODE), or try the offline demo.",
            status_code=status_code,
        )


class HumanCheckError(AuthError):
    """The service answered with a web page (a human check or a dead session), not a reply."""

    def __init__(self) -> None:
        super().__init__(
            "The service sent a web page instead of a reply: it wants a human check or the "
            "session has expired. Open the service in a browser once, or paste a fresh auth code."
        )


class InsufficientBalanceError(LiaobotsError):
    """The auth code is valid but its balance is used up (402)."""

    def __init__(self) -> None:
        self.status_code = 402
        super().__init__(
            "The auth code has no balance left (402). Top it up or paste another code."
        )


class RateLimitError(LiaobotsError):
    """Too many requests (429); `retry_after` is the wait the service asked for, in seconds."""

    retryable = True

    def __init__(self, retry_after: float | None) -> None:
        self.status_code = 429
        self.retry_after = retry_after
        wait = (
            f"Wait {_seconds(retry_after)} and try again."
            if retry_after is not None
            else "Wait a moment and try again."
        )
        super().__init__(f"The service is rate limiting requests (429). {wait}")


class UpstreamError(LiaobotsError):
    """The service failed (5xx) or answered with a status this client does not expect."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.retryable = status_code >= 500
        if status_code >= 500:
            message = (
                f"The Liaobots service is failing ({status_code}). "
                "Try again in a minute; if it persists, the service may be down."
            )
        else:
            message = (
                f"The Liaobots service refused the request ({status_code}). "
                "Check the base URL and the model, then try again."
            )
        super().__init__(message)


class StreamTimeoutError(LiaobotsError):
    """The service went silent for longer than the client's timeout."""

    retryable = True

    def __init__(self, timeout: float, during_reply: bool) -> None:
        self.timeout = timeout
        self.during_reply = during_reply
        where = "in the middle of the reply" if during_reply else "before replying"
        super().__init__(
            f"The service went silent {where} for {_seconds(timeout)}. "
            "What arrived is kept; try again or continue."
        )


class ConnectionFailedError(LiaobotsError):
    """The service could not be reached, or the connection broke mid-reply."""

    retryable = True

    def __init__(self, base_url: str, during_reply: bool) -> None:
        self.base_url = base_url
        self.during_reply = during_reply
        if during_reply:
            message = (
                "The connection broke in the middle of the reply. "
                "What arrived is kept; try again or continue."
            )
        else:
            message = (
                f"Could not connect to {base_url}. "
                "Check your network and the base URL (LIAOBOTS_BASE_URL)."
            )
        super().__init__(message)


class ProtocolError(LiaobotsError):
    """The reply did not follow the protocol (malformed event stream or JSON)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"The service sent a reply this client cannot read ({detail}). "
            "Check the base URL points at a Liaobots API."
        )


def error_for_status(status: int, retry_after: float | None = None) -> LiaobotsError:
    """The typed error for a failure status, whether it came as HTTP or inside the stream."""
    if status in (401, 403):
        return AuthError(status_code=status)
    if status == 402:
        return InsufficientBalanceError()
    if status == 429:
        return RateLimitError(retry_after)
    return UpstreamError(status)


def _seconds(value: float) -> str:
    if not math.isfinite(value):  # no wait a person could act on
        return "a long while"
    if value == int(value):
        n = int(value)
        return f"{n} second" if n == 1 else f"{n} seconds"
    return f"{value:.1f} seconds"
