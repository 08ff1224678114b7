"""The revision board: the tabs of one process watch their conversations with one query."""

from __future__ import annotations

from collections.abc import Iterable

from chatpage.data.conversation import Conversation
from chatpage.database.conversations import ConversationStore
from chatpage.database.watching import RevisionBoard
from chatpage.journal import Journal

ALICE = "header:alice@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_many_tabs_asking_within_a_moment_cost_one_query() -> None:
    stored = {"a": (ALICE, 3), "b": (ALICE, 5)}
    reads: list[list[str]] = []

    def read(ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        reads.append(sorted(ids))
        return {i: stored[i] for i in ids if i in stored}

    clock = Clock()
    board = RevisionBoard(read, max_age=1.0, clock=clock)
    assert board.revision("a", ALICE, 3) == 3
    assert board.revision("b", ALICE, 5) == 5  # not read yet: read at once, with "a"
    for _ in range(50):
        assert board.revision("a", ALICE, 3) == 3
        assert board.revision("b", ALICE, 5) == 5
    assert reads == [["a"], ["a", "b"]]
    stored["a"] = (ALICE, 4)  # another window wrote
    clock.now += 1.5
    assert board.revision("a", ALICE, 3) == 4
    assert reads[-1] == ["a", "b"]  # one query for both again


def test_a_tabs_own_newer_write_is_not_taken_for_a_change_elsewhere() -> None:
    stored = {"a": (ALICE, 3)}
    board = RevisionBoard(lambda ids: {i: stored[i] for i in ids if i in stored}, max_age=60)
    assert board.revision("a", ALICE, 3) == 3
    stored["a"] = (ALICE, 4)  # this tab's own message
    assert board.revision("a", ALICE, 4) == 4  # read again at once, not "changed elsewhere"


def test_a_deleted_or_someone_elses_conversation_reads_as_gone() -> None:
    stored = {"a": ("header:bob@example.com", 2)}
    board = RevisionBoard(lambda ids: {i: stored[i] for i in ids if i in stored})
    assert board.revision("a", ALICE, 2) is None
    assert board.revision("missing", ALICE, 1) is None


def test_the_board_reads_the_store_and_sees_another_processes_write(database_url: str) -> None:
    store, elsewhere = ConversationStore(database_url), ConversationStore(database_url)
    try:
        chat = Conversation(model_id="gpt-4")
        Journal(store, ALICE).add(chat, chat.add_user("first"))
        clock = Clock()
        board = RevisionBoard(store.revisions, max_age=1.0, clock=clock)
        assert board.revision(chat.id, ALICE, chat.revision) == chat.revision
        copy = elsewhere.load(chat.id, ALICE)
        assert copy is not None
        Journal(elsewhere, ALICE).add(copy, copy.add_user("from another process"))
        clock.now += 1.5
        assert board.revision(chat.id, ALICE, chat.revision) == copy.revision > chat.revision
    finally:
        store.close()
        elsewhere.close()
