"""One conversation open in two windows: tabs of one browser, or tabs on two app processes.

Each tab is its own Streamlit session; what one writes reaches the other only through the
store (the `watch` fragment re-checks it every ~2 s, `reply_from_elsewhere` reads a reply being
written elsewhere about once a second). Nothing here sleeps: every step waits for what the
page shows, with timeouts long enough for a busy two-core machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Status
from chatpage.database.conversations import ConversationStore
from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import labelled

from .conftest import (
    APP,
    AUTH_CODE,
    INPUT,
    REPLY_TIMEOUT_MS,
    ChatPage,
    StreamlitServer,
    WordWatch,
    conversation_id,
    page_env,
    squash,
    url_of,
)

pytestmark = pytest.mark.browser

WAIT_MS = 45_000  # for anything that goes through another tab's timer and a page re-run
BEING_WRITTEN = "Being written in another window"
CHANGED_ELSEWHERE = "This conversation changed in another window"

# Installed in every tab before Streamlit's scripts: notes every word of `WORDS` that ever
# appears in the app, even for one frame (a MutationObserver sees each change of the DOM).
_WATCH = WordWatch("__twoWindows", ("Interrupted",), '[data-testid="stApp"]')

# The bubbles on show are exactly `expected.length`, bubble i containing expected[i].
_SHOWS = """(expected) => {
  const t = window.__chatTest;
  if (t.bubbles().length !== expected.length) return false;
  return expected.every((want, i) => t.text(i).includes(want));
}"""


# --- helpers --------------------------------------------------------------------------------


def wait_for_bubbles(chat: ChatPage, expected: list[str], timeout: int = WAIT_MS) -> None:
    """Until the tab shows exactly these messages, in this order (each by a part of it)."""
    try:
        chat.page.wait_for_function(_SHOWS, arg=expected, timeout=timeout)
    except PlaywrightTimeoutError:
        shown = shown_texts(chat)
        raise AssertionError(
            f"after {timeout / 1000:.0f} s the tab at {chat.page.url} still shows "
            f"{len(shown)} messages {shown}, not the {len(expected)} expected {expected}"
        ) from None


def shown_texts(chat: ChatPage) -> list[str]:
    count = chat.page.evaluate("() => window.__chatTest.bubbles().length")
    return [squash(chat.text(i)) for i in range(count)]


def reload(chat: ChatPage) -> None:
    chat.page.reload()
    chat.page.wait_for_selector(INPUT, timeout=REPLY_TIMEOUT_MS)
    chat.wait_until_idle()


def stored(database_url: str, conversation: str) -> Conversation:
    store = ConversationStore(database_url)
    try:
        loaded = store.load(conversation, LOCAL_OWNER)
    finally:
        store.close()
    assert loaded is not None, f"conversation {conversation} is not in the store"
    return loaded


def long_reply() -> str:
    """About 6,000 plain ASCII characters: some 15 s at 20 bytes every 50 ms."""
    sentences = [f"Line {i} of the slow reply walks on along the shore. " for i in range(110)]
    return "\n\n".join("".join(sentences[i : i + 5]).strip() for i in range(0, 110, 5))


# --- what the tests check, on one app process or two ------------------------------------------


def check_interleaved_sends(
    tab_a: ChatPage, tab_b: ChatPage, emulator: Emulator, database_url: str
) -> None:
    """A and B take turns on one conversation; every message and reply ends up in both.

    B opens the conversation after A's first exchange and before A's next send; each tab
    sends only once the watcher has shown it the other tab's last reply, so the
    conversation stays one line.
    """
    turns = [
        ("a", "Alpha question one about herons", "Reply one mentions the kestrel."),
        ("a", "Alpha question two about otters", "Reply two mentions the badger."),
        ("b", "Bravo question one about beetles", "Reply three mentions the swift."),
        ("a", "Alpha question three about moles", "Reply four mentions the plover."),
        ("b", "Bravo question two about newts", "Reply five mentions the marten."),
    ]
    emulator.enqueue(*(Behavior(reply=reply, chunk_bytes=8, delay=0.01) for *_, reply in turns))
    tabs = {"a": tab_a, "b": tab_b}
    expected: list[str] = []

    tab_a.open()
    for number, (who, question, reply) in enumerate(turns):
        chat = tabs[who]
        wait_for_bubbles(chat, expected)  # what the other tab wrote has reached this one
        index = chat.send(question)
        assert reply in chat.wait_for_reply(index)
        expected += [question, reply]
        if number == 0:  # the second tab opens the conversation before A sends again
            tab_b.url = url_of(tab_b.url, conversation_id(tab_a))
            tab_b.open()
    wait_for_bubbles(tab_a, expected)

    conversation = conversation_id(tab_a)
    assert conversation_id(tab_b) == conversation
    for chat in (tab_a, tab_b):
        reload(chat)
        wait_for_bubbles(chat, expected, timeout=REPLY_TIMEOUT_MS)
        assert chat.page.get_by_text(CHANGED_ELSEWHERE).count() == 0
        assert chat.page.locator('[data-testid="stException"]').count() == 0
    print("after reload:", shown_texts(tab_b))

    saved = stored(database_url, conversation)
    line = [(m.role, m.text, m.status) for m in saved.messages]
    assert line == [
        (role, text, Status.COMPLETE)
        for _, question, reply in turns
        for role, text in (("user", question), ("assistant", reply))
    ]
    assert len(saved.tree) == len(expected), "a message was stored twice, or off the line"


def check_reply_seen_growing_from_a_second_tab(
    writer: ChatPage,
    watcher_page: Page,
    base_url: str,
    emulator: Emulator,
    database_url: str,
    *,
    other_process: bool,
) -> None:
    """A tab opened 3 s into a long reply sees it grow, then whole; nobody sees 'Interrupted'.

    On the writer's process the tab follows the reply task itself; on another process it
    reads the reply from the store and says it is being written in another window. Either
    way it offers Stop (from any tab) and nothing else.
    """
    full = long_reply()
    emulator.enqueue(Behavior(reply=full, chunk_bytes=20, delay=0.05))  # ~400 chars a second
    writer.open()
    index = writer.send("Tell me a slow story about the shore")
    writer.page.wait_for_function(  # about 3 s of the reply has arrived
        "([i, n]) => window.__chatTest.text(i).length >= n", arg=[index, 1200], timeout=WAIT_MS
    )
    conversation = conversation_id(writer)

    # Not `open()`: that waits for the page run to end, and on the writer's process the run
    # follows the reply until it ends.
    watcher = ChatPage(watcher_page, url_of(base_url, conversation))
    watcher_page.goto(watcher.url)
    watcher.wait_for_text(index)
    first_at, first_length = watcher_page.evaluate(
        "i => [performance.now(), window.__chatTest.text(i).length]", index
    )
    bubble = watcher.messages.nth(index)
    if other_process:
        expect(bubble.get_by_text(BEING_WRITTEN)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(bubble.get_by_role("button", name=labelled("Stop"))).to_be_visible()
    for name in ("Continue", "Regenerate"):
        assert bubble.get_by_role("button", name=labelled(name)).count() == 0, name

    # 3 s after first sight, more of the reply is shown: the text read in the same instant as
    # it is judged (a second read may fall in the moment an update re-sends the bubble, when
    # its old markdown is stale and not counted).
    shown_later = watcher_page.wait_for_function(
        "([i, at, length]) => { const text = window.__chatTest.text(i);"
        " return performance.now() - at >= 3000 && text.length > length ? text : null; }",
        arg=[index, first_at, first_length],
        timeout=WAIT_MS,
    )
    later = squash(str(shown_later.json_value()))
    print(f"second tab: {first_length} chars at first sight, {len(later)} 3 s later")
    assert squash(full).startswith(later)
    assert len(later) > first_length
    if other_process:
        expect(bubble.get_by_text(BEING_WRITTEN)).to_be_visible()

    assert squash(writer.wait_for_reply(index)) == squash(full)
    expect(bubble.get_by_role("button", name=labelled("Regenerate"))).to_be_visible(timeout=WAIT_MS)
    watcher.wait_until_reads(index, full)  # the conversation's watch may be re-sending it
    expect(bubble.get_by_text(BEING_WRITTEN)).to_have_count(0)
    expect(watcher_page.locator(INPUT)).to_be_enabled()

    for chat in (writer, watcher):
        assert _WATCH.words_seen(chat) == [], f"{chat.url} showed {_WATCH.words_seen(chat)}"
    reply = stored(database_url, conversation).messages[index]
    assert (reply.status, squash(reply.text)) == (Status.COMPLETE, squash(full))


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def two_processes(
    postgres_url: str, emulator: Emulator, tmp_path: Path
) -> Iterator[tuple[StreamlitServer, StreamlitServer]]:
    """Two `streamlit run` processes on one PostgreSQL database, started together."""
    env = page_env(emulator.base_url, AUTH_CODE, tmp_path)
    env["DATABASE_URL"] = postgres_url
    x, y = (StreamlitServer(APP, env, tmp_path / f"{name}.log") for name in "xy")
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(StreamlitServer.start, (x, y)))
        yield x, y
    finally:
        for server in (x, y):
            server.stop()
            print(f"--- {server.log_path.name} ---\n{server.log_text()[-3000:]}")


# --- tests ----------------------------------------------------------------------------------


def test_two_tabs_taking_turns_on_one_conversation_both_keep_every_message(
    context: BrowserContext, page_server: StreamlitServer, emulator: Emulator
) -> None:
    check_interleaved_sends(
        _WATCH.new_tab(context, page_server.url),
        _WATCH.new_tab(context, page_server.url),
        emulator,
        page_server.env["DATABASE_URL"],
    )


def test_a_second_tab_shows_a_reply_being_written_growing_and_never_interrupted(
    context: BrowserContext, page_server: StreamlitServer, emulator: Emulator
) -> None:
    writer = _WATCH.new_tab(context, page_server.url)
    watcher_page = context.new_page()
    watcher_page.add_init_script(_WATCH.script)
    check_reply_seen_growing_from_a_second_tab(
        writer,
        watcher_page,
        page_server.url,
        emulator,
        page_server.env["DATABASE_URL"],
        other_process=False,
    )


def test_editing_the_first_question_keeps_the_old_version_and_its_reply(
    context: BrowserContext, page_server: StreamlitServer, emulator: Emulator
) -> None:
    first, second = "First question about lighthouses", "Second question about tides"
    edited = "First question about windmills instead"
    replies = ["Old reply on lighthouses.", "Reply on tides.", "New reply on windmills."]
    old_branch = [first, replies[0], second, replies[1]]
    emulator.enqueue(*(Behavior(reply=reply) for reply in replies))
    chat = _WATCH.new_tab(context, page_server.url).open()
    chat.wait_for_reply(chat.send(first))
    chat.wait_for_reply(chat.send(second))
    conversation = conversation_id(chat)
    wait_for_bubbles(chat, old_branch)

    question = chat.messages.nth(0)
    question.get_by_role("button", name="Edit", exact=True).click()
    editor = question.get_by_label("Edit your message")
    expect(editor).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    editor.fill(edited)
    question.get_by_role("button", name="Save and send", exact=True).click()
    wait_for_bubbles(chat, [edited, replies[2]])
    chat.wait_for_reply(1)
    expect(chat.messages.nth(0).get_by_text("2 / 2", exact=True)).to_be_visible()

    previous = chat.messages.nth(0).locator(
        '[class*="st-key-previous_"] [data-testid="stTooltipHoverTarget"] button'
    )
    previous.hover()
    expect(chat.page.get_by_text("Previous version", exact=True)).to_be_visible()
    previous.click()
    wait_for_bubbles(chat, old_branch)
    expect(chat.messages.nth(0).get_by_text("1 / 2", exact=True)).to_be_visible()

    reload(chat)  # the branch on show is remembered
    wait_for_bubbles(chat, old_branch)
    expect(chat.messages.nth(0).get_by_text("1 / 2", exact=True)).to_be_visible()
    saved = stored(page_server.env["DATABASE_URL"], conversation)
    assert sorted(m.text for m in saved.tree.values()) == sorted([first, second, edited, *replies])
    assert [m.text for m in saved.messages] == old_branch
    assert [m.text for m in saved.siblings(saved.messages[0])] == [first, edited]
    assert all(m.status is Status.COMPLETE for m in saved.tree.values())


def test_two_app_processes_on_one_postgres_share_turns_and_a_reply_being_written(
    two_processes: tuple[StreamlitServer, StreamlitServer],
    context: BrowserContext,  # after the servers, so its screenshots are taken before they stop
    emulator: Emulator,
    postgres_url: str,
) -> None:
    x, y = two_processes
    watcher_page = context.new_page()
    watcher_page.add_init_script(_WATCH.script)
    check_reply_seen_growing_from_a_second_tab(
        _WATCH.new_tab(context, y.url),
        watcher_page,
        x.url,
        emulator,
        postgres_url,
        other_process=True,
    )
    check_interleaved_sends(
        _WATCH.new_tab(context, x.url), _WATCH.new_tab(context, y.url), emulator, postgres_url
    )
