"""Every bound on what a person can put into the page, in one place, and the check for it."""

from __future__ import annotations

import re

from .conversation import ErrorInfo

MESSAGE_MAX_CHARS = 100_000  # default; CHAT_MAX_MESSAGE_CHARS changes it
SYSTEM_PROMPT_MAX_CHARS = 20_000
TEMPERATURE_MIN, TEMPERATURE_MAX = 0.0, 2.0  # what OpenAI-style services take
TITLE_MAX_CHARS = 200
SEARCH_MAX_CHARS = 200
IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_MESSAGES = 2000
IMPORT_MAX_DEPTH = 16  # brackets inside brackets; an export needs 5

# C0 controls but tab, line feed and carriage return, and DEL: never typed on purpose, and NUL
# cannot even be stored in PostgreSQL text. Lone surrogates too: no browser types one, and
# text holding one has no UTF-8 form, so no database could store it.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def message_problem(text: str, limit: int) -> ErrorInfo | None:
    """Why a typed message cannot be sent, or None when it can."""
    if not text.strip():
        return ErrorInfo("empty")
    if len(text) > limit:
        return ErrorInfo("too_long", limit=limit, size=len(text))
    found = CONTROL_CHARS.findall(text)
    if found:
        return ErrorInfo("control_chars", size=len(found))
    return None


def without_controls(text: str) -> str:
    return CONTROL_CHARS.sub("", text)
