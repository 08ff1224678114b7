"""Notices: a write on one process wakes the tabs of another through LISTEN/NOTIFY."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url, text

from chatpage.data.conversation import Conversation, Message, Status
from chatpage.database import conversations as store_module
from chatpage.database.conversations import ConversationStore
from chatpage.database.notices import CHANNEL, REVISION, TEXT, WRITING, Notice, key, owner_tag
from chatpage.database.watching import RevisionBoard, WritingBoard
from chatpage.journal import Journal, close_stores, open_store
from chatpage.replies import live
from chatpage.settings import load_settings

ALICE = "header:alice@example.com"
DEADLINE = 30.0  # seconds: generous, for a loaded machine; a notice takes milliseconds


@pytest.fixture
def two_processes(postgres_url: str) -> Iterator[tuple[ConversationStore, ConversationStore]]:
    """Two stores on one PostgreSQL, each with its own engine and listener, as two processes."""
    writer, reader = ConversationStore(postgres_url), ConversationStore(postgres_url)
    try:
        for store in (writer, reader):
            assert store.notices.wait_listening(DEADLINE), "the notice listener never connected"
        yield writer, reader
    finally:
        writer.close()
        reader.close()


def reply_being_written(
    store: ConversationStore, heard_by: ConversationStore | None = None
) -> tuple[Conversation, Message]:
    """A question and a reply being written; with `heard_by`, once it has heard both."""
    chat = Conversation(model_id="gpt-4")
    before = heard_by.notices.version(key(chat.id)) if heard_by else (0, 0)
    journal = Journal(store, ALICE)
    journal.add(chat, chat.add_user("Tell me a story"))
    reply = chat.start_reply("gpt-4")
    journal.add(chat, reply)
    if heard_by is not None:  # notices arrive when they arrive: wait for these two
        deadline = time.monotonic() + DEADLINE
        while heard_by.notices.version(key(chat.id))[1] < before[1] + 2:
            heard_by.notices.wait(key(chat.id), heard_by.notices.version(key(chat.id)), 0.5)
            assert time.monotonic() < deadline, "the notices of the new reply never arrived"
    return chat, reply


def test_a_checkpoint_on_one_process_wakes_a_waiter_on_another(
    two_processes: tuple[ConversationStore, ConversationStore],
) -> None:
    writer, reader = two_processes
    chat, reply = reply_being_written(writer, heard_by=reader)
    seen = reader.notices.version(key(chat.id))
    reply.text = "Once upon a time"
    assert writer.checkpoint(chat.id, reply, ALICE)
    assert reader.notices.wait(key(chat.id), seen, DEADLINE) != seen, "no notice arrived"
    assert reader.notices.heard >= 1


def test_a_batch_of_checkpoints_wakes_the_waiters_of_each_conversation_on_another(
    two_processes: tuple[ConversationStore, ConversationStore],
) -> None:
    writer, reader = two_processes
    chats = [reply_being_written(writer, heard_by=reader) for _ in range(3)]
    seen = {chat.id: reader.notices.version(key(chat.id)) for chat, _ in chats}
    for n, (_, reply) in enumerate(chats):
        reply.text = f"Part {n}"
    assert writer.checkpoint_many([(chat.id, reply, ALICE) for chat, reply in chats]) == [True] * 3
    for chat, _ in chats:
        heard = reader.notices.wait(key(chat.id), seen[chat.id], DEADLINE)
        assert heard != seen[chat.id], "no notice arrived for one of the batch's conversations"


def test_a_rolled_back_write_announces_nothing(
    two_processes: tuple[ConversationStore, ConversationStore],
) -> None:
    writer, reader = two_processes
    never, later = key("rolled-back-conversation"), key("committed-conversation")
    never_seen, later_seen = reader.notices.version(never), reader.notices.version(later)
    with writer.engine.connect() as db, db.begin() as transaction:
        writer.notices.announce(db, Notice(TEXT, "rolled-back-conversation", "m"))
        transaction.rollback()
    with writer.engine.begin() as db:
        writer.notices.announce(db, Notice(TEXT, "committed-conversation", "m"))
    # Notices arrive in commit order: once the later one is here, the other would be too.
    assert reader.notices.wait(later, later_seen, DEADLINE) != later_seen
    assert reader.notices.version(never) == never_seen


def test_the_live_view_follows_a_reply_from_another_process_with_polling_off(
    two_processes: tuple[ConversationStore, ConversationStore],
) -> None:
    """`follow_elsewhere` reads only when a notice wakes it: it never polls."""
    writer, reader = two_processes
    chat, reply = reply_being_written(writer, heard_by=reader)
    heard = reader.notices.version(key(chat.id))
    reads: list[str] = []
    reading = reader.message

    def counted_read(*args: str) -> Message | None:
        found = reading(*args)
        reads.append(found.text if found else "")
        return found

    reader.message = counted_read  # type: ignore[method-assign]
    following = live.follow_elsewhere(reader, chat.id, reply.id, ALICE, heard, DEADLINE)
    assert next(following)[1] is None  # a wait slice with no news: nothing read
    assert reads == []
    reply.text = "Once upon a time"
    assert writer.checkpoint(chat.id, reply, ALICE)
    grown = next(state for _, state in following if state is not None)
    assert grown.text == "Once upon a time"
    assert grown.status is Status.STREAMING
    reply.text, reply.status = "Once upon a time, the end.", Status.COMPLETE
    assert writer.settle_reply(chat.id, reply, ALICE)
    ended = next(state for _, state in following if state is not None)
    assert (ended.text, ended.status) == ("Once upon a time, the end.", Status.COMPLETE)
    assert list(following) == []  # it ends with the reply
    assert reads == ["Once upon a time", "Once upon a time, the end."]


def test_the_listener_connects_where_database_listen_url_says(postgres_url: str) -> None:
    """Behind a transaction-mode pooler LISTEN cannot work: the listener goes where it is told."""
    listen_url = make_url(postgres_url).update_query_dict({"application_name": "chat-listener"})
    reader = ConversationStore(
        postgres_url, listen_url=listen_url.render_as_string(hide_password=False)
    )
    writer = ConversationStore(postgres_url)
    try:
        assert reader.notices.wait_listening(DEADLINE), "the notice listener never connected"
        with writer.engine.connect() as db:
            listening = (
                db.execute(
                    text(
                        "SELECT query FROM pg_stat_activity "
                        "WHERE application_name = 'chat-listener' AND datname = current_database()"
                    )
                )
                .scalars()
                .all()
            )
        assert listening == [f"LISTEN {CHANNEL}"]
        reply_being_written(writer, heard_by=reader)  # fails unless the notices arrive
    finally:
        writer.close()
        reader.close()


@pytest.mark.parametrize(
    ("database_url", "listen_url", "says"),
    [
        ("postgresql://chat:s3cret@pool/chat", "sqlite:///x.db", "must be a PostgreSQL address"),
        ("sqlite:///chat.sqlite3", "postgresql://chat:s3cret@db/chat", "set that too"),
        (None, "postgresql://chat:s3cret@db/chat", "set that too"),
    ],
)
def test_a_listen_url_that_cannot_serve_is_refused_without_repeating_it(
    database_url: str | None, listen_url: str, says: str
) -> None:
    source = {"DATABASE_LISTEN_URL": listen_url}
    if database_url is not None:
        source["DATABASE_URL"] = database_url
    settings = load_settings([source])
    (problem,) = settings.problems
    assert says in problem
    assert "s3cret" not in problem
    assert "s3cret" not in repr(settings)


def test_the_listener_comes_back_after_its_connection_is_killed(
    two_processes: tuple[ConversationStore, ConversationStore],
) -> None:
    writer, reader = two_processes
    with writer.engine.connect() as db:
        killed = db.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
            )
        ).all()
    assert len(killed) == 2  # both stores' listeners
    deadline = time.monotonic() + DEADLINE
    chat, reply = reply_being_written(writer)
    while True:  # until a checkpoint's notice gets through again
        seen = reader.notices.version(key(chat.id))
        assert writer.checkpoint(chat.id, reply, ALICE)
        if reader.notices.wait(key(chat.id), seen, 0.5) != seen and reader.notices.listening:
            break
        assert time.monotonic() < deadline, "the listener did not reconnect"
    # and notices flow as before
    seen = reader.notices.version(key(chat.id))
    reply.text = "after the reconnect"
    assert writer.checkpoint(chat.id, reply, ALICE)
    assert reader.notices.wait(key(chat.id), seen, DEADLINE) != seen


def test_a_revision_heard_is_read_by_the_board_and_silence_costs_no_query(
    two_processes: tuple[ConversationStore, ConversationStore],
) -> None:
    writer, reader = two_processes
    chat = Conversation(model_id="gpt-4")
    added = reader.notices.version(key(chat.id, REVISION))
    Journal(writer, ALICE).add(chat, chat.add_user("first"))
    assert reader.notices.wait(key(chat.id, REVISION), added, DEADLINE) != added  # it is here
    reads: list[list[str]] = []

    def read(ids):
        reads.append(sorted(ids))
        return reader.revisions(ids)

    board = RevisionBoard(read, max_age=0.0, notices=reader.notices)  # no time-based freshness
    assert board.revision(chat.id, ALICE, chat.revision) == chat.revision
    for _ in range(20):
        assert board.revision(chat.id, ALICE, chat.revision) == chat.revision
    assert len(reads) == 1  # no news, no query
    seen = reader.notices.version(key(chat.id, REVISION))
    copy = writer.load(chat.id, ALICE)
    assert copy is not None
    Journal(writer, ALICE).add(copy, copy.add_user("from another process"))
    assert reader.notices.wait(key(chat.id, REVISION), seen, DEADLINE) != seen
    assert board.revision(chat.id, ALICE, chat.revision) == copy.revision
    assert len(reads) == 2


def test_on_sqlite_a_write_wakes_the_waiters_of_its_own_process(tmp_path) -> None:
    store = ConversationStore(f"sqlite:///{tmp_path / 'chat.sqlite3'}")
    try:
        assert not store.notices.listening  # no listener: tabs also read on their timer
        chat, reply = reply_being_written(store)
        seen = store.notices.version(key(chat.id))
        reply.text = "Once"
        assert store.checkpoint(chat.id, reply, ALICE)
        assert store.notices.wait(key(chat.id), seen, DEADLINE) != seen
    finally:
        store.close()


def test_a_reply_started_on_another_process_reaches_the_writing_board_without_polling(
    two_processes: tuple[ConversationStore, ConversationStore],
) -> None:
    writer, reader = two_processes
    reads: list[str] = []

    def read(owner: str) -> tuple[dict[str, str], float | None]:
        reads.append(owner)
        return reader._being_written(owner)

    board = WritingBoard(read, max_age=0.0, notices=reader.notices)  # no time-based freshness
    assert board.replies(ALICE) == {}
    for _ in range(20):
        assert board.replies(ALICE) == {}
    assert len(reads) == 1  # no news, no query
    waited = key(owner_tag(ALICE), WRITING)
    seen = reader.notices.version(waited)
    chat, reply = reply_being_written(writer)
    assert reader.notices.wait(waited, seen, DEADLINE) != seen, "no word of the reply's start"
    assert board.replies(ALICE) == {reply.id: chat.id}
    seen = reader.notices.version(waited)
    reply.text, reply.status = "The end.", Status.COMPLETE
    assert writer.settle_reply(chat.id, reply, ALICE)
    assert reader.notices.wait(waited, seen, DEADLINE) != seen, "no word of the reply's end"
    assert board.replies(ALICE) == {}
    assert len(reads) == 3


def test_a_dead_writers_reply_leaves_the_writing_board_when_its_lease_runs_out(
    two_processes: tuple[ConversationStore, ConversationStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = two_processes
    monkeypatch.setattr(store_module, "LEASE_SECONDS", 1.0)
    board = WritingBoard(reader._being_written, max_age=0.0, notices=reader.notices)
    chat, reply = reply_being_written(writer, heard_by=reader)
    deadline = time.monotonic() + DEADLINE
    while board.replies(ALICE) != {reply.id: chat.id}:  # its start's notice may be on the way
        assert time.monotonic() < deadline, "the board never showed the reply being written"
        reader.notices.wait("nothing", reader.notices.version("nothing"), 0.05)
    # The writer dies: no checkpoint renews the lease, no notice says it ended.
    while board.replies(ALICE):
        assert time.monotonic() < deadline, "a dead writer's reply stayed on the board"
        reader.notices.wait("nothing", reader.notices.version("nothing"), 0.05)


def test_a_dropped_databases_page_store_is_closed_and_its_listener_ends(postgres_url: str) -> None:
    """A page's store outlives its session; once its database is gone for good (a test's
    throw-away one), closing it ends the listener that would otherwise retry forever."""
    settings = load_settings([{"DATABASE_URL": postgres_url}])
    store = open_store(settings)
    assert store is not None
    assert store.notices.wait_listening(DEADLINE), "the notice listener never connected"
    listener = store.notices._listener
    assert listener is not None

    close_stores(postgres_url)

    listener.join(DEADLINE)
    assert not listener.is_alive()
    assert open_store(settings) is not store  # forgotten: the next run opens it anew
    close_stores(postgres_url)
