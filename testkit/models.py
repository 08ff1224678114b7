"""Model lists as the service's later generation states them: sizes of 0, a provider each."""

from __future__ import annotations

from typing import Any

LATER_MODELS: list[dict[str, Any]] = [
    {
        "id": "claude-3-7-sonnet-20250219",
        "name": "Claude-3.7-Sonnet",
        "model": "Claude",
        "provider": "Anthropic",
        "maxLength": 0,
        "tokenLimit": 0,
        "context": 0,
        "success_rate": 100,
        "tps": 47.0,
    },
    {
        "id": "grok-3",
        "name": "Grok-3",
        "model": "Grok",
        "provider": "xAI",
        "maxLength": 0,
        "tokenLimit": 0,
        "context": 0,
        "success_rate": 100,
        "tps": 25.4,
    },
]
