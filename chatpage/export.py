"""A conversation as a file a person can keep: Markdown to read, JSON to load again."""

from __future__ import annotations

import json
import time

from .conversation import Conversation, Status
from .i18n import t

EXPORT_FORMAT = "liaobots-chat"
EXPORT_VERSION = 1


def to_markdown(conversation: Conversation, lang: str) -> str:
    lines = [f"# {conversation.display_title or t(lang, 'export_title')}", ""]
    lines.append(f"*{conversation.model_id} · {_date(conversation.created_at)}*")
    lines.append("")
    if conversation.system_prompt:
        lines += [f"> **{t(lang, 'system_prompt')}:** {conversation.system_prompt}", ""]
    for message in conversation.messages:
        who = t(lang, f"role_{message.role}")
        note = ""
        if message.status is Status.STOPPED:
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
            "messages": [m.to_dict() for m in conversation.messages],
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def file_stem(conversation: Conversation) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in conversation.display_title.lower())
    stem = "-".join(part for part in keep.split("-") if part)[:40]
    return stem or "conversation"


def _date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
