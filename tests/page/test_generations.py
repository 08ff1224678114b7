"""The page against the later generation of the service, through AppTest over real sockets.

A model list that states no sizes still gives its models (the provider beside each name), an
error inside the stream is explained like its HTTP status and keeps the text that arrived, and a
guest signs in however the service asks (the check page first, a JSON login).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.data.conversation import Status
from liaobots_core.emulator import Behavior, Emulator, Guests
from testkit.apptest import APP, TIMEOUT, bubbles, conversation, page_text, send
from testkit.models import LATER_MODELS

pytestmark = pytest.mark.usefixtures("own_database")
REPLY = "Ответ нового поколения: привет, 世界 👋"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_model_list_with_max_length_zero_gives_those_models_on_the_page(
    configured: Emulator,
) -> None:
    configured.models = LATER_MODELS
    configured.default = Behavior(framing="sse", reply=REPLY, chunk_bytes=5)
    at = open_page()
    (picker,) = [box for box in at.main.selectbox if (box.key or "").startswith("model_")]
    assert picker.options == ["Claude-3.7-Sonnet · Anthropic", "Grok-3 · xAI"]
    assert "built-in list" not in page_text(at)
    picker.select("grok-3").run()
    send(at, "Какая модель?")
    assert bubbles(at)[-1] == ("assistant", REPLY)
    body = configured.chat_requests[-1].body
    assert body["models"] == [{"modelId": "grok-3", "provider": "xAI"}]
    assert body["messages"] == [{"role": "user", "content": "Какая модель?"}]


def test_an_error_event_mid_reply_is_explained_and_the_text_that_arrived_is_kept(
    configured: Emulator,
) -> None:
    configured.default = Behavior(framing="sse", reply=REPLY, chunk_bytes=9, stream_error=402)
    at = open_page()
    send(at, "Вопрос к платной модели")
    assert bubbles(at) == [("user", "Вопрос к платной модели"), ("assistant", REPLY)]
    assert conversation(at).messages[-1].status is Status.FAILED
    shown = [e.value for e in at.error]
    assert sum("no balance left (402)" in text for text in shown) == 1, shown
    assert "credits" not in page_text(at)  # the service's own message is never shown


def test_a_guest_of_the_later_service_signs_in_through_the_check_page(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LIAOBOTS_AUTH_CODE", "LIAOBOTS_OFFLINE_DEMO", "LIAOBOTS_GUEST", "CHAT_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIAOBOTS_BASE_URL", emulator.base_url)
    emulator.guests = Guests(first_ask="check", login_body="json")
    emulator.default = Behavior(framing="sse", reply=REPLY, chunk_bytes=5)
    at = open_page()
    at.button(key="continue_as_guest").click().run()
    assert not at.exception, at.exception
    send(at, "Привет")
    assert bubbles(at) == [("user", "Привет"), ("assistant", REPLY)]
    assert emulator.guest_sign_ins == 1
