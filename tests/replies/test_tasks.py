"""Replies written by the app process: whole, stoppable from anywhere, bounded, saved at exit."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from chatpage.access.refusal import Busy
from chatpage.data.conversation import Conversation, Status
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from chatpage.replies import tasks as tasks_module
from chatpage.replies.tasks import (
    ARRIVALS_BUSY,
    SLOWEST_WHILE_ARRIVING,
    TICK,
    Replies,
    ReplyTask,
    Request,
    read_pause,
    update_interval,
)
from liaobots_core import ChatStream, LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator

OWNER = "alice@example.com"
WAIT = 60.0  # seconds for text to reach a follower on a machine ten times slower
FAST, SLOW = 0.05, 1.0  # a follower's paces while its process is idle, and busy


@pytest.fixture
def store(database_url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(database_url)
    yield store
    store.close()


def asked(store: ConversationStore, question: str = "Расскажи историю") -> tuple:
    """A stored conversation with a question and a streaming reply, as the page leaves it."""
    conversation = Conversation(model_id="gpt-4")
    journal = Journal(store, OWNER)
    journal.add(conversation, conversation.add_user(question))
    reply = conversation.start_reply("gpt-4")
    journal.add(conversation, reply)
    request = Request(conversation.id, OWNER, conversation.wire_messages(), "gpt-4", None)
    return conversation, reply, request


def stored_reply(store: ConversationStore, conversation: Conversation, reply_id: str):
    loaded = store.load(conversation.id, OWNER)
    assert loaded is not None
    return loaded.tree[reply_id]


def test_a_reply_is_written_whole_into_its_message_and_the_store(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="Жил-был маяк 🗼 " * 50, chunk_bytes=7, split_multibyte=True)
    conversation, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    assert task.done.wait(60)
    assert reply.text == "Жил-был маяк 🗼 " * 50
    assert reply.status is Status.COMPLETE
    saved = stored_reply(store, conversation, reply.id)
    assert (saved.text, saved.status) == (reply.text, Status.COMPLETE)


def test_a_follower_joining_mid_reply_gets_exactly_the_rest(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    full = "".join(f"часть {i}. " for i in range(300))
    emulator.default = Behavior(reply=full, chunk_bytes=40, delay=0.005)
    _, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    for _ in task.follow(0):  # until some text has arrived
        if reply.text:
            break
    text, start = task.snapshot()
    rest = "".join(piece for piece in task.follow(start, poll=0.01) if piece is not TICK)
    assert text + rest == full


def test_a_paced_follower_gives_text_at_the_deadline_not_when_more_arrives(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    # Two pieces 0.1 s apart, then the service goes quiet for an hour: text held until more
    # arrives would never come, however fast the machine.
    emulator.default = Behavior(reply="aaaabbbbcccc", chunk_bytes=4, delay=0.1, stall_after_bytes=8)
    _, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    given: list[tuple[float, str]] = []
    deadline = time.monotonic() + WAIT
    try:
        for piece in task.follow(0, poll=0.1, pace=0.3):
            if piece:
                given.append((time.monotonic(), piece))
            if "".join(text for _, text in given) == "aaaabbbb":
                break
            assert time.monotonic() < deadline, (
                f"the text that arrived before the service went silent was held back: "
                f"given {given!r} after {WAIT:.0f} s"
            )
    finally:
        task.stop()
    assert len(emulator.chat_requests) == 1
    # Paced: never two updates within the pace (half of it allowed for the test's own
    # thread being paused between an update and its reading of the clock).
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(given)]
    assert all(gap >= 0.15 for gap in gaps), gaps


def test_a_follower_asks_a_changing_pace_before_each_update(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    full = "слово " * 5000  # far longer than the test reads: no early end cuts a pace short
    emulator.default = Behavior(reply=full, chunk_bytes=8, delay=0.002)
    _, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    times: list[float] = []
    asked_paces: list[float] = []

    def pace() -> float:
        """The process grows busy mid-reply: quick updates, then one a second."""
        asked_paces.append(FAST if len(times) < 3 else SLOW)
        return asked_paces[-1]

    try:
        for piece in task.follow(0, pace=pace):
            if piece:
                times.append(time.monotonic())
            if len(times) == 4:
                break
    finally:
        task.stop()
    assert len(asked_paces) >= len(times)  # asked before each update
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # The slow pace, asked after the third update, holds the fourth back; half of a pace
    # is allowed for the test's own thread being paused before it reads the clock.
    assert min(gaps[:2]) >= FAST / 2, gaps
    assert gaps[2] >= SLOW - FAST, gaps
    # The quick pace is not held to the slow one: twenty times apart, so only a machine
    # some twenty times slower than usual could blur them.
    assert max(gaps[:2]) < SLOW, gaps


def test_pages_get_twelve_updates_a_second_until_the_process_is_busy_and_never_under_five() -> None:
    assert update_interval(0) == update_interval(24) == 0.08
    slowing = [update_interval(n) for n in range(24, 120)]
    assert slowing == sorted(slowing)
    assert 50 / update_interval(50) == pytest.approx(300)  # the process's updates held at 300/s
    assert update_interval(60) == update_interval(1000) == 0.2


def test_a_busy_process_updates_replies_three_times_slower_while_a_crowd_arrives() -> None:
    busy = update_interval(60)
    assert update_interval(60, arriving=ARRIVALS_BUSY - 1) == busy  # a few visitors: as ever
    assert update_interval(30, arriving=ARRIVALS_BUSY) == pytest.approx(3 * update_interval(30))
    assert update_interval(60, arriving=ARRIVALS_BUSY) == SLOWEST_WHILE_ARRIVING < 3 * busy
    assert read_pause(60, arriving=ARRIVALS_BUSY) == SLOWEST_WHILE_ARRIVING / 2
    # A quiet process shows every reply at its full pace, however many people arrive.
    assert update_interval(10, arriving=100) == update_interval(10) == 0.08
    assert read_pause(10, arriving=100) == 0.0


def test_the_process_counts_the_pages_opened_in_the_last_second(
    store: ConversationStore,
) -> None:
    now = [100.0]
    replies = Replies(store, clock=lambda: now[0])
    for _ in range(ARRIVALS_BUSY):
        replies.note_arrival()
        now[0] += 0.1
    assert replies.arriving() == ARRIVALS_BUSY
    now[0] += 0.55  # the first was opened 1.05 s ago, the last 0.65 s ago
    assert replies.arriving() == ARRIVALS_BUSY - 1
    now[0] += 0.4
    assert replies.arriving() == 0
    assert replies.update_interval() == 0.08


def test_pages_opened_with_no_reply_streaming_are_not_kept_past_a_second(
    store: ConversationStore,
) -> None:
    """Nothing asks `arriving` while no reply streams: a reloading visitor grows no list."""
    now = [0.0]
    replies = Replies(store, clock=lambda: now[0])
    for _ in range(10_000):
        replies.note_arrival()
        now[0] += 0.01
    assert len(replies._arrivals) <= 101


def test_the_process_slows_updates_only_while_it_streams_many_replies(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="q" * 100_000, chunk_bytes=10, delay=0.01)
    replies = Replies(store, max_per_process=100)
    assert (replies.streaming(), replies.update_interval()) == (0, 0.08)
    tasks = []
    for n in range(40):
        _, reply, request = asked(store, f"question {n}")
        tasks.append(
            replies.start(replace(request, session=str(n)), reply, client, max_per_person=1)
        )
    assert replies.streaming() == 40
    assert replies.update_interval() == pytest.approx(40 / 300)
    for task in tasks:
        task.stop()
    for task in tasks:
        assert task.done.wait(60)
    assert (replies.streaming(), replies.update_interval()) == (0, 0.08)


def test_a_reply_task_reads_each_token_as_it_comes_until_the_process_is_busy() -> None:
    assert read_pause(0) == read_pause(24) == 0.0
    resting = [read_pause(n) for n in range(25, 120)]
    assert all(rest > 0 for rest in resting)
    assert resting == sorted(resting)
    # Half of a page's update interval: what a rest gathers is shown at the next update.
    assert read_pause(100) == update_interval(100) / 2 == 0.1


def counted_rests(task: ReplyTask, seconds: float) -> Iterator[int]:
    """Make `task` rest `seconds` each time; `next()` of the result: the rests so far."""
    rests = itertools.count()

    def rest() -> float:
        next(rests)
        return seconds

    task.read_pause = rest
    return rests


def test_a_resting_reply_task_takes_what_gathered_meanwhile_and_loses_nothing(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    full = "".join(f"токен {i} " for i in range(150))
    tokens = -(-len(full.encode()) // 4)
    emulator.default = Behavior(reply=full, chunk_bytes=4, delay=0.005, split_multibyte=True)
    conversation, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store)
    rests = counted_rests(task, 0.3)
    task.start()
    seen: list[tuple[float, str]] = []
    for piece in task.follow(0, poll=0.01):
        if piece:
            seen.append((time.monotonic(), piece))
    assert "".join(piece for _, piece in seen) == full
    assert (reply.status, stored_reply(store, conversation, reply.id).text) == (
        Status.COMPLETE,
        full,
    )
    # It rested only after reading all that had come: a few rests, not one per token.
    assert next(rests) < tokens / 10
    # After a rest, nothing came before its end.
    assert max(later - earlier for (earlier, _), (later, _) in itertools.pairwise(seen)) >= 0.29


class CountedReads:
    """A client whose streams count the pieces the reply task reads from them."""

    def __init__(self, client: LiaobotsClient) -> None:
        self.client = client
        self.reads = 0

    def stream_chat(self, *args: object, **kwargs: object) -> CountedStream:
        return CountedStream(self.client.stream_chat(*args, **kwargs), self)


class CountedStream:
    def __init__(self, stream: ChatStream, counts: CountedReads) -> None:
        self.stream, self.counts, self.history = stream, counts, stream.history

    def __iter__(self) -> Iterator[str]:
        for piece in self.stream:
            self.counts.reads += 1
            yield piece

    def close(self) -> None:
        self.stream.close()


def test_a_resting_reply_task_reads_all_that_gathered_in_one_read_per_rest(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    """Not a read for what was buffered and another that waits for the next token: the
    wake-up each costs is what resting saves (`python bench/read_pacing.py`)."""
    full = "".join(f"слово{i} " for i in range(200))
    emulator.default = Behavior(reply=full, chunk_bytes=4, delay=0.004)
    conversation, reply, request = asked(store)
    counted = CountedReads(client)
    task = ReplyTask(request, reply, counted, store)  # type: ignore[arg-type]
    rests = counted_rests(task, 0.2)
    task.start()
    assert task.done.wait(60)
    assert (reply.status, stored_reply(store, conversation, reply.id).text) == (
        Status.COMPLETE,
        full,
    )
    assert counted.reads == next(rests), "reads and rests"
    assert counted.reads < len(full.encode()) // 4 / 10


def test_stop_ends_a_reply_task_resting_between_reads_and_keeps_its_text(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="слово " * 2000, chunk_bytes=12, delay=0.01)
    conversation, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store)
    task.read_pause = lambda: 3600.0  # a rest no test could wait out
    task.start()
    next(piece for piece in task.follow(0) if piece)
    task.stop()
    assert task.done.wait(60), "Stop did not end the task's rest"
    assert reply.status is Status.STOPPED
    assert reply.text
    saved = stored_reply(store, conversation, reply.id)
    assert (saved.text, saved.status) == (reply.text, Status.STOPPED)


def test_a_paced_follower_joins_what_arrives_within_the_pace(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    full = "слово " * 400
    emulator.default = Behavior(reply=full, chunk_bytes=8, delay=0.002)
    _, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    times, pieces = [], []
    for piece in task.follow(0, pace=0.1):
        if piece:
            times.append(time.monotonic())
            pieces.append(piece)
    assert "".join(pieces) == full
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(pieces) < len(full.encode()) / 8 / 3  # far fewer updates than pieces sent
    # Never two updates within the pace (half of it allowed for the test's own thread being
    # paused before it reads the clock); the last comes as soon as the reply ends.
    assert min(gaps[:-1], default=1.0) >= 0.05


def test_stop_keeps_the_text_so_far_and_says_stopped(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="слово " * 2000, chunk_bytes=12, delay=0.01)
    conversation, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    next(piece for piece in task.follow(0) if piece)
    task.stop()
    assert task.done.wait(60)
    assert reply.status is Status.STOPPED
    assert 0 < len(reply.text) < len("слово " * 2000)
    saved = stored_reply(store, conversation, reply.id)
    assert (saved.text, saved.status) == (reply.text, Status.STOPPED)


class RefreshRacingTheEnd(ConversationStore):
    """A real store that, as a reply's writer saves how it ended, first loads the conversation
    as it stood (what a page's refresh loads at any moment, on another thread) and lets the
    page's copy take that in: the instant the page refreshes while the reply ends."""

    page: Conversation
    before_the_end: Conversation | None = None

    def settle_reply(self, conversation_id, message, owner, **known):  # type: ignore[no-untyped-def]
        self.before_the_end = self.load(conversation_id, owner)
        assert self.before_the_end is not None
        self.page.absorb(self.before_the_end)
        return super().settle_reply(conversation_id, message, owner, **known)


@pytest.fixture
def racing_store(database_url: str) -> Iterator[RefreshRacingTheEnd]:
    store = RefreshRacingTheEnd(database_url)
    yield store
    store.close()


def test_a_page_refreshing_as_a_reply_ends_does_not_undo_its_ending(
    racing_store: RefreshRacingTheEnd, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="ответ целиком")
    conversation, reply, request = asked(racing_store)
    racing_store.page = conversation  # the page's copy holds the very message the task writes
    task = ReplyTask(request, reply, client, racing_store).start()
    assert task.done.wait(30), "the reply did not end within 30 s"
    saved = stored_reply(racing_store, conversation, reply.id)
    assert (saved.text, saved.status) == ("ответ целиком", Status.COMPLETE)
    assert (reply.text, reply.status) == ("ответ целиком", Status.COMPLETE)


def test_a_reply_followed_to_its_end_is_shown_as_saved_after_a_refresh_read_before_it(
    racing_store: RefreshRacingTheEnd, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="ответ целиком")
    conversation, reply, request = asked(racing_store)
    racing_store.page = Conversation(model_id="gpt-4")  # another copy: nothing taken in yet
    task = ReplyTask(request, reply, client, racing_store).start()
    assert task.done.wait(30), "the reply did not end within 30 s"
    # The page loaded the conversation before the end was saved, and takes it in after.
    assert racing_store.before_the_end is not None
    conversation.absorb(racing_store.before_the_end)
    assert reply.status is Status.STREAMING
    text, start = task.snapshot()
    assert text + "".join(p for p in task.follow(start) if p is not TICK) == "ответ целиком"
    assert (reply.text, reply.status) == ("ответ целиком", Status.COMPLETE)


class CountingLoads(ConversationStore):
    """A real store that counts the conversations it loads whole."""

    loads = 0

    def load(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.loads += 1
        return super().load(*args, **kwargs)


@pytest.fixture
def counting_store(database_url: str) -> Iterator[CountingLoads]:
    store = CountingLoads(database_url)
    yield store
    store.close()


def started_by_the_page(store: ConversationStore, client: LiaobotsClient) -> tuple:
    """A reply started as the page starts one: its request knows the copy's revision."""
    conversation, reply, request = asked(store)
    request = replace(request, revision=conversation.revision)
    return conversation, reply, ReplyTask(request, reply, client, store).start()


def test_the_page_that_started_a_reply_reads_nothing_again_after_its_end(
    counting_store: CountingLoads, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="ответ целиком", chunk_bytes=5)
    conversation, reply, task = started_by_the_page(counting_store, client)
    assert task.done.wait(WAIT), f"the reply did not end within {WAIT:.0f} s"
    task.settled_in(conversation)
    assert Journal(counting_store, OWNER).refresh(conversation)
    assert counting_store.loads == 0
    stored = counting_store.load(conversation.id, OWNER)
    assert stored is not None
    assert conversation.revision == stored.revision
    assert [(m.id, m.text, m.status) for m in conversation.messages] == [
        (m.id, m.text, m.status) for m in stored.messages
    ]
    assert (reply.text, reply.status) == ("ответ целиком", Status.COMPLETE)


def test_what_another_window_wrote_during_a_reply_is_read_after_its_end(
    counting_store: CountingLoads, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="ответ целиком", chunk_bytes=5, hold_after_bytes=5)
    conversation, reply, task = started_by_the_page(counting_store, client)
    for piece in task.follow(0):  # held after its first words
        if piece:
            break
    assert counting_store.rename(conversation.id, "Из другого окна", OWNER)
    emulator.release_held()
    assert task.done.wait(WAIT), f"the reply did not end within {WAIT:.0f} s"
    task.settled_in(conversation)
    assert task.revision_after is None
    assert Journal(counting_store, OWNER).refresh(conversation)
    assert counting_store.loads == 1
    assert conversation.title == "Из другого окна"
    assert conversation.revision == counting_store.revision(conversation.id, OWNER)
    assert (reply.text, reply.status) == ("ответ целиком", Status.COMPLETE)


def test_a_copy_that_did_not_start_the_reply_reads_its_end_from_the_store(
    counting_store: CountingLoads, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="ответ целиком", hold_after_bytes=5)
    conversation, reply, task = started_by_the_page(counting_store, client)
    other_tab = counting_store.load(conversation.id, OWNER)  # the same revision, its own copy
    assert other_tab is not None
    assert other_tab.revision == conversation.revision
    emulator.release_held()
    assert task.done.wait(WAIT), f"the reply did not end within {WAIT:.0f} s"
    task.settled_in(other_tab)
    assert other_tab.revision == conversation.revision  # not moved: its reply is not the task's
    assert Journal(counting_store, OWNER).refresh(other_tab)
    assert (other_tab.tree[reply.id].text, other_tab.tree[reply.id].status) == (
        "ответ целиком",
        Status.COMPLETE,
    )


def test_a_failure_keeps_the_text_and_records_its_kind(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="начало ответа и обрыв", disconnect_after_bytes=20)
    conversation, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    assert task.done.wait(60)
    assert reply.status is Status.FAILED
    assert reply.error is not None
    assert reply.error.kind == "connection_cut"
    assert stored_reply(store, conversation, reply.id).text == reply.text


def test_a_stop_asked_for_on_another_process_ends_the_reply_at_its_next_checkpoint(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="x" * 100_000, chunk_bytes=10, delay=0.01)
    conversation, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    next(piece for piece in task.follow(0) if piece)
    other_process = ConversationStore(store.engine.url.render_as_string(hide_password=False))
    assert other_process.request_stop(conversation.id, reply.id, OWNER)
    other_process.close()
    task.checkpoint()  # what the process's checkpoint thread does about once a second
    assert task.done.wait(60)
    assert stored_reply(store, conversation, reply.id).status is Status.STOPPED


def test_a_stop_asked_for_on_another_process_is_heard_at_once_without_a_checkpoint(
    postgres_url: str, client: LiaobotsClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks_module, "CHECKPOINT_INTERVAL", 3600.0)  # only the notice can stop it
    emulator.default = Behavior(reply="x" * 100_000, chunk_bytes=10, delay=0.01)
    store, other_process = ConversationStore(postgres_url), ConversationStore(postgres_url)
    try:
        assert store.notices.wait_listening(30), "the notice listener never connected"
        replies = Replies(store)
        conversation, reply, request = asked(store)
        task = replies.start(request, reply, client, max_per_person=5)
        next(piece for piece in task.follow(0) if piece)
        assert other_process.request_stop(conversation.id, reply.id, OWNER)
        assert task.done.wait(30), "the Stop from another process was not heard"
        assert stored_reply(store, conversation, reply.id).status is Status.STOPPED
    finally:
        store.close()
        other_process.close()


def test_at_exit_replies_get_a_grace_period_then_are_saved_as_interrupted(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    replies = Replies(store)
    emulator.enqueue(Behavior(reply="short and done"))
    done_conversation, done_reply, done_request = asked(store, "short")
    assert replies.start(done_request, done_reply, client, max_per_person=5).done.wait(60)
    emulator.default = Behavior(reply="y" * 100_000, chunk_bytes=10, delay=0.01)
    long_conversation, long_reply, long_request = asked(store, "long")
    long_task = replies.start(long_request, long_reply, client, max_per_person=5)
    next(piece for piece in long_task.follow(0) if piece)
    replies.shutdown(grace=0.5)
    assert stored_reply(store, done_conversation, done_reply.id).status is Status.COMPLETE
    cut = stored_reply(store, long_conversation, long_reply.id)
    assert cut.status is Status.INTERRUPTED
    assert cut.text == long_reply.text
    assert cut.text


def test_a_person_may_have_only_so_many_replies_being_written(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="z" * 100_000, chunk_bytes=10, delay=0.01)
    replies = Replies(store, max_per_process=10)
    tasks = []
    for question in ("one", "two"):
        _, reply, request = asked(store, question)
        tasks.append(replies.start(request, reply, client, max_per_person=2))
    _, third, third_request = asked(store, "three")
    with pytest.raises(Busy) as refused:
        replies.start(third_request, third, client, max_per_person=2)
    assert (refused.value.kind, refused.value.limit) == ("person", 2)
    third.status = Status.FAILED  # as the page settles a reply refused for want of room
    assert store.settle_reply(third_request.conversation_id, third, OWNER)
    replies.check_room("bob@example.com", 2)  # someone else is not held back
    for task in tasks:
        task.stop()
        assert task.done.wait(60)
    replies.check_room(OWNER, 2)  # room again once they ended


def test_where_everyone_shares_one_owner_each_browser_session_has_its_own_bound(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="o" * 100_000, chunk_bytes=10, delay=0.01)
    replies = Replies(store, max_per_process=10)
    tasks = []
    for session in ("tab-a", "tab-b", "tab-c"):  # three people on one open page, same owner
        _, reply, request = asked(store, session)
        tasks.append(
            replies.start(replace(request, session=session), reply, client, max_per_person=1)
        )
    _, again, request = asked(store, "tab-a again")
    with pytest.raises(Busy) as refused:
        replies.start(replace(request, session="tab-a"), again, client, max_per_person=1)
    assert refused.value.kind == "person"
    replies.check_room(OWNER, 1, session="tab-d")  # a fourth person still has room
    for task in tasks:
        task.stop()
        assert task.done.wait(60)


def test_the_process_bound_holds_whoever_asks(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="w" * 100_000, chunk_bytes=10, delay=0.01)
    replies = Replies(store, max_per_process=1)
    _, reply, request = asked(store)
    task = replies.start(request, reply, client, max_per_person=5)
    with pytest.raises(Busy) as refused:
        replies.check_room("bob@example.com", 5)
    assert refused.value.kind == "process"
    task.stop()
    assert task.done.wait(60)


def test_follow_ends_for_every_follower_when_the_reply_ends(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="общий ответ " * 100, chunk_bytes=16, delay=0.002)
    _, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store)
    seen: list[str] = []

    def watch() -> None:
        seen.append("".join(p for p in task.follow(0, poll=0.01) if p is not TICK))

    followers = [threading.Thread(target=watch) for _ in range(3)]
    for follower in followers:
        follower.start()
    task.start()
    for follower in followers:
        follower.join(60)
    assert seen == ["общий ответ " * 100] * 3


def test_a_paced_follower_gets_the_whole_reply_joined_up_to_its_last_piece(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    full = "".join(f"token{i} " for i in range(400))
    emulator.default = Behavior(reply=full, chunk_bytes=4, delay=0.002)
    _, reply, request = asked(store)
    task = ReplyTask(request, reply, client, store).start()
    started = time.monotonic()
    pieces = [piece for piece in task.follow(0, poll=10, pace=0.25) if piece is not TICK]
    seconds = time.monotonic() - started
    assert "".join(pieces) == full  # the last pieces, arrived between deadlines, included
    assert len(pieces) <= seconds / 0.25 + 2  # joined: one update per pace, not per token


def test_a_process_saves_all_its_replies_in_one_transaction_once_a_second(
    store: ConversationStore, client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply="w" * 100_000, chunk_bytes=4, delay=0.02)
    rounds: list[tuple[float, list[tuple[str, str]]]] = []
    together = store.checkpoint_many

    def recorded(replies):  # the real write, when it began and what it saved noted
        began = time.monotonic()
        kept = together(replies)
        rounds.append((began, [(m.id, m.text) for _, m, _ in replies]))
        return kept

    store.checkpoint_many = recorded  # type: ignore[method-assign]
    replies = Replies(store, max_per_process=10)
    tasks = []
    for n in range(5):
        conversation, reply, request = asked(store, f"question {n}")
        tasks.append((conversation, replies.start(request, reply, client, max_per_person=5)))
    deadline = time.monotonic() + 60
    while len(rounds) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert len(rounds) >= 4, "awaited four rounds of checkpoints within 60 s"
        ids = {task.id for _, task in tasks}
        assert all({i for i, _ in saved} == ids for _, saved in rounds[1:4])
        # On the second from the keeper's start: a late round is not followed by a burst.
        gaps = [b - a for (a, _), (b, _) in itertools.pairwise(rounds[:4])]
        assert all(gap >= 0.3 for gap in gaps), gaps
        assert 2.7 <= rounds[3][0] - rounds[0][0] < 6, gaps
        for conversation, task in tasks:
            text = stored_reply(store, conversation, task.id).text
            assert task.reply.text.startswith(text)
            assert len(text) >= 4
    finally:
        for _, task in tasks:
            task.stop()
        for _, task in tasks:
            assert task.done.wait(60)
