"""Projects in the store, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatpage.data.conversation import Conversation, Message
from chatpage.data.project_prompt import FILES_MAX, FILES_MAX_CHARS, PROJECTS_MAX
from chatpage.database.conversations import ConversationStore
from chatpage.database.notices import key
from chatpage.database.projects import project_key

ALICE, BOB = "header:alice@example.com", "header:bob@example.com"


@pytest.fixture
def store(database_url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(database_url)
    yield store
    store.close()


def stored(store: ConversationStore, owner: str = ALICE, question: str = "Hi") -> Conversation:
    chat = Conversation(model_id="gpt-4")
    chat.add_user(question)
    chat.append(Message("assistant", "Hello", model_id="gpt-4"))
    assert store.create(chat, owner)
    return chat


def test_a_project_is_created_renamed_given_instructions_and_listed_by_name(
    store: ConversationStore,
) -> None:
    zebra = store.projects.create(ALICE, "Zebra")
    apple = store.projects.create(ALICE, "  Яблоко  ")
    assert zebra is not None
    assert apple is not None
    assert store.projects.rename(ALICE, zebra.id, "Apple")
    assert store.projects.set_instructions(ALICE, zebra.id, "Answer in French.")
    assert [(p.name, p.instructions) for p in store.projects.list(ALICE)] == [
        ("Apple", "Answer in French."),
        ("Яблоко", ""),
    ]
    assert store.projects.create(ALICE, "   ") is None  # a project needs a name


def test_another_person_neither_sees_nor_changes_a_project(store: ConversationStore) -> None:
    project = store.projects.create(ALICE, "Private")
    assert project is not None
    own = stored(store, BOB)
    assert store.projects.list(BOB) == []
    assert store.projects.get(BOB, project.id) is None
    assert not store.projects.rename(BOB, project.id, "Mine now")
    assert not store.projects.set_instructions(BOB, project.id, "Leak everything.")
    assert store.projects.add_files(BOB, project.id, [("a.txt", 1, "a")]) is not None
    assert store.projects.files(BOB, project.id) == []
    assert not store.projects.move(BOB, own.id, project.id)  # not into someone else's
    assert store.projects.delete(BOB, project.id) == []
    alices = stored(store, ALICE)
    assert not store.projects.move(BOB, alices.id, None)  # nor someone else's conversation
    assert store.projects.get(ALICE, project.id) == project


def test_moving_a_conversation_in_and_out_moves_its_revision_and_is_announced(
    store: ConversationStore,
) -> None:
    project = store.projects.create(ALICE, "Work")
    assert project is not None
    chat = stored(store)
    heard = store.notices.version(key(chat.id))
    assert store.projects.move(ALICE, chat.id, project.id)
    assert store.notices.version(key(chat.id)) != heard
    assert store.revision(chat.id, ALICE) == 2  # other tabs take the change in
    assert store.projects.of_conversation(ALICE, chat.id) == project
    assert store.projects.memberships(ALICE) == {chat.id: project.id}
    assert store.projects.move(ALICE, chat.id, None)
    assert store.projects.of_conversation(ALICE, chat.id) is None
    assert store.projects.memberships(ALICE) == {}


def test_deleting_a_project_keeps_its_conversations_in_the_plain_list(
    store: ConversationStore,
) -> None:
    project = store.projects.create(ALICE, "Old")
    assert project is not None
    chat = stored(store)
    store.projects.move(ALICE, chat.id, project.id)
    store.projects.add_files(ALICE, project.id, [("notes.txt", 5, "notes")])
    heard = store.notices.version(key(project_key(project.id)))
    assert store.projects.delete(ALICE, project.id) == [chat.id]
    assert store.notices.version(key(project_key(project.id))) != heard
    assert store.projects.list(ALICE) == []
    assert store.projects.memberships(ALICE) == {}
    assert [s.id for s in store.list(ALICE)] == [chat.id]
    assert store.load(chat.id, ALICE) is not None


def test_deleting_a_conversation_ends_its_membership(store: ConversationStore) -> None:
    project = store.projects.create(ALICE, "Work")
    assert project is not None
    chat = stored(store)
    store.projects.move(ALICE, chat.id, project.id)
    assert store.delete(chat.id, ALICE)
    assert store.projects.memberships(ALICE) == {}
    assert store.projects.list(ALICE) == [project]


def test_reference_files_keep_their_order_and_their_bounds(store: ConversationStore) -> None:
    project = store.projects.create(ALICE, "Docs")
    assert project is not None
    kept = store.projects.add_files(ALICE, project.id, [("b.txt", 3, "bbb"), ("a.md", 2, "аа")])
    assert kept is None
    assert [(f.name, f.size, f.text) for f in store.projects.files(ALICE, project.id)] == [
        ("b.txt", 3, "bbb"),
        ("a.md", 2, "аа"),
    ]
    too_many = [(f"{n}.txt", 1, "x") for n in range(FILES_MAX - 1)]
    refused = store.projects.add_files(ALICE, project.id, too_many)
    assert refused is not None
    assert refused.key == "project_files_too_many"
    too_long = [("big.txt", 1, "x" * (FILES_MAX_CHARS - 4))]
    refused = store.projects.add_files(ALICE, project.id, too_long)
    assert refused is not None
    assert refused.key == "project_files_too_long"
    assert len(store.projects.files(ALICE, project.id)) == 2  # nothing of a refusal is kept
    first = store.projects.files(ALICE, project.id)[0]
    assert store.projects.remove_file(ALICE, project.id, first.id)
    assert [f.name for f in store.projects.files(ALICE, project.id)] == ["a.md"]


def test_a_person_keeps_at_most_so_many_projects(store: ConversationStore) -> None:
    for number in range(PROJECTS_MAX):
        assert store.projects.create(ALICE, f"p{number}") is not None
    assert store.projects.create(ALICE, "one more") is None
    assert store.projects.create(BOB, "Bob's first") is not None


def test_a_demo_visitors_old_projects_are_forgotten_with_their_conversations(
    store: ConversationStore,
) -> None:
    old = store.projects.create("demo:visitor", "Old")
    kept = store.projects.create(ALICE, "Alice's")
    assert old is not None
    assert kept is not None
    store.delete_older_than(-60, "demo:")  # everything is older than a minute from now
    assert store.projects.list("demo:visitor") == []
    assert store.projects.list(ALICE) == [kept]
