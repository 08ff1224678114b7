"""Ratings of replies on SQLite and PostgreSQL: the person's own finished replies only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatpage.data.conversation import Conversation, ErrorInfo, Message, Status
from chatpage.database.conversations import ConversationStore
from chatpage.database.ratings import DOWN, UP, RatingRefused

ALICE, BOB = "header:alice@example.com", "header:bob@example.com"


@pytest.fixture
def store(database_url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(database_url)
    yield store
    store.close()


def stored_chat(store: ConversationStore, *replies: Message, owner: str = ALICE) -> Conversation:
    chat = Conversation(model_id="gpt-4o")
    chat.add_user("Нарисуй схему")
    for reply in replies:
        chat.append(reply)
    store.create(chat, owner)
    return chat


def test_a_reply_rated_up_then_down_then_cleared_is_read_back_each_time(
    store: ConversationStore,
) -> None:
    reply = Message("assistant", "Вот схема", model_id="claude-3")
    stored_chat(store, reply)
    store.ratings.rate(ALICE, reply.id, True, now=1000.0)
    assert store.ratings.of_messages(ALICE, [reply.id]) == {reply.id: UP}
    store.ratings.rate(ALICE, reply.id, False, now=2000.0)
    assert store.ratings.of_messages(ALICE, [reply.id]) == {reply.id: DOWN}
    [rating] = store.ratings.between(0, 10_000)
    assert (rating.owner, rating.model_id, rating.rating, rating.rated_at) == (
        ALICE,
        "claude-3",
        DOWN,
        2000.0,
    )
    store.ratings.rate(ALICE, reply.id, None)
    assert store.ratings.of_messages(ALICE, [reply.id]) == {}
    assert store.ratings.between(0, 10_000) == []


def test_rating_someone_elses_reply_is_refused_and_changes_nothing(
    store: ConversationStore,
) -> None:
    reply = Message("assistant", "Bob's reply", model_id="gpt-4o")
    stored_chat(store, reply, owner=BOB)
    store.ratings.rate(BOB, reply.id, True)
    with pytest.raises(RatingRefused):
        store.ratings.rate(ALICE, reply.id, False)
    with pytest.raises(RatingRefused):
        store.ratings.rate(ALICE, reply.id, None)  # nor may she clear his
    assert store.ratings.of_messages(ALICE, [reply.id]) == {}
    assert store.ratings.of_messages(BOB, [reply.id]) == {reply.id: UP}


def test_a_question_a_failed_reply_and_an_unknown_id_cannot_be_rated(
    store: ConversationStore,
) -> None:
    failed = Message("assistant", "cut", Status.FAILED, error=ErrorInfo("rate_limit", 429))
    chat = stored_chat(store, failed)
    question = chat.messages[0]
    for message_id in (question.id, failed.id, "no-such-message-id"):
        with pytest.raises(RatingRefused):
            store.ratings.rate(ALICE, message_id, True)
    assert store.ratings.between(0, 10**12) == []


def test_deleting_a_conversation_deletes_its_ratings(store: ConversationStore) -> None:
    reply = Message("assistant", "Вот", model_id="gpt-4o")
    chat = stored_chat(store, reply)
    store.ratings.rate(ALICE, reply.id, True)
    assert store.delete(chat.id, ALICE)
    assert store.ratings.between(0, 10**12) == []
