"""Claude's data export (`conversations.json`): each conversation's `chat_messages`.

Newer exports link each message to the one it follows (`parent_message_uuid`), so an edited
question or a retried reply is a branch: kept as a version, the most recently written branch
on show (Claude's export does not say which one its page showed). Older exports are one
chain, in the file's order. A file whose text Claude kept (`extracted_content`) stays a file
of the question; one it did not becomes "[file: name]". Tool calls, their results and the
model's reasoning are left out, counted.
"""

from __future__ import annotations

from typing import Any

from chatpage.data import foreign
from chatpage.data.conversation import ATTACHMENTS_MAX, Attachment, Message
from chatpage.data.foreign import CLAUDE, Found, Node, Tally

SOURCE = CLAUDE
IMAGE_MARK = "[image]"
_ROLES = {"human": "user", "assistant": "assistant"}


def looks_like(conversation: object) -> bool:
    return isinstance(conversation, dict) and "chat_messages" in conversation


def read(conversations: list[object], tally: Tally) -> list[Found]:
    return foreign.gather(conversations, read_one, tally)


def read_one(raw: dict[str, Any], tally: Tally) -> Found | None:
    """One conversation, or None (counted in `tally`) when it is damaged, too big or empty."""
    chat = foreign.within_bounds(raw.get("chat_messages"), list, tally)
    if chat is None:
        return None
    linked = any(
        isinstance(m, dict) and isinstance(m.get("parent_message_uuid"), str) for m in chat
    )
    nodes: list[Node] = []
    for number, item in enumerate(chat):
        own = item.get("uuid") if isinstance(item, dict) else None
        node_id = own if linked and isinstance(own, str) else f"#{number}"
        if linked:
            parent = item.get("parent_message_uuid") if isinstance(item, dict) else None
        else:
            parent = nodes[-1].id if nodes else None
        nodes.append(
            Node(node_id, parent if isinstance(parent, str) else None, _message(item, tally))
        )
    return foreign.found(
        raw,
        nodes,
        tally,
        shown=None,
        conversation_id=raw.get("uuid"),
        name=raw.get("name"),
        model=foreign.fallback_model(raw.get("model")),
        created=raw.get("created_at"),
        updated=raw.get("updated_at"),
    )


def _message(raw: object, tally: Tally) -> Message | None:
    if not isinstance(raw, dict):
        tally.messages["damaged"] += 1
        return None
    role = _ROLES.get(raw.get("sender")) if isinstance(raw.get("sender"), str) else None
    if role is None:
        tally.messages["damaged"] += 1
        return None
    content = raw.get("content")
    if isinstance(content, list) and content:
        body = _blocks(content, tally)
    else:
        body = foreign.text(raw.get("text"), tally)
    files: tuple[Attachment, ...] = ()
    if role == "user":
        files = _attachments(raw.get("attachments"), tally)
        marks = _unread_files(raw.get("files"), tally)
        body = "\n\n".join(p for p in (body, *marks) if p)
    if not body.strip() and not files:
        tally.messages["empty"] += 1
        return None
    kept = foreign.message(role, body, foreign.seconds(raw.get("created_at")))  # type: ignore[arg-type]
    kept.attachments = files
    return kept


def _blocks(content: list[object], tally: Tally) -> str:
    """A message's content blocks as one text: its words, and a mark where an image was."""
    pieces: list[str] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):  # type: ignore[union-attr]
            pieces.append(block["text"])  # type: ignore[index]
        elif kind in ("tool_use", "tool_result"):
            tally.messages["tool"] += 1
        elif kind in ("thinking", "redacted_thinking"):
            tally.messages["reasoning"] += 1
        elif kind == "image":
            tally.messages["image"] += 1
            pieces.append(IMAGE_MARK)
        else:
            tally.messages["other"] += 1
    return foreign.text("\n\n".join(p for p in pieces if p), tally)


def _attachments(raw: object, tally: Tally) -> tuple[Attachment, ...]:
    """The files whose text Claude kept, as files of the question (at most ten)."""
    if not isinstance(raw, list):
        return ()
    found: list[Attachment] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        file = foreign.attachment(
            item.get("file_name"), item.get("file_size"), item.get("extracted_content"), tally
        )
        if file is None:
            continue
        if len(found) >= ATTACHMENTS_MAX:
            tally.messages["file"] += 1
            continue
        found.append(file)
    return tuple(found)


def _unread_files(raw: object, tally: Tally) -> list[str]:
    """Files Claude kept no text of (images, mostly): their names, as marks in the text."""
    if not isinstance(raw, list):
        return []
    marks = []
    for item in raw[:20]:
        name = foreign.file_name(item.get("file_name")) if isinstance(item, dict) else None
        if name is not None:
            tally.messages["file"] += 1
            marks.append(f"[file: {name}]")
    return marks
