"""One rule for text that cannot be stored or shown, the same on SQLite and PostgreSQL.

NUL, the C0 controls but tab, line feed and carriage return, DEL and the C1 controls are
removed from a reply as it streams, so what follows them is shown, stored, exported, shared
and imported; a store write refused for what it holds is never retried into a loss.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.string_util import clean_text

from chatpage.access.identity import LOCAL_OWNER
from chatpage.access.limits import without_controls
from chatpage.data.conversation import Conversation, Message, Status
from chatpage.data.export import from_json, to_json, to_markdown
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from chatpage.replies.tasks import ReplyTask, Request
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import bubbles, conversation, fresh_session, send
from testkit.fuzzing import REFUSED, fuzz_settings

OWNER = "alice@example.com"
ODD_REPLY = "Before\x00 NUL, \x1b[31mESC\x1b[0m, \x0cform feed, \x07bell: and the text after them."
KEPT = "Before NUL, [31mESC[0m, form feed, bell: and the text after them."


@pytest.fixture
def store(database_url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(database_url)
    yield store
    store.close()


@pytest.fixture
def both_stores(tmp_path: Path, postgres_url: str) -> Iterator[list[ConversationStore]]:
    stores = [ConversationStore(f"sqlite:///{tmp_path / 'chat.sqlite3'}")]
    stores.append(ConversationStore(postgres_url))
    yield stores
    for each in stores:
        each.close()


def asked(store: ConversationStore) -> tuple[Conversation, Request, Message]:
    """A stored question and its reply about to be written, as the page leaves them."""
    conversation = Conversation(model_id="gpt-4", title="Odd bytes")
    journal = Journal(store, OWNER)
    journal.add(conversation, conversation.add_user("Say something odd"))
    reply = conversation.start_reply("gpt-4")
    journal.add(conversation, reply)
    request = Request(conversation.id, OWNER, conversation.wire_messages(), "gpt-4", None)
    return conversation, request, reply


def written(store: ConversationStore, client: LiaobotsClient) -> tuple[Conversation, str]:
    """Ask for a reply, wait for its end, and give the conversation with the reply's id."""
    conversation, request, reply = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    assert task.done.wait(30), "the reply did not end within 30 s"
    return conversation, reply.id


def test_the_rule_removes_nul_c0_del_and_c1_but_keeps_tab_line_feed_and_return() -> None:
    assert without_controls("a\x00b\x1bc\x0cd\x07e\x7ff\x85g\x9bh\ti\nj\rk\xa0l") == (
        "abcdefgh\ti\nj\rk\xa0l"
    )
    assert without_controls("".join(REFUSED)) == ""


def test_a_reply_holding_nul_esc_form_feed_and_bel_keeps_the_text_after_them(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply=ODD_REPLY, chunk_bytes=5)
    conversation, reply_id = written(store, client)
    loaded = store.load(conversation.id, OWNER)
    assert loaded is not None
    saved = loaded.tree[reply_id]
    assert (saved.text, saved.status) == (KEPT, Status.COMPLETE)


def test_a_reply_end_the_database_refuses_is_written_by_the_rule_at_once_not_retried_into_loss(
    postgres_url: str, client: LiaobotsClient
) -> None:
    """PostgreSQL text holds no NUL: the write fails whatever the retries; the rule mends it."""
    store = ConversationStore(postgres_url)
    try:
        conversation, request, reply = asked(store)
        task = ReplyTask(request, reply, client, store)
        task._text = "arrived\x00 and kept"  # the task's own text, as its stream left it
        task.checkpoint()  # refused as it is, written by the rule
        assert not task.saving_failed
        started = time.monotonic()
        ended = dataclasses.replace(reply, text="arrived\x00 and kept", status=Status.COMPLETE)
        assert task._settle(ended).text == "arrived and kept"
        assert time.monotonic() - started < 2  # no backoff: the same write was not retried
        loaded = store.load(conversation.id, OWNER)
        assert loaded is not None
        saved = loaded.tree[reply.id]
        assert (saved.text, saved.status) == ("arrived and kept", Status.COMPLETE)
    finally:
        store.close()


def test_an_export_with_control_characters_imports_without_them() -> None:
    conversation = Conversation(model_id="gpt-4", title="Old \x1b title")
    conversation.add_user("question")
    reply = conversation.start_reply("gpt-4")
    reply.text, reply.status = ODD_REPLY, Status.COMPLETE  # as stored before the rule
    imported = from_json(to_json(conversation).encode())
    assert imported.messages[-1].text == KEPT
    assert imported.title == "Old  title"


# Text a service can send (any character UTF-8 can carry), with controls made likely.
SENT = st.text(
    st.characters(exclude_categories=("Cs",)) | st.sampled_from(REFUSED + "\t\n\r"),
    min_size=1,
    max_size=120,
)


@fuzz_settings(25)
@given(sent=SENT)
def test_any_reply_text_ends_identical_in_both_databases_both_exports_and_an_import(
    sent: str,
    both_stores: list[ConversationStore],
    client: LiaobotsClient,
    emulator: Emulator,
) -> None:
    emulator.default = Behavior(reply=sent, chunk_bytes=7, split_multibyte=True)
    kept = without_controls(sent)
    for store in both_stores:
        conversation, reply_id = written(store, client)
        loaded = store.load(conversation.id, OWNER)
        assert loaded is not None
        assert loaded.tree[reply_id].text == kept, store.backend
        exported = to_json(loaded)
        assert json.loads(exported)["conversation"]["messages"][-1]["text"] == kept
        # The reply ends the Markdown, which ends in one line feed.
        assert to_markdown(loaded, "en").endswith(f"## Assistant\n\n{kept}".rstrip() + "\n")
        again = from_json(exported.encode())
        assert again.tree[reply_id].text == kept
        assert to_json(again) == exported  # export, import, export: the same file


@fuzz_settings(6, shrink=False)
@given(sent=SENT)
def test_any_reply_text_ends_identical_on_the_page_and_after_a_reload(
    sent: str, configured: Emulator, own_database: str
) -> None:
    configured.default = Behavior(reply=sent, chunk_bytes=7, split_multibyte=True)
    kept = without_controls(sent)
    at = send(fresh_session(), "Say it")
    shown = conversation(at).messages[-1]
    assert (shown.text, shown.status) == (kept, Status.COMPLETE)
    on_page = clean_text(kept)  # as `st.markdown` holds any text: dedented, stripped
    assert bubbles(at)[-1] == ("assistant", on_page)
    again = fresh_session(c=conversation(at).id)  # a reload: read from the database
    assert bubbles(again)[-1] == ("assistant", on_page)


def test_a_reply_holding_nul_esc_form_feed_and_bel_keeps_its_text_after_a_reload(
    configured: Emulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page on SQLite and on PostgreSQL: shown, stored, and shown again from the store."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    configured.default = Behavior(reply=ODD_REPLY, chunk_bytes=5)
    at = send(fresh_session(), "Say something odd")
    assert bubbles(at)[-1] == ("assistant", KEPT)
    opened = conversation(at)
    again = fresh_session(c=opened.id)  # a reload: read from the database
    assert bubbles(again)[-1] == ("assistant", KEPT)
    store = ConversationStore(database_url)
    try:
        loaded = store.load(opened.id, LOCAL_OWNER)  # the page's one user on this machine
    finally:
        store.close()
    assert loaded is not None
    assert (loaded.messages[-1].text, loaded.messages[-1].status) == (KEPT, Status.COMPLETE)


def test_a_conversation_stored_with_control_characters_before_the_rule_shares_without_them(
    tmp_path: Path,
) -> None:
    """SQLite kept an ESC and a form feed before the rule: its link opens, text after them kept."""
    store = ConversationStore(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        conversation = Conversation(model_id="gpt-4")
        journal = Journal(store, OWNER)
        journal.add(conversation, conversation.add_user("question"))
        reply = conversation.start_reply("gpt-4")
        reply.text, reply.status = ODD_REPLY, Status.COMPLETE
        journal.add(conversation, reply)
        stored = store.load(conversation.id, OWNER)
        assert stored is not None
        token = store.shares.share(stored, OWNER, None, time.time())
        shared = store.shares.open(token)
    finally:
        store.close()
    assert shared is not None
    assert shared.conversation.messages[-1].text == KEPT
