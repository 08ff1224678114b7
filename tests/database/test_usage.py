"""The usage ledger: one row per request, and per-person limits that hold across writers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chatpage.access.refusal import OverLimit
from chatpage.data.conversation import Conversation, Status
from chatpage.database.conversations import ConversationStore
from chatpage.database.usage import Allowance
from chatpage.journal import Journal
from chatpage.replies.tasks import Replies, Request
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator

ALICE, BOB = "header:alice@example.com", "header:bob@example.com"


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture
def store(database_url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(database_url)
    yield store
    store.close()


def test_a_day_runs_from_midnight_to_midnight_utc() -> None:
    start, resets = Allowance("requests", "day", 2).window(at("2026-11-26 13:45:00"))
    assert (start, resets) == (at("2026-11-26 00:00:00"), at("2026-11-27 00:00:00"))


def test_a_month_runs_to_the_first_of_the_next_even_across_a_year() -> None:
    start, resets = Allowance("chars", "month", 9).window(at("2026-12-31 23:59:59"))
    assert (start, resets) == (at("2026-12-01 00:00:00"), at("2027-01-01 00:00:00"))


def test_a_refusal_says_which_limit_and_how_long_until_it_resets() -> None:
    refusal = Allowance("requests", "day", 2).refusal(at("2026-11-26 22:30:00"))
    assert (refusal.kind, refusal.limit, refusal.retry_after) == ("limit_requests_day", 2, 5400)


def test_the_third_request_of_a_day_is_refused_and_not_recorded(store: ConversationStore) -> None:
    limits = (Allowance("requests", "day", 2),)
    now = at("2026-11-26 10:00:00")
    first = store.usage.begin(ALICE, "gpt-4", 10, limits, now)
    second = store.usage.begin(ALICE, "gpt-4", 10, limits, now + 1)
    assert isinstance(first, str)
    assert isinstance(second, str)
    third = store.usage.begin(ALICE, "gpt-4", 10, limits, now + 2)
    assert not isinstance(third, str)
    assert third.kind == "limit_requests_day"
    assert store.usage.used(ALICE, now - 1) == (2, 0)
    assert isinstance(store.usage.begin(BOB, "gpt-4", 10, limits, now + 3), str)
    tomorrow = at("2026-11-27 00:00:01")
    assert isinstance(store.usage.begin(ALICE, "gpt-4", 10, limits, tomorrow), str)


def test_reply_characters_count_once_the_reply_ends(store: ConversationStore) -> None:
    limits = (Allowance("chars", "month", 1000),)
    now = at("2026-11-26 10:00:00")
    usage_id = store.usage.begin(ALICE, "gpt-4", 10, limits, now)
    assert isinstance(usage_id, str)
    store.usage.end(usage_id, chars_out=1000, outcome="complete", error_kind=None, now=now + 5)
    refused = store.usage.over(ALICE, limits, now + 6)
    assert refused is not None
    assert refused.kind == "limit_chars_month"
    assert store.usage.over(BOB, limits, now + 6) is None
    [use] = store.usage.between(now - 1, now + 10)
    assert (use.owner, use.chars_in, use.chars_out, use.outcome) == (ALICE, 10, 1000, "complete")


def test_tabs_asking_at_once_cannot_pass_a_limit_together(store: ConversationStore) -> None:
    limits = (Allowance("requests", "day", 3),)
    now = at("2026-11-26 10:00:00")
    results: list[object] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        results.append(store.usage.begin(ALICE, "gpt-4", 1, limits, now))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(isinstance(result, str) for result in results) == 3
    assert store.usage.used(ALICE, now - 1) == (3, 0)


def asked(store: ConversationStore, owner: str, question: str) -> tuple:
    conversation = Conversation(model_id="gpt-4")
    journal = Journal(store, owner)
    journal.add(conversation, conversation.add_user(question))
    reply = conversation.start_reply("gpt-4")
    journal.add(conversation, reply)
    request = Request(conversation.id, owner, conversation.wire_messages(), "gpt-4", None)
    return reply, request


def test_a_reply_is_recorded_with_its_size_and_ending_and_never_its_text(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="Секретный ответ " * 10)
    reply, request = asked(store, ALICE, "Секретный вопрос")
    task = Replies(store).start(request, reply, client, max_per_person=3)
    assert task.done.wait(60)
    assert reply.status is Status.COMPLETE
    [use] = store.usage.between(0, 1e12)
    assert (use.owner, use.model_id, use.outcome, use.error_kind) == (
        ALICE,
        "gpt-4",
        "complete",
        None,
    )
    assert (use.chars_in, use.chars_out) == (len("Секретный вопрос"), len(reply.text))
    assert "Секрет" not in repr(use)


def test_a_person_over_their_limit_gets_no_request_sent_upstream(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="ok")
    replies = Replies(store)
    limits = (Allowance("requests", "day", 1),)
    reply, request = asked(store, ALICE, "one")
    assert replies.start(replace(request, allowances=limits), reply, client, max_per_person=3)
    replies.get(reply.id).done.wait(60)  # type: ignore[union-attr]
    second, second_request = asked(store, ALICE, "two")
    with pytest.raises(OverLimit) as refused:
        replies.start(replace(second_request, allowances=limits), second, client, max_per_person=3)
    assert refused.value.error.kind == "limit_requests_day"
    assert [r.body["messages"][-1]["content"] for r in emulator.chat_requests] == ["one"]
