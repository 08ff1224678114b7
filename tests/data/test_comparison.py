"""Comparing models on one question, as plain data: which models a message goes to, the
replies side by side, and the one picked (the page's flows: tests/page/test_compare.py)."""

from __future__ import annotations

from chatpage.data import comparison
from chatpage.data.conversation import Conversation, Message, Status


def compared(*models: str) -> tuple[Conversation, list[Message]]:
    """A question with one streaming reply per model, compared side by side."""
    chat = Conversation(model_id=models[0])
    question = chat.add_user("Which of you?")
    replies = []
    for model in models:
        chat.rewind_to(question.id)
        replies.append(chat.start_reply(model))
    comparison.start(chat, [r.id for r in replies])
    return chat, replies


def test_the_chosen_model_goes_first_then_the_others_once_each_and_at_most_three() -> None:
    offered = ["a", "b", "c", "d"]
    assert comparison.models_to_compare("b", ["a", "b", "a"], offered) == ("b", "a")
    assert comparison.models_to_compare("a", ["b", "c", "d"], offered) == ("a", "b", "c")
    assert comparison.models_to_compare("a", ["gone", "c"], offered) == ("a", "c")
    assert comparison.models_to_compare("a", [], offered) == ("a",)


def test_the_replies_are_siblings_shown_together_with_the_first_on_show() -> None:
    chat, replies = compared("a", "b", "c")
    assert comparison.on_show(chat) == replies
    assert chat.last is replies[0]
    assert chat.siblings(replies[0]) == replies  # versions of one reply: ‹ 1 / 3 ›
    assert [m.role for m in chat.messages] == ["user", "assistant"]
    assert chat.streaming() is replies[0]
    replies[0].status = Status.COMPLETE
    assert chat.streaming() is replies[1]  # a column still being written is still streaming


def test_picking_one_shows_it_and_ends_the_comparison_keeping_the_others() -> None:
    chat, replies = compared("a", "b")
    assert comparison.pick(chat, replies[1].id)
    assert chat.last is replies[1]
    assert chat.comparing == ()
    assert comparison.on_show(chat) == []
    assert len(chat.tree) == 3
    assert not comparison.pick(chat, replies[0].id)  # picked already: a late click does nothing


def test_a_new_question_ends_the_comparison_and_goes_on_from_the_first() -> None:
    chat, replies = compared("a", "b")
    for reply in replies:
        reply.status = Status.COMPLETE
    follow_up = chat.add_user("And then?")
    assert follow_up.parent_id == replies[0].id
    assert chat.comparing == ()
    assert chat.streaming() is None


def test_one_reply_is_no_comparison() -> None:
    chat = Conversation(model_id="a")
    chat.add_user("q")
    reply = chat.start_reply("a")
    comparison.start(chat, [reply.id])
    assert chat.comparing == ()
    assert comparison.on_show(chat) == []


def test_a_comparison_settled_elsewhere_shows_what_was_picked_there() -> None:
    mine, replies = compared("a", "b")
    theirs = Conversation(model_id="a", id=mine.id, tree=dict(mine.tree))
    theirs.leaf_id = replies[1].id  # picked in another tab
    mine.absorb(theirs)
    assert mine.last is replies[1]
    assert mine.comparing == ()
