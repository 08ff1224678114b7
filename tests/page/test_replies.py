"""Replies that finish on their own, through the page (AppTest): the bounds on how many a person
and a process write at once, the list's marks, and a reply outliving the page run that asked.

A reply "elsewhere" is started here directly with `Replies` on a store of the test's database,
as another app process of the same person would: the page counts it (the per-person bound is
read from the store), lists it as being written, and can stop it through the store.
"""

from __future__ import annotations

import os
import re

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Status
from chatpage.database.conversations import ConversationStore
from chatpage.journal import process_replies
from chatpage.settings import load_settings
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import bubbles, conversation, edit_key, fresh_session, page_text, send
from testkit.elsewhere import WAIT, reply_elsewhere

pytestmark = pytest.mark.usefixtures("own_database", "configured")

WRITING_ICON, UNSEEN_ICON = ":material/progress_activity:", ":material/mark_chat_unread:"
WRITING_NOTE = "A reply is being written"
UNSEEN_NOTE = "A reply finished here while you were elsewhere"


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def says_busy_for_person(at: AppTest, limit: int) -> bool:
    """The page says the person has `limit` replies being written already, and what to do."""
    return any(
        "being written" in text and re.search(rf"\b{limit}\b", text) for text in warnings(at)
    )


def list_entry(at: AppTest, conversation_id: str):
    """The sidebar's button that opens a conversation."""
    return at.sidebar.button(key=f"open_{conversation_id}")


def mark(at: AppTest, conversation_id: str) -> tuple[str, str]:
    """The icon and tooltip the list shows beside a conversation ("" for none)."""
    entry = list_entry(at, conversation_id)
    return entry.proto.icon, entry.help


def stored(database_url: str, conversation_id: str) -> Conversation:
    store = ConversationStore(database_url)
    try:
        loaded = store.load(conversation_id, LOCAL_OWNER)
    finally:
        store.close()
    assert loaded is not None
    return loaded


# --- the bounds -----------------------------------------------------------------------------


def test_a_send_past_the_persons_bound_is_refused_with_the_text_kept_until_a_reply_ends(
    configured: Emulator, own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_MAX_BACKGROUND_REPLIES", "1")
    configured.default = Behavior(reply="an answer once there was room")
    with reply_elsewhere(configured, own_database) as elsewhere:
        at = fresh_session()
        upstream = len(configured.chat_requests)
        at.chat_input[0].set_value("a message worth keeping").run()
        assert not at.exception, at.exception
        assert says_busy_for_person(at, 1), warnings(at)
        assert at.chat_input[0].value == "a message worth keeping"
        assert bubbles(at) == []
        assert len(configured.chat_requests) == upstream  # nothing went upstream for it
        store = ConversationStore(own_database)
        assert [s.id for s in store.list(LOCAL_OWNER)] == [elsewhere.conversation.id]
        store.close()

        elsewhere.stop()
        send(at, "a message worth keeping")
    assert bubbles(at) == [
        ("user", "a message worth keeping"),
        ("assistant", "an answer once there was room"),
    ]
    assert not says_busy_for_person(at, 1)
    assert stored(own_database, conversation(at).id).last.status is Status.COMPLETE


def test_regenerate_and_edit_past_the_bound_are_refused_and_the_edit_stays_open(
    configured: Emulator, own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_MAX_BACKGROUND_REPLIES", "1")
    configured.default = Behavior(reply="the first answer")
    at = send(fresh_session(), "the first question")
    before = bubbles(at)
    conversation_id = conversation(at).id
    with reply_elsewhere(configured, own_database) as elsewhere:
        upstream = len(configured.chat_requests)

        at.button(key="action_regenerate").click().run()
        assert not at.exception, at.exception
        assert says_busy_for_person(at, 1), warnings(at)
        assert bubbles(at) == before
        assert len(stored(own_database, conversation_id).tree) == 2  # no new version

        at.button(key=edit_key(at)).click().run()
        at.text_area(key="edit_text").set_value("the question, edited").run()
        at.button[[b.label for b in at.button].index("Save and send")].click().run()
        assert not at.exception, at.exception
        assert says_busy_for_person(at, 1), warnings(at)
        assert at.text_area(key="edit_text").value == "the question, edited"  # still open
        assert "Save and send" in [b.label for b in at.button]
        assert len(stored(own_database, conversation_id).tree) == 2
        assert len(configured.chat_requests) == upstream  # nothing went upstream

        elsewhere.stop()
        configured.default = Behavior(reply="the answer to the edit")
        at.button[[b.label for b in at.button].index("Save and send")].click().run()
    assert not at.exception, at.exception
    assert bubbles(at) == [
        ("user", "the question, edited"),
        ("assistant", "the answer to the edit"),
    ]
    assert len(stored(own_database, conversation_id).tree) == 4


def test_continue_past_the_bound_is_refused_and_the_cut_reply_stays_as_it_was(
    configured: Emulator, own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_MAX_BACKGROUND_REPLIES", "1")
    configured.default = Behavior(
        reply="the beginning of an answer, then", disconnect_after_bytes=20
    )
    at = send(fresh_session(), "a question whose answer is cut")
    cut = conversation(at).last
    assert cut.status is Status.FAILED
    assert cut.text
    with reply_elsewhere(configured, own_database):
        upstream = len(configured.chat_requests)
        at.button(key="action_continue").click().run()
        assert not at.exception, at.exception
        assert says_busy_for_person(at, 1), warnings(at)
        assert len(configured.chat_requests) == upstream
        saved = stored(own_database, conversation(at).id).tree[cut.id]
        assert (saved.status, saved.text) == (Status.FAILED, cut.text)
        assert "Continue" in [b.label for b in at.button]


def test_the_process_bound_refuses_a_send_whoever_writes_the_replies(
    configured: Emulator, own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_MAX_PROCESS_REPLIES", "1")
    at = fresh_session()
    page_process = process_replies(load_settings([os.environ]))  # the page's own, cached
    assert page_process.max_per_process == 1
    with reply_elsewhere(
        configured, own_database, owner="someone-else", replies=page_process
    ) as elsewhere:
        upstream = len(configured.chat_requests)
        at.chat_input[0].set_value("my turn, please").run()
        assert not at.exception, at.exception
        assert any("as many replies as it can" in w for w in warnings(at)), warnings(at)
        assert at.chat_input[0].value == "my turn, please"
        assert len(configured.chat_requests) == upstream
        elsewhere.stop()
    configured.default = Behavior(reply="room again")
    assert bubbles(send(at, "my turn, please"))[-1] == ("assistant", "room again")


# --- a reply outlives the page run that asked for it ------------------------------------------


def test_a_reply_whose_page_run_ended_goes_on_and_opens_complete_later(
    configured: Emulator, own_database: str
) -> None:
    full = " ".join(f"Part {i} of an answer that nobody watched to its end." for i in range(120))
    # Some 12 s long; the page run is stopped after 5 s, as if the tab closed. A busy machine
    # may take seconds to reach the asking; the reply still has 7 s to go when the run stops.
    configured.default = Behavior(reply=full, chunk_bytes=20, delay=0.04)
    first = fresh_session()
    with pytest.raises(RuntimeError, match="timed out"):
        first.chat_input[0].set_value("tell me something long").run(timeout=5.0)
    conversation_id = conversation(first).id
    assert conversation(first).last.status is Status.STREAMING

    later = fresh_session(c=conversation_id)  # follows the reply to its end, then settles
    assert bubbles(later) == [("user", "tell me something long"), ("assistant", full)]
    assert "Regenerate" in [b.label for b in later.button]
    shown = page_text(later)
    assert "Stopped" not in shown
    assert "Interrupted" not in shown
    saved = stored(own_database, conversation_id).last
    assert (saved.status, saved.text) == (Status.COMPLETE, full)
    assert len(configured.chat_requests) == 1  # written once, whoever watched


def test_the_list_marks_a_reply_being_written_then_finished_unseen_until_it_is_opened(
    configured: Emulator, own_database: str
) -> None:
    configured.default = Behavior(reply="an answer here")
    at = send(fresh_session(), "the conversation on show")
    here = conversation(at).id
    # Some 6 s long: still being written when the page next looks, well before it ends.
    finish = Behavior(
        reply=" ".join(["the answer written elsewhere"] * 100), chunk_bytes=10, delay=0.02
    )
    with reply_elsewhere(configured, own_database, "asked elsewhere", finish) as elsewhere:
        at.run()  # what the page's watcher does when a reply starts
        assert mark(at, elsewhere.conversation.id) == (WRITING_ICON, WRITING_NOTE)
        assert mark(at, here) == ("", "")
        assert elsewhere.task.done.wait(WAIT)
    assert elsewhere.reply.status is Status.COMPLETE

    at.run()  # what the page's watcher does when a reply ends
    assert mark(at, elsewhere.conversation.id) == (UNSEEN_ICON, UNSEEN_NOTE)
    assert mark(at, here) == ("", "")
    assert mark(fresh_session(), elsewhere.conversation.id)[0] == UNSEEN_ICON  # any tab

    list_entry(at, elsewhere.conversation.id).click().run()
    assert bubbles(at) == [("user", "asked elsewhere"), ("assistant", elsewhere.reply.text)]
    assert mark(at, elsewhere.conversation.id) == ("", "")
    at.run()
    assert mark(at, elsewhere.conversation.id) == ("", "")
    assert mark(fresh_session(), elsewhere.conversation.id) == ("", "")  # seen, for good


def test_stop_from_a_tab_on_another_process_ends_the_reply_with_its_text(
    configured: Emulator, own_database: str
) -> None:
    with reply_elsewhere(configured, own_database, "stop me from here") as elsewhere:
        tab = fresh_session(c=elsewhere.conversation.id)
        assert any("Being written in another window" in c.value for c in tab.caption)
        assert "Regenerate" not in [b.label for b in tab.button]
        tab.button(key="stop").click().run()
        assert not tab.exception, tab.exception
        assert elsewhere.task.done.wait(WAIT), "the writer did not hear the Stop"
    assert elsewhere.reply.status is Status.STOPPED
    tab.run()  # what the live view does once the reply has settled
    shown = elsewhere.reply.text.strip()  # st.markdown shows text without its outer spaces
    assert bubbles(tab) == [("user", "stop me from here"), ("assistant", shown)]
    assert any("Stopped" in c.value for c in tab.caption)
    assert "Continue" in [b.label for b in tab.button]
    saved = stored(own_database, elsewhere.conversation.id).last
    assert (saved.status, saved.text) == (Status.STOPPED, elsewhere.reply.text)


def test_opening_the_page_counts_one_arrival_and_its_later_runs_none(
    configured: Emulator, own_database: str
) -> None:
    """What slows the replies' updates while a crowd arrives (`tasks.update_interval`)."""
    page_process = process_replies(load_settings([os.environ]))  # the page's own, cached
    page_process.clock = lambda: 1000.0  # every arrival in the same second
    at = fresh_session()
    assert page_process.arriving() == 1
    send(at, "a message re-runs the page")
    at.run()
    assert page_process.arriving() == 1
    fresh_session()  # another tab, or a reload
    assert page_process.arriving() == 2
