"""What the served process sets up as it starts (`chatpage/operations/server.py`)."""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatpage.operations import server


def test_the_server_hands_the_interpreter_on_sooner_than_pythons_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server.collector, "settle", lambda: None)  # not this test's process
    monkeypatch.setattr(server.downloads, "hold_for_this_process", lambda: None)
    monkeypatch.setattr(server, "finish_replies", lambda: None)
    default = sys.getswitchinterval()

    async def while_serving() -> float:
        async with server.lifespan(None):
            return sys.getswitchinterval()

    try:
        # A thread of its own: the browser tests' Playwright keeps an event loop running here.
        with ThreadPoolExecutor(1) as thread:
            serving = thread.submit(asyncio.run, while_serving()).result()
    finally:
        sys.setswitchinterval(default)
    assert serving == pytest.approx(0.002)
    assert serving < default
