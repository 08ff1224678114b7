"""Thumbs up or down under a reply, through the page (AppTest); the store's checks are in
tests/database/test_ratings.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.database.conversations import ConversationStore
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import conversation, fresh_session, open_menu, page_text, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")


def thumbs(at: AppTest) -> dict[str, int | None]:
    """Each reply's thumbs on show: 1 up, 0 down, None not rated."""
    return {f.key.removeprefix("rating_"): f.value for f in at.get("feedback")}


def rate(at: AppTest, message_id: str, value: int | None) -> AppTest:
    feedback = next(f for f in at.get("feedback") if f.key == f"rating_{message_id}")
    feedback.set_value(value).run()
    assert not at.exception, at.exception
    return at


def test_a_rating_is_stored_shown_in_another_tab_and_can_be_changed_and_cleared(
    own_database: str,
) -> None:
    at = send(fresh_session(), "Привет")
    reply = conversation(at).last
    assert thumbs(at) == {reply.id: None}
    rate(at, reply.id, 1)
    other = fresh_session(c=conversation(at).id)  # a second tab of the same person
    assert thumbs(other) == {reply.id: 1}
    rate(other, reply.id, 0)
    store = ConversationStore(own_database)
    try:
        assert store.ratings.of_messages("local", [reply.id]) == {reply.id: -1}
        at.run()  # the first tab's next run shows the change
        assert thumbs(at) == {reply.id: 0}
        rate(at, reply.id, None)
        assert store.ratings.of_messages("local", [reply.id]) == {}
    finally:
        store.close()
    assert thumbs(fresh_session(c=conversation(at).id)) == {reply.id: None}


def test_a_failed_reply_has_no_thumbs(configured: Emulator) -> None:
    configured.enqueue(Behavior(status=429))
    at = send(fresh_session(), "Привет")
    assert conversation(at).last.error is not None
    assert thumbs(at) == {}


def test_a_shared_link_offers_no_thumbs() -> None:
    at = send(fresh_session(), "Привет")
    rate(at, conversation(at).last.id, 1)
    chat_id = conversation(at).id
    open_menu(at, chat_id)
    at.sidebar.button(key=f"share_{chat_id}").click().run()
    link = next(c.value for c in at.sidebar.code if c.value.startswith("?share="))
    reader = fresh_session(share=link.removeprefix("?share="))
    assert [m.name for m in reader.chat_message] == ["user", "assistant"]
    assert thumbs(reader) == {}


def test_rating_a_reply_deleted_in_another_window_is_refused_with_the_reason(
    own_database: str,
) -> None:
    at = send(fresh_session(), "Привет")
    chat = conversation(at)
    store = ConversationStore(own_database)  # another window deletes the conversation
    try:
        assert store.delete(chat.id, "local")
    finally:
        store.close()
    rate(at, chat.last.id, 1)
    assert "cannot be rated" in page_text(at)
    assert thumbs(at).get(chat.last.id) is None  # the thumbs went back


def test_the_usage_page_shows_ratings_by_model_and_the_csv_carries_them(
    configured: Emulator,
) -> None:
    configured.default = Behavior(reply="Ответ")
    at = send(fresh_session(), "первый вопрос")
    first = conversation(at).last
    send(at, "второй вопрос")
    rate(at, first.id, 1)
    rate(at, conversation(at).last.id, 0)
    at.switch_page("app_pages/usage.py").run()
    assert not at.exception, at.exception
    assert "Ratings of replies" in [h.value for h in at.subheader]
    by_model = at.dataframe[-1].value
    assert by_model.to_dict("records") == [
        {"Model": first.model_id, "Up": 1, "Down": 1, "Share up": 50}
    ]
    text = page_text(at)
    assert "первый вопрос" not in text  # never the text
