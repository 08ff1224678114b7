"""The conversation model the page keeps in `st.session_state` (and the store will persist).

A message carries its own status, so a reply that was stopped, cut or failed keeps the text
that arrived and says what happened to it; nothing is ever thrown away to show an error.
"""

from __future__ import annotations

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


@dataclass
class Message:
    role: Role
    text: str
    status: Status = Status.COMPLETE
    model_id: str | None = None
    error: ErrorInfo | None = None
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    @property
    def settled(self) -> bool:
        return self.status is not Status.STREAMING

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "text": self.text,
            "status": self.status.value,
            "model_id": self.model_id,
            "error": self.error.to_dict() if self.error else None,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        role = data.get("role")
        text = data.get("text")
        if role not in ("user", "assistant") or not isinstance(text, str):
            raise ValueError("a message needs a role of user or assistant and a text")
        error = data.get("error")
        return cls(
            role=role,
            text=text,
            status=Status(data.get("status", Status.COMPLETE.value)),
            model_id=data.get("model_id"),
            error=ErrorInfo.from_dict(error) if isinstance(error, dict) else None,
            id=str(data.get("id") or new_id()),
            created_at=float(data.get("created_at") or time.time()),
        )


@dataclass
class Conversation:
    model_id: str
    system_prompt: str = ""
    messages: list[Message] = field(default_factory=list)
    title: str | None = None
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    @property
    def display_title(self) -> str:
        """The given title, else the start of the first message."""
        if self.title:
            return self.title
        return title_from(next((m.text for m in self.messages if m.role == "user"), ""))

    @property
    def last(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    def last_of(self, role: Role) -> Message | None:
        return next((m for m in reversed(self.messages) if m.role == role), None)

    def add_user(self, text: str) -> Message:
        message = Message(role="user", text=text)
        self.messages.append(message)
        return message

    def start_reply(self, model_id: str) -> Message:
        reply = Message(role="assistant", text="", status=Status.STREAMING, model_id=model_id)
        self.messages.append(reply)
        return reply

    def settle_interrupted(self) -> list[Message]:
        """Mark replies left streaming by an ended page run as stopped; return them."""
        stopped = [m for m in self.messages if m.status is Status.STREAMING]
        for message in stopped:
            message.status = Status.STOPPED
        return stopped

    def drop_last_reply(self) -> Message | None:
        """Remove the last answer (to regenerate it); the question stays."""
        if self.last is not None and self.last.role == "assistant":
            return self.messages.pop()
        return None

    def edit_last_user(self, text: str) -> None:
        """Replace the last question and forget everything after it."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role == "user":
                self.messages[index].text = text
                del self.messages[index + 1 :]
                return
        raise ValueError("there is no message to edit")

    def wire_messages(self, *, then_continue: bool = False) -> list[dict[str, str]]:
        """What goes upstream: every settled turn with text, oldest first.

        A failed reply with no text is left out (it never happened for the model). To
        continue a cut reply, its partial text goes as the last answer, then a request to go on.
        """
        wire = [
            {"role": m.role, "content": m.text}
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
