"""Saved system prompts: built in, a person's own, applied to a conversation and sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatpage.database.conversations import ConversationStore
from chatpage.database.prompts import PROMPTS_MAX
from liaobots_core.emulator import Emulator
from testkit.apptest import fresh_session, open_settings, send

ALICE, BOB = "header:alice@example.com", "header:bob@example.com"


@pytest.fixture
def store(database_url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(database_url)
    yield store
    store.close()


def test_each_person_keeps_their_own_prompts_by_name(store: ConversationStore) -> None:
    store.prompts.save(ALICE, "Юрист", "Отвечай как юрист.")
    store.prompts.save(ALICE, "Editor", "Edit for clarity.")
    kept = store.prompts.save(BOB, "Bob's", "Be brief.")
    assert kept is not None
    assert [p.name for p in store.prompts.list(ALICE)] == ["Editor", "Юрист"]
    assert not store.prompts.delete(ALICE, kept.id)  # not hers to delete
    assert store.prompts.delete(BOB, kept.id)
    assert store.prompts.list(BOB) == []


def test_a_person_keeps_at_most_so_many_prompts(store: ConversationStore) -> None:
    for number in range(PROMPTS_MAX):
        assert store.prompts.save(ALICE, f"p{number}", "x") is not None
    assert store.prompts.save(ALICE, "one more", "x") is None


@pytest.mark.usefixtures("own_database")
def test_a_built_in_prompt_becomes_the_conversations_and_goes_upstream(
    configured: Emulator,
) -> None:
    at = fresh_session()
    assert "prompt_choice" not in [s.key for s in at.main.selectbox]  # in a closed menu
    open_settings(at)
    at.main.selectbox(key="prompt_choice").set_value("builtin:translate").run()
    area = next(a for a in at.main.text_area if a.key.startswith("system_prompt_"))
    assert area.value.startswith("You are a translator.")
    assert at.main.selectbox(key="prompt_choice").value is None  # ready for the next choice
    send(at, "Good morning")
    assert configured.chat_requests[-1].body["prompt"].startswith("You are a translator.")


@pytest.mark.usefixtures("own_database", "configured")
def test_a_saved_prompt_is_offered_in_the_next_session_and_can_be_deleted() -> None:
    at = fresh_session()
    open_settings(at)
    area = next(a for a in at.main.text_area if a.key.startswith("system_prompt_"))
    area.input("Answer as a pirate.").run()
    at.main.text_input(key="prompt_name").input("Pirate").run()
    at.main.button(key="save_prompt").click().run()
    later = fresh_session()
    open_settings(later)
    chooser = later.main.selectbox(key="prompt_choice")
    assert "Pirate" in chooser.options
    delete = next(b for b in later.main.button if b.label == "Delete “Pirate”")
    delete.click().run()
    after = fresh_session()
    open_settings(after)
    chooser = after.main.selectbox(key="prompt_choice")
    assert "Pirate" not in chooser.options
