"""Shaping a conversation into what one `/api/chat` request may carry.

The service counts the conversation in characters (`maxLength`); a long chat must lose its
oldest turns rather than fail. The newest user message is never dropped: it is the question.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

ROLES = ("user", "assistant")


@dataclass(frozen=True)
class FittedHistory:
    """The messages to send, and what had to be left out to fit."""

    messages: list[dict[str, str]]
    dropped: int
    dropped_chars: int
    over_budget: bool

    @property
    def trimmed(self) -> bool:
        return self.dropped > 0


@dataclass(frozen=True)
class Turns:
    """A validated request: the system prompt and the user/assistant turns, oldest first."""

    system_prompt: str
    messages: list[dict[str, str]]


def normalize_messages(
    messages: Iterable[Mapping[str, Any]], system_prompt: str | None = None
) -> Turns:
    """Check the messages and move any `system` ones into the system prompt.

    The wire format carries the system prompt in `prompt`, so OpenAI-style lists that start
    with a system message still work.
    """
    turns: list[dict[str, str]] = []
    system_parts: list[str] = [system_prompt] if system_prompt else []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ConfigurationError(f"Message {index + 1} is not a mapping with role and content.")
        role, content = message.get("role"), message.get("content")
        if not isinstance(content, str):
            raise ConfigurationError(f"Message {index + 1} has no text content.")
        if role == "system":
            if system_prompt is None and content:
                system_parts.append(content)
            continue
        if role not in ROLES:
            raise ConfigurationError(
                f"Message {index + 1} has role {role!r}; use 'user', 'assistant' or 'system'."
            )
        turns.append({"role": role, "content": content})
    if not turns or turns[-1]["role"] != "user":
        raise ConfigurationError("The conversation must end with a user message.")
    return Turns(system_prompt="\n\n".join(system_parts), messages=turns)


def fit_history(
    messages: list[dict[str, str]], max_length: int, system_prompt: str = ""
) -> FittedHistory:
    """Drop the oldest turns until system prompt plus messages fit in `max_length` characters.

    The newest message always stays; a kept history never starts with an assistant turn whose
    question was dropped. `over_budget` says the newest message alone is still too long.
    """
    budget = max_length - len(system_prompt)
    sizes = [len(m["content"]) for m in messages]
    total = sum(sizes)
    start = 0
    last = len(messages) - 1
    while total > budget and start < last:
        total -= sizes[start]
        start += 1
        # Do not open the history with an answer whose question is gone.
        while start < last and messages[start]["role"] == "assistant":
            total -= sizes[start]
            start += 1
    kept = [dict(m) for m in messages[start:]]
    return FittedHistory(
        messages=kept,
        dropped=start,
        dropped_chars=sum(sizes[:start]),
        over_budget=total > budget,
    )
