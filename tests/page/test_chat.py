"""Page flows through Streamlit's AppTest, against the emulator over real sockets."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import CONTINUE_PROMPT, Conversation, Message, Status
from chatpage.database.conversations import ConversationStore
from liaobots_core.emulator import Behavior, Emulator
from testkit import AUTH_CODE
from testkit.apptest import (
    APP,
    TIMEOUT,
    bubbles,
    choose_language,
    conversation,
    demo_toggle,
    edit_key,
    fresh_session,
    open_settings,
    open_settings_dialog,
    page_text,
    paste_code,
    send,
)

MIXED = "Ответ: привет, мир! 你好，世界 👋🏽 𝄞 — конец."
pytestmark = pytest.mark.usefixtures("own_database")


@pytest.fixture
def app(configured: Emulator) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def test_message_streams_into_an_assistant_bubble_with_unicode_intact(
    app: AppTest, configured: Emulator
) -> None:
    configured.default = Behavior(reply=MIXED, chunk_bytes=5, split_multibyte=True)
    send(app, "Скажи привет 你好 👋")
    assert bubbles(app) == [("user", "Скажи привет 你好 👋"), ("assistant", MIXED)]
    assert conversation(app).messages[-1].status is Status.COMPLETE


def test_sse_reply_shows_like_a_raw_one(app: AppTest, configured: Emulator) -> None:
    configured.default = Behavior(framing="sse", reply=MIXED, chunk_bytes=9)
    send(app, "hello")
    assert bubbles(app)[-1] == ("assistant", MIXED)


def test_second_turn_sends_the_whole_history_upstream(app: AppTest, configured: Emulator) -> None:
    configured.default = Behavior(reply="Первый ответ")
    send(app, "Первый вопрос")
    configured.default = Behavior(reply="Второй ответ 🎉")
    send(app, "Второй вопрос")
    assert configured.chat_requests[-1].body["messages"] == [
        {"role": "user", "content": "Первый вопрос"},
        {"role": "assistant", "content": "Первый ответ"},
        {"role": "user", "content": "Второй вопрос"},
    ]
    assert [text for _, text in bubbles(app)] == [
        "Первый вопрос",
        "Первый ответ",
        "Второй вопрос",
        "Второй ответ 🎉",
    ]


@pytest.mark.parametrize(
    ("behavior", "element", "words"),
    [
        (Behavior(status=401), "error", "auth code was rejected (401)"),
        (Behavior(status=403), "error", "auth code was rejected (403)"),
        (Behavior(status=402), "error", "no balance left (402)"),
        (Behavior(status=429, retry_after="42"), "warning", "Wait 42 s"),
        (Behavior(html=True), "error", "web page instead of a reply"),
        (Behavior(status=500), "error", "failing (500)"),
    ],
    ids=["401", "403", "402", "429", "html", "500"],
)
def test_each_failure_is_explained_and_the_message_is_kept(
    app: AppTest, configured: Emulator, behavior: Behavior, element: str, words: str
) -> None:
    configured.default = behavior
    send(app, "Мой вопрос остаётся")
    shown = [e.value for e in getattr(app, element)]
    assert sum(words in text for text in shown) == 1, shown  # said once, where it happened
    assert bubbles(app)[0] == ("user", "Мой вопрос остаётся")
    assert not app.exception
    everything = page_text(app)
    assert "Traceback" not in everything
    assert "<!DOCTYPE" not in everything
    assert "invalid auth code" not in everything
    assert "HTTP " not in everything  # the page's words, never the client's technical line
    assert AUTH_CODE not in everything
    assert app.button(key="action_regenerate").label == "Retry"


def test_retry_after_a_failure_resends_and_replaces_the_error(
    app: AppTest, configured: Emulator
) -> None:
    configured.enqueue(Behavior(status=402))
    configured.default = Behavior(reply="Now it works")
    send(app, "try")
    assert app.error
    app.button(key="action_regenerate").click().run()
    assert not app.error
    assert bubbles(app) == [("user", "try"), ("assistant", "Now it works")]
    assert len(configured.chat_requests) == 2


def test_reply_cut_by_a_reset_keeps_its_text_and_offers_continue(
    app: AppTest, configured: Emulator
) -> None:
    full = "Длинный ответ, который оборвётся посередине. " * 20
    configured.default = Behavior(reply=full, chunk_bytes=40, disconnect_after_bytes=300)
    send(app, "go")
    reply = conversation(app).messages[-1]
    partial = reply.text
    assert reply.status is Status.FAILED
    assert partial
    assert full.startswith(partial)
    assert bubbles(app)[-1] == ("assistant", partial)
    assert any("connection broke" in e.value for e in app.error)

    configured.default = Behavior(reply=" и продолжение.")
    app.button(key="action_continue").click().run()
    request = configured.chat_requests[-1].body["messages"]
    assert request[-2] == {"role": "assistant", "content": partial}
    assert request[-1] == {"role": "user", "content": CONTINUE_PROMPT}
    assert conversation(app).messages[-1] is reply
    assert reply.text == partial + " и продолжение."
    assert conversation(app).messages[-1].status is Status.COMPLETE


def test_regenerate_shows_a_new_reply_and_keeps_the_old_as_a_version(
    app: AppTest, configured: Emulator
) -> None:
    configured.default = Behavior(reply="first try")
    send(app, "q")
    configured.default = Behavior(reply="second try")
    app.button(key="action_regenerate").click().run()
    assert bubbles(app) == [("user", "q"), ("assistant", "second try")]
    assert configured.chat_requests[-1].body["messages"] == [{"role": "user", "content": "q"}]
    assert "2 / 2" in [c.value for c in app.caption]
    app.button(key=f"previous_{conversation(app).last.id}").click().run()
    assert bubbles(app) == [("user", "q"), ("assistant", "first try")]
    assert "1 / 2" in [c.value for c in app.caption]


def test_editing_the_last_message_resends_it(app: AppTest, configured: Emulator) -> None:
    send(app, "Typo questoin")
    app.button(key=edit_key(app)).click().run()
    app.text_area(key="edit_text").set_value("Fixed question").run()
    app.button[[b.label for b in app.button].index("Save and send")].click().run()
    assert bubbles(app)[0] == ("user", "Fixed question")
    assert len(bubbles(app)) == 2
    assert configured.chat_requests[-1].body["messages"] == [
        {"role": "user", "content": "Fixed question"}
    ]


def test_model_picker_lists_the_servers_models_and_switches(
    app: AppTest, configured: Emulator
) -> None:
    picker = app.main.selectbox[0]  # the model bar, at the top of the chat
    assert picker.options == [f"{m['name']} · {m['provider']}" for m in configured.models]
    picker.select("gpt-4o").run()
    send(app, "which model?")
    assert configured.chat_requests[-1].body["model"]["id"] == "gpt-4o"


def asked(emulator: Emulator, endpoint: str) -> int:
    return sum(r.endpoint == endpoint for r in emulator.requests)


def test_people_arriving_on_one_code_ask_the_service_about_it_once_a_minute(
    configured: Emulator,
) -> None:
    for _ in range(3):
        assert "balance 100.0" in page_text(fresh_session())
    assert asked(configured, "/api/models") == 1
    assert asked(configured, "/api/user") == 1


def test_a_balance_used_up_is_asked_again_by_the_next_visitor_not_shared(
    configured: Emulator,
) -> None:
    configured.balance = 0
    notice = "The service's balance is used up"
    assert any(notice in w.value for w in fresh_session().warning)
    configured.balance = 30  # topped up: the next visitor is not told it is used up
    after = fresh_session()
    assert not any(notice in w.value for w in after.warning)
    assert asked(configured, "/api/user") == 2


def test_system_prompt_goes_upstream(app: AppTest, configured: Emulator) -> None:
    open_settings(app)  # the chat's settings, at the top of the chat
    app.main.text_area(key=f"system_prompt_{conversation(app).id}").set_value("Answer in haiku.")
    app.run()
    send(app, "hi")
    assert configured.chat_requests[-1].body["prompt"] == "Answer in haiku."


def test_language_switch_translates_the_page(app: AppTest, configured: Emulator) -> None:
    choose_language(app, "ru")
    assert app.sidebar.title[0].value == "Чат Liaobots"
    configured.default = Behavior(status=402)
    send(app, "вопрос")
    assert any("закончился баланс" in e.value for e in app.error)


def test_new_chat_starts_empty_and_keeps_the_model(app: AppTest, configured: Emulator) -> None:
    app.main.selectbox[0].select("gpt-4").run()
    send(app, "hello")
    next(b for b in app.sidebar.button if b.label == "New chat").click().run()
    assert bubbles(app) == []
    assert conversation(app).model_id == "gpt-4"


def test_whitespace_only_message_is_not_sent(app: AppTest, configured: Emulator) -> None:
    send(app, "   \n ")
    assert bubbles(app) == []
    assert configured.chat_requests == []


def test_long_history_is_trimmed_with_a_quiet_note(app: AppTest, configured: Emulator) -> None:
    configured.default = Behavior(reply="y" * 7000)
    send(app, "x" * 7000)
    send(app, "again")
    assert any("older messages were left out" in c.value for c in app.caption)
    assert configured.chat_requests[-1].body["messages"] == [{"role": "user", "content": "again"}]


def test_server_side_auth_code_is_used_but_never_put_on_the_page(
    app: AppTest, configured: Emulator
) -> None:
    send(app, "hello")
    assert configured.chat_requests[-1].headers["x-auth-code"] == AUTH_CODE
    open_settings_dialog(app)
    assert app.text_input(key="auth_code_typed").value == ""
    assert AUTH_CODE not in page_text(app)
    assert any("configured on the server" in c.value for c in app.caption)


def test_pasted_code_takes_over_from_the_servers(app: AppTest, configured: Emulator) -> None:
    paste_code(app, "someone-elses-code")
    assert app.text_input(key="auth_code_typed").value == ""  # taken, never sent back
    assert "someone-elses-code" not in page_text(app)
    send(app, "hello")
    assert configured.chat_requests[-1].headers["x-auth-code"] == "someone-elses-code"
    assert any("auth code was rejected (401)" in e.value for e in app.error)


def test_no_code_and_no_network_still_gives_a_working_page_with_the_demo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LIAOBOTS_AUTH_CODE", raising=False)
    monkeypatch.setenv("LIAOBOTS_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("LIAOBOTS_OFFLINE_DEMO", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert any("Paste your Liaobots auth code" in i.value for i in at.main.info)
    send(at, "hello?")
    assert any("No auth code is set" in e.value for e in at.error)
    assert bubbles(at)[0] == ("user", "hello?")

    demo_toggle(at).set_value(True).run()
    assert any("Offline demo" in i.value for i in at.info)
    send(at, "Привет, демо")
    assert "> Привет, демо" in bubbles(at)[-1][1]
    assert "emulator, not from a model" in bubbles(at)[-1][1]


def test_offline_demo_is_on_from_the_start_when_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LIAOBOTS_AUTH_CODE", raising=False)
    monkeypatch.setenv("LIAOBOTS_OFFLINE_DEMO", "1")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert demo_toggle(at).value is True
    send(at, "hi")
    assert "emulator, not from a model" in bubbles(at)[-1][1]


def test_a_finished_reply_says_which_model_wrote_it_and_how_long_it_is(
    app: AppTest, configured: Emulator
) -> None:
    configured.default = Behavior(reply="Короткий ответ.")
    send(app, "Привет")
    model = conversation(app).last.model_id
    assert f"{model} · 15 characters" in [c.value for c in app.caption]


def test_a_reply_whose_id_holds_two_underscores_still_gets_its_copy_button(
    own_database: str,
) -> None:
    chat = Conversation(model_id="gpt-4", id="conversation__one")
    chat.append(Message("user", "hello", id="question__one"))
    chat.append(Message("assistant", "hi there", id="reply__one"))  # random ids can hold "__"
    ConversationStore(own_database).create(chat, LOCAL_OWNER)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["c"] = chat.id
    at.run()
    assert not at.exception
    assert not at.error  # no "something went wrong" in place of the conversation
    assert bubbles(at) == [("user", "hello"), ("assistant", "hi there")]
