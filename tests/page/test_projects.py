"""Projects through the page: made, chatted in, given files, left, deleted, kept apart, exported."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Message
from chatpage.data.project_export import to_json_with_project
from chatpage.data.project_prompt import CUT_MARK, FILES_HEADING, Project, ReferenceFile
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from chatpage.views.conversation_list.projects import export_json
from liaobots_core.emulator import Behavior, Emulator
from liaobots_core.emulator.catalog import DEFAULT_MODELS
from testkit.apptest import (
    conversation,
    fresh_session,
    listed,
    open_menu,
    open_settings,
    page_text,
    send,
)
from testkit.files import PNG_HEADER

pytestmark = pytest.mark.usefixtures("own_database", "configured")


def store_at(own_database: str) -> ConversationStore:
    return ConversationStore(own_database)


def create_project(at: AppTest, name: str, own_database: str, owner: str = LOCAL_OWNER) -> str:
    """Make a project from the sidebar's "New project" menu; its id."""
    at.session_state["new_project_menu"] = True  # as clicking the menu does
    at.run()
    at.sidebar.text_input(key="new_project_name").input(name)
    at.sidebar.button(key="create_project").click().run()
    assert not at.exception, at.exception
    store = store_at(own_database)
    try:
        return next(p.id for p in store.projects.list(owner) if p.name == name)
    finally:
        store.close()


def open_project_settings(at: AppTest, project_id: str) -> None:
    at.session_state[f"project_menu_{project_id}"] = True
    at.run()


def headers(at: AppTest) -> list[str]:
    """The projects' headers in the sidebar (its other expanders have other icons)."""
    return [e.label for e in at.sidebar.expander if e.icon == ":material/folder:"]


def group(at: AppTest, name: str) -> list[str]:
    """The titles listed under a project's header."""
    expander = next(e for e in at.sidebar.expander if e.label == name)
    return [b.label for b in expander.button if b.key and b.key.startswith("open_")]


def test_a_chat_started_in_a_project_sends_its_instructions_before_its_own_prompt(
    configured: Emulator, own_database: str
) -> None:
    at = fresh_session()
    project_id = create_project(at, "Французский", own_database)
    open_project_settings(at, project_id)
    at.sidebar.text_area(key=f"project_instructions_{project_id}").input("Answer in French.")
    at.sidebar.button(key=f"save_instructions_{project_id}").click().run()
    at.sidebar.button(key=f"new_chat_in_{project_id}").click().run()
    open_settings(at)
    at.main.text_area(key=f"system_prompt_{conversation(at).id}").input("Be brief.").run()
    send(at, "Bonjour")
    assert configured.chat_requests[-1].body["prompt"] == "Answer in French.\n\nBe brief."
    at.run()  # the next page load lists it under its project
    assert group(at, "Французский") == ["Bonjour"]
    assert "Bonjour" not in listed(at)[1:]  # under its project, not again in the plain list
    assert not any("changed in another window" in i.value for i in at.info)
    send(at, "Encore")  # every request of the conversation, not the first alone
    assert configured.chat_requests[-1].body["prompt"] == "Answer in French.\n\nBe brief."


def test_every_compared_reply_in_a_project_is_sent_the_projects_instructions(
    configured: Emulator, own_database: str
) -> None:
    at = fresh_session()
    project_id = create_project(at, "Team", own_database)
    open_project_settings(at, project_id)
    at.sidebar.text_area(key=f"project_instructions_{project_id}").input("Cite sources.")
    at.sidebar.button(key=f"save_instructions_{project_id}").click().run()
    at.sidebar.button(key=f"new_chat_in_{project_id}").click().run()
    send(at, "First")  # the chat joins its project with its first message
    at.toggle(key="compare_on").set_value(True).run()
    send(at, "Compare this")
    asked = [r.body for r in configured.chat_requests[-2:]]
    assert sorted(b["model"]["id"] for b in asked) == ["gpt-3.5-turbo", "gpt-4"]
    assert [b["prompt"] for b in asked] == ["Cite sources.", "Cite sources."]


def test_a_reference_file_too_long_for_the_model_is_cut_and_the_page_says_so(
    configured: Emulator, own_database: str
) -> None:
    configured.default = Behavior(reply="Read it.")
    at = fresh_session()
    project_id = create_project(at, "Docs", own_database)
    open_project_settings(at, project_id)
    long_text = "word " * 4000  # 20,000 characters; the default model takes 12,000 in all
    at.sidebar.file_uploader(key=f"project_upload_{project_id}").set_value(
        [("notes.txt", long_text.encode(), "text/plain")]
    )
    at.run()
    assert not at.exception, at.exception
    assert "notes.txt" in page_text(at)
    at.sidebar.button(key=f"new_chat_in_{project_id}").click().run()
    send(at, "Summarise the notes")
    prompt = configured.chat_requests[-1].body["prompt"]
    budget = next(m["maxLength"] for m in DEFAULT_MODELS if m["id"] == "gpt-3.5-turbo")
    assert prompt.startswith(FILES_HEADING + "\n\n```notes.txt\nword word")
    assert CUT_MARK in prompt
    assert len(prompt) <= (budget - len("Summarise the notes")) // 2
    assert any("were cut to fit the model's limit" in c.value for c in at.caption)
    assert configured.chat_requests[-1].body["messages"][-1]["content"] == "Summarise the notes"


def test_a_conversation_moves_out_of_its_project_from_its_menu(own_database: str) -> None:
    at = send(fresh_session(), "Loose")
    conversation_id = at.query_params["c"]
    project_id = create_project(at, "Work", own_database)
    open_menu(at, conversation_id)
    at.sidebar.selectbox(key=f"move_{conversation_id}").set_value(project_id).run()
    assert group(at, "Work") == ["Loose"]
    open_menu(at, conversation_id)
    at.sidebar.selectbox(key=f"move_{conversation_id}").set_value("").run()
    assert group(at, "Work") == []
    assert "Loose" in listed(at)
    store = store_at(own_database)
    assert store.projects.memberships(LOCAL_OWNER) == {}
    store.close()


def test_deleting_a_project_asks_first_and_keeps_its_conversations(
    configured: Emulator, own_database: str
) -> None:
    at = fresh_session()
    project_id = create_project(at, "Doomed", own_database)
    at.sidebar.button(key=f"new_chat_in_{project_id}").click().run()
    send(at, "Keep me")
    open_project_settings(at, project_id)
    at.sidebar.button(key=f"delete_project_{project_id}").click().run()
    assert any("its conversations stay" in w.value for w in at.sidebar.warning)
    assert group(at, "Doomed") == ["Keep me"]  # only asked so far
    at.sidebar.button(key=f"really_delete_project_{project_id}").click().run()
    assert not any(e.label == "Doomed" for e in at.sidebar.expander)
    assert listed(at) == ["Keep me"]
    send(at, "Still here?")  # no project's instructions any more
    assert configured.chat_requests[-1].body["prompt"] == ""


def test_another_person_never_sees_a_project(
    monkeypatch: pytest.MonkeyPatch, own_database: str
) -> None:
    monkeypatch.setenv("CHAT_DEMO", "1")  # each browser session is a visitor of its own
    first = fresh_session()
    first.session_state["new_project_menu"] = True
    first.run()
    first.sidebar.text_input(key="new_project_name").input("Тайный проект")
    first.sidebar.button(key="create_project").click().run()
    assert any(e.label == "Тайный проект" for e in first.sidebar.expander)
    other = fresh_session()
    assert not any(e.label == "Тайный проект" for e in other.sidebar.expander)
    assert "Тайный проект" not in page_text(other)


def test_an_export_carries_its_project_and_importing_it_makes_the_project_again(
    own_database: str,
) -> None:
    chat = Conversation(model_id="gpt-4", title="From elsewhere")
    chat.add_user("Привет")
    chat.append(Message("assistant", "Здравствуйте"))
    project = Project("p1", "Исследование", "Отвечай по-русски.")
    files = [ReferenceFile("f1", "notes.md", 12, "# Заметки")]
    exported = to_json_with_project(chat, project, files)
    assert json.loads(exported)["project"]["files"][0]["text"] == "# Заметки"
    at = fresh_session()
    at.sidebar.file_uploader[0].set_value(("chat.json", exported.encode(), "application/json"))
    at.run()
    assert not at.exception, at.exception
    assert group(at, "Исследование") == ["From elsewhere"]
    store = store_at(own_database)
    (made,) = store.projects.list(LOCAL_OWNER)
    assert made.instructions == "Отвечай по-русски."
    assert [(f.name, f.text) for f in store.projects.files(LOCAL_OWNER, made.id)] == [
        ("notes.md", "# Заметки")
    ]
    conversation_id = at.query_params["c"]
    stored = store.load(conversation_id, LOCAL_OWNER)
    assert stored is not None
    again = json.loads(export_json(stored, Journal(store, owner=LOCAL_OWNER)))
    assert again["project"]["name"] == "Исследование"
    assert again["conversation"]["messages"][0]["text"] == "Привет"
    store.close()


def test_search_can_be_limited_to_one_project(own_database: str) -> None:
    at = fresh_session()
    project_id = create_project(at, "Soups", own_database)
    at.sidebar.button(key=f"new_chat_in_{project_id}").click().run()
    send(at, "Borscht recipe")
    send(fresh_session(), "Borscht history")
    at = fresh_session()
    at.sidebar.text_input(key="conversation_search").input("borscht").run()
    assert sorted(listed(at)) == ["Borscht history", "Borscht recipe"]
    at.sidebar.selectbox(key="search_project").set_value(project_id).run()
    assert listed(at) == ["Borscht recipe"]


def test_a_reference_file_a_message_could_not_carry_is_refused_with_the_same_words(
    own_database: str,
) -> None:
    at = fresh_session()
    project_id = create_project(at, "Pictures", own_database)
    open_project_settings(at, project_id)
    at.sidebar.file_uploader(key=f"project_upload_{project_id}").set_value(
        [("photo.png", PNG_HEADER + b"\x00" * 32, "image/png")]
    )
    at.run()
    assert any("models on this page read text only" in w.value for w in at.sidebar.warning)
    store = store_at(own_database)
    assert store.projects.files(LOCAL_OWNER, project_id) == []
    store.close()


def test_a_renamed_project_is_renamed_in_another_tab_of_the_same_person(
    own_database: str,
) -> None:
    at = fresh_session()
    project_id = create_project(at, "Draft", own_database)
    other_tab = fresh_session()
    open_project_settings(at, project_id)
    at.sidebar.text_input(key=f"project_name_{project_id}").input("Final")
    at.sidebar.button(key=f"rename_project_{project_id}").click().run()
    assert headers(at) == ["Final"]
    other_tab.run()
    assert headers(other_tab) == ["Final"]


def test_the_cut_is_said_in_russian_to_a_russian_page(
    configured: Emulator, own_database: str
) -> None:
    at = fresh_session()
    at.session_state["lang"] = "ru"  # as choosing Русский does
    at.run()
    project_id = create_project(at, "Документы", own_database)
    store = store_at(own_database)
    store.projects.add_files(LOCAL_OWNER, project_id, [("long.txt", 30_000, "слово " * 5000)])
    store.close()
    at.sidebar.button(key=f"new_chat_in_{project_id}").click().run()
    send(at, "Кратко перескажи")
    assert any("Справочные файлы проекта урезаны" in c.value for c in at.caption)


def test_an_image_in_a_projects_name_is_never_loaded(own_database: str) -> None:
    at = fresh_session()
    create_project(at, "![x](http://tracker.test/p.png)", own_database)
    (header,) = headers(at)
    assert "![" not in header
    assert "tracker.test" in header  # shown as a link to click, not fetched
