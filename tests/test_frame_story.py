"""What a failed browser test prints of its websocket (testkit.browser.WebSocketLog.story):
CI keeps no screenshot, so the frames must say what the page and the server told each other."""

from __future__ import annotations

from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from testkit.browser import WebSocketLog


class _Emitter:
    """Playwright's Page and WebSocket as WebSocketLog uses them: listeners by event name."""

    url = "ws://127.0.0.1:1/_stcore/stream"

    def __init__(self) -> None:
        self.listeners: dict[str, Any] = {}

    def on(self, event: str, listener: Any) -> None:
        self.listeners[event] = listener


class _Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _logged_socket() -> tuple[WebSocketLog, _Emitter, _Clock]:
    """A log of a page whose websocket has just opened, on a clock the test moves."""
    page, socket, clock = _Emitter(), _Emitter(), _Clock()
    log = WebSocketLog(page, clock)  # type: ignore[arg-type]
    page.listeners["websocket"](socket)
    return log, socket, clock


def test_the_story_names_each_message_its_run_and_the_sockets_life() -> None:
    log, socket, clock = _logged_socket()

    click = BackMsg()
    click.rerun_script.widget_states.widgets.add(
        id="$$ID-0123456789abcdef-None", trigger_value=True
    )
    click.rerun_script.widget_states.widgets.add(id="$$ID-fedcba-search", string_value="x")
    log.note("clicked Sign out")
    socket.listeners["framesent"](click.SerializeToString())
    clock.now += 0.25
    redirect = ForwardMsg()
    redirect.auth_redirect.url = "/auth/logout"
    socket.listeners["framereceived"](redirect.SerializeToString())
    finished = ForwardMsg()
    finished.script_finished = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
    finished.metadata.run.fragment_ids.append("f1")
    socket.listeners["framereceived"](finished.SerializeToString())
    socket.listeners["framereceived"](b"\xff\xfe not a message")
    socket.listeners["close"](socket)

    assert log.story().splitlines() == [
        "(frames 0-4 of 4; seconds from the first)",
        "    +0.000 ~ socket opened: ws://127.0.0.1:1/_stcore/stream",
        "    +0.000 ~ clicked Sign out",
        "    +0.000 -> rerun_script fragment=- triggers=['01234567']",
        "    +0.250 <- auth_redirect /auth/logout",
        "    +0.250 <- script_finished FINISHED_FRAGMENT_RUN_SUCCESSFULLY fragments=['f1']",
        "    +0.250 <- (16 bytes: DecodeError)",
        "    +0.250 ~ socket closed",
    ]
    assert log.story(last=1).splitlines()[:2] == [
        "(frames 3-4 of 4; seconds from the first)",
        "    +0.000 <- (16 bytes: DecodeError)",
    ]


def test_a_stretch_that_comes_again_and_again_is_told_once_with_how_often() -> None:
    log, socket, clock = _logged_socket()
    tick = BackMsg()
    tick.rerun_script.fragment_id = "watch"
    ended = ForwardMsg()
    ended.script_finished = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
    ended.metadata.run.fragment_ids.append("watch")
    for _ in range(10):  # a fragment's timer, every 2 s
        socket.listeners["framesent"](tick.SerializeToString())
        socket.listeners["framereceived"](ended.SerializeToString())
        clock.now += 2.0
    log.note("clicked Sign out")

    assert log.story().splitlines() == [
        "(frames 0-20 of 20; seconds from the first)",
        "    +0.000 ~ socket opened: ws://127.0.0.1:1/_stcore/stream",
        "    +0.000 -> rerun_script fragment=watch triggers=[]",
        "    +0.000 <- script_finished FINISHED_FRAGMENT_RUN_SUCCESSFULLY fragments=['watch']",
        "  (the 2 lines above, 9 times more, until +18.000)",
        "   +20.000 ~ clicked Sign out",
    ]
