"""Helpers for driving the page with Streamlit's AppTest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 20


def send(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def bubbles(at: AppTest) -> list[tuple[str, str]]:
    return [
        (message.name, "\n".join(md.value for md in message.markdown))
        for message in at.chat_message
    ]


def page_text(at: AppTest) -> str:
    """Everything the page would send to a browser, as text."""

    def walk(node: object) -> Iterator[object]:
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    protos = (getattr(node, "proto", None) for node in walk(at._tree))
    return "\n".join(text_format.MessageToString(p, as_utf8=True) for p in protos if p)


def conversation(at: AppTest):
    return at.session_state["conversation"]


def fresh_session(**query: str) -> AppTest:
    """A new browser session on the page, opened at a URL with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def listed(at: AppTest) -> list[str]:
    """The titles in the sidebar's conversation list."""
    return [b.label for b in at.sidebar.button if b.key and b.key.startswith("open_")]


def edit_key(at: AppTest, question: int = -1) -> str:
    """The key of the Edit button under a question of the branch on show (the last by default)."""
    questions = [m for m in conversation(at).messages if m.role == "user"]
    return f"edit_{questions[question].id}"


class Connection:
    """What the websocket's request would tell the page, in place of AppTest's stand-in:
    its headers and the peer's address (as Streamlit keeps them for a session)."""

    def __init__(self, headers: dict[str, str], remote_ip: str | None) -> None:
        self.headers = list(headers.items())
        self.cookies: dict[str, str] = {}
        self.remote_ip = remote_ip


def connect(monkeypatch, headers: dict[str, str], remote_ip: str | None = "127.0.0.1") -> None:
    """Have every following AppTest run see this connection in `st.context`."""
    import streamlit.runtime.context as context

    monkeypatch.setattr(context, "_get_client_context", lambda: Connection(headers, remote_ip))
