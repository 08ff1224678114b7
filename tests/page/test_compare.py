"""Comparing models on one question, through the page: one message, a reply from each model
side by side, each counted and ended on its own; picking one goes on with it, the others kept
as versions of that reply."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Status
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from chatpage.replies.asking import begin_compared_replies
from chatpage.replies.tasks import Replies
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator
from testkit import AUTH_CODE
from testkit.apptest import bubbles, conversation, fresh_session, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")

FIRST, SECOND, THIRD = "gpt-3.5-turbo", "gpt-4", "gpt-4o"


def compare_with(at: AppTest, *models: str) -> AppTest:
    """Turn Compare on in the model bar and choose the models compared with the chosen one."""
    at.toggle(key="compare_on").set_value(True).run()
    at.multiselect(key="compare_with").set_value(list(models)).run()
    assert not at.exception, at.exception
    return at


def slow(reply: str) -> Behavior:
    """A reply that takes over half a second, in pieces: still being written as others start."""
    return Behavior(reply=reply, chunk_bytes=4, delay=0.02, first_byte_delay=0.5)


def requested_models(emulator: Emulator) -> list[str]:
    return [r.body["model"]["id"] for r in emulator.chat_requests]


def test_one_message_to_two_models_gives_a_reply_from_each_side_by_side(
    configured: Emulator, own_database: str
) -> None:
    configured.by_model[FIRST] = Behavior(reply="Ответ первой модели.")
    configured.by_model[SECOND] = Behavior(reply="The second model's answer.")
    at = fresh_session()
    at.toggle(key="compare_on").set_value(True).run()
    assert at.multiselect(key="compare_with").value == [SECOND]  # the next model, to start
    send(at, "Which of you is better?")
    assert sorted(requested_models(configured)) == [FIRST, SECOND]
    first, second = (conversation(at).tree[i] for i in conversation(at).comparing)
    assert (first.model_id, first.text) == (FIRST, "Ответ первой модели.")
    assert (second.model_id, second.text) == (SECOND, "The second model's answer.")
    assert first.parent_id == second.parent_id == conversation(at).messages[0].id
    headings = [m.value for m in at.markdown if m.value.startswith("**")]
    assert headings == [r"**GPT\-3\.5 · OpenAI**", r"**GPT\-4 · OpenAI**"]  # each its model
    assert at.button(key=f"pick_{first.id}").label == "Continue with this one"
    assert at.button(key=f"pick_{second.id}").label == "Continue with this one"
    # A reload opens the comparison as it was: both columns, nothing picked yet.
    reopened = fresh_session(c=conversation(at).id)
    assert conversation(reopened).comparing == (first.id, second.id)
    assert reopened.button(key=f"pick_{second.id}").label == "Continue with this one"
    stored = ConversationStore(own_database).load(conversation(at).id, LOCAL_OWNER)
    assert stored is not None
    assert stored.comparing == (first.id, second.id)


def test_a_failing_model_leaves_the_other_reply_to_finish(configured: Emulator) -> None:
    configured.by_model[FIRST] = slow("The first model answers in full, piece by piece.")
    configured.by_model[SECOND] = Behavior(status=503)
    at = compare_with(fresh_session(), SECOND)
    send(at, "A question for both")
    first, second = (conversation(at).tree[i] for i in conversation(at).comparing)
    assert first.status is Status.COMPLETE
    assert first.text == "The first model answers in full, piece by piece."
    assert second.status is Status.FAILED
    assert second.error is not None
    assert any("503" in e.value for e in at.error)  # said in its column, in words
    assert not at.exception


def test_picking_the_second_reply_continues_with_its_model_and_keeps_the_first(
    configured: Emulator, own_database: str
) -> None:
    configured.by_model[FIRST] = Behavior(reply="first model's answer")
    configured.by_model[SECOND] = Behavior(reply="second model's answer")
    at = compare_with(fresh_session(), SECOND)
    send(at, "opening question")
    first_id, second_id = conversation(at).comparing
    at.button(key=f"pick_{second_id}").click().run()
    assert conversation(at).comparing == ()
    assert conversation(at).model_id == SECOND
    assert at.main.selectbox(key=f"model_{conversation(at).id}").value == SECOND
    assert at.toggle(key="compare_on").value is False  # the next message goes to it alone
    assert bubbles(at) == [("user", "opening question"), ("assistant", "second model's answer")]
    assert "2 / 2" in [c.value for c in at.caption]
    configured.by_model.clear()
    configured.default = Behavior(reply="the follow-up's answer")
    send(at, "follow-up")
    body = configured.chat_requests[-1].body
    assert body["model"]["id"] == SECOND
    assert [m["content"] for m in body["messages"]] == [
        "opening question",
        "second model's answer",
        "follow-up",
    ]
    # The first model's reply is kept, one version back.
    at.button(key=f"previous_{second_id}").click().run()
    assert bubbles(at) == [("user", "opening question"), ("assistant", "first model's answer")]
    stored = ConversationStore(own_database).load(conversation(at).id, LOCAL_OWNER)
    assert stored is not None
    assert {stored.tree[first_id].model_id, stored.tree[second_id].model_id} == {FIRST, SECOND}
    assert stored.comparing == ()


def test_three_models_past_the_persons_bound_refuse_the_third_and_answer_the_others(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_MAX_BACKGROUND_REPLIES", "2")
    configured.by_model[FIRST] = slow("one, at length")
    configured.by_model[SECOND] = slow("two, at length")
    configured.by_model[THIRD] = Behavior(reply="never asked")
    at = compare_with(fresh_session(), SECOND, THIRD)
    send(at, "three at once")
    first, second, third = (conversation(at).tree[i] for i in conversation(at).comparing)
    assert (first.text, second.text) == ("one, at length", "two, at length")
    assert third.status is Status.FAILED
    assert third.error is not None
    assert third.error.kind == "busy_person"
    assert sorted(requested_models(configured)) == [FIRST, SECOND]  # the third never went
    assert any("2 replies being written" in e.value for e in [*at.warning, *at.error])


def test_one_model_sends_one_request_and_opens_no_comparison(configured: Emulator) -> None:
    at = compare_with(fresh_session())  # Compare on, then nothing left to compare with
    at.multiselect(key="compare_with").set_value([]).run()
    send(at, "just one")
    assert requested_models(configured) == [FIRST]
    assert conversation(at).comparing == ()
    assert [name for name, _ in bubbles(at)] == ["user", "assistant"]


def test_a_comparison_written_by_another_process_is_followed_in_columns_to_its_end(
    configured: Emulator, own_database: str
) -> None:
    configured.by_model[FIRST] = Behavior(
        reply="written by the other process", chunk_bytes=4, delay=0.05, first_byte_delay=2.0
    )
    configured.by_model[SECOND] = Behavior(status=400)
    store = ConversationStore(own_database)
    client = LiaobotsClient(auth_code=AUTH_CODE, base_url=configured.base_url)
    try:
        elsewhere = Conversation(model_id=FIRST)
        journal = Journal(store, LOCAL_OWNER)
        journal.add(elsewhere, elsewhere.add_user("asked on the other process"))
        begin_compared_replies(
            elsewhere, client, (FIRST, SECOND), journal=journal, replies=Replies(store),
            max_per_person=3,
        )  # fmt: skip
        opened_at = store.message(elsewhere.id, elsewhere.comparing[0], LOCAL_OWNER)
        assert opened_at is not None
        assert opened_at.status is Status.STREAMING  # the page opens it mid-reply
        at = fresh_session(c=elsewhere.id)  # this process writes neither: both read as saved
        first, second = (conversation(at).tree[i] for i in conversation(at).comparing)
        assert (first.status, first.text) == (Status.COMPLETE, "written by the other process")
        assert second.status is Status.FAILED
        assert at.button(key=f"pick_{first.id}").label == "Continue with this one"
        assert at.button(key=f"pick_{second.id}").label == "Continue with this one"
        assert "written by the other process" in [m.value for m in at.markdown]
    finally:
        client.close()
        store.close()
