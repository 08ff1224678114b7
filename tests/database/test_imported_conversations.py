"""A conversation from ChatGPT's or Claude's export is stored once per person, on SQLite and
PostgreSQL, however many times, tabs or processes import it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from chatpage.data import foreign_imports
from chatpage.data.foreign import Found
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from testkit import foreign_exports as exports

ALICE, BOB = "header:alice@example.com", "header:bob@example.com"


@pytest.fixture
def store(database_url: str) -> Iterator[ConversationStore]:
    opened = ConversationStore(database_url)
    yield opened
    opened.close()


def found() -> list[Found]:
    """The Claude export as read afresh: new ids each time, like a second upload."""
    return foreign_imports.read(exports.claude_zip()).found


def import_all(store: ConversationStore, owner: str) -> list[bool]:
    journal = Journal(store, owner=owner)
    return [journal.import_once(f, "claude") for f in found()]


def test_importing_the_same_export_twice_stores_each_conversation_once(
    store: ConversationStore,
) -> None:
    assert import_all(store, ALICE) == [True, True]
    listed = store.list(ALICE)
    assert import_all(store, ALICE) == [False, False]
    assert store.list(ALICE) == listed


def test_an_imported_conversation_keeps_its_times_from_the_export(
    store: ConversationStore,
) -> None:
    import_all(store, ALICE)
    by_title = {s.title: s for s in store.list(ALICE)}
    essay = by_title["Essay feedback"]
    assert essay.updated_at == pytest.approx(1717236245.0)  # 2024-06-01T10:04:05Z
    loaded = store.load(essay.id, ALICE)
    assert loaded is not None
    assert loaded.created_at == pytest.approx(1717236000.0)


def test_each_person_imports_their_own_copy(store: ConversationStore) -> None:
    assert import_all(store, ALICE) == [True, True]
    assert import_all(store, BOB) == [True, True]
    alice, bob = store.list(ALICE), store.list(BOB)
    assert len(alice) == len(bob) == 2
    assert not {s.id for s in alice} & {s.id for s in bob}


def test_a_deleted_import_comes_back_when_imported_again(store: ConversationStore) -> None:
    import_all(store, ALICE)
    gone = next(s for s in store.list(ALICE) if s.title == "Essay feedback")
    assert store.delete(gone.id, ALICE)
    assert sorted(import_all(store, ALICE)) == [False, True]
    assert len(store.list(ALICE)) == 2
    assert import_all(store, ALICE) == [False, False]


def test_two_processes_importing_the_same_export_at_once_store_it_once(
    database_url: str,
) -> None:
    stores = [ConversationStore(database_url) for _ in range(4)]
    start = threading.Barrier(len(stores))
    outcomes: list[list[bool]] = []
    errors: list[BaseException] = []

    def run(store: ConversationStore) -> None:
        start.wait(timeout=30)
        try:
            outcomes.append(import_all(store, ALICE))
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert not errors, errors
        assert len(outcomes) == len(stores)
        assert sum(sum(o) for o in outcomes) == 2  # each conversation stored by one of them
        assert len(stores[0].list(ALICE)) == 2
    finally:
        for opened in stores:
            opened.close()
