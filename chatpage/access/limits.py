"""Every bound on what a person can put into the page, in one place, and the check for it."""

from __future__ import annotations

import re

from chatpage.data.conversation import Attachment, ErrorInfo, wire_text

MESSAGE_MAX_CHARS = 100_000  # default; CHAT_MAX_MESSAGE_CHARS changes it
SYSTEM_PROMPT_MAX_CHARS = 20_000
TEMPERATURE_MIN, TEMPERATURE_MAX = 0.0, 2.0  # what OpenAI-style services take
TITLE_MAX_CHARS = 200
SEARCH_MAX_CHARS = 200
IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_MESSAGES = 2000
FILE_MAX_BYTES = 2 * 1024 * 1024  # one attached file; CHAT_MAX_FILE_BYTES changes it
IMPORT_MAX_DEPTH = 16  # brackets inside brackets; an export needs 5
# ChatGPT's and Claude's data exports (chatpage/data/foreign_imports.py). The file as uploaded
# is bounded by Streamlit's server.maxUploadSize (32 MB); these bound what is inside it.
FOREIGN_MAX_JSON_BYTES = 64 * 1024 * 1024  # conversations.json, read out of a .zip or alone
FOREIGN_MAX_ZIP_MEMBERS = 20_000  # a ChatGPT export holds a file per image besides the JSON
FOREIGN_MAX_DEPTH = 64  # message metadata nests deeper than our own export
FOREIGN_MAX_CONVERSATIONS = 5_000  # in one file; the rest are counted as skipped
FOREIGN_MAX_NODES = 20_000  # raw nodes (messages, hidden ones too) of one conversation
FOREIGN_MAX_MESSAGES = 200_000  # kept messages of one file, all conversations together
FOREIGN_MAX_TEXT_CHARS = 100_000  # of one message; a longer one is cut and counted

# The one rule for text that cannot be stored or shown (`without_controls`): the C0 controls
# but tab, line feed and carriage return, DEL, and the C1 controls (U+0080 to U+009F). Never
# typed on purpose, drawn differently by every terminal and browser, and NUL cannot even be
# stored in PostgreSQL text. Lone surrogates too: text holding one has no UTF-8 form, so no
# database could store it.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def message_problem(
    text: str, limit: int, attachments: tuple[Attachment, ...] = ()
) -> ErrorInfo | None:
    """Why a typed message (with the files attached to it) cannot be sent, or None when it can.

    The limit is on what goes upstream: the text with every file fenced in it.
    """
    if not text.strip() and not attachments:
        return ErrorInfo("empty")
    if len(text) > limit:
        return ErrorInfo("too_long", limit=limit, size=len(text))
    if attachments:
        length = len(wire_text(text.strip(), attachments))
        if length > limit:
            return ErrorInfo("files_too_long", limit=limit, size=length)
    found = CONTROL_CHARS.findall(text)
    if found:
        return ErrorInfo("control_chars", size=len(found))
    return None


def human_size(size: int) -> str:
    """A size as a person reads it: 812 B, 14.2 KB, 20.0 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def without_controls(text: str) -> str:
    """Text as it may be stored, shown, exported and shared: `CONTROL_CHARS` removed.

    The one rule, the same on SQLite and PostgreSQL, for a reply as it streams, a file's
    text, titles, prompts and imports. Removed, not replaced by a mark: a mark would itself
    be text the model never wrote, and would change the text between two exports of it.
    """
    return CONTROL_CHARS.sub("", text)
