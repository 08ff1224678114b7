"""A conversation of 1,000 messages opens as a short one does (issue 26): the page draws its
latest turns, not the whole history, so opening it by its URL in a fresh tab costs within
1.5x the time and 10x the websocket bytes of a 10-message one.

Both conversations are imported through the store (as the page's import stores them), then
each is opened by its URL in a fresh browser context, alternately, several times; the median
of each is compared. Ratios of the same page on the same machine hold on a busy machine too;
the absolute deadlines are only there so a hung page fails.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, expect

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Message
from chatpage.data.export import from_json, to_json
from chatpage.database.conversations import ConversationStore
from chatpage.views.window import STEP, WINDOW
from testkit.browser import REPLY_TIMEOUT_MS, ChatPage, StreamlitServer, WebSocketLog

pytestmark = pytest.mark.browser

RUNS = 5  # openings of each conversation; the median is compared
OPEN_TIMEOUT_MS = 120_000  # only a hung page takes this long, however busy the machine
TIME_RATIO = 1.5
BYTES_RATIO = 10.0

# The last message's text, as it shows once the page has drawn it.
_LAST_SHOWN = """(words) => Array.from(document.querySelectorAll('[data-testid="stChatMessage"]'))
    .some((bubble) => bubble.innerText.includes(words))"""


@dataclass(frozen=True)
class Opening:
    seconds: float  # from navigation to the last message shown
    received: int  # websocket bytes the page received until its run ended


def conversation_of(messages: int, title: str) -> Conversation:
    """`messages` turns of markdown a model would write, the last one saying "the end <n>"."""
    chat = Conversation(model_id="gpt-4o", title=title)
    for n in range(messages // 2):
        chat.add_user(f"Question {n}: how does step {n} of the recipe go, and why?")
        chat.append(
            Message(
                "assistant",
                f"## Step {n}\n\nStir the **soup** for {n % 7 + 2} minutes, then:\n\n"
                "- add the beetroot, cut small;\n- keep the heat low;\n- taste, and salt.\n\n"
                "```python\nprint('stir', %d)\n```\n\nIt keeps the colour bright." % n,
            )
        )
    chat.tree[chat.leaf_id].text += f"\n\nthe end ({messages})"
    return chat


def imported(database_url: str, chat: Conversation) -> str:
    """The conversation as the page's import stores it (from its JSON export); its id."""
    copy = from_json(to_json(chat).encode())
    store = ConversationStore(database_url)
    try:
        assert store.create(copy, LOCAL_OWNER)
    finally:
        store.close()
    return copy.id


def open_by_url(chromium: Browser, server: StreamlitServer, conversation_id: str, last: str):
    """Open the conversation by its URL in a fresh tab; when its last message showed, and the
    bytes the websocket brought until the page's run ended."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        sockets = WebSocketLog(page)
        chat = ChatPage(page, f"{server.url}?c={conversation_id}")
        started = time.perf_counter()
        page.goto(chat.url)
        page.wait_for_function(_LAST_SHOWN, arg=last, timeout=OPEN_TIMEOUT_MS, polling=20)
        seconds = time.perf_counter() - started
        chat.wait_until_idle()
        received = sum(len(frame.data) for frame in sockets.received())
        bubbles = chat.messages.count()
        return Opening(seconds, received), bubbles, page, context
    except BaseException:
        context.close()
        raise


def test_a_thousand_message_conversation_opens_as_fast_as_a_ten_message_one(
    chromium: Browser, page_server: StreamlitServer
) -> None:
    database_url = page_server.env["DATABASE_URL"]
    short = imported(database_url, conversation_of(10, "Ten messages"))
    long = imported(database_url, conversation_of(1000, "A thousand messages"))
    for conversation_id, count in ((short, 10), (long, 1000)):  # the server's first runs
        context = open_by_url(chromium, page_server, conversation_id, f"the end ({count})")[3]
        context.close()
    openings: dict[str, list[Opening]] = {"short": [], "long": []}
    for _ in range(RUNS):
        for name, conversation_id, count in (("short", short, 10), ("long", long, 1000)):
            opening, bubbles, _, context = open_by_url(
                chromium, page_server, conversation_id, f"the end ({count})"
            )
            context.close()
            assert bubbles == min(count, WINDOW), f"{name}: {bubbles} bubbles drawn"
            openings[name].append(opening)

    def median(name: str, field: str) -> float:
        return statistics.median(getattr(o, field) for o in openings[name])

    time_ratio = median("long", "seconds") / median("short", "seconds")
    bytes_ratio = median("long", "received") / median("short", "received")
    figures = {name: [(round(o.seconds, 2), o.received) for o in found]
               for name, found in openings.items()}  # fmt: skip
    print(f"time ratio {time_ratio:.2f}, bytes ratio {bytes_ratio:.2f}: {figures}")
    assert time_ratio <= TIME_RATIO, f"1,000 messages took {time_ratio:.2f}x the time: {figures}"
    assert bytes_ratio <= BYTES_RATIO, f"1,000 messages: {bytes_ratio:.2f}x the bytes: {figures}"


def test_show_earlier_in_chromium_keeps_the_message_being_read_in_view(
    chromium: Browser, page_server: StreamlitServer
) -> None:
    long = imported(page_server.env["DATABASE_URL"], conversation_of(200, "Two hundred"))
    _, bubbles, page, context = open_by_url(chromium, page_server, long, "the end (200)")
    try:
        assert bubbles == WINDOW
        reading = f"Question {(200 - WINDOW) // 2}:"  # the first message drawn
        assert reading in page.locator('[data-testid="stChatMessage"]').first.inner_text()
        page.get_by_role("button", name="Show earlier messages").click()
        expect(page.locator('[data-testid="stChatMessage"]')).to_have_count(
            WINDOW + STEP, timeout=REPLY_TIMEOUT_MS
        )
        ChatPage(page, page_server.url).wait_until_idle()
        was_first = page.locator('[data-testid="stChatMessage"]').nth(STEP)
        assert reading in was_first.inner_text()
        expect(was_first).to_be_in_viewport(timeout=REPLY_TIMEOUT_MS)
        assert page.url.endswith(f"?c={long}")
    finally:
        context.close()


def test_an_import_through_the_page_is_in_the_url_and_a_reload_reopens_it(
    chromium: Browser, page_server: StreamlitServer, tmp_path
) -> None:
    export = tmp_path / "chat.json"
    export.write_bytes(to_json(conversation_of(100, "Imported hundred")).encode())
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        chat = ChatPage(page, page_server.url).open()
        page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(export))
        page.wait_for_function(_LAST_SHOWN, arg="the end (100)", timeout=OPEN_TIMEOUT_MS)
        chat.wait_until_idle()
        assert "?c=" in page.url, f"after an import the URL is {page.url}"
        page.reload()
        page.wait_for_function(_LAST_SHOWN, arg="the end (100)", timeout=OPEN_TIMEOUT_MS)
        assert chat.messages.count() == WINDOW
    finally:
        context.close()
