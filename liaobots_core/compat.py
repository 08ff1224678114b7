"""The community provider's entry point, kept call-compatible and made correct.

Code written for the old `Liaobots` provider (`_create_completion(model, messages, stream,
auth=...)`) keeps working, and now gets whole characters, text as it arrives, and typed errors
(`LiaobotsError`, with kind and status) instead of a web page passed off as an answer. With no
code at all it signs in as a guest, as the later versions of the provider did.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .client import AUTH_CODE_ENV, DEFAULT_BASE_URL, LiaobotsClient
from .models import BUILTIN_MODELS

url = DEFAULT_BASE_URL
model = [m.id for m in BUILTIN_MODELS]
supports_stream = True
needs_auth = False  # without a code, a guest sign-in

_CLIENT_OPTIONS = ("timeout", "max_retries", "connect_timeout")


def _create_completion(
    model: str, messages: Sequence[Mapping[str, Any]], stream: bool, **kwargs: Any
) -> Iterator[str]:
    """Yield the reply: piece by piece when `stream`, else once, whole.

    Keyword arguments: `auth` (the auth code; default `LIAOBOTS_AUTH_CODE`; with neither,
    a guest sign-in), `base_url` (default `LIAOBOTS_BASE_URL`), `system_prompt`, the client
    options `timeout`, `max_retries` and `connect_timeout`; anything else goes into the
    request body.
    """
    options = {name: kwargs.pop(name) for name in _CLIENT_OPTIONS if name in kwargs}
    auth = kwargs.pop("auth", None)
    code = auth if isinstance(auth, str) and auth.strip() else os.environ.get(AUTH_CODE_ENV)
    client = LiaobotsClient(
        auth_code=code or "",
        base_url=kwargs.pop("base_url", None),
        guest=not (code and code.strip()),
        **options,
    )
    system_prompt = kwargs.pop("system_prompt", None)
    with client, client.stream_chat(messages, model, system_prompt, **kwargs) as reply:
        if stream:
            yield from reply
        else:
            yield "".join(reply)


params = (
    "liaobots_core.compat supports: "
    "(model: str, messages: list[dict], stream: bool, auth: str, base_url: str, system_prompt: str)"
)
