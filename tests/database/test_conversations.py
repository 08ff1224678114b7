"""The conversation store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError

from chatpage.data.conversation import Conversation, ErrorInfo, Message, Status
from chatpage.database.conversations import (
    ConversationGone,
    ConversationStore,
    default_url,
    make_engine,
    writer,
)
from chatpage.database.migrations import MIGRATIONS, applied, migrate
from chatpage.journal import Journal
from chatpage.settings import load_settings

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def store(database_url: str):
    store = ConversationStore(database_url)
    yield store
    store.close()


def conversation(first: str = "Как дела? 你好 👋", model_id: str = "gpt-4") -> Conversation:
    chat = Conversation(model_id=model_id, system_prompt="Будь краток.")
    chat.add_user(first)
    chat.append(Message("assistant", "Хорошо 🙂", model_id=model_id))
    return chat


def test_a_saved_conversation_loads_back_the_same(store: ConversationStore) -> None:
    chat = conversation()
    chat.append(Message("assistant", "cut", Status.FAILED, error=ErrorInfo("rate_limit", 429, 7.0)))
    store.create(chat, ALICE)
    loaded = store.load(chat.id, ALICE)
    assert loaded == chat


def test_list_is_newest_first_and_titled_by_the_first_message(store: ConversationStore) -> None:
    older, newer = conversation("Первый разговор"), conversation("Second chat")
    store.create(older, ALICE)
    store.create(newer, ALICE)
    assert [(s.id, s.title) for s in store.list(ALICE)] == [
        (newer.id, "Second chat"),
        (older.id, "Первый разговор"),
    ]
    Journal(store, ALICE).add(older, older.add_user("again"))  # touched: now the newest
    assert store.list(ALICE)[0].id == older.id


def test_rename_sets_the_title_and_an_empty_name_restores_the_default(
    store: ConversationStore,
) -> None:
    chat = conversation("Original question")
    store.create(chat, ALICE)
    assert store.rename(chat.id, "  Борщ  ", ALICE)
    assert store.list(ALICE)[0].title == "Борщ"
    assert store.rename(chat.id, "   ", ALICE)
    assert store.list(ALICE)[0].title == "Original question"


def test_delete_removes_the_conversation_and_its_messages(store: ConversationStore) -> None:
    chat = conversation()
    store.create(chat, ALICE)
    assert store.delete(chat.id, ALICE)
    assert store.load(chat.id, ALICE) is None
    assert store.list(ALICE) == []
    with store.engine.connect() as db:
        assert db.execute(text("SELECT count(*) FROM messages")).scalar() == 0


def test_search_finds_titles_and_message_text_case_insensitively(
    store: ConversationStore,
) -> None:
    soup, cake, percent = conversation("Recipe for soup"), conversation("Cake"), conversation("x")
    cake.messages[-1].text = "Use three EGGS and sugar"
    percent.messages[-1].text = "100% sure_thing"
    for chat in (soup, cake, percent):
        store.create(chat, ALICE)
    assert [s.id for s in store.list(ALICE, "SOUP")] == [soup.id]
    assert [s.id for s in store.list(ALICE, "eggs")] == [cake.id]
    assert [s.id for s in store.list(ALICE, "0% s")] == [percent.id]
    assert [s.id for s in store.list(ALICE, "e_g")] == []  # _ is a letter here, not a wildcard
    assert store.list(ALICE, "nothing like this") == []


def test_search_finds_any_part_of_a_word_in_any_case_and_script(
    store: ConversationStore,
) -> None:
    russian, quoted = conversation("Как сварить БОРЩ"), conversation("Quotes")
    quoted.messages[-1].text = 'He said "hello" twice'
    for chat in (russian, quoted):
        store.create(chat, ALICE)
    store.rename(quoted.id, "Цитаты Из Книги", ALICE)
    assert [s.id for s in store.list(ALICE, "борщ")] == [russian.id]
    assert [s.id for s in store.list(ALICE, "сварит")] == [russian.id]  # part of a word
    assert [s.id for s in store.list(ALICE, "цитаты из")] == [quoted.id]  # a title
    assert [s.id for s in store.list(ALICE, '"hello"')] == [quoted.id]
    assert [s.id for s in store.list(ALICE, "ещ")] == []  # too short for trigrams: scanned
    assert [s.id for s in store.list(ALICE, "бо")] == [russian.id]


def test_search_follows_a_reply_as_it_is_saved_and_forgets_deleted_ones(
    store: ConversationStore,
) -> None:
    chat = Conversation(model_id="gpt-4")
    journal = Journal(store, ALICE)
    journal.add(chat, chat.add_user("question"))
    reply = chat.start_reply("gpt-4")
    journal.add(chat, reply)
    reply.text = "the answer mentions a lighthouse"
    assert store.checkpoint(chat.id, reply, ALICE)
    assert [s.id for s in store.list(ALICE, "lighthouse")] == [chat.id]
    reply.text = "rewritten without it"
    assert store.checkpoint(chat.id, reply, ALICE)
    assert store.list(ALICE, "lighthouse") == []
    assert store.delete(chat.id, ALICE)
    assert store.list(ALICE, "rewritten") == []


def test_pinned_conversations_come_first_and_archived_ones_leave_the_list(
    store: ConversationStore,
) -> None:
    old, middle, new = conversation("old one"), conversation("middle one"), conversation("new")
    for chat in (old, middle, new):
        store.create(chat, ALICE)
    assert store.pin(old.id, ALICE, True)
    assert store.archive(middle.id, ALICE, True)
    listed = store.list(ALICE)
    assert [(s.id, s.pinned) for s in listed] == [(old.id, True), (new.id, False)]
    assert [(s.id, s.archived) for s in store.list(ALICE, archived=True)] == [(middle.id, True)]
    assert [s.archived for s in store.list(ALICE, "middle")] == [True]  # search finds it
    assert store.archive(middle.id, ALICE, False)
    assert store.pin(old.id, ALICE, False)
    assert {s.id for s in store.list(ALICE)} == {old.id, middle.id, new.id}
    assert not store.pin(old.id, "someone else", True)
    assert not store.archive(new.id, "someone else", True)


def test_postgresql_search_can_use_the_trigram_index(postgres_url: str) -> None:
    store = ConversationStore(postgres_url)
    try:
        with store.engine.connect() as db:
            db.execute(text("SET enable_seqscan = off"))
            plan = db.execute(
                text("EXPLAIN SELECT id FROM messages WHERE lower(text) LIKE '%маяк%'")
            ).all()
        assert "messages_text_trigram" in " ".join(row[0] for row in plan)
    finally:
        store.close()


def test_nobody_reads_or_changes_someone_elses_conversation(store: ConversationStore) -> None:
    chat = conversation("Alice's secret")
    store.create(chat, ALICE)
    assert store.load(chat.id, BOB) is None
    assert store.list(BOB) == []
    assert store.list(BOB, "secret") == []
    assert not store.rename(chat.id, "mine now", BOB)
    assert not store.delete(chat.id, BOB)
    reply = chat.start_reply("gpt-4")
    Journal(store, ALICE).add(chat, reply)
    assert not store.checkpoint(chat.id, reply, BOB)
    assert store.settle(chat, reply, BOB) is None
    assert not store.show_branch(chat.id, reply.id, BOB)
    with pytest.raises(ConversationGone):
        store.add_message(chat, Message("user", "mine now", parent_id=reply.id), BOB)
    assert not store.create(chat, BOB)  # its ids are taken: an import would get new ones
    assert store.load(chat.id, ALICE) == chat


def test_reply_saved_mid_stream_comes_back_interrupted(store: ConversationStore) -> None:
    chat = conversation()
    store.create(chat, ALICE)
    reply = chat.start_reply("gpt-4")
    Journal(store, ALICE).add(chat, reply)
    reply.text = "Половина отв"
    assert store.checkpoint(chat.id, reply, ALICE)
    live = store.load(chat.id, ALICE)
    assert live is not None
    assert live.messages[-1].status is Status.STREAMING  # its writer holds the lease
    with store.engine.begin() as db:  # the writer stops renewing it: a crash
        db.execute(text("UPDATE messages SET lease_until = 0"))
    loaded = store.load(chat.id, ALICE)
    assert loaded is not None
    assert loaded.messages[-1].text == "Половина отв"
    assert loaded.messages[-1].status is Status.INTERRUPTED


def test_two_writers_at_once_lose_nothing(database_url: str) -> None:
    first, second = ConversationStore(database_url), ConversationStore(database_url)
    chats = {ALICE: [conversation(f"a{i}") for i in range(15)], BOB: []}
    chats[BOB] = [conversation(f"b{i}") for i in range(15)]
    shared = conversation("shared reply")
    first.create(shared, ALICE)
    copies = {ALICE: first.load(shared.id, ALICE), BOB: second.load(shared.id, ALICE)}
    errors: list[BaseException] = []

    def write(store: ConversationStore, owner: str) -> None:
        try:
            copy = copies[owner]
            assert copy is not None
            for chat in chats[owner]:
                store.create(chat, owner)
                Journal(store, ALICE).add(copy, copy.add_user(f"{owner} {chat.id}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(first, ALICE)),
        threading.Thread(target=write, args=(second, BOB)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(first.list(ALICE)) == 16
    assert len(second.list(BOB)) == 15
    merged = first.load(shared.id, ALICE)
    assert merged is not None
    assert len(merged.tree) == 2 + 30  # both writers' messages, none lost
    merged = first.load(shared.id, ALICE)
    assert merged is not None
    assert len(merged.tree) == 2 + 30  # both writers' messages, none lost
    first.close()
    second.close()


def test_migrations_run_from_an_empty_database(database_url: str) -> None:
    engine = writer(make_engine(database_url))
    assert migrate(engine) == [name for name, _ in MIGRATIONS]
    assert migrate(engine) == []  # a second start changes nothing
    assert applied(engine) == sorted(name for name, _ in MIGRATIONS)
    engine.dispose()


def test_migrations_upgrade_the_previous_schema_and_keep_its_data(database_url: str) -> None:
    engine = writer(make_engine(database_url))
    migrate(engine, upto="m001_conversations_and_messages")
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO conversations (id, title, model_id, system_prompt, created_at,"
                " updated_at) VALUES ('old', NULL, 'gpt-4', '', 1, 2)"
            )
        )
        db.execute(
            text(
                "INSERT INTO messages (id, conversation_id, position, role, text, status,"
                " created_at) VALUES ('m1', 'old', 0, 'user', 'Старый вопрос', 'complete', 1)"
            )
        )
    engine.dispose()
    store = ConversationStore(database_url)  # starting the app migrates forward
    loaded = store.load("old", "local")
    assert loaded is not None
    assert loaded.messages[0].text == "Старый вопрос"
    assert store.list("local")[0].title == "Старый вопрос"
    assert [s.id for s in store.list("local", "СТАРЫЙ")] == ["old"]  # indexed as it upgraded
    store.close()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    store = ConversationStore(f"sqlite:///{tmp_path / 'chat.sqlite3'}")
    with store.engine.connect() as db:
        assert db.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_plain_postgresql_urls_use_psycopg_3(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    engine = make_engine(plain)
    assert engine.dialect.driver == "psycopg"
    with engine.connect() as db:
        assert db.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_old_visitor_conversations_are_purged(store: ConversationStore) -> None:
    old, kept = conversation("old"), conversation("kept")
    store.create(old, "demo:visitor-1")
    store.create(kept, ALICE)
    with store.engine.begin() as db:
        db.execute(text("UPDATE conversations SET updated_at = 0"))
    assert store.delete_older_than(3600, "demo:") == 1
    assert store.load(old.id, "demo:visitor-1") is None
    assert store.load(kept.id, ALICE) is not None


def test_migrations_turn_every_old_conversation_into_one_chain(database_url: str) -> None:
    engine = writer(make_engine(database_url))
    migrate(engine, upto="m003_demo_usage")
    with engine.begin() as db:
        for chat in ("old-1", "old-2"):
            db.execute(
                text(
                    "INSERT INTO conversations (id, owner, title, model_id, system_prompt,"
                    " created_at, updated_at) VALUES (:id, 'local', NULL, 'gpt-4', '', 1, 2)"
                ),
                {"id": chat},
            )
            for position in (2, 0, 3, 1):  # stored out of order; `position` is the order
                db.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, position, role, text, status,"
                        " created_at) VALUES (:id, :c, :p, :role, :text, 'complete', :p)"
                    ),
                    {
                        "id": f"{chat}-m{position}",
                        "c": chat,
                        "p": position,
                        "role": "user" if position % 2 == 0 else "assistant",
                        "text": f"{chat} сообщение {position}",
                    },
                )
    engine.dispose()
    store = ConversationStore(database_url)  # starting the app migrates forward
    for chat in ("old-1", "old-2"):
        loaded = store.load(chat, "local")
        assert loaded is not None
        assert [m.text for m in loaded.messages] == [f"{chat} сообщение {p}" for p in range(4)]
        assert [m.parent_id for m in loaded.messages] == [None] + [f"{chat}-m{p}" for p in range(3)]
        assert len(loaded.tree) == 4
        Journal(store, "local").add(loaded, loaded.add_user("после миграции"))
        again = store.load(chat, "local")
        assert again is not None
        assert [m.text for m in again.messages][-2:] == [f"{chat} сообщение 3", "после миграции"]
    store.close()


def test_a_message_sent_from_a_stale_copy_starts_a_branch_and_drops_nothing(
    store: ConversationStore,
) -> None:
    chat = conversation()
    store.create(chat, ALICE)
    tab_a, tab_b = store.load(chat.id, ALICE), store.load(chat.id, ALICE)
    assert tab_a is not None
    assert tab_b is not None
    journal_a, journal_b = Journal(store, ALICE), Journal(store, ALICE)
    from_a = tab_a.add_user("from tab A")
    journal_a.add(tab_a, from_a)
    assert not journal_a.changed_elsewhere
    from_b = tab_b.add_user("from tab B, which still showed the first answer")
    journal_b.add(tab_b, from_b)
    assert journal_b.changed_elsewhere  # B is told, and now has A's message too
    assert set(tab_b.tree) == {*chat.tree, from_a.id, from_b.id}
    assert tab_b.messages[-1] is from_b
    stored = store.load(chat.id, ALICE)
    assert stored is not None
    assert [m.text for m in stored.siblings(stored.tree[from_b.id])] == [
        "from tab A",
        "from tab B, which still showed the first answer",
    ]
    assert stored.messages[-1].id == from_b.id  # the newest send is on show after a reload


def test_only_one_window_can_take_up_a_cut_reply(store: ConversationStore) -> None:
    chat = conversation()
    cut = chat.start_reply("gpt-4")
    cut.text, cut.status = "half", Status.STOPPED
    store.create(chat, ALICE)
    first, second = store.load(chat.id, ALICE), store.load(chat.id, ALICE)
    assert first is not None
    assert second is not None
    for copy in (first, second):
        copy.tree[cut.id].status = Status.STREAMING
    assert store.resume(first, first.tree[cut.id], ALICE) is not None
    assert store.resume(second, second.tree[cut.id], ALICE) is None
    live = store.load(chat.id, ALICE)
    assert live is not None
    assert live.tree[cut.id].status is Status.STREAMING  # written elsewhere, not interrupted


def test_a_late_checkpoint_never_brings_a_settled_reply_back(store: ConversationStore) -> None:
    chat = conversation()
    store.create(chat, ALICE)
    reply = chat.start_reply("gpt-4")
    Journal(store, ALICE).add(chat, reply)
    reply.text, reply.status = "done", Status.COMPLETE
    Journal(store, ALICE).settle(chat, reply)
    reply.text, reply.status = "done and more", Status.STREAMING
    assert not store.checkpoint(chat.id, reply, ALICE)
    loaded = store.load(chat.id, ALICE)
    assert loaded is not None
    assert (loaded.tree[reply.id].text, loaded.tree[reply.id].status) == ("done", Status.COMPLETE)


def test_many_replies_are_checkpointed_in_one_transaction_each_told_whether_to_go_on(
    store: ConversationStore,
) -> None:
    journal = Journal(store, ALICE)
    live, settled, stopped = [], None, None
    for _ in range(3):
        chat = conversation()
        store.create(chat, ALICE)
        reply = chat.start_reply("gpt-4")
        journal.add(chat, reply)
        live.append((chat, reply))
    (chat_a, reply_a), (chat_b, settled), (chat_c, stopped) = live
    settled.text, settled.status = "done", Status.COMPLETE
    journal.settle(chat_b, settled)
    assert store.request_stop(chat_c.id, stopped.id, ALICE)
    reply_a.text, settled.text, stopped.text = "so far", "done and more", "cut"
    settled.status = Status.STREAMING
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    event.listen(store.engine, "commit", count)
    try:
        kept = store.checkpoint_many(
            [
                (chat.id, reply, ALICE)
                for chat, reply in ((chat_a, reply_a), (chat_b, settled), (chat_c, stopped))
            ]
        )
    finally:
        event.remove(store.engine, "commit", count)
    assert kept == [True, False, False]
    assert len(commits) == 1
    texts = [store.load(chat.id, ALICE).tree[reply.id].text for chat, reply in live]  # type: ignore[union-attr]
    assert texts == ["so far", "done", ""]


def test_a_failed_write_in_a_batch_of_checkpoints_keeps_none_of_it(
    store: ConversationStore,
) -> None:
    chat = conversation()
    store.create(chat, ALICE)
    reply = chat.start_reply("gpt-4")
    Journal(store, ALICE).add(chat, reply)
    reply.text = "first"
    assert store.checkpoint_many([(chat.id, reply, ALICE)]) == [True]
    broken = replace(reply, text=object())  # not storable: its statement fails
    with pytest.raises(SQLAlchemyError):
        store.checkpoint_many(
            [(chat.id, replace(reply, text="second"), ALICE), (chat.id, broken, ALICE)]
        )
    assert store.load(chat.id, ALICE).tree[reply.id].text == "first"  # type: ignore[union-attr]


def test_adding_a_message_writes_the_same_few_rows_however_long_the_conversation(
    store: ConversationStore,
) -> None:
    def statements_to_add_one(size: int) -> list[str]:
        chat = Conversation.linear(
            [Message("user" if i % 2 == 0 else "assistant", f"m{i}") for i in range(size)],
            model_id="gpt-4",
        )
        store.create(chat, ALICE)
        seen: list[str] = []

        def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
            seen.append(statement.split()[0].upper())

        event.listen(store.engine, "before_cursor_execute", record)
        try:
            Journal(store, ALICE).add(chat, chat.add_user("one more"))
        finally:
            event.remove(store.engine, "before_cursor_execute", record)
        return seen

    small, large = statements_to_add_one(10), statements_to_add_one(1000)
    assert small == large
    assert small.count("INSERT") == 1
    assert "DELETE" not in small


def test_a_reply_cut_before_leases_existed_can_be_taken_up(store: ConversationStore) -> None:
    chat = conversation()
    cut = chat.start_reply("gpt-4")
    cut.text = "half"
    store.create(chat, ALICE)
    with store.engine.begin() as db:  # as migration m004 leaves a reply cut by the old code
        db.execute(text("UPDATE messages SET lease_until = NULL"))
    loaded = store.load(chat.id, ALICE)
    assert loaded is not None
    assert loaded.tree[cut.id].status is Status.INTERRUPTED
    loaded.tree[cut.id].status = Status.STREAMING
    assert store.resume(loaded, loaded.tree[cut.id], ALICE) is not None


def test_a_rename_reaches_another_tabs_copy(store: ConversationStore) -> None:
    chat = conversation("Борщ")
    store.create(chat, ALICE)
    other_tab = store.load(chat.id, ALICE)
    assert other_tab is not None
    assert store.rename(chat.id, "Рецепты", ALICE)
    assert Journal(store, ALICE).refresh(other_tab)
    assert other_tab.title == "Рецепты"


def test_a_question_keeps_its_files_through_the_store(store: ConversationStore) -> None:
    from chatpage.data.conversation import Attachment

    chat = conversation()
    files = (Attachment("a.py", 8, "print('```')"), Attachment("b.txt", 2, "hi"))
    store.create(chat, ALICE)
    question = chat.add_user("and these?", files)
    store.add_message(chat, question, ALICE)
    loaded = store.load(chat.id, ALICE)
    assert loaded is not None
    assert loaded.tree[question.id].attachments == files
    assert loaded.wire_messages()[-1]["content"] == chat.wire_messages()[-1]["content"]
    assert loaded.messages[0].attachments == ()  # a question without files has none


def test_the_data_folder_comes_from_secrets_like_every_other_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAT_DATA_DIR", raising=False)
    settings = load_settings([{"CHAT_DATA_DIR": str(tmp_path / "from-secrets")}, {}])
    store = ConversationStore(default_url(settings.data_dir))
    store.engine.dispose()
    assert [p.name for p in (tmp_path / "from-secrets").iterdir()][:1]


def test_writers_of_one_process_take_turns_and_a_failed_write_gives_its_turn_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ConversationStore(f"sqlite:///{tmp_path / 'turns.sqlite3'}")
    chat = conversation()
    store.create(chat, ALICE)
    replies = []
    for _ in range(8):
        reply = chat.start_reply("gpt-4")
        Journal(store, ALICE).add(chat, reply)
        replies.append(reply)
    with pytest.raises(SQLAlchemyError):  # a write that fails mid-transaction
        store.checkpoint_many([(chat.id, replace(replies[0], text=object()), ALICE)])
    errors: list[BaseException] = []

    def write(reply: Message) -> None:
        try:
            for n in range(20):
                assert store.checkpoint(chat.id, replace(reply, text=f"part {n}"), ALICE)
        except BaseException as error:  # told to the test below
            errors.append(error)

    with caplog.at_level("WARNING"):
        threads = [threading.Thread(target=write, args=(reply,)) for reply in replies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    store.close()
    assert errors == []
    assert "turn was not given back" not in caplog.text
    loaded = ConversationStore(f"sqlite:///{tmp_path / 'turns.sqlite3'}").load(chat.id, ALICE)
    assert loaded is not None
    assert {loaded.tree[reply.id].text for reply in replies} == {"part 19"}


def test_a_reply_ending_during_a_batch_of_checkpoints_waits_for_it_without_a_deadlock(
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL's; SQLite lets one writer in at a time")
    store = ConversationStore(database_url)
    chats = []
    for _ in range(2):
        chat = conversation()
        store.create(chat, ALICE)
        reply = chat.start_reply("gpt-4")
        Journal(store, ALICE).add(chat, reply)
        chats.append((chat, reply))
    (_, first), (ending_chat, ending) = chats
    outcome: list[object] = []
    with store.engine.connect() as ending_writer:  # locks as `_change_state` does
        ending_writer.execute(
            text("SELECT revision FROM conversations WHERE id = :id FOR UPDATE"),
            {"id": ending_chat.id},
        )
        batch = threading.Thread(
            target=lambda: outcome.append(
                store.checkpoint_many([(c.id, replace(r, text="so far"), ALICE) for c, r in chats])
            )
        )
        batch.start()
        deadline = time.monotonic() + 30
        with store.engine.connect() as watcher:  # until the batch waits for the locked row
            waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
            while not watcher.execute(text(waiting)).scalar() and time.monotonic() < deadline:
                watcher.rollback()
        assert batch.is_alive(), "the batch should wait for the conversation's lock"
        ending_writer.execute(
            text("UPDATE messages SET status = 'complete', text = 'the end' WHERE id = :id"),
            {"id": ending.id},
        )
        ending_writer.commit()
    batch.join(60)
    assert not batch.is_alive(), "awaited the batch of checkpoints for 60 s"
    assert outcome == [[True, False]]  # the first saved; the ended one left as it ended
    loaded = store.load(ending_chat.id, ALICE)
    assert loaded is not None
    assert loaded.tree[ending.id].text == "the end"
    assert store.load(chats[0][0].id, ALICE).tree[first.id].text == "so far"  # type: ignore[union-attr]
    store.close()


def test_a_comparison_is_stored_with_its_replies_and_closed_by_a_pick_or_a_question(
    store: ConversationStore,
) -> None:
    chat = Conversation(model_id="gpt-4")
    journal = Journal(store, ALICE)
    question = chat.add_user("Which model?")
    journal.add(chat, question)
    replies = []
    for model in ("gpt-4", "gpt-4o"):
        chat.rewind_to(question.id)
        replies.append(chat.append(Message("assistant", f"{model} says", model_id=model)))
        journal.add(chat, replies[-1])
    chat.comparing = tuple(r.id for r in replies)
    chat.rewind_to(replies[0].id)
    journal.compare(chat)
    loaded = store.load(chat.id, ALICE)
    assert loaded is not None
    assert loaded.comparing == chat.comparing
    assert loaded.leaf_id == replies[0].id
    assert store.load(chat.id, BOB) is None  # nobody else's to read
    assert not journal.changed_elsewhere

    chat.comparing = ()
    chat.switch_to(replies[1].id)
    chat.model_id = "gpt-4o"
    journal.compare(chat)
    picked = store.load(chat.id, ALICE)
    assert picked is not None
    assert (picked.comparing, picked.leaf_id, picked.model_id) == ((), replies[1].id, "gpt-4o")
    assert len(picked.tree) == 3

    chat.comparing = tuple(r.id for r in replies)
    journal.compare(chat)
    journal.add(chat, chat.add_user("next question"))  # a question closes a comparison
    after = store.load(chat.id, ALICE)
    assert after is not None
    assert after.comparing == ()


def test_a_damaged_comparison_record_opens_the_conversation_without_one(
    store: ConversationStore,
) -> None:
    chat = conversation()
    store.create(chat, ALICE)
    with store.engine.begin() as db:
        db.execute(text('UPDATE conversations SET comparing = \'{"not": "a list"}\''))
    loaded = store.load(chat.id, ALICE)
    assert loaded is not None
    assert loaded.comparing == ()
    assert loaded.leaf_id == chat.leaf_id


def test_a_page_loads_reads_on_postgresql_hold_no_transaction_open(postgres_url: str) -> None:
    """Each read of one statement a page load makes runs in autocommit: no BEGIN before it
    and no ROLLBACK after it, two of its four round trips to the server (`reader`)."""
    from psycopg.pq import TransactionStatus

    store = ConversationStore(postgres_url)
    statuses: list[TransactionStatus] = []

    @event.listens_for(store.engine, "after_cursor_execute")
    def after(db, *_: object) -> None:
        statuses.append(db.connection.dbapi_connection.info.transaction_status)

    try:
        store.revision("no-such-conversation", "alice")
        store._being_written("alice")
        store.prompts.list("alice")
        store.projects.list("alice")
        store.shares.links("alice")
        store.load("no-such-conversation", "alice")  # two statements: one snapshot for both
    finally:
        store.close()
    *reads, loaded = statuses
    assert reads == [TransactionStatus.IDLE] * 5
    assert loaded is TransactionStatus.INTRANS
