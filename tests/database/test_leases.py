"""Leases are judged by the database's clock: replicas whose clocks differ agree on them."""

from __future__ import annotations

import time
import types
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from chatpage.data.conversation import Conversation, Message, Status
from chatpage.database import conversations as store_module
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal

ALICE = "header:alice@example.com"
SKEW = 30.0  # seconds a replica's clock is off


@contextmanager
def clock_off_by(monkeypatch: pytest.MonkeyPatch, seconds: float) -> Iterator[None]:
    """The store's process clock (its `time` module) runs `seconds` ahead or behind."""
    skewed = types.SimpleNamespace(time=lambda: time.time() + seconds, monotonic=time.monotonic)
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "time", skewed)
        yield


def status_seen(store: ConversationStore, chat: Conversation, reply: Message) -> Status:
    loaded = store.load(chat.id, ALICE)
    assert loaded is not None
    return loaded.tree[reply.id].status


@pytest.mark.parametrize(("writer_skew", "reader_skew"), [(-SKEW, SKEW), (SKEW, -SKEW)])
def test_a_live_reply_is_not_marked_interrupted_by_a_replica_whose_clock_differs(
    database_url: str, monkeypatch: pytest.MonkeyPatch, writer_skew: float, reader_skew: float
) -> None:
    writer, reader = ConversationStore(database_url), ConversationStore(database_url)
    try:
        with clock_off_by(monkeypatch, writer_skew):
            chat = Conversation(model_id="gpt-4")
            journal = Journal(writer, ALICE)
            journal.add(chat, chat.add_user("Tell me a story"))
            reply = chat.start_reply("gpt-4")
            journal.add(chat, reply)
            reply.text = "Once upon a time"
            assert writer.checkpoint(chat.id, reply, ALICE)
        with clock_off_by(monkeypatch, reader_skew):
            assert status_seen(reader, chat, reply) is Status.STREAMING
            assert reader.writing(ALICE) == {chat.id}
            stored = reader.message(chat.id, reply.id, ALICE)
            assert stored is not None
            assert stored.status is Status.STREAMING
    finally:
        writer.close()
        reader.close()


def test_a_dead_writers_reply_is_interrupted_when_its_lease_ends_whatever_its_clock(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "LEASE_SECONDS", 1.0)
    writer, reader = ConversationStore(database_url), ConversationStore(database_url)
    try:
        with clock_off_by(monkeypatch, SKEW):  # a writer ahead would have kept it 31 s alive
            chat = Conversation(model_id="gpt-4")
            journal = Journal(writer, ALICE)
            journal.add(chat, chat.add_user("Tell me a story"))
            reply = chat.start_reply("gpt-4")
            journal.add(chat, reply)
            reply.text = "Once upon a"
            assert writer.checkpoint(chat.id, reply, ALICE)
            written_at = time.monotonic()
        # The writer dies here. A reader behind by SKEW sees the lease end after 1 s, by the
        # database's clock; judged by the clocks, it would hold for 61 s.
        with clock_off_by(monkeypatch, -SKEW):
            deadline = written_at + 20.0
            while status_seen(reader, chat, reply) is Status.STREAMING:
                assert time.monotonic() < deadline, "a dead writer's lease outlived its length"
                time.sleep(0.05)  # waiting for the database's clock to pass the lease
            assert status_seen(reader, chat, reply) is Status.INTERRUPTED
            assert reader.writing(ALICE) == frozenset()
            loaded = reader.load(chat.id, ALICE)
            assert loaded is not None
            assert loaded.tree[reply.id].text == "Once upon a"
    finally:
        writer.close()
        reader.close()


def test_a_new_reply_is_leased_for_the_length_set_when_it_is_written(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The statement that writes a new reply is built once, at import: the lease's length must
    # still be the one in force when the reply is written, not the one at import.
    store = ConversationStore(database_url)
    try:
        for length in (3600.0, -60.0):  # -60: ended before it was written
            monkeypatch.setattr(store_module, "LEASE_SECONDS", length)
            chat = Conversation(model_id="gpt-4")
            journal = Journal(store, ALICE)
            journal.add(chat, chat.add_user("Tell me a story"))
            reply = chat.start_reply("gpt-4")
            journal.add(chat, reply)
            held = status_seen(store, chat, reply) is Status.STREAMING
            assert held == (length > 0), f"a lease of {length} s read as held={held}"
    finally:
        store.close()
