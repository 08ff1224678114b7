"""What the client's guest tests share: a process with no code set, a guest client, and the
endpoints the emulator was asked, in order.

Each module that asks for `guest` names the reply its emulator gives with a `guest_reply`
fixture, so its assertions compare against its own words.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator

LOGIN = "/recaptcha/api/login"  # written out, not the client's constant, so a typo there shows


def endpoints(emulator: Emulator) -> list[str | None]:
    return [r.endpoint for r in emulator.requests]


@pytest.fixture
def no_code_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No code and no address from the environment: a guest is what the client falls back to."""
    monkeypatch.delenv("LIAOBOTS_AUTH_CODE", raising=False)
    monkeypatch.delenv("LIAOBOTS_BASE_URL", raising=False)


@pytest.fixture
def guest(emulator: Emulator, guest_reply: str) -> Iterator[LiaobotsClient]:
    """A guest client of the emulator, whose reply comes in 7-byte pieces cut inside characters."""
    emulator.default = Behavior(reply=guest_reply, chunk_bytes=7, split_multibyte=True)
    with LiaobotsClient(
        auth_code="", base_url=emulator.base_url, guest=True, timeout=5.0, retry_backoff=0.01
    ) as client:
        yield client
