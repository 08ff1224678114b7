"""The conversation model the page keeps in `st.session_state` (and the store will persist).

A message carries its own status, so a reply that was stopped, cut or failed keeps the text
that arrived and says what happened to it; nothing is ever thrown away to show an error.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

Role = Literal["user", "assistant"]
TITLE_CHARS = 60
CONTINUE_PROMPT = "Continue exactly where your previous answer stopped. Do not repeat anything."


class Status(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"  # the person stopped it, or the page run was interrupted
    INTERRUPTED = "interrupted"  # the app process ended mid-reply (crash, restart)
    FAILED = "failed"  # an error ended it; `error` says which


def new_id() -> str:
    """An unguessable id, safe in a URL."""
    return secrets.token_urlsafe(16)


def title_from(text: str) -> str:
    """A conversation's default title: the start of its first message, on one line."""
    words = " ".join(text.split())
    return words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 1].rstrip() + "…"


@dataclass(frozen=True)
class ErrorInfo:
    """Which failure ended a reply, with the figures a message needs (no server text)."""

    kind: str
    status_code: int | None = None
    retry_after: float | None = None
    limit: int | None = None  # the bound that was reached, for the page's own refusals
    size: int | None = None  # how far past it the request was

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorInfo:
        def number(key: str) -> Any:
            value = data.get(key)
            return (
                value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            )

        return cls(
            kind=str(data.get("kind", "unknown"))[:40],
            status_code=number("status_code"),
            retry_after=number("retry_after"),
            limit=number("limit"),
            size=number("size"),
        )


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: its name and size for the chip, its text for the model."""

    name: str
    size: int  # bytes, as attached
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "text": self.text}


ATTACHMENTS_MAX = 10  # files on one message
_SIZE_MAX = 2**40


def attachments_from(raw: object) -> tuple[Attachment, ...]:
    """Attachments as stored or exported (None: none); ValueError when they are not that."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > ATTACHMENTS_MAX:
        raise ValueError("attachments must be a short list")
    found: list[Attachment] = []
    for item in raw:
        name = item.get("name") if isinstance(item, dict) else None
        size = item.get("size") if isinstance(item, dict) else None
        text = item.get("text") if isinstance(item, dict) else None
        if (
            not isinstance(name, str)
            or not 0 < len(name) <= 200
            or not name.isprintable()
            or "`" in name
            or type(size) is not int
            or not 0 <= size <= _SIZE_MAX
            or not isinstance(text, str)
        ):
            raise ValueError("an attachment needs a name, a size and a text")
        found.append(Attachment(name=name, size=size, text=text))
    return tuple(found)


def fenced(attachment: Attachment) -> str:
    """A file as the model reads it: its text in a code fence named after it.

    The fence is longer than any run of backticks in the text, so the text cannot end it.
    """
    longest = max((len(run) for run in re.findall(r"`+", attachment.text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{attachment.name}\n{attachment.text}\n{fence}"


def wire_text(text: str, attachments: tuple[Attachment, ...] = ()) -> str:
    """A question as it goes upstream: what was typed, then each attached file, fenced."""
    return "\n\n".join(part for part in (text, *map(fenced, attachments)) if part)


@dataclass
class Message:
    role: Role
    text: str
    status: Status = Status.COMPLETE
    model_id: str | None = None
    error: ErrorInfo | None = None
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)
    parent_id: str | None = None  # the message this one answers or follows; None for a root
    attachments: tuple[Attachment, ...] = ()  # files sent with a question

    @property
    def content(self) -> str:
        """What the model reads for this message: its text, and its files fenced."""
        return wire_text(self.text, self.attachments) if self.attachments else self.text

    @property
    def settled(self) -> bool:
        return self.status is not Status.STREAMING

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "role": self.role,
            "text": self.text,
            "status": self.status.value,
            "model_id": self.model_id,
            "error": self.error.to_dict() if self.error else None,
            "created_at": self.created_at,
        } | ({"attachments": [a.to_dict() for a in self.attachments]} if self.attachments else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        role = data.get("role")
        text = data.get("text")
        if role not in ("user", "assistant") or not isinstance(text, str):
            raise ValueError("a message needs a role of user or assistant and a text")
        error = data.get("error")
        parent = data.get("parent_id")
        return cls(
            role=role,
            text=text,
            status=Status(data.get("status", Status.COMPLETE.value)),
            model_id=data.get("model_id") if isinstance(data.get("model_id"), str) else None,
            error=ErrorInfo.from_dict(error) if isinstance(error, dict) else None,
            id=str(data.get("id") or new_id()),
            created_at=float(data.get("created_at") or time.time()),
            parent_id=str(parent) if parent else None,
            attachments=attachments_from(data.get("attachments")),
        )


@dataclass
class Conversation:
    """Every message ever written in one conversation, as a tree, and the branch on show.

    Nothing is ever removed: an edit adds a sibling of the edited message, a regenerated
    reply a sibling of the old reply. `leaf_id` names the end of the branch this copy shows;
    `messages` is that branch, oldest first, and is what goes upstream.
    """

    model_id: str
    system_prompt: str = ""
    title: str | None = None
    temperature: float | None = None  # None: the service's default
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)
    tree: dict[str, Message] = field(default_factory=dict)  # by id, in the order added
    leaf_id: str | None = None
    # The store's revision this copy reflects: 0 for a conversation never stored.
    revision: int = field(default=0, compare=False)
    # Replies to one question from several models, side by side until one is picked
    # (`comparison.py`); the first is the end of the branch on show meanwhile.
    comparing: tuple[str, ...] = field(default=(), compare=False)
    _index: dict[str | None, list[Message]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _index_key: tuple[int, int] = field(default=(0, -1), init=False, repr=False, compare=False)

    @classmethod
    def linear(cls, messages: list[Message], **fields: Any) -> Conversation:
        """A conversation whose messages follow one another (the earlier, flat shape)."""
        conversation = cls(**fields)
        for message in messages:
            conversation.append(message)
        return conversation

    # -- the branch on show ------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """The branch on show, from its root to `leaf_id`."""
        path: list[Message] = []
        seen: set[str] = set()
        node = self.tree.get(self.leaf_id) if self.leaf_id else None
        while node is not None and node.id not in seen:  # `seen`: a corrupt cycle ends here
            seen.add(node.id)
            path.append(node)
            node = self.tree.get(node.parent_id) if node.parent_id else None
        path.reverse()
        return path

    @property
    def display_title(self) -> str:
        """The given title, else the start of the first message."""
        if self.title:
            return self.title
        first = next((m for m in self.tree.values() if m.role == "user"), None)
        shown = next((m for m in self.messages if m.role == "user"), first)
        if shown is None:
            return ""
        return title_from(shown.text or ", ".join(a.name for a in shown.attachments))

    @property
    def last(self) -> Message | None:
        return self.tree.get(self.leaf_id) if self.leaf_id else None

    def streaming(self) -> Message | None:
        """The reply being written on the branch on show, if any: the last message, or one of
        the replies compared beside it."""
        last = self.last
        if last is not None and last.status is Status.STREAMING:
            return last
        if self.comparing and last is not None and last.id in self.comparing:
            for message_id in self.comparing:
                compared = self.tree.get(message_id)
                if compared is not None and compared.status is Status.STREAMING:
                    return compared
        return None

    # -- the tree ----------------------------------------------------------------------------

    def children(self, parent_id: str | None) -> list[Message]:
        """The messages that follow `parent_id` (the roots for None), oldest first."""
        return list(self._by_parent().get(parent_id, ()))

    def _by_parent(self) -> dict[str | None, list[Message]]:
        """Children by parent, made once per shape of the tree (messages are only added)."""
        key = (id(self.tree), len(self.tree))
        if self._index_key != key:
            index: dict[str | None, list[Message]] = {}
            for message in self.tree.values():
                index.setdefault(message.parent_id, []).append(message)
            for found in index.values():
                found.sort(key=lambda m: m.created_at)
            self._index, self._index_key = index, key
        return self._index

    def siblings(self, message: Message) -> list[Message]:
        """The versions of a message: itself and every other message with its parent."""
        return self.children(message.parent_id)

    def newest_leaf(self, message_id: str) -> str:
        """The most recently written end of the branches that go through `message_id`."""
        below = self._by_parent()
        best: Message | None = None
        stack = [self.tree[message_id]]
        seen: set[str] = set()
        while stack:
            node = stack.pop()
            if node.id in seen:
                continue
            seen.add(node.id)
            children = below.get(node.id, [])
            if not children and (best is None or node.created_at >= best.created_at):
                best = node
            stack.extend(children)
        return best.id if best is not None else message_id

    # -- changes -----------------------------------------------------------------------------

    def append(self, message: Message) -> Message:
        """Add a message after the end of the branch on show; it becomes the new end."""
        message.parent_id = self.leaf_id
        self.tree[message.id] = message
        self.leaf_id = message.id
        return message

    def add_user(self, text: str, attachments: tuple[Attachment, ...] = ()) -> Message:
        self.comparing = ()  # a new question ends a comparison: its replies stay as versions
        return self.append(Message(role="user", text=text, attachments=attachments))

    def start_reply(self, model_id: str) -> Message:
        return self.append(
            Message(role="assistant", text="", status=Status.STREAMING, model_id=model_id)
        )

    def rewind_to(self, message_id: str | None) -> None:
        """Show the branch up to `message_id`; the next message starts a branch from there."""
        if message_id is not None and message_id not in self.tree:
            raise KeyError(message_id)
        self.leaf_id = message_id

    def branch_for_new_reply(self, message_id: str) -> None:
        """Regenerate: back to the question `message_id` answers (or is), every reply kept.

        The new reply becomes a sibling of the one regenerated, so `‹ n / m ›` reaches both.
        """
        chosen = self.tree[message_id]
        self.rewind_to(chosen.parent_id if chosen.role == "assistant" else chosen.id)

    def edit(self, message_id: str, text: str) -> Message:
        """A new version of a question: a sibling of it, the old one and its branch kept."""
        old = self.tree[message_id]
        if old.role != "user":
            raise ValueError("only a question can be edited")
        self.rewind_to(old.parent_id)
        return self.add_user(text, old.attachments)  # the files stay with the new version

    def switch_to(self, message_id: str) -> None:
        """Show the most recent branch that goes through this version of a message."""
        self.leaf_id = self.newest_leaf(message_id)

    def follow(self) -> None:
        """If the branch on show was continued (elsewhere), show its newest continuation."""
        if self.leaf_id in self.tree:
            self.leaf_id = self.newest_leaf(self.leaf_id)

    def absorb(self, stored: Conversation) -> None:
        """Take in the stored state: messages added or settled elsewhere, and the title.

        Messages keep their identity (a reply this page is writing stays the same object),
        and the branch on show stays this copy's own, followed to its newest continuation.
        """
        for message_id, theirs in stored.tree.items():
            mine = self.tree.get(message_id)
            if mine is None:
                self.tree[message_id] = theirs
            elif mine.status is not Status.STREAMING or theirs.status is not Status.STREAMING:
                mine.text, mine.status, mine.error = theirs.text, theirs.status, theirs.error
        self.title = stored.title
        self.revision = stored.revision
        if self.leaf_id not in self.tree or (
            self.leaf_id in self.comparing and not stored.comparing
        ):  # new to this copy, or a comparison on show settled elsewhere: show what was picked
            self.leaf_id = stored.leaf_id
        self.comparing = stored.comparing
        self.follow()

    def renew_ids(self) -> None:
        """Give the conversation and every message fresh ids, the tree's shape kept."""
        fresh = {old: new_id() for old in self.tree}
        renamed: dict[str, Message] = {}
        for old, message in self.tree.items():
            message.id = fresh[old]
            message.parent_id = fresh.get(message.parent_id) if message.parent_id else None
            renamed[message.id] = message
        self.tree = renamed
        self._index_key = (0, -1)
        self.comparing = tuple(fresh[old] for old in self.comparing if old in fresh)
        self.leaf_id = fresh.get(self.leaf_id) if self.leaf_id else None
        self.id = new_id()

    def wire_messages(self, *, then_continue: bool = False) -> list[dict[str, str]]:
        """What goes upstream: the branch on show, every settled turn with text, oldest first.

        A question's files go fenced in its text. A failed reply with no text is left out (it
        never happened for the model). To continue a cut reply, its partial text goes as the
        last answer, then a request to go on.
        """
        wire = [
            {"role": m.role, "content": m.content}
            for m in self.messages
            if m.settled and (m.text or m.role == "user")
        ]
        if then_continue:
            wire.append({"role": "user", "content": CONTINUE_PROMPT})
        return _merge_consecutive(wire)


def _merge_consecutive(wire: list[dict[str, str]]) -> list[dict[str, str]]:
    """Two user turns in a row (after a failed reply) are joined: the API wants alternation."""
    merged: list[dict[str, str]] = []
    for turn in wire:
        if merged and merged[-1]["role"] == turn["role"]:
            joined = merged[-1]["content"] + "\n\n" + turn["content"]
            merged[-1] = {"role": turn["role"], "content": joined}
        else:
            merged.append(dict(turn))
    return merged
