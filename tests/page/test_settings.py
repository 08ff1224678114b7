"""Where the page's settings are: the Settings dialog (language, connection), the chat's own
settings at the top of the chat, and what an empty chat offers, through AppTest against the
emulator over real sockets."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from liaobots_core.emulator import Emulator
from testkit import AUTH_CODE
from testkit.apptest import (
    bubbles,
    choose_language,
    conversation,
    demo_toggle,
    fresh_session,
    open_settings,
    page_text,
    paste_code,
    send,
)

pytestmark = pytest.mark.usefixtures("own_database")


@pytest.fixture
def no_code(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The page pointed at the emulator with no code of the operator's, as a first visitor."""
    for name in ("LIAOBOTS_AUTH_CODE", "LIAOBOTS_OFFLINE_DEMO", "LIAOBOTS_GUEST", "CHAT_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIAOBOTS_BASE_URL", emulator.base_url)
    return emulator


def keys(at: AppTest) -> set[str]:
    return {w.key for w in (*at.main.button, *at.main.text_input) if w.key}


@pytest.mark.usefixtures("configured")
def test_the_sidebar_holds_no_language_code_model_or_prompt_only_a_gear_to_the_settings() -> None:
    at = fresh_session()
    assert not at.sidebar.selectbox  # the model is picked at the top of the chat
    assert at.main.selectbox(key=f"model_{conversation(at).id}")
    assert [w.key for w in at.sidebar.text_input] == ["conversation_search"]
    assert not at.sidebar.text_area
    assert not at.sidebar.toggle
    assert at.sidebar.button(key="settings_gear").help == "Settings"


@pytest.mark.usefixtures("configured")
def test_the_language_chosen_in_the_dialog_translates_the_page_and_the_dialog_stays_open() -> None:
    at = choose_language(fresh_session(), "ru")
    assert at.sidebar.title[0].value == "Чат Liaobots"
    assert at.selectbox(key="lang").label == "Язык"  # the dialog, drawn again in Russian
    assert at.toggle(key="use_demo").label == "Офлайн-демо (без модели и сети)"
    at.session_state["settings_open"] = False  # closed (its ✕): the language stays
    at.run()
    assert not any(s.key == "lang" for s in at.selectbox)
    assert at.sidebar.title[0].value == "Чат Liaobots"


def test_a_code_pasted_in_the_dialog_is_used_then_forgotten_and_never_sent_back(
    no_code: Emulator,
) -> None:
    at = paste_code(fresh_session(), AUTH_CODE)
    assert at.text_input(key="auth_code_typed").value == ""  # taken from the field at once
    assert any("Connected" in c.value for c in at.sidebar.caption)
    assert any("the code you pasted" in c.value for c in at.caption)
    send(at, "hello")
    assert no_code.chat_requests[-1].headers["x-auth-code"] == AUTH_CODE
    assert AUTH_CODE not in page_text(at)

    at.button(key="forget_code").click().run()
    assert any("No auth code" in c.value for c in at.sidebar.caption)
    send(at, "again?")
    assert any("No auth code is set" in e.value for e in at.error)
    assert len(no_code.chat_requests) == 1


def test_the_offline_toggle_in_the_dialog_turns_the_demo_on_and_off(no_code: Emulator) -> None:
    at = fresh_session()
    demo_toggle(at).set_value(True).run()
    assert any("Demo backend" in c.value for c in at.sidebar.caption)
    send(at, "Привет, демо")
    assert "emulator, not from a model" in bubbles(at)[-1][1]
    demo_toggle(at).set_value(False).run()
    assert any("No auth code" in c.value for c in at.sidebar.caption)
    assert no_code.chat_requests == []


def test_an_empty_chat_offers_the_way_in_and_a_code_pasted_there_is_used(
    no_code: Emulator,
) -> None:
    at = fresh_session()
    assert {"continue_as_guest", "try_demo", "welcome_code"} <= keys(at)  # in the chat itself
    assert any("continue as a guest" in i.value for i in at.main.info)
    at.main.text_input(key="welcome_code").input(AUTH_CODE).run()
    assert not {"continue_as_guest", "try_demo", "welcome_code"} & keys(at)  # in, now
    send(at, "hello")
    assert no_code.chat_requests[-1].headers["x-auth-code"] == AUTH_CODE
    assert AUTH_CODE not in page_text(at)


def test_an_empty_chat_in_russian_offers_the_offline_demo_in_one_click(no_code: Emulator) -> None:
    at = fresh_session()
    at.session_state["lang"] = "ru"
    at.run()
    assert at.main.button(key="try_demo").label == "Попробовать офлайн-демо"
    at.main.button(key="try_demo").click().run()
    assert any("Офлайн-демо" in i.value for i in at.info)
    send(at, "Привет")
    assert "> Привет" in bubbles(at)[-1][1]
    assert no_code.chat_requests == []


@pytest.mark.usefixtures("configured")
def test_with_a_code_an_empty_chat_offers_only_prompts_to_start_from() -> None:
    at = fresh_session()
    assert not {"continue_as_guest", "try_demo", "welcome_code"} & keys(at)
    assert [b.label for b in at.main.button if (b.key or "").startswith("starter_")] == [
        "Translate English ↔ Russian",
        "Code review",
        "Summarise",
    ]


def test_a_prompt_to_start_from_becomes_the_new_chats_system_prompt(
    configured: Emulator,
) -> None:
    at = fresh_session()
    at.main.button(key="starter_builtin:translate").click().run()
    assert conversation(at).system_prompt.startswith("You are a translator.")
    send(at, "Good morning")
    assert configured.chat_requests[-1].body["prompt"].startswith("You are a translator.")
    assert not any((b.key or "").startswith("starter_") for b in at.main.button)  # begun


def test_the_chat_settings_at_the_top_of_the_chat_hold_its_prompt_and_temperature(
    configured: Emulator,
) -> None:
    at = fresh_session()
    assert not at.main.text_area  # closed: one button, nothing else drawn
    open_settings(at)
    chat_id = conversation(at).id
    at.main.text_area(key=f"system_prompt_{chat_id}").input("Answer in one word.").run()
    at.main.select_slider(key=f"temperature_{chat_id}").set_value(0.7).run()
    send(at, "Why is the sky blue?")
    body = configured.chat_requests[-1].body
    assert (body["prompt"], body["temperature"]) == ("Answer in one word.", 0.7)
    at.session_state["conversation_settings"] = False  # closed again: both kept
    at.run()
    send(at, "And the sea?")
    body = configured.chat_requests[-1].body
    assert (body["prompt"], body["temperature"]) == ("Answer in one word.", 0.7)
