"""ChatGPT's data export (`conversations.json`): each conversation's `mapping`, as our tree.

A ChatGPT conversation is a tree of nodes (`mapping`: id -> {parent, children, message}),
and `current_node` is the end of the branch its page showed. Every branch is kept: an edited
question or a regenerated reply becomes a version (`‹ 1 / 2 ›`), and the branch ChatGPT
showed is the one on show. What the page cannot show is left out and counted: system notes
and hidden messages, tool calls and their output (code runs, browsing, image generation), the
model's reasoning; an image in a message becomes "[image]", a file "[file: name]" (the
export holds neither's content).
"""

from __future__ import annotations

import re
from typing import Any

from chatpage.data import foreign
from chatpage.data.conversation import Message
from chatpage.data.foreign import CHATGPT, Found, Node, Tally

SOURCE = CHATGPT
IMAGE_MARK = "[image]"
_REASONING = {"thoughts", "reasoning_recap"}
_CONTEXT = {"user_editable_context", "model_editable_context"}
_TEXT = {"text", "multimodal_text"}


def looks_like(conversation: object) -> bool:
    return isinstance(conversation, dict) and "mapping" in conversation


def read(conversations: list[object], tally: Tally) -> list[Found]:
    return foreign.gather(conversations, read_one, tally)


def read_one(raw: dict[str, Any], tally: Tally) -> Found | None:
    """One conversation, or None (counted in `tally`) when it is damaged, too big or empty."""
    mapping = foreign.within_bounds(raw.get("mapping"), dict, tally)
    if mapping is None:
        return None
    nodes = [_node(key, value, tally) for key, value in mapping.items() if isinstance(key, str)]
    kept = [n.message for n in nodes if n.message is not None]
    return foreign.found(
        raw,
        nodes,
        tally,
        shown=raw.get("current_node") if isinstance(raw.get("current_node"), str) else None,
        conversation_id=raw.get("conversation_id", raw.get("id")),
        name=raw.get("title"),
        model=foreign.fallback_model(
            raw.get("default_model_slug"), *(m.model_id for m in reversed(kept))
        ),
        created=raw.get("create_time"),
        updated=raw.get("update_time"),
    )


def _node(key: str, value: object, tally: Tally) -> Node:
    if not isinstance(value, dict):
        tally.messages["damaged"] += 1
        return Node(key, None, None)
    parent = value.get("parent")
    raw = value.get("message")
    return Node(key, parent if isinstance(parent, str) else None, _message(raw, tally))


def _message(raw: object, tally: Tally) -> Message | None:
    """What we keep of one node's message, or None (counted unless it is the bare root)."""
    if raw is None:  # the root ChatGPT puts above every conversation
        return None
    if not isinstance(raw, dict):
        tally.messages["damaged"] += 1
        return None
    author = raw.get("author")
    role = _string(author.get("role")) if isinstance(author, dict) else None
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    content = raw.get("content") if isinstance(raw.get("content"), dict) else {}
    kind = _string(content.get("content_type"))
    recipient = raw.get("recipient")
    if role == "system" or metadata.get("is_visually_hidden_from_conversation") is True:
        tally.messages["hidden"] += 1
        return None
    if kind in _CONTEXT:
        tally.messages["hidden"] += 1
        return None
    if role == "tool" or (role == "assistant" and recipient not in (None, "all")):
        tally.messages["tool"] += 1
        return None
    if kind in _REASONING:
        tally.messages["reasoning"] += 1
        return None
    if role not in ("user", "assistant"):
        tally.messages["damaged"] += 1
        return None
    if kind not in _TEXT and kind != "code":
        tally.messages["other"] += 1
        return None
    body = _code(content, tally) if kind == "code" else _parts(content.get("parts"), tally)
    if role == "user":
        body = "\n\n".join(p for p in (body, *_files(metadata, tally)) if p)
    if not body.strip():
        tally.messages["empty"] += 1
        return None
    when = foreign.seconds(raw.get("create_time"))
    return foreign.message(role, body, when, foreign.model_id(metadata.get("model_slug")))


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _parts(parts: object, tally: Tally) -> str:
    """A message's parts as one text: its words, and a mark where an image was."""
    if not isinstance(parts, list):
        return ""
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):  # a transcription
            pieces.append(part["text"])
        elif isinstance(part, dict) and "image" in str(part.get("content_type", "")):
            tally.messages["image"] += 1
            pieces.append(IMAGE_MARK)
        else:
            tally.messages["other"] += 1
    return foreign.text("\n\n".join(p for p in pieces if p), tally)


def _code(content: dict[str, Any], tally: Tally) -> str:
    """Code the model showed (not sent to a tool): as a fenced block."""
    code = foreign.text(content.get("text"), tally)
    language = content.get("language")
    tag = language if isinstance(language, str) and language.isalnum() else ""
    fence = "`" * max(3, max(map(len, re.findall("`+", code)), default=0) + 1)
    return f"{fence}{tag[:20]}\n{code}\n{fence}" if code.strip() else ""


def _files(metadata: dict[str, Any], tally: Tally) -> list[str]:
    """A question's files, by name: the export keeps only that of them."""
    files = metadata.get("attachments")
    if not isinstance(files, list):
        return []
    marks = []
    for item in files[:20]:
        name = foreign.file_name(item.get("name")) if isinstance(item, dict) else None
        if name is not None:
            tally.messages["file"] += 1
            marks.append(f"[file: {name}]")
    return marks
