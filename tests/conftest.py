"""Shared fixtures: a real emulator on a loopback port for every test that talks HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Emulator

AUTH_CODE = "test-code-5f1c9a"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(auth_code=AUTH_CODE, path_prefix="/liaobots") as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[LiaobotsClient]:
    with LiaobotsClient(
        auth_code=AUTH_CODE, base_url=emulator.base_url, timeout=5.0, retry_backoff=0.01
    ) as c:
        yield c
