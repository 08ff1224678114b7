"""The revision board: the tabs of one process watch their conversations with one query."""

from __future__ import annotations

from collections.abc import Iterable

from chatpage.data.conversation import Conversation, Message, Status
from chatpage.database.conversations import ConversationStore
from chatpage.database.notices import Notices
from chatpage.database.watching import ReadWriting, RevisionBoard, WritingBoard
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


# --- the writing board: each person's replies being written, for the list's marks ----------


def counting(read: ReadWriting, reads: list[str]) -> ReadWriting:
    def counted(owner: str) -> tuple[dict[str, str], float | None]:
        reads.append(owner)
        return read(owner)

    return counted


def start_reply(store: ConversationStore) -> tuple[Conversation, Message]:
    chat = Conversation(model_id="gpt-4")
    journal = Journal(store, ALICE)
    journal.add(chat, chat.add_user("Tell me a story"))
    reply = chat.start_reply("gpt-4")
    journal.add(chat, reply)
    return chat, reply


def test_a_persons_tabs_read_their_replies_being_written_once_until_one_starts_or_ends(
    database_url: str,
) -> None:
    store = ConversationStore(database_url)
    try:
        if store.backend == "postgresql":  # its (re)connecting would tell the board to read
            assert store.notices.wait_listening(30.0), "the notice listener never connected"
        reads: list[str] = []
        board = WritingBoard(
            counting(store._being_written, reads), max_age=60.0, notices=store.notices
        )

        def twenty_tabs_see(expected: dict[str, str]) -> int:
            """Reads made while twenty tabs of hers ask. On PostgreSQL this process's own
            notice may come back once more through LISTEN, and cost one more read."""
            before = len(reads)
            for _ in range(20):
                assert board.replies(ALICE) == expected
            return len(reads) - before

        assert twenty_tabs_see({}) == 1
        chat, reply = start_reply(store)  # in this process: heard on commit, on any database
        assert 1 <= twenty_tabs_see({reply.id: chat.id}) <= 2
        reply.text, reply.status = "The end.", Status.COMPLETE
        assert store.settle_reply(chat.id, reply, ALICE)
        assert 1 <= twenty_tabs_see({}) <= 2
        assert board.replies("header:bob@example.com") == {}  # someone else: read on its own
    finally:
        store.close()


def test_an_entry_expires_when_the_earliest_lease_in_it_could_have_run_out() -> None:
    stored: dict[str, tuple[dict[str, str], float | None]] = {ALICE: ({"m1": "c1"}, 3.0)}
    reads: list[str] = []
    clock = Clock()
    board = WritingBoard(counting(lambda owner: stored[owner], reads), max_age=60.0, clock=clock)
    assert board.replies(ALICE) == {"m1": "c1"}
    clock.now += 2.9
    assert board.replies(ALICE) == {"m1": "c1"}
    assert len(reads) == 1
    stored[ALICE] = ({}, None)  # its writer died: no notice, its lease ran out
    clock.now += 0.2
    assert board.replies(ALICE) == {}
    assert len(reads) == 2


def test_without_the_listener_another_processes_reply_is_seen_within_max_age(
    database_url: str,
) -> None:
    store, elsewhere = ConversationStore(database_url), ConversationStore(database_url)
    deaf = Notices(store.engine)  # hears only its own process's writes, as on SQLite
    try:
        deaf.close()  # (on PostgreSQL, with its listener down)
        if deaf._listener is not None:  # it stops within its heartbeat
            deaf._listener.join(30.0)
            assert not deaf._listener.is_alive(), "the notice listener did not stop"
        clock = Clock()
        board = WritingBoard(store._being_written, max_age=2.0, clock=clock, notices=deaf)
        assert board.replies(ALICE) == {}
        chat, reply = start_reply(elsewhere)
        clock.now += 1.9
        assert board.replies(ALICE) == {}  # not heard: as of at most max_age ago
        clock.now += 0.2
        assert board.replies(ALICE) == {reply.id: chat.id}
    finally:
        store.close()
        elsewhere.close()
