"""The process's metrics, counted where replies start, end and fail, and where writes fail.

Reply tasks run against the emulator over HTTP and a real SQLite store; each test reads the
process-wide registry before and after, so the counts of other tests do not matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from chatpage.data.conversation import Conversation, Status
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from chatpage.operations import metrics
from chatpage.operations.server import from_this_machine
from chatpage.replies.tasks import ReplyTask, Request
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator

OWNER = "header:alice@example.com"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Reading:
    """The metrics a test looks at, read once; `since` gives what changed after."""

    NAMES = (
        ("liaobots_chat_replies_started_total", {}),
        ("liaobots_chat_replies_streaming", {}),
        ("liaobots_chat_first_text_seconds_count", {}),
        *(("liaobots_chat_replies_finished_total", {"outcome": o}) for o in metrics.OUTCOMES),
    )

    def __init__(self) -> None:
        self.values = {
            (name, tuple(labels.items())): value(name, **labels) for name, labels in self.NAMES
        }

    def since(self, before: Reading) -> dict[str, float]:
        changed = {}
        for (name, labels), now in self.values.items():
            delta = now - before.values[(name, labels)]
            if delta:
                changed[name + "".join(f"{{{k}={v}}}" for k, v in labels)] = delta
        return changed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    store = ConversationStore(f"sqlite:///{tmp_path / 'chat.sqlite3'}")
    yield store
    store.close()


def start_reply(store: ConversationStore, client: LiaobotsClient) -> ReplyTask:
    conversation = Conversation(model_id="gpt-4")
    journal = Journal(store, OWNER)
    journal.add(conversation, conversation.add_user("What do the metrics count?"))
    reply = conversation.start_reply("gpt-4")
    journal.add(conversation, reply)
    request = Request(conversation.id, OWNER, conversation.wire_messages(), "gpt-4", None)
    return ReplyTask(request, reply, client, store).start()


def test_a_completed_reply_counts_as_started_and_finished_and_times_its_first_text(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="Counted. " * 20, first_byte_delay=0.3)
    before = Reading()
    task = start_reply(store, client)
    assert task.done.wait(60)
    assert task.reply.status is Status.COMPLETE
    assert Reading().since(before) == {
        "liaobots_chat_replies_started_total": 1,
        "liaobots_chat_first_text_seconds_count": 1,
        "liaobots_chat_replies_finished_total{outcome=complete}": 1,
    }
    # The first text came no sooner than the service's delay: it landed in a bucket past it.
    assert value("liaobots_chat_first_text_seconds_sum") >= 0.3


def test_a_reply_being_written_is_counted_as_streaming_until_it_is_stopped(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="slow " * 400, chunk_bytes=5, delay=0.01)
    before = Reading()
    task = start_reply(store, client)
    for _ in task.follow(0):  # until some text has arrived
        if task.reply.text:
            break
    assert Reading().since(before) == {
        "liaobots_chat_replies_started_total": 1,
        "liaobots_chat_replies_streaming": 1,
        "liaobots_chat_first_text_seconds_count": 1,
    }
    task.stop()
    assert task.done.wait(60)
    assert Reading().since(before) == {
        "liaobots_chat_replies_started_total": 1,
        "liaobots_chat_first_text_seconds_count": 1,
        "liaobots_chat_replies_finished_total{outcome=stopped}": 1,
    }


@pytest.mark.parametrize(
    ("status", "kind"), [(401, "auth"), (402, "balance"), (500, "upstream"), (418, "refused")]
)
def test_a_failed_reply_is_counted_by_its_kind_and_the_services_status(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator, status: int, kind: str
) -> None:
    emulator.default = Behavior(status=status)
    before = Reading()
    failures = value("liaobots_chat_reply_failures_total", kind=kind)
    errors = value("liaobots_chat_upstream_errors_total", status=str(status))
    task = start_reply(store, client)
    assert task.done.wait(60)
    assert task.reply.error is not None
    assert task.reply.error.kind == kind
    assert Reading().since(before) == {
        "liaobots_chat_replies_started_total": 1,
        "liaobots_chat_replies_finished_total{outcome=failed}": 1,
    }
    assert value("liaobots_chat_reply_failures_total", kind=kind) == failures + 1
    assert value("liaobots_chat_upstream_errors_total", status=str(status)) == errors + 1


def test_a_connection_cut_mid_reply_is_an_upstream_error_without_a_status(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="cut " * 200, disconnect_after_bytes=100)
    errors = value("liaobots_chat_upstream_errors_total", status="none")
    failures = value("liaobots_chat_reply_failures_total", kind="connection_cut")
    task = start_reply(store, client)
    assert task.done.wait(60)
    assert value("liaobots_chat_upstream_errors_total", status="none") == errors + 1
    assert value("liaobots_chat_reply_failures_total", kind="connection_cut") == failures + 1


def test_a_checkpoint_the_database_refuses_counts_a_write_failure(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="slow " * 400, chunk_bytes=5, delay=0.01)
    failed = value("liaobots_chat_database_write_failures_total", write="checkpoint")
    task = start_reply(store, client)
    for _ in task.follow(0):
        if task.reply.text:
            break
    with store.engine.begin() as db:  # the table is briefly not there: every write fails
        db.execute(text("ALTER TABLE messages RENAME TO messages_away"))
    task.checkpoint()
    with store.engine.begin() as db:
        db.execute(text("ALTER TABLE messages_away RENAME TO messages"))
    assert task.saving_failed
    assert value("liaobots_chat_database_write_failures_total", write="checkpoint") == failed + 1
    task.stop()
    assert task.done.wait(60)


def test_metrics_are_served_only_to_a_client_on_this_machine_that_no_proxy_forwarded() -> None:
    assert from_this_machine("127.0.0.1", {"host": "localhost"})
    assert from_this_machine("::1", {})
    assert not from_this_machine("127.0.0.1", {"x-forwarded-for": "203.0.113.9"})
    assert not from_this_machine("127.0.0.1", {"X-Real-IP": "203.0.113.9"})
    assert not from_this_machine("127.0.0.1", {"forwarded": "for=203.0.113.9"})
    assert not from_this_machine("192.168.1.20", {})
    assert not from_this_machine("203.0.113.9", {})
    assert not from_this_machine(None, {})
    assert not from_this_machine("not an address", {})


def test_metrics_are_refused_to_a_browser_on_this_machine_asking_by_a_foreign_name() -> None:
    # A web page that rebound its name to 127.0.0.1 would read them from the person's browser.
    assert from_this_machine("127.0.0.1", {"Host": "127.0.0.1:8501"})
    assert from_this_machine("::1", {"Host": "[::1]:8501"})
    assert not from_this_machine("127.0.0.1", {"Host": "rebind.test:8501"})


def test_an_unexpected_kind_or_write_is_still_counted_not_lost() -> None:
    unknown = value("liaobots_chat_reply_failures_total", kind="unknown")
    other = value("liaobots_chat_database_write_failures_total", write="other")
    metrics.reply_finished("failed", "a-kind-added-later")
    metrics.write_failed("a-write-added-later")
    assert value("liaobots_chat_reply_failures_total", kind="unknown") == unknown + 1
    assert value("liaobots_chat_database_write_failures_total", write="other") == other + 1
