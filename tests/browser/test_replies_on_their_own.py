"""Replies finish on their own (issue 14): switching to a new chat, reloading or closing the tab
never cuts a reply; only Stop does, from any tab; an app process asked to exit saves the rest.

A reply is written by a task of the app process, not by the page run that asked for it. The
list in the sidebar marks a conversation whose reply is being written, then one whose reply
finished while the person looked elsewhere, until it is opened. Nothing here sleeps: every step
waits for what the page shows (the page's watcher re-runs it about every 2 s), with timeouts
long enough for a busy two-core machine.
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Message, Status
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
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

WAIT_MS = 60_000  # for a whole long reply, or anything that goes through the page's watcher
REPLY_CHARS_PER_SECOND = 2_000  # 100 ASCII characters every 50 ms: the long reply takes ~10 s
THREE_SECONDS_IN = 3 * REPLY_CHARS_PER_SECOND
WRITING, UNSEEN = "progress_activity", "mark_chat_unread"  # the list's marks (icon names)
WRITING_NOTE = "A reply is being written"
UNSEEN_NOTE = "A reply finished here while you were elsewhere"
STOPPED_NOTE = "Stopped. The text so far is kept."
SIDEBAR = '[data-testid="stSidebar"]'

# Installed in every tab before Streamlit's scripts: notes each of `words` that ever shows in
# the main area, even for one frame (a MutationObserver sees every change of the DOM).
_WATCH = WordWatch(
    "__onTheirOwn", ("Stopped", "Interrupted"), '[data-testid="stMainBlockContainer"]'
)

# The icon the list shows beside a conversation ('' for none), from its current entry.
_MARK = """(id) => {
  const entry = document.querySelector(`.st-key-open_${CSS.escape(id)}`);
  if (!entry || entry.closest('[data-stale="true"]')) return null;
  const icon = entry.querySelector('[data-testid="stIconMaterial"]');
  return icon ? icon.textContent.trim() : '';
}"""


# --- helpers --------------------------------------------------------------------------------


def long_reply(chars: int = 20_000) -> str:
    """Plain paragraphs (no markdown syntax, no word the page uses for a cut reply), so any
    prefix renders as exactly its own words."""
    sentences: list[str] = []
    i = 0
    while sum(len(s) + 1 for s in sentences) < chars:
        sentences.append(f"Sentence {i} of the long answer tells of the harbour and its boats.")
        i += 1
    paragraphs = [" ".join(sentences[j : j + 6]) for j in range(0, len(sentences), 6)]
    return "\n\n".join(paragraphs)[:chars].rstrip() + "."


def paced(reply: str, chars_per_second: int = REPLY_CHARS_PER_SECOND) -> Behavior:
    """The reply in pieces of 100 bytes (or 20 for a slow one), evenly spread in time."""
    chunk = 100 if chars_per_second >= 1_000 else 20
    return Behavior(reply=reply, chunk_bytes=chunk, delay=chunk / chars_per_second)


def goto(chat: ChatPage) -> ChatPage:
    """Open the tab's URL without waiting for the page run to end: a run that follows a reply
    being written runs until the reply ends."""
    chat.page.goto(chat.url)
    chat.page.wait_for_selector(INPUT, timeout=REPLY_TIMEOUT_MS)
    return chat


def wait_for_length(chat: ChatPage, index: int, length: int) -> None:
    chat.page.wait_for_function(
        "([i, n]) => window.__chatTest.text(i).length >= n", arg=[index, length], timeout=WAIT_MS
    )


def wait_for_whole(chat: ChatPage, index: int, full: str) -> None:
    """Until bubble `index` shows exactly `full` (whitespace aside), then the run has ended.

    Not `ChatPage.wait_for_reply`: right after a click in a bubble that had Regenerate, the old
    button is still there for a moment, before the run that follows the reply has begun.
    """
    chat.wait_until_reads(index, full, WAIT_MS)
    chat.wait_until_idle()


def mark(chat: ChatPage, conversation: str) -> str | None:
    """The list's mark beside a conversation: an icon name, '' for none, None if not listed."""
    return chat.page.evaluate(_MARK, conversation)


def wait_for_mark(chat: ChatPage, conversation: str, icon: str, timeout: int = WAIT_MS) -> None:
    """Until the list shows `icon` beside the conversation ('' for no mark)."""
    try:
        chat.page.wait_for_function(
            f"([id, icon]) => ({_MARK})(id) === icon", arg=[conversation, icon], timeout=timeout
        )
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"after {timeout / 1000:.0f} s the list marks {conversation} with "
            f"{mark(chat, conversation)!r}, not {icon!r}"
        ) from None


def list_entry(chat: ChatPage, conversation: str):
    return chat.page.locator(f"{SIDEBAR} .st-key-open_{conversation} button").first


def expect_tooltip(chat: ChatPage, conversation: str, note: str) -> None:
    """Hovering the conversation in the list says what its mark means."""
    list_entry(chat, conversation).hover()
    expect(chat.page.get_by_text(note, exact=True)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    chat.page.mouse.move(900, 450)  # away again, so the tooltip does not cover anything


def store_a_cut_reply(
    database_url: str, question: str, partial: str, status: Status
) -> Conversation:
    """A conversation whose reply was cut (stopped, interrupted) with `partial` kept."""
    store = ConversationStore(database_url)
    try:
        conversation = Conversation(model_id="gpt-3.5-turbo")
        journal = Journal(store, LOCAL_OWNER)
        journal.add(conversation, conversation.add_user(question))
        reply = conversation.start_reply(conversation.model_id)
        reply.text = partial
        journal.add(conversation, reply)
        reply.status = status
        journal.settle(conversation, reply)
    finally:
        store.close()
    return conversation


def stored_reply(database_url: str, conversation: str, index: int) -> Message:
    store = ConversationStore(database_url)
    try:
        loaded: Conversation | None = store.load(conversation, LOCAL_OWNER)
    finally:
        store.close()
    assert loaded is not None, f"conversation {conversation} is not in the store"
    return loaded.messages[index]


def assert_whole(chat: ChatPage, index: int, full: str, database_url: str) -> None:
    """The page shows the whole reply, never said it was cut, and the store has it complete."""
    assert squash(chat.text(index)) == squash(full)
    assert _WATCH.words_seen(chat) == [], f"{chat.page.url} showed {_WATCH.words_seen(chat)}"
    reply = stored_reply(database_url, conversation_id(chat), index)
    assert (reply.status, reply.text) == (Status.COMPLETE, full)


# --- tests ----------------------------------------------------------------------------------


def test_a_reply_goes_on_after_new_chat_and_opens_whole_from_the_list(
    context: BrowserContext, page_server: StreamlitServer, emulator: Emulator
) -> None:
    full = long_reply()
    # Held mid-way until the list has shown it being written, however slow the machine.
    emulator.default = replace(paced(full), hold_after_bytes=THREE_SECONDS_IN + 1_000)
    chat = _WATCH.new_tab(context, page_server.url).open()
    index = chat.send("Tell me about the harbour, then I look elsewhere")
    wait_for_length(chat, index, THREE_SECONDS_IN)
    conversation = conversation_id(chat)

    chat.page.locator(SIDEBAR).get_by_role("button", name="New chat").click()
    chat.page.wait_for_function("() => window.__chatTest.bubbles().length === 0")
    wait_for_mark(chat, conversation, WRITING)
    expect_tooltip(chat, conversation, WRITING_NOTE)
    emulator.release_held()

    wait_for_mark(chat, conversation, UNSEEN)  # the reply ended while the person was away
    expect_tooltip(chat, conversation, UNSEEN_NOTE)
    list_entry(chat, conversation).click()
    chat.wait_for_reply(index)
    assert_whole(chat, index, full, page_server.env["DATABASE_URL"])
    wait_for_mark(chat, conversation, "")
    assert len(emulator.chat_requests) == 1  # written once, never asked for again

    chat.page.reload()  # seen for good, not only on this run
    chat.page.wait_for_selector(INPUT, timeout=REPLY_TIMEOUT_MS)
    chat.wait_until_idle()
    wait_for_mark(chat, conversation, "")


def test_a_reload_mid_reply_shows_it_still_growing_then_whole(
    context: BrowserContext, page_server: StreamlitServer, emulator: Emulator
) -> None:
    full = long_reply()
    # Held mid-way until the reload has shown it, however slow the machine: then it goes on.
    emulator.default = replace(paced(full), hold_after_bytes=THREE_SECONDS_IN + 1_000)
    chat = _WATCH.new_tab(context, page_server.url).open()
    index = chat.send("Tell me about the harbour, then I reload")
    wait_for_length(chat, index, THREE_SECONDS_IN)

    chat.page.reload()
    chat.page.wait_for_selector(INPUT, timeout=REPLY_TIMEOUT_MS)
    chat.wait_for_text(index)
    first = chat.text(index)
    assert len(squash(first)) < len(squash(full))
    assert squash(full).startswith(squash(first))
    expect(chat.button(index, "Stop")).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    emulator.release_held()
    wait_for_length(chat, index, len(first) + 1)  # it grows
    chat.wait_for_reply(index)
    assert_whole(chat, index, full, page_server.env["DATABASE_URL"])
    assert len(emulator.chat_requests) == 1


def test_closing_the_tab_mid_reply_and_opening_the_conversation_in_a_new_one(
    context: BrowserContext, page_server: StreamlitServer, emulator: Emulator
) -> None:
    full = long_reply()
    emulator.default = paced(full)
    chat = _WATCH.new_tab(context, page_server.url).open()
    index = chat.send("Tell me about the harbour, then I close the tab")
    wait_for_length(chat, index, THREE_SECONDS_IN)
    conversation = conversation_id(chat)
    chat.page.close()

    again = goto(_WATCH.new_tab(context, url_of(page_server.url, conversation)))
    again.wait_for_text(index)
    first = again.text(index)
    assert squash(full).startswith(squash(first))
    print(f"the new tab first showed {len(squash(first))} of {len(squash(full))} characters")
    again.wait_for_reply(index)  # still growing then complete, or complete already
    assert_whole(again, index, full, page_server.env["DATABASE_URL"])
    assert len(emulator.chat_requests) == 1

    elsewhere = _WATCH.new_tab(context, page_server.url).open()  # watched to its end: not "new"
    wait_for_mark(elsewhere, conversation, "")


def test_stop_from_a_second_tab_stops_the_reply_for_both_tabs(
    context: BrowserContext, page_server: StreamlitServer, emulator: Emulator
) -> None:
    full = long_reply()
    # Held mid-way (never released): the Stop lands while it is being written, however slow.
    emulator.default = replace(paced(full), hold_after_bytes=3_000)
    writer = _WATCH.new_tab(context, page_server.url).open()
    index = writer.send("Tell me about the harbour, to be stopped from elsewhere")
    wait_for_length(writer, index, 1_000)
    conversation = conversation_id(writer)

    other = goto(_WATCH.new_tab(context, url_of(page_server.url, conversation)))
    other.wait_for_text(index)
    other.wait_for_button(index, "Stop").click()

    for chat in (writer, other):
        bubble = chat.messages.nth(index)
        expect(bubble.get_by_text(STOPPED_NOTE)).to_be_visible(timeout=WAIT_MS)
        expect(bubble.get_by_role("button", name="Continue", exact=True)).to_be_visible()
        chat.wait_until_idle()
    reply = stored_reply(page_server.env["DATABASE_URL"], conversation, index)
    print(f"stopped at {len(reply.text)} of {len(full)} characters")
    assert reply.status is Status.STOPPED
    assert 0 < len(reply.text) < len(full)
    assert full.startswith(reply.text)
    assert squash(writer.text(index)) == squash(other.text(index)) == squash(reply.text)


def test_sigterm_mid_reply_saves_it_interrupted_and_a_restart_continues_it(
    chromium: Browser, emulator: Emulator, tmp_path: Path
) -> None:
    """A process asked to exit gives its replies a grace period: one that ends within it is
    complete, the rest are saved interrupted with the text they had, and can be continued."""
    full = long_reply(6_000)  # 400 characters a second: 15 s, well past the grace period
    short = long_reply(600)  # about 1.5 s: ends within the grace period
    emulator.enqueue(paced(full, 400), paced(short, 400))
    env = page_env(emulator.base_url, AUTH_CODE, tmp_path)
    env["CHAT_SHUTDOWN_GRACE_SECONDS"] = "2"
    database_url = env["DATABASE_URL"]

    first = StreamlitServer(APP, env, tmp_path / "first.log").start()
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        long_tab = _WATCH.new_tab(context, first.url).open()
        index = long_tab.send("Tell me a long story, cut by a restart")
        wait_for_length(long_tab, index, 400)
        long_id = conversation_id(long_tab)
        short_tab = _WATCH.new_tab(context, first.url).open()
        short_index = short_tab.send("Tell me a short story, done before the exit")
        short_tab.wait_for_text(short_index)
        short_id = conversation_id(short_tab)
        shown = squash(long_tab.text(index))
        short_at_exit = stored_reply(database_url, short_id, short_index).status
        assert first.process is not None
        first.process.send_signal(signal.SIGTERM)
        asked_at = time.monotonic()
        try:
            code = first.process.wait(timeout=30)
            exited_after = time.monotonic() - asked_at
        except subprocess.TimeoutExpired:
            pytest.fail(f"the page did not exit 30 s after SIGTERM:\n{first.log_text()[-3000:]}")
    finally:
        context.close()
        first.stop()
    log = first.log_text()
    print(f"exit code {code} {exited_after:.1f} s after SIGTERM; log tail:\n{log[-1500:]}")

    cut = stored_reply(database_url, long_id, index)
    done = stored_reply(database_url, short_id, short_index)
    print(f"browser showed {len(shown)} characters; saved {len(squash(cut.text))}, {cut.status}")
    assert short_at_exit is Status.STREAMING, "the short reply ended before the exit began"
    assert (done.status, done.text) == (Status.COMPLETE, short)
    assert cut.status is Status.INTERRUPTED
    assert full.startswith(cut.text)
    assert squash(cut.text).startswith(shown)  # at least what the browser showed before
    assert "Traceback" not in log
    assert exited_after < 2 + 10, "the grace period was not kept to"

    rest = full[len(cut.text) :]
    emulator.enqueue(paced(rest))
    with StreamlitServer(APP, env, tmp_path / "second.log") as second:
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        chat = _WATCH.new_tab(context, url_of(second.url, long_id))
        try:
            chat.open()
            bubble = chat.messages.nth(index)
            expect(bubble.get_by_text("Interrupted", exact=False)).to_be_visible(
                timeout=REPLY_TIMEOUT_MS
            )
            assert squash(chat.text(index)) == squash(cut.text)
            bubble.get_by_role("button", name="Continue", exact=True).click()
            wait_for_whole(chat, index, full)
            expect(bubble.get_by_role("button", name=labelled("Regenerate"))).to_be_visible()
        except BaseException:
            shot = Path("/tmp") / "chat-browser-sigterm-second.png"
            chat.page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}\n{second.log_text()[-3000:]}")
            raise
        finally:
            context.close()
    reply = stored_reply(database_url, long_id, index)
    assert (reply.status, reply.text) == (Status.COMPLETE, full)
    assert emulator.chat_requests[-1].body["messages"][-2]["content"] == cut.text


def test_a_continued_reply_offers_only_stop_while_it_is_written(
    context: BrowserContext, page_server: StreamlitServer, emulator: Emulator
) -> None:
    """While the rest of a stopped reply streams, its bubble says nothing about the old stop
    and offers only Stop: a Regenerate or Continue clicked then would start a second reply
    while this one goes on."""
    full = long_reply(8_000)
    partial = full[:1_500]
    database_url = page_server.env["DATABASE_URL"]
    cut = store_a_cut_reply(database_url, "A stopped story to go on with", partial, Status.STOPPED)
    emulator.default = paced(full[len(partial) :])  # some 3 s of the rest
    chat = _WATCH.new_tab(context, url_of(page_server.url, cut.id)).open()
    bubble = chat.messages.nth(1)
    expect(bubble.get_by_text(STOPPED_NOTE)).to_be_visible()

    bubble.get_by_role("button", name="Continue", exact=True).click()
    wait_for_length(chat, 1, len(partial) + 500)  # the rest is arriving
    expect(bubble.get_by_role("button", name=labelled("Stop"))).to_be_visible()
    offered = {
        name: bubble.get_by_role("button", name=labelled(name)).is_visible()
        for name in ("Regenerate", "Continue")
    }
    old_note = bubble.get_by_text(STOPPED_NOTE).is_visible()
    still_writing = len(squash(chat.text(1))) < len(squash(full))
    shot = Path("/tmp") / "chat-browser-continue-mid-reply.png"
    chat.page.screenshot(path=str(shot))
    print(f"mid-reply: {offered}, old note shown: {old_note}, screenshot: {shot}")
    assert still_writing, "the rest arrived before the page could be looked at mid-reply"
    assert offered == {"Regenerate": False, "Continue": False}, "offered while it is written"
    assert not old_note, "the old 'Stopped' note stays under the reply being continued"

    wait_for_whole(chat, 1, full)
    reply = stored_reply(database_url, cut.id, 1)
    assert (reply.status, reply.text) == (Status.COMPLETE, full)
