"""Shared links in the store, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chatpage.data.conversation import Attachment, Conversation, Message
from chatpage.data.export import to_json
from chatpage.database.conversations import ConversationStore, make_engine, writer
from chatpage.database.migrations import MIGRATIONS, migrate
from chatpage.database.sharing import snapshot

ALICE, BOB = "header:alice@example.com", "header:bob@example.com"


@pytest.fixture
def store(database_url: str):
    store = ConversationStore(database_url)
    yield store
    store.close()


def stored_conversation(store: ConversationStore, owner: str = ALICE) -> Conversation:
    chat = Conversation(model_id="gpt-4", system_prompt="Будь краток.")
    chat.add_user("Как сварить **борщ**?")
    chat.append(Message("assistant", "Свёкла, капуста 🍲", model_id="gpt-4"))
    store.create(chat, owner)
    loaded = store.load(chat.id, owner)
    assert loaded is not None
    return loaded


def test_shared_links_are_the_eighth_migration() -> None:
    assert [name for name, _ in MIGRATIONS][7] == "m008_shared_links"


def test_a_shared_link_opens_the_conversation_as_it_was_shared(store: ConversationStore) -> None:
    chat = stored_conversation(store)
    token = store.shares.share(chat, ALICE, "alice@example.com", now=1000.0)
    assert len(token) >= 32
    shared = store.shares.open(token)
    assert shared is not None
    assert [(m.role, m.text) for m in shared.conversation.messages] == [
        (m.role, m.text) for m in chat.messages
    ]
    assert shared.conversation.system_prompt == "Будь краток."
    assert (shared.shared_by, shared.created_at) == ("alice@example.com", 1000.0)


def test_the_snapshot_does_not_follow_later_changes(store: ConversationStore) -> None:
    chat = stored_conversation(store)
    token = store.shares.share(chat, ALICE, None, now=1000.0)
    chat.add_user("Later question")
    store.add_message(chat, chat.messages[-1], ALICE)
    store.delete(chat.id, ALICE)
    shared = store.shares.open(token)
    assert shared is not None
    assert "Later question" not in [m.text for m in shared.conversation.messages]


def test_sharing_again_gives_the_same_link_until_it_is_stopped(store: ConversationStore) -> None:
    chat = stored_conversation(store)
    first = store.shares.share(chat, ALICE, None, now=1000.0)
    assert store.shares.share(chat, ALICE, None, now=1001.0) == first
    assert store.shares.active(chat.id, ALICE) == first
    assert store.shares.revoke(chat.id, ALICE, now=1002.0)
    assert store.shares.active(chat.id, ALICE) is None
    again = store.shares.share(chat, ALICE, None, now=1003.0)
    assert again != first
    assert store.shares.open(first) is None
    assert store.shares.open(again) is not None


def test_a_revoked_link_reads_as_an_unknown_one(store: ConversationStore) -> None:
    chat = stored_conversation(store)
    token = store.shares.share(chat, ALICE, None, now=1000.0)
    assert store.shares.revoke(chat.id, ALICE, now=1001.0)
    assert store.shares.open(token) is None
    assert store.shares.open("A" * 32) is None
    assert store.shares.revoke(chat.id, ALICE, now=1002.0) is False  # nothing left to stop


@pytest.mark.parametrize("garbage", ["", "short", "x" * 500, "' OR 1=1 --", "../../etc"])
def test_a_garbage_token_reads_as_nothing(store: ConversationStore, garbage: str) -> None:
    assert store.shares.open(garbage) is None


def test_another_person_cannot_stop_someone_elses_link(store: ConversationStore) -> None:
    chat = stored_conversation(store)
    token = store.shares.share(chat, ALICE, None, now=1000.0)
    assert store.shares.revoke(chat.id, BOB, now=1001.0) is False
    assert store.shares.open(token) is not None
    assert store.shares.active(chat.id, BOB) is None
    assert store.shares.links(BOB) == []


def test_a_persons_links_list_their_active_shares_newest_first(store: ConversationStore) -> None:
    older, newer = stored_conversation(store), stored_conversation(store)
    newer.title = "Newer"
    store.shares.share(older, ALICE, None, now=1000.0)
    store.shares.share(newer, ALICE, None, now=2000.0)
    store.shares.share(stored_conversation(store, BOB), BOB, None, now=3000.0)
    assert [(link.conversation_id, link.title) for link in store.shares.links(ALICE)] == [
        (newer.id, "Newer"),
        (older.id, older.display_title),
    ]
    store.shares.revoke(newer.id, ALICE, now=4000.0)
    assert [link.conversation_id for link in store.shares.links(ALICE)] == [older.id]


def test_only_the_branch_on_show_is_shared() -> None:
    chat = Conversation(model_id="gpt-4")
    question = chat.add_user("First draft of the question")
    chat.append(Message("assistant", "Answer to the draft"))
    chat.edit(question.id, "Second version")
    chat.append(Message("assistant", "Answer to the second"))
    shared = snapshot(chat)
    assert [m.text for m in shared.messages] == ["Second version", "Answer to the second"]
    assert len(shared.tree) == 2  # the draft and its answer stay private


SECRET = "password = hunter2  # the file's text, never in a link unless chosen"


def with_a_file(store: ConversationStore, owner: str = ALICE) -> Conversation:
    chat = Conversation(model_id="gpt-4")
    chat.add_user("Look at this file", (Attachment("config.py", len(SECRET), SECRET),))
    chat.append(Message("assistant", "It sets a password.", model_id="gpt-4"))
    store.create(chat, owner)
    loaded = store.load(chat.id, owner)
    assert loaded is not None
    return loaded


def test_a_shared_link_keeps_files_names_and_sizes_but_not_their_text(
    store: ConversationStore,
) -> None:
    token = store.shares.share(with_a_file(store), ALICE, None, now=1000.0)
    shared = store.shares.open(token)
    assert shared is not None
    (attachment,) = shared.conversation.messages[0].attachments
    assert (attachment.name, attachment.size, attachment.text) == ("config.py", len(SECRET), "")
    with store.engine.connect() as db:
        (stored,) = db.execute(text("SELECT snapshot FROM shared_links")).one()
    assert "hunter2" not in stored
    assert shared.shared_by is None  # named only when the sharer chose so


def test_a_shared_link_keeps_files_text_when_the_sharer_includes_it(
    store: ConversationStore,
) -> None:
    token = store.shares.share(with_a_file(store), ALICE, None, now=1000.0, include_files=True)
    shared = store.shares.open(token)
    assert shared is not None
    assert shared.conversation.messages[0].attachments[0].text == SECRET


def test_links_made_before_the_choice_lose_files_text_and_names_but_keep_working(
    database_url: str,
) -> None:
    engine = writer(make_engine(database_url))
    migrate(engine, upto="m011_saved_prompts")  # the schema of main before this change
    chat = Conversation(model_id="gpt-4", title="Old share")
    chat.add_user("Look", (Attachment("config.py", len(SECRET), SECRET),))
    chat.append(Message("assistant", "Seen.", model_id="gpt-4"))
    with engine.begin() as db:  # as main's `share` wrote it: the files' text, the e-mail
        db.execute(
            text(
                "INSERT INTO shared_links (token, owner, shared_by, conversation_id, title,"
                " snapshot, created_at) VALUES (:t, :o, :b, :c, 'Old share', :s, 1)"
            ),
            {
                "t": "old-token-abcdefghijklmnopqrstuv",
                "o": ALICE,
                "b": "alice@example.com",
                "c": chat.id,
                "s": to_json(snapshot(chat, include_files=True)),
            },
        )
    engine.dispose()
    store = ConversationStore(database_url)  # starting the app migrates forward
    try:
        shared = store.shares.open("old-token-abcdefghijklmnopqrstuv")
        assert shared is not None
        assert [m.text for m in shared.conversation.messages] == ["Look", "Seen."]
        (attachment,) = shared.conversation.messages[0].attachments
        assert (attachment.name, attachment.size, attachment.text) == (
            "config.py",
            len(SECRET),
            "",
        )
        assert shared.shared_by is None
    finally:
        store.close()
