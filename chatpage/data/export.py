"""A conversation as a file a person can keep: Markdown to read, JSON to load again.

Markdown holds the branch on show, as a person reads it. JSON holds the whole tree (every
version of every message) in a versioned format; version 1 files, from before branches,
are read as one chain.
"""

from __future__ import annotations

import json
import time
from typing import Any

from chatpage.access.limits import (
    IMPORT_MAX_BYTES,
    IMPORT_MAX_DEPTH,
    IMPORT_MAX_MESSAGES,
    SYSTEM_PROMPT_MAX_CHARS,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    TITLE_MAX_CHARS,
    without_controls,
)
from chatpage.access.refusal import Refused
from chatpage.data.conversation import (
    Conversation,
    ErrorInfo,
    Message,
    Status,
    attachments_from,
    fenced,
    new_id,
)
from chatpage.i18n import t
from liaobots_core import DEFAULT_MODEL_ID
from liaobots_core.framing import JsonTooDeep, parse_json
from liaobots_core.models import MODEL_ID_MAX_CHARS

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
        lines += [part for a in message.attachments for part in (fenced(a), "")]
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
            "temperature": conversation.temperature,
            "created_at": conversation.created_at,
            "current_leaf_id": conversation.leaf_id,
            "messages": [m.to_dict() for m in conversation.tree.values()],
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def file_stem(title: str) -> str:
    """A download's file name from a conversation's title: letters and digits only."""
    keep = "".join(c if c.isalnum() else "-" for c in title.lower())
    stem = "-".join(part for part in keep.split("-") if part)[:40]
    return stem or "conversation"


def _date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class ImportRefused(Refused):
    """A file that cannot be imported; `key` names the i18n message that explains why."""

    def __init__(self, key: str, *, limit: int | None = None) -> None:
        super().__init__(ErrorInfo(key, limit=limit))
        self.key = key
        self.values = {"limit": limit} if limit is not None else {}


def from_json(data: bytes, *, max_bytes: int = IMPORT_MAX_BYTES) -> Conversation:
    """Read an exported conversation; refuse anything malformed or oversized, whole.

    Any bytes give a conversation or `ImportRefused` with a reason a person can act on, never
    another exception: brackets nested past `IMPORT_MAX_DEPTH` are refused before parsing,
    a value of the wrong type is refused or replaced, a time that is not a plausible date
    (`1e999` parses to infinity) becomes now. A byte-order mark, as editors write one, is fine.

    Ids are kept, so export, import and export again give the same file; the store gives
    the conversation fresh ids if they are taken (an import never overwrites or claims an
    existing conversation).
    """
    if len(data) > max_bytes:
        raise ImportRefused("import_too_large", limit=max_bytes // 1024)
    try:
        document = parse_json(data, max_depth=IMPORT_MAX_DEPTH)
    except JsonTooDeep:
        raise ImportRefused("import_too_deep", limit=IMPORT_MAX_DEPTH) from None
    except ValueError:  # not UTF-8 (or UTF-16/32), or not JSON
        raise ImportRefused("import_not_json") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ImportRefused("import_wrong_format")
    version = document.get("version", 1)
    body = document.get("conversation")
    if (
        type(version) is not int  # not True, not 2.0
        or version not in (1, 2)
        or not isinstance(body, dict)
        or not isinstance(body.get("messages"), list)
    ):
        raise ImportRefused("import_wrong_format")
    raw_messages = body["messages"]
    if not raw_messages:
        raise ImportRefused("import_empty")
    if len(raw_messages) > IMPORT_MAX_MESSAGES:
        raise ImportRefused("import_too_many", limit=IMPORT_MAX_MESSAGES)
    messages = [_message(raw) for raw in raw_messages]
    title, model_id, prompt = body.get("title"), body.get("model_id"), body.get("system_prompt")
    fields = {
        "model_id": model_id if _plausible_model_id(model_id) else DEFAULT_MODEL_ID,
        "system_prompt": without_controls(prompt)[:SYSTEM_PROMPT_MAX_CHARS]
        if isinstance(prompt, str)
        else "",
        "title": without_controls(title)[:TITLE_MAX_CHARS]
        if isinstance(title, str) and without_controls(title).strip()
        else None,
        "temperature": _temperature(body.get("temperature")),
    }
    if version == 1:
        conversation = Conversation.linear(_fresh_where_unusable(messages), **fields)
    else:
        conversation = _tree(messages, body.get("current_leaf_id"), fields)
        conversation.id = _kept_id(body.get("id"))
    conversation.created_at = _timestamp(body.get("created_at"))
    return conversation


def _message(raw: object) -> Message:
    """One message of a file, every field checked; `import_bad_message` if it is damaged.

    Control characters in its text and its files are removed by the one rule
    (`without_controls`), as from a reply as it streams: a file exported before the rule,
    with an ESC in a reply, imports.
    """
    if not isinstance(raw, dict):
        raise ImportRefused("import_bad_message")
    role, text, status = raw.get("role"), raw.get("text"), raw.get("status", "complete")
    text = without_controls(text) if isinstance(text, str) else text
    message_id, parent_id = raw.get("id"), raw.get("parent_id")
    if (
        not isinstance(role, str)
        or role not in ("user", "assistant")
        or not isinstance(text, str)
        or not isinstance(status, str)
        or status not in _STATUSES
        or not isinstance(message_id, str | None)
        or not isinstance(parent_id, str | None)
    ):
        raise ImportRefused("import_bad_message")
    model_id, error = raw.get("model_id"), raw.get("error")
    try:
        attachments = attachments_from(_storable_files(raw.get("attachments")))
    except ValueError:
        raise ImportRefused("import_bad_message") from None
    if attachments and role != "user":
        raise ImportRefused("import_bad_message")
    return Message(
        role=role,  # type: ignore[arg-type]
        text=text,
        # A reply cut while it was written is not being written any more.
        status=Status.INTERRUPTED if status == Status.STREAMING else Status(status),
        model_id=model_id if _plausible_model_id(model_id) else None,
        error=_error(error) if isinstance(error, dict) else None,
        id=message_id or new_id(),
        created_at=_timestamp(raw.get("created_at")),
        parent_id=parent_id or None,
        attachments=attachments,
    )


def _storable_files(raw: object) -> object:
    """A file's list with the one rule applied to each name and text (the rest as it was)."""
    if not isinstance(raw, list):
        return raw
    return [
        {
            k: without_controls(v) if k in ("name", "text") and isinstance(v, str) else v
            for k, v in item.items()
        }
        if isinstance(item, dict)
        else item
        for item in raw
    ]


_STATUSES = frozenset(s.value for s in Status)
_LATEST_TIME = 253402300799.0  # the last second of the year 9999: dates can still show it
_ERROR_NUMBER_MAX = 10**9


def _timestamp(value: object) -> float:
    """A time from a file, if it is a plausible one (finite, 1970 to 9999); else now."""
    plausible = isinstance(value, int | float) and not isinstance(value, bool)
    if plausible and 0 <= value <= _LATEST_TIME:  # type: ignore[operator]  # NaN, inf fail it
        return float(value)  # type: ignore[arg-type]
    return time.time()


def _plausible_model_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MODEL_ID_MAX_CHARS and value.isprintable()


def _error(data: dict[str, Any]) -> ErrorInfo:
    """A failure as recorded in a file: a short kind and finite figures only."""

    def number(key: str) -> Any:
        value = data.get(key)
        plausible = isinstance(value, int | float) and not isinstance(value, bool)
        return value if plausible and 0 <= value <= _ERROR_NUMBER_MAX else None  # type: ignore[operator]

    kind = data.get("kind")
    return ErrorInfo(
        kind=kind[:40] if isinstance(kind, str) and kind.isprintable() else "unknown",
        status_code=number("status_code"),
        retry_after=number("retry_after"),
        limit=number("limit"),
        size=number("size"),
    )


def _fresh_where_unusable(messages: list[Message]) -> list[Message]:
    """A flat file's ids carry no shape: keep each usable, unrepeated one, renew the rest."""
    seen: set[str] = set()
    for message in messages:
        if message.id in seen or _kept_id(message.id) != message.id:
            message.id = new_id()
        seen.add(message.id)
    return messages


def _tree(messages: list[Message], leaf: object, fields: dict[str, Any]) -> Conversation:
    """The messages as a tree: ids unique and well formed, every parent before its child.

    The file's order is kept wherever it already has parents first (so export, import and
    export give the same file); a message listed before its parent is placed after it.
    """
    by_id: dict[str, Message] = {}
    for message in messages:
        if message.id in by_id or _kept_id(message.id) != message.id:
            raise ImportRefused("import_bad_message")
        by_id[message.id] = message
    conversation = Conversation(**fields)
    for message in messages:
        chain: list[Message] = []  # this message and its ancestors not yet placed
        on_chain: set[str] = set()
        node: Message | None = message
        while node is not None and node.id not in conversation.tree:
            if node.id in on_chain:  # a cycle
                raise ImportRefused("import_bad_message")
            chain.append(node)
            on_chain.add(node.id)
            if node.parent_id is not None and node.parent_id not in by_id:  # a missing parent
                raise ImportRefused("import_bad_message")
            node = by_id[node.parent_id] if node.parent_id is not None else None
        for placed in reversed(chain):
            conversation.tree[placed.id] = placed
    conversation.leaf_id = leaf if isinstance(leaf, str) and leaf in by_id else messages[-1].id
    return conversation


def _kept_id(value: object) -> str:
    """An id from a file, if it is one this page could have made; else a fresh one."""
    plausible = isinstance(value, str) and 8 <= len(value) <= 64
    if plausible and all(c.isalnum() or c in "-_" for c in value):  # type: ignore[union-attr]
        return value  # type: ignore[return-value]
    return new_id()


def _temperature(value: Any) -> float | None:
    """A temperature the service takes (0 to 2), or None: the service's default."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if TEMPERATURE_MIN <= value <= TEMPERATURE_MAX else None
