"""The conversation store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from chatpage.conversation import Conversation, ErrorInfo, Message, Status
from chatpage.migrations import MIGRATIONS, applied, migrate
from chatpage.store import ConversationStore, make_engine, writer

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def store(database_url: str):
    store = ConversationStore(database_url)
    yield store
    store.close()


def conversation(first: str = "Как дела? 你好 👋", model_id: str = "gpt-4") -> Conversation:
    chat = Conversation(model_id=model_id, system_prompt="Будь краток.")
    chat.add_user(first)
    chat.messages.append(Message("assistant", "Хорошо 🙂", model_id=model_id))
    return chat


def test_a_saved_conversation_loads_back_the_same(store: ConversationStore) -> None:
    chat = conversation()
    chat.messages.append(
        Message("assistant", "cut", Status.FAILED, error=ErrorInfo("rate_limit", 429, 7.0))
    )
    store.save(chat, ALICE)
    loaded = store.load(chat.id, ALICE)
    assert loaded == chat


def test_list_is_newest_first_and_titled_by_the_first_message(store: ConversationStore) -> None:
    older, newer = conversation("Первый разговор"), conversation("Second chat")
    store.save(older, ALICE)
    store.save(newer, ALICE)
    assert [(s.id, s.title) for s in store.list(ALICE)] == [
        (newer.id, "Second chat"),
        (older.id, "Первый разговор"),
    ]
    store.save_reply_text(older.id, older.messages[-1], ALICE)  # touched: now the newest
    assert store.list(ALICE)[0].id == older.id


def test_rename_sets_the_title_and_an_empty_name_restores_the_default(
    store: ConversationStore,
) -> None:
    chat = conversation("Original question")
    store.save(chat, ALICE)
    assert store.rename(chat.id, "  Борщ  ", ALICE)
    assert store.list(ALICE)[0].title == "Борщ"
    assert store.rename(chat.id, "   ", ALICE)
    assert store.list(ALICE)[0].title == "Original question"


def test_delete_removes_the_conversation_and_its_messages(store: ConversationStore) -> None:
    chat = conversation()
    store.save(chat, ALICE)
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
        store.save(chat, ALICE)
    assert [s.id for s in store.list(ALICE, "SOUP")] == [soup.id]
    assert [s.id for s in store.list(ALICE, "eggs")] == [cake.id]
    assert [s.id for s in store.list(ALICE, "0% s")] == [percent.id]
    assert [s.id for s in store.list(ALICE, "e_g")] == []  # _ is a letter here, not a wildcard
    assert store.list(ALICE, "nothing like this") == []


def test_nobody_reads_or_changes_someone_elses_conversation(store: ConversationStore) -> None:
    chat = conversation("Alice's secret")
    store.save(chat, ALICE)
    assert store.load(chat.id, BOB) is None
    assert store.list(BOB) == []
    assert store.list(BOB, "secret") == []
    assert not store.rename(chat.id, "mine now", BOB)
    assert not store.delete(chat.id, BOB)
    assert not store.save_reply_text(chat.id, chat.messages[-1], BOB)
    with pytest.raises(PermissionError):
        store.save(chat, BOB)
    assert store.load(chat.id, ALICE) == chat


def test_reply_saved_mid_stream_comes_back_interrupted(store: ConversationStore) -> None:
    chat = conversation()
    reply = chat.start_reply("gpt-4")
    store.save(chat, ALICE)
    reply.text = "Половина отв"
    assert store.save_reply_text(chat.id, reply, ALICE)
    loaded = store.load(chat.id, ALICE)
    assert loaded is not None
    assert loaded.messages[-1].text == "Половина отв"
    assert loaded.messages[-1].status is Status.INTERRUPTED


def test_two_writers_at_once_lose_nothing(database_url: str) -> None:
    first, second = ConversationStore(database_url), ConversationStore(database_url)
    chats = {ALICE: [conversation(f"a{i}") for i in range(15)], BOB: []}
    chats[BOB] = [conversation(f"b{i}") for i in range(15)]
    shared = conversation("shared reply")
    first.save(shared, ALICE)
    errors: list[BaseException] = []

    def write(store: ConversationStore, owner: str) -> None:
        try:
            for chat in chats[owner]:
                store.save(chat, owner)
                shared.messages[-1].text += owner[0]
                store.save_reply_text(shared.id, shared.messages[-1], ALICE)
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
    store.save(old, "demo:visitor-1")
    store.save(kept, ALICE)
    with store.engine.begin() as db:
        db.execute(text("UPDATE conversations SET updated_at = 0"))
    assert store.delete_older_than(3600, "demo:") == 1
    assert store.load(old.id, "demo:visitor-1") is None
    assert store.load(kept.id, ALICE) is not None
