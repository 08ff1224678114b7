"""The model list `/api/models` serves by default.

Each entry carries more keys than a client needs (`model`, `provider`, `context`) because the real
service does, and a client must pass them through rather than choke on them.
"""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    {
        "id": "gpt-3.5-turbo",
        "name": "GPT-3.5",
        "maxLength": 12000,
        "tokenLimit": 4000,
        "model": "ChatGPT",
        "provider": "OpenAI",
        "context": "4K",
    },
    {
        "id": "gpt-4",
        "name": "GPT-4",
        "maxLength": 24000,
        "tokenLimit": 8000,
        "model": "ChatGPT",
        "provider": "OpenAI",
        "context": "8K",
    },
    {
        "id": "gpt-4o",
        "name": "GPT-4o",
        "maxLength": 48000,
        "tokenLimit": 16000,
        "model": "ChatGPT",
        "provider": "OpenAI",
        "context": "128K",
    },
    {
        "id": "claude-3-5-sonnet",
        "name": "Claude 3.5 Sonnet",
        "maxLength": 200000,
        "tokenLimit": 100000,
        "model": "Claude",
        "provider": "Anthropic",
        "context": "200K",
    },
)


def default_models() -> list[dict[str, Any]]:
    """A fresh copy, so one emulator's edits never leak into another's list."""
    return copy.deepcopy(list(DEFAULT_MODELS))
