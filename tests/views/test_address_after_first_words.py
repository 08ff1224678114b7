"""A new conversation's address (`?c=`) reaches the browser after the reply's first words.

Changing the address makes Streamlit's frontend re-render the whole page (about 7 ms of the
browser's main thread in a Chromium profile), and a message sent right behind the first text is
handled before that text is drawn: so the page names the conversation once its first texts are
on their way, and still names it when the reply brought no text at all. Driven over Streamlit's
own websocket protocol (`testkit/st_protocol.py`) against a real `streamlit run app.py`.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import StreamlitServer
from testkit.st_protocol import StreamlitSession, new_element

WAIT = 60.0  # seconds for the page to draw its input, or to name the conversation
REPLY = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu."


def what_came(server: StreamlitServer, text: str) -> list[tuple[str, str]]:
    """Send `text` in a new tab; what the page sent after Enter, up to the address naming the
    conversation: ("text", a markdown body) and ("address", the conversation's id)."""

    async def run() -> list[tuple[str, str]]:
        came: list[tuple[str, str]] = []
        drawn, named = asyncio.Event(), asyncio.Event()
        sent = False

        def heard(_at: float, _size: int, msg: ForwardMsg) -> None:
            if not sent:
                if session.chat_input_id:
                    drawn.set()
                return
            element = new_element(msg)
            if element is not None and element[1] == "markdown":
                came.append(("text", element[2].body))
            if msg.WhichOneof("type") == "page_info_changed":
                named_id = parse_qs(msg.page_info_changed.query_string).get("c", [""])[0]
                came.append(("address", named_id))
                if named_id:
                    named.set()

        session = StreamlitSession(server.url)
        session.listener = heard
        try:
            await session.open()
            await asyncio.wait_for(drawn.wait(), WAIT)
            sent = True
            await session.send_chat(text)
            await asyncio.wait_for(named.wait(), WAIT)
        finally:
            await session.close()
        return came

    # A thread of its own: the browser tests' Playwright keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result()


def test_a_new_conversation_is_named_in_the_address_after_its_first_words(
    served_page: StreamlitServer, page_service: Emulator
) -> None:
    page_service.default = Behavior(reply=REPLY, chunk_bytes=6, delay=0.05)
    came = what_came(served_page, "Name the letters, please.")
    named = [i for i, (kind, value) in enumerate(came) if kind == "address" and value]
    replies = [i for i, (kind, value) in enumerate(came) if kind == "text" and value[:5] in REPLY]
    assert named, came
    assert replies, came
    assert replies[0] < named[0], came  # the first words went first
    assert [kind for kind, _ in came[: named[0]]].count("address") == 0, came


def test_a_reply_that_brought_no_text_still_names_its_conversation(
    served_page: StreamlitServer, page_service: Emulator
) -> None:
    page_service.default = Behavior(status=500, content_type_html=True, html=True)
    came = what_came(served_page, "This one fails upstream.")
    assert [kind for kind, value in came if kind == "address" and value], came
