"""Helpers for driving the page with Streamlit's AppTest."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

from google.protobuf import text_format
from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from chatpage.data.conversation import Message

# Each new AppTest scans every installed distribution's metadata for component manifests: 0.4 s
# of CPU per session here, most of what a page load costs a test. What is installed does not
# change while the tests run, so one scan per process serves them all (the page's own
# components are inline ones, which the scan never finds anyway).
manifest_scanner.scan_component_manifests = functools.cache(
    manifest_scanner.scan_component_manifests
)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
# Seconds one page run may take: it follows a reply to its end, and the machine may be ten
# times slower than usual. Only a hung run ever waits this long.
TIMEOUT = 60
SETTLE_SECONDS = 60.0  # for a reply on show to end, whoever writes it
POLL_SECONDS = 0.1  # between looks at a reply another process writes (the page's own: 1 s)


def send(at: AppTest, text: str) -> AppTest:
    """Send a message as a person would, and wait until its reply has ended and is drawn."""
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return settle(at)


def settle(at: AppTest) -> AppTest:
    """Wait until no reply on show is being written, then draw the page as it ended.

    A page run follows a reply this process writes to its end, but a run may return before
    (a send from an out-of-date view re-runs the page; a reply of another process is only
    read as far as it was saved). Like a person looking at the page, this runs the page again
    until the reply has settled: each run follows a reply of this process to its end, and one
    of another process is read again after a moment, as the page's own live view does.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while (reply := _streaming(at)) is not None:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the reply on show ({reply.id}, {len(reply.text)} characters so far) was "
                f"still being written after {SETTLE_SECONDS:.0f} s"
            )
        at.run()
        assert not at.exception, at.exception
        if _streaming(at) is not None:
            time.sleep(POLL_SECONDS)  # written elsewhere: look again shortly
    return at


def _streaming(at: AppTest) -> Message | None:
    """The reply being written on the branch the page shows, if any."""
    if "conversation" not in at.session_state:
        return None
    return at.session_state["conversation"].streaming()


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


def open_menu(at: AppTest, conversation_id: str) -> None:
    """Open a listed conversation's menu, as clicking its ⋮ does (AppTest has no popover)."""
    at.session_state[f"menu_{conversation_id}"] = True
    at.run()


def open_settings(at: AppTest) -> None:
    """Open the chat's settings (system prompt, temperature, prompts), as clicking it does."""
    at.session_state["conversation_settings"] = True
    at.run()


def open_settings_dialog(at: AppTest) -> AppTest:
    """Open the Settings dialog (language, connection) with the sidebar's gear."""
    at.sidebar.button(key="settings_gear").click().run()  # when open already, it stays open
    assert not at.exception, at.exception
    return at


def choose_language(at: AppTest, lang: str) -> AppTest:
    """Pick the page's language in the Settings dialog."""
    open_settings_dialog(at).selectbox(key="lang").set_value(lang).run()
    assert not at.exception, at.exception
    return at


def paste_code(at: AppTest, code: str) -> AppTest:
    """Paste an auth code into the Settings dialog's field, as a person does."""
    open_settings_dialog(at).text_input(key="auth_code_typed").input(code).run()
    assert not at.exception, at.exception
    return at


def demo_toggle(at: AppTest):
    """The Settings dialog's offline demo toggle (the dialog opened first)."""
    return open_settings_dialog(at).toggle(key="use_demo")
