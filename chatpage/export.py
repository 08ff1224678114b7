"""A conversation as a file a person can keep: Markdown to read, JSON to load again.

Markdown holds the branch on show, as a person reads it. JSON holds the whole tree (every
version of every message) in a versioned format; version 1 files, from before branches,
are read as one chain.
"""

from __future__ import annotations

import json
import time
from typing import Any

from liaobots_core import DEFAULT_MODEL_ID

from .conversation import Conversation, Message, Status, new_id
from .i18n import t
from .limits import (
    CONTROL_CHARS,
    IMPORT_MAX_BYTES,
    IMPORT_MAX_MESSAGES,
    SYSTEM_PROMPT_MAX_CHARS,
    TITLE_MAX_CHARS,
    without_controls,
)

EXPORT_FORMAT = "liaobots-chat"
EXPORT_VERSION = 2  # 2: the whole tree, each message naming its parent


def to_markdown(conversation: Conversation, lang: str) -> str:
    lines = [f"# {conversation.display_title or t(lang, 'export_title')}", ""]
    lines.append(f"*{conversation.model_id} · {_date(conversation.created_at)}*")
    lines.append("")
    if conversation.system_prompt:
        lines += [f"> **{t(lang, 'system_prompt')}:** {conversation.system_prompt}", ""]
    for message in conversation.messages:
        who = t(lang, f"role_{message.role}")
        note = ""
        if message.status in (Status.STOPPED, Status.INTERRUPTED):
            note = f" ({t(lang, 'status_stopped_label')})"
        elif message.status is Status.FAILED:
            note = f" ({t(lang, 'status_failed_label')})"
        lines += [f"## {who}{note}", "", message.text, ""]
    return "\n".join(lines).rstrip() + "\n"


def to_json(conversation: Conversation) -> str:
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "conversation": {
            "id": conversation.id,
            "title": conversation.title,
            "model_id": conversation.model_id,
            "system_prompt": conversation.system_prompt,
            "created_at": conversation.created_at,
            "current_leaf_id": conversation.leaf_id,
            "messages": [m.to_dict() for m in conversation.tree.values()],
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def file_stem(conversation: Conversation) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in conversation.display_title.lower())
    stem = "-".join(part for part in keep.split("-") if part)[:40]
    return stem or "conversation"


def _date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class ImportRefused(ValueError):
    """A file that cannot be imported; `key` names the i18n message that explains why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def from_json(data: bytes, *, max_bytes: int = IMPORT_MAX_BYTES) -> Conversation:
    """Read an exported conversation; refuse anything malformed or oversized, whole.

    Ids are kept, so export, import and export again give the same file; the store gives
    the conversation fresh ids if they are taken (an import never overwrites or claims an
    existing conversation).
    """
    if len(data) > max_bytes:
        raise ImportRefused("import_too_large", limit=max_bytes // 1024)
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ImportRefused("import_not_json") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ImportRefused("import_wrong_format")
    version = document.get("version", 1)
    body = document.get("conversation")
    if (
        version not in (1, 2)
        or not isinstance(body, dict)
        or not isinstance(body.get("messages"), list)
    ):
        raise ImportRefused("import_wrong_format")
    raw_messages = body["messages"]
    if not raw_messages:
        raise ImportRefused("import_empty")
    if len(raw_messages) > IMPORT_MAX_MESSAGES:
        raise ImportRefused("import_too_many", limit=IMPORT_MAX_MESSAGES)
    try:
        messages = [Message.from_dict(m) for m in raw_messages if isinstance(m, dict)]
    except (ValueError, TypeError):
        raise ImportRefused("import_bad_message") from None
    if len(messages) != len(raw_messages) or any(CONTROL_CHARS.search(m.text) for m in messages):
        raise ImportRefused("import_bad_message")
    for message in messages:
        if message.status is Status.STREAMING:
            message.status = Status.INTERRUPTED
    title, model_id, prompt = body.get("title"), body.get("model_id"), body.get("system_prompt")
    fields = {
        "model_id": model_id if isinstance(model_id, str) and model_id else DEFAULT_MODEL_ID,
        "system_prompt": without_controls(prompt)[:SYSTEM_PROMPT_MAX_CHARS]
        if isinstance(prompt, str)
        else "",
        "title": without_controls(title)[:TITLE_MAX_CHARS]
        if isinstance(title, str) and title.strip()
        else None,
    }
    if version == 1:
        return Conversation.linear(messages, **fields)
    conversation = _tree(messages, body.get("current_leaf_id"), fields)
    conversation.id = _kept_id(body.get("id"))
    created = body.get("created_at")
    if isinstance(created, (int, float)) and not isinstance(created, bool):
        conversation.created_at = float(created)
    return conversation


def _tree(messages: list[Message], leaf: object, fields: dict[str, Any]) -> Conversation:
    """The messages as a tree: ids unique and well formed, every parent before its child."""
    by_id: dict[str, Message] = {}
    for message in messages:
        if message.id in by_id or _kept_id(message.id) != message.id:
            raise ImportRefused("import_bad_message")
        by_id[message.id] = message
    conversation = Conversation(**fields)
    placed: set[str | None] = {None}
    pending = list(messages)
    while pending:  # parents first, whatever order the file lists them in
        ready = [m for m in pending if m.parent_id in placed]
        if not ready:  # a parent that is missing, or a cycle
            raise ImportRefused("import_bad_message")
        for message in ready:
            conversation.tree[message.id] = message
            placed.add(message.id)
        pending = [m for m in pending if m.id not in placed]
    conversation.leaf_id = leaf if isinstance(leaf, str) and leaf in by_id else messages[-1].id
    return conversation


def _kept_id(value: object) -> str:
    """An id from a file, if it is one this page could have made; else a fresh one."""
    plausible = isinstance(value, str) and 8 <= len(value) <= 64
    if plausible and all(c.isalnum() or c in "-_" for c in value):  # type: ignore[union-attr]
        return value  # type: ignore[return-value]
    return new_id()
