"""What the page says when a reply fails: a kind recorded on the message, words from i18n.

Only the kind and its figures are stored (status code, wait time), never an exception's text
or the server's body, so a stored conversation can be shown in any language later.
"""

from __future__ import annotations

from typing import Literal

from chatpage.access.limits import human_size
from chatpage.data.conversation import ErrorInfo
from chatpage.i18n import DEFAULT_LANGUAGE, STRINGS, t
from liaobots_core import ConfigurationError, LiaobotsError, StreamTimeoutError

Level = Literal["error", "warning"]
LIMIT_KINDS = ("requests_day", "requests_month", "chars_day", "chars_month")
# The client's kinds the page stores and explains as they are (liaobots_core/errors.py).
CLIENT_KINDS = frozenset(
    {
        "missing_code", "human_check", "guest_refused", "auth", "balance", "rate_limit",
        "upstream", "refused", "timeout", "connection", "connection_cut", "protocol", "config",
    }
)  # fmt: skip


def describe(exc: LiaobotsError) -> ErrorInfo:
    """Reduce a client error to the facts the page needs to explain it (its kind and figures)."""
    kind = exc.kind if exc.kind in CLIENT_KINDS else "unknown"
    if kind == "unknown" and isinstance(exc, ConfigurationError):  # UnknownModelError too
        kind = "config"
    if isinstance(exc, StreamTimeoutError):
        return ErrorInfo(kind, retry_after=exc.timeout)
    return ErrorInfo(kind, status_code=exc.status_code, retry_after=exc.retry_after)


def explain(info: ErrorInfo, lang: str) -> tuple[Level, str]:
    """The level (`st.error` or `st.warning`) and the words for a failure."""
    kind = info.kind
    if kind == "rate_limit":
        if info.retry_after is not None:
            seconds = max(1, round(info.retry_after))
            return "warning", t(lang, "error_rate_limit_wait", seconds=seconds)
        return "warning", t(lang, "error_rate_limit")
    if kind == "auth":
        return "error", t(lang, "error_auth", status=info.status_code or 401)
    if kind in ("upstream", "refused"):
        return "error", t(lang, f"error_{kind}", status=info.status_code)
    if kind == "timeout":
        return "warning", t(lang, "error_timeout", seconds=round(info.retry_after or 0))
    if kind == "config":
        return "error", t(lang, "error_config", detail="")
    if kind == "empty":
        return "warning", t(lang, "error_empty")
    if kind == "control_chars":
        return "warning", t(lang, "error_control_chars", count=info.size)
    if kind in ("too_long", "question_too_long"):
        return "warning", t(lang, f"error_{kind}", length=info.size, limit=info.limit)
    if kind == "file_too_big":
        size, limit = human_size(info.size or 0), human_size(info.limit or 0)
        return "warning", t(lang, "error_file_too_big", size=size, limit=limit)
    if kind == "file_count":
        return "warning", t(lang, "error_file_count", size=info.size, limit=info.limit)
    if kind in ("file_too_big_inside", "file_unpacks_too_big"):
        size, limit = human_size(info.size or 0), human_size(info.limit or 0)
        return "warning", t(lang, f"error_{kind}", size=size, limit=limit)
    if kind in ("file_too_slow", "file_too_many_pages", "file_reading_busy"):
        return "warning", t(lang, f"error_{kind}", size=info.size, limit=info.limit)
    if kind == "file_text_too_long":
        return "warning", t(lang, "error_file_text_too_long", limit=info.limit or 0)
    if kind == "files_too_long":
        return "warning", t(lang, "error_files_too_long", length=info.size, limit=info.limit)
    if kind in ("file_image", "file_binary", "file_unreadable"):
        return "warning", t(lang, f"error_{kind}")
    if kind in ("demo_unavailable", "conversation_deleted", "rating_refused", "rating_unsaved"):
        return "warning", t(lang, f"error_{kind}")
    if kind in ("busy_person", "busy_process"):
        return "warning", t(lang, f"error_{kind}", limit=info.limit)
    if kind.startswith("limit_") and kind.removeprefix("limit_") in LIMIT_KINDS:
        wait = waiting_time(info.retry_after or 0, lang)
        return "warning", t(lang, f"error_{kind}", limit=info.limit or 0, wait=wait)
    if kind == "balance_gone":
        return "warning", t(lang, "error_balance_gone")
    if kind == "limits_unavailable":
        return "warning", t(lang, "error_limits_unavailable")
    if kind == "demo_turns":
        return "warning", t(lang, "error_demo_turns", limit=info.limit)
    if kind == "demo_per_minute":
        seconds = max(1, round(info.retry_after or 0))
        return "warning", t(lang, "error_demo_per_minute", limit=info.limit, seconds=seconds)
    if kind == "demo_per_day":
        hours = max(1, round((info.retry_after or 0) / 3600))
        return "warning", t(lang, "error_demo_per_day", limit=info.limit, hours=hours)
    simple = {
        "missing_code": "error_missing_code",
        "human_check": "error_human_check",
        "guest_refused": "error_guest_refused",
        "balance": "error_balance",
        "connection": "error_connection",
        "connection_cut": "error_connection_cut",
        "protocol": "error_protocol",
    }
    return "error", t(lang, simple.get(kind, "error_unknown"))


def waiting_time(seconds: float, lang: str) -> str:
    """How long until a limit resets, as a person says it: minutes, hours, or days."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return t(lang, "wait_minutes", minutes=minutes)
    if minutes < 48 * 60:
        return t(lang, "wait_hours", hours=minutes // 60, minutes=minutes % 60)
    return t(lang, "wait_days", days=round(minutes / 1440))


def kind_name(kind: str, lang: str) -> str:
    """A failure's kind in a few words, for a table of many (the usage page); else the kind."""
    key = f"kind_{kind}"
    return t(lang, key) if key in STRINGS[DEFAULT_LANGUAGE] else kind
