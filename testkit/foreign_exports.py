"""Small, realistic data exports from ChatGPT and Claude, built in code, for the import tests
(and one large ChatGPT export grown from them, for the size tests and the benchmark).

Shaped after real exports: ChatGPT's `mapping` tree with its bare root, a hidden system
node, an edited question and a regenerated reply (two branches each), a code run and its
output, a reasoning step and an image; Claude's `chat_messages` with content blocks, a file
whose text it kept, and parent links (newer exports) or none (older ones).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

CHATGPT_ID = "6630d2a4-1c9e-8004-b0c4-5b1f2f1e0a11"
TOOLS_ID = "6630d2a4-1c9e-8004-b0c4-5b1f2f1e0a22"
CLAUDE_ID = "1f0c8f6e-5c55-4b0e-9d3f-0c2f3d4a5b66"
CLAUDE_FLAT_ID = "1f0c8f6e-5c55-4b0e-9d3f-0c2f3d4a5b77"
CLAUDE_ROOT = "00000000-0000-4000-8000-000000000000"
START = 1714000000.0


def _chatgpt_message(
    node_id: str,
    role: str,
    parts: list[Any],
    at: float | None,
    *,
    kind: str = "text",
    metadata: dict[str, Any] | None = None,
    recipient: str = "all",
    content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": node_id,
        "author": {"role": role, "name": None, "metadata": {}},
        "create_time": at,
        "update_time": None,
        "content": content or {"content_type": kind, "parts": parts},
        "status": "finished_successfully",
        "end_turn": True,
        "weight": 1.0,
        "metadata": metadata or {},
        "recipient": recipient,
        "channel": None,
    }


def _mapping(nodes: list[tuple[str, str | None, dict[str, Any] | None]]) -> dict[str, Any]:
    """ChatGPT's mapping from (id, parent, message): the children lists are derived."""
    mapping = {
        node_id: {"id": node_id, "message": message, "parent": parent, "children": []}
        for node_id, parent, message in nodes
    }
    for node_id, parent, _ in nodes:
        if parent is not None:
            mapping[parent]["children"].append(node_id)
    return mapping


def chatgpt_branched(current: str = "a-2b-1") -> dict[str, Any]:
    """Plan a day in Lisbon: the second question edited (2 versions), its reply regenerated."""
    hidden = {"is_visually_hidden_from_conversation": True}
    gpt = {"model_slug": "gpt-4o", "default_model_slug": "gpt-4o"}
    nodes = [
        ("client-created-root", None, None),
        (
            "sys-1",
            "client-created-root",
            _chatgpt_message("sys-1", "system", [""], None, metadata=hidden),
        ),
        ("u-1", "sys-1", _chatgpt_message("u-1", "user", ["Plan a day in Lisbon"], START + 10)),
        (
            "a-1",
            "u-1",
            _chatgpt_message("a-1", "assistant", ["Morning: Alfama."], START + 20, metadata=gpt),
        ),
        ("u-2a", "a-1", _chatgpt_message("u-2a", "user", ["Make it cheaper"], START + 30)),
        (
            "a-2a",
            "u-2a",
            _chatgpt_message(
                "a-2a", "assistant", ["Walk, and eat bifanas."], START + 40, metadata=gpt
            ),
        ),
        ("u-2b", "a-1", _chatgpt_message("u-2b", "user", ["Make it for a rainy day"], START + 50)),
        (
            "a-2b-1",
            "u-2b",
            _chatgpt_message(
                "a-2b-1", "assistant", ["Museums: the Gulbenkian."], START + 60, metadata=gpt
            ),
        ),
        (
            "a-2b-2",
            "u-2b",
            _chatgpt_message(
                "a-2b-2", "assistant", ["The Oceanarium, then fado."], START + 70, metadata=gpt
            ),
        ),
    ]
    return {
        "title": "Lisbon day trip",
        "create_time": START,
        "update_time": START + 70,
        "mapping": _mapping(nodes),
        "moderation_results": [],
        "current_node": current,
        "plugin_ids": None,
        "conversation_id": CHATGPT_ID,
        "conversation_template_id": None,
        "gizmo_id": None,
        "is_archived": False,
        "safe_urls": [],
        "default_model_slug": "gpt-4o",
        "id": CHATGPT_ID,
    }


def chatgpt_with_tools() -> dict[str, Any]:
    """A chart made by a code run: a photo in the question, reasoning, code and its output."""
    image = {
        "content_type": "image_asset_pointer",
        "asset_pointer": "file-service://file-AbC123",
        "size_bytes": 123456,
        "width": 800,
        "height": 600,
        "metadata": {"dalle": None},
    }
    nodes = [
        ("root", None, None),
        (
            "q",
            "root",
            _chatgpt_message(
                "q",
                "user",
                [image, "Chart the sales in this photo"],
                START + 100,
                kind="multimodal_text",
                metadata={"attachments": [{"id": "file-AbC123", "name": "sales.png"}]},
            ),
        ),
        (
            "think",
            "q",
            _chatgpt_message(
                "think",
                "assistant",
                [],
                START + 101,
                content={
                    "content_type": "thoughts",
                    "thoughts": [{"summary": "Reading", "content": "..."}],
                },
            ),
        ),
        (
            "code",
            "think",
            _chatgpt_message(
                "code",
                "assistant",
                [],
                START + 102,
                recipient="python",
                content={"content_type": "code", "language": "unknown", "text": "plt.plot(sales)"},
            ),
        ),
        (
            "out",
            "code",
            _chatgpt_message(
                "out",
                "tool",
                [],
                START + 103,
                content={"content_type": "execution_output", "text": "<Figure>"},
            ),
        ),
        (
            "answer",
            "out",
            _chatgpt_message(
                "answer",
                "assistant",
                ["Here is the chart: sales rose in May."],
                START + 104,
                metadata={"model_slug": "gpt-4o"},
            ),
        ),
    ]
    return {
        "title": "Sales chart",
        "create_time": START + 100,
        "update_time": START + 104,
        "mapping": _mapping(nodes),
        "current_node": "answer",
        "conversation_id": TOOLS_ID,
        "id": TOOLS_ID,
    }


def claude_message(
    uuid: str, sender: str, text: str, minute: int, parent: str | None = None, **extra: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "uuid": uuid,
        "text": text,
        "content": [
            {
                "start_timestamp": f"2024-06-01T10:{minute:02}:00.000000Z",
                "stop_timestamp": f"2024-06-01T10:{minute:02}:05.000000Z",
                "type": "text",
                "text": text,
                "citations": [],
            }
        ],
        "sender": sender,
        "created_at": f"2024-06-01T10:{minute:02}:00.000000Z",
        "updated_at": f"2024-06-01T10:{minute:02}:05.000000Z",
        "attachments": [],
        "files": [],
    }
    if parent is not None:
        message["parent_message_uuid"] = parent
    return message | extra


def claude_branched() -> dict[str, Any]:
    """Essay feedback, with a file whose text Claude kept, and a retried reply (2 versions)."""
    essay = {
        "file_name": "essay.txt",
        "file_size": 41,
        "file_type": "txt",
        "extracted_content": "Cats are better than dogs because they...",
    }
    messages = [
        claude_message(
            "m1", "human", "Please review my essay", 0, CLAUDE_ROOT, attachments=[essay]
        ),
        claude_message("m2", "assistant", "It argues well; add sources.", 1, "m1"),
        claude_message("m2b", "assistant", "Strong start; the ending is weak.", 2, "m1"),
        claude_message("m3", "human", "How do I end it?", 3, "m2b"),
        claude_message("m4", "assistant", "Return to your opening image.", 4, "m3"),
    ]
    return {
        "uuid": CLAUDE_ID,
        "name": "Essay feedback",
        "created_at": "2024-06-01T10:00:00.000000Z",
        "updated_at": "2024-06-01T10:04:05.000000Z",
        "account": {"uuid": "9a8b7c6d-0000-4000-8000-000000000001"},
        "chat_messages": messages,
    }


def claude_flat() -> dict[str, Any]:
    """An older export: no parent links, one chain in the file's order."""
    messages = [
        claude_message("f1", "human", "Translate 'hello' to French", 10),
        claude_message("f2", "assistant", "Bonjour", 11),
        claude_message("f3", "human", "And to Russian?", 12),
        claude_message("f4", "assistant", "Привет", 13),
    ]
    return {
        "uuid": CLAUDE_FLAT_ID,
        "name": "",
        "created_at": "2024-06-01T10:10:00.000000Z",
        "updated_at": "2024-06-01T10:13:05.000000Z",
        "chat_messages": messages,
    }


def big_chatgpt_json(conversations: int, turns: int) -> bytes:
    """A large export: many conversations of many turns, about 1 KB a turn (the branched
    Lisbon conversation, continued), for the size tests and the import benchmark alike."""
    made = []
    for number in range(conversations):
        conversation = chatgpt_branched()
        mapping = conversation["mapping"]
        parent = "a-2b-1"
        for turn in range(turns):
            node_id = f"t{turn}"
            message = dict(mapping["a-1"]["message"], id=node_id)
            message["content"] = {"content_type": "text", "parts": ["lorem ipsum " * 80]}
            mapping[node_id] = {"id": node_id, "parent": parent, "children": [], "message": message}
            parent = node_id
        conversation["current_node"] = parent
        conversation["id"] = conversation["conversation_id"] = f"conversation-{number}"
        made.append(conversation)
    return json.dumps(made).encode()


def as_json(conversations: list[dict[str, Any]]) -> bytes:
    return json.dumps(conversations, ensure_ascii=False).encode()


def as_zip(conversations_json: bytes, service: str = "chatgpt") -> bytes:
    """The export as downloaded: conversations.json beside the service's other files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if service == "chatgpt":
            archive.writestr("user.json", '{"id": "user-1", "email": "a@example.com"}')
            archive.writestr("chat.html", "<html><body>...</body></html>")
            archive.writestr("file-AbC123-sales.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
            archive.writestr("message_feedback.json", "[]")
        else:
            archive.writestr("users.json", '[{"uuid": "9a8b7c6d"}]')
            archive.writestr("projects.json", "[]")
        archive.writestr("conversations.json", conversations_json)
    return buffer.getvalue()


def chatgpt_zip() -> bytes:
    return as_zip(as_json([chatgpt_branched(), chatgpt_with_tools()]))


def claude_zip() -> bytes:
    return as_zip(as_json([claude_branched(), claude_flat()]), "claude")
