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


def test_the_story_names_each_message_its_run_and_the_sockets_life() -> None:
    page = _Emitter()
    log = WebSocketLog(page)  # type: ignore[arg-type]
    socket = _Emitter()
    page.listeners["websocket"](socket)

    click = BackMsg()
    click.rerun_script.widget_states.widgets.add(
        id="$$ID-0123456789abcdef-None", trigger_value=True
    )
    click.rerun_script.widget_states.widgets.add(id="$$ID-fedcba-search", string_value="x")
    socket.listeners["framesent"](click.SerializeToString())
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
        "(frames 0-4 of 4)",
        "  ~ socket opened: ws://127.0.0.1:1/_stcore/stream",
        "  -> rerun_script fragment=- triggers=['01234567']",
        "  <- auth_redirect /auth/logout",
        "  <- script_finished FINISHED_FRAGMENT_RUN_SUCCESSFULLY fragments=['f1']",
        "  <- (16 bytes: DecodeError)",
        "  ~ socket closed",
    ]
    assert log.story(last=1).splitlines()[:2] == [
        "(frames 3-4 of 4)",
        "  <- (16 bytes: DecodeError)",
    ]
