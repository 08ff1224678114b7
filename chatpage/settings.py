"""Where the page's configuration comes from: `st.secrets` first, then the environment.

The same names work in both places, so a hosted demo sets them as secrets and a team's
server as environment variables. The auth code is kept out of every repr.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .limits import MESSAGE_MAX_CHARS

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Settings:
    auth_code: str | None = field(default=None, repr=False)
    base_url: str | None = None
    offline_demo: bool = False
    database_url: str | None = field(default=None, repr=False)
    max_message_chars: int = MESSAGE_MAX_CHARS

    @property
    def has_server_code(self) -> bool:
        return bool(self.auth_code)


def load_settings(sources: Sequence[Mapping[str, Any]]) -> Settings:
    """Read settings from the first source that has each name (secrets, then environment)."""

    def get(name: str) -> str | None:
        for source in sources:
            try:
                value = source.get(name)
            except Exception:  # st.secrets raises when no secrets file exists
                continue
            if value is not None and str(value).strip():
                return str(value).strip()
        return None

    limit = get("CHAT_MAX_MESSAGE_CHARS")
    return Settings(
        auth_code=get("LIAOBOTS_AUTH_CODE"),
        base_url=get("LIAOBOTS_BASE_URL"),
        offline_demo=(get("LIAOBOTS_OFFLINE_DEMO") or "").lower() in TRUE_WORDS,
        database_url=get("DATABASE_URL"),
        max_message_chars=int(limit) if limit and limit.isdigit() else MESSAGE_MAX_CHARS,
    )
