"""Replies written by the app process, not by the page run that asked for them.

A person who switches conversation, reloads or closes the tab comes back to a finished reply
(or one still growing), as in ChatGPT: only Stop stops a reply. Each reply is read from the
service by a `ReplyTask` on a thread of its own; the process's `Replies` keeps them, bounds
them, checkpoints them to the store about once a second (which renews their leases and hears
a Stop asked for on another process, heard sooner still as a notice) and, when the process is
asked to exit, lets them finish for a grace period and marks the rest interrupted.

A page on this process follows a task's text as it arrives (`ReplyTask.follow`), at a steady
pace that slows only when the process is busy (`update_interval`); a page on another process
reads it from the store (`live.reply_from_elsewhere`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from sqlalchemy.exc import SQLAlchemyError

from chatpage.access.limits import without_controls
from chatpage.access.refusal import Busy, OverLimit
from chatpage.data.conversation import Conversation, ErrorInfo, Message, Status
from chatpage.data.failures import describe
from chatpage.data.project_prompt import ReferencesCut
from chatpage.database.conversations import ConversationStore, retrying_may_mend
from chatpage.database.usage import Allowance
from chatpage.operations import metrics
from liaobots_core import ChatStream, LiaobotsClient, LiaobotsError

log = logging.getLogger(__name__)

# What `ReplyTask.follow` yields after a moment of silence. Streamlit delivers a rerun by
# raising inside the script thread at its next Streamlit call, which never comes while that
# thread waits for text; the page answers TICK with a cheap Streamlit call, so it stays
# responsive.
TICK = None

CHECKPOINT_INTERVAL = 1.0  # seconds of streamed text a crash may cost at most
SETTLE_ATTEMPTS = 5  # a reply's final save is retried this often while the database is down
UPDATE_INTERVAL = 0.08  # seconds between a page's updates of a reply: 12 a second
BUSY_UPDATES_PER_SECOND = 300  # a process's updates a second past which each page gets fewer
SLOWEST_UPDATE_INTERVAL = 0.2  # but never fewer than 5 a second, the page's bar for a reply


# While people arrive (this many page loads in the last second or more), a busy process's
# replies update three times slower, down to this: their first page runs come first.
ARRIVALS_BUSY = 5
SLOWEST_WHILE_ARRIVING = 0.4


def update_interval(streaming: int, arriving: int = 0) -> float:
    """Seconds between a page's updates of a reply while this process streams `streaming`.

    Each update costs the process's one core about half a millisecond (a fragment delta,
    compressed and sent), and it is most of what a streaming reply costs. With up to 24
    replies a page gets 12 updates a second; past that the process's updates are held near
    300 a second, down to 5 per page, so page loads and new replies' first text do not queue
    behind them (docs/benchmarks.md, "Several processes": 100 sessions on 2 replicas).

    While people `arriving` (page loads in the last second) crowd a busy process, the runs
    that open their pages and send their first messages wait behind every reply's updates,
    as Streamlit's tutorial pattern, with a page of almost nothing, never does: updates are
    three times slower then, down to SLOWEST_WHILE_ARRIVING, for the second or so the crowd
    takes to arrive (`python bench/bars.py -- --replicas 2 --sessions 150`).
    """
    interval = min(
        SLOWEST_UPDATE_INTERVAL, max(UPDATE_INTERVAL, streaming / BUSY_UPDATES_PER_SECOND)
    )
    if arriving >= ARRIVALS_BUSY and interval > UPDATE_INTERVAL:
        return min(SLOWEST_WHILE_ARRIVING, 3 * interval)
    return interval


def read_pause(streaming: int, arriving: int = 0) -> float:
    """Seconds a reply task rests, once it has read all the service had sent, before reading on.

    A model sends a token every ~20 ms, and reading each as it comes costs a thread wake-up,
    a system call and the interpreter lock, 50 times a second per reply: at 100 replies that
    was 37 ms of CPU per reply (`python bench/read_pacing.py`). When the process is busy its
    pages show a reply only every `update_interval` anyway, so the task rests half of that
    and then reads what has gathered in one go. Not busy, it reads each token as it comes.
    """
    interval = update_interval(streaming, arriving)
    return interval / 2 if interval > UPDATE_INTERVAL else 0.0


@dataclass(frozen=True)
class Request:
    """What a reply is asked for: everything the task needs, copied at the start."""

    conversation_id: str
    owner: str
    wire: list[dict[str, str]]
    model_id: str
    system_prompt: str | None
    # Whose replies count against the per-person bound when the owner is shared by everyone
    # (CHAT_ACCESS=open): the browser session; None counts by owner, across processes.
    session: str | None = None
    # The person's limits on what they spend (none for admins and where people are not told
    # apart); checked and counted as the request starts.
    allowances: tuple[Allowance, ...] = ()
    temperature: float | None = None  # None: the service's default, and none is sent
    # A project's reference files that did not all fit the model (the page says so).
    references_cut: ReferencesCut | None = None
    # The conversation's revision with this reply stored: its end, saved, then says whether
    # anyone else wrote into the conversation meanwhile (`ReplyTask.revision_after`).
    revision: int | None = None


class ReplyTask:
    """One reply being read from the service into its message, whoever is watching."""

    def __init__(
        self,
        request: Request,
        reply: Message,
        client: LiaobotsClient,
        store: ConversationStore,
        usage_id: str | None = None,
    ) -> None:
        self.request = request
        self.reply = reply
        self.usage_id = usage_id  # its row in the usage ledger, told how it ended
        self._text_before = len(reply.text)  # a continued reply counts only what it adds
        # The text as this task wrote it. The page's copy of the conversation holds `reply`
        # itself, and a refresh of that copy may take a stored state into it (a lease that
        # ran out on a starved machine, the instant before the end is saved): what is saved
        # is always the task's own.
        self._text = reply.text
        self._ended: Message | None = None  # how the reply ended, once saved
        # The conversation's revision once the end was saved, when nobody else had written
        # into it since the reply started: the starting page's copy is then the stored state.
        self.revision_after: int | None = None
        self.dropped = 0  # turns left out of the request to fit the model (for the page's note)
        self.over_budget = False
        self.saving_failed = False  # the last checkpoint could not reach the database
        self._client = client
        self._store = store
        self._parts: list[str] = []
        self._changed = threading.Condition()
        # Followers waiting for text to arrive. One waiting for its pace's deadline needs no
        # waking: a reply of 50 tokens a second would wake it 50 times a second for nothing.
        self._listening = 0
        self._stream: ChatStream | None = None
        self._stopping = threading.Event()
        self._interrupting = False
        self.done = threading.Event()
        self._started_at = 0.0
        self.on_end: Callable[[], None] = lambda: None  # told as it ends, before `done`
        # How long to rest once the service's bytes are all read (`read_pause`); asked each time.
        self.read_pause: Callable[[], float] = lambda: 0.0
        self._thread = threading.Thread(target=self._run, name="chat-reply", daemon=True)

    @property
    def id(self) -> str:
        return self.reply.id

    def start(self) -> ReplyTask:
        self._started_at = time.monotonic()
        metrics.REPLIES_STARTED.inc()
        metrics.REPLIES_STREAMING.inc()
        self._thread.start()
        return self

    def stop(self, *, interrupted: bool = False) -> None:
        """End the reply at once, keeping its text: stopped, or interrupted at an exit."""
        self._interrupting = interrupted
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            stream.close()  # safe from any thread: the reading thread ends by itself

    def snapshot(self) -> tuple[str, int]:
        """The text so far and where `follow` should pick up, taken together."""
        with self._changed:
            return self._text, len(self._parts)

    def follow(
        self, start: int, poll: float = 0.1, pace: float | Callable[[], float] = 0.0
    ) -> Iterator[str | None]:
        """Text as it arrives after part `start`, TICK after `poll` of silence, until the end.

        With a `pace`, text comes at most once per `pace` seconds: what arrives meanwhile is
        joined and given at the deadline, not held until more arrives, so a page shows a
        steady `1 / pace` updates a second however the service cuts its reply. A callable
        `pace` is asked before each update (the process's load changes as replies come and go).

        When it ends, `reply` holds the reply as its writer saved it: a refresh of the page's
        copy of the conversation in the instant of its end may have taken an older stored
        state into it (loaded before the end was saved, taken in after).
        """
        index, given_at = start, float("-inf")
        while True:
            interval = pace() if callable(pace) else pace
            with self._changed:
                silence_ends = time.monotonic() + poll
                while not self.done.is_set():
                    now = time.monotonic()
                    waiting = index < len(self._parts)
                    until = given_at + interval if waiting else silence_ends
                    if now >= until:
                        break
                    self._listening += not waiting
                    try:
                        self._changed.wait(until - now)
                    finally:
                        self._listening -= not waiting
                fresh = self._parts[index:]
                index = len(self._parts)
                ended = self.done.is_set()
            if fresh:
                given_at = time.monotonic()
                yield "".join(fresh)
            elif ended:
                self._tell_reply()
                return
            else:
                yield TICK

    def checkpoint(self) -> None:
        """Save the text so far and renew the lease; a Stop asked for elsewhere stops it."""
        written = self.unsaved()
        if written is None:
            return
        try:
            kept = self._store.checkpoint(self.request.conversation_id, written, self.request.owner)
        except SQLAlchemyError as error:  # the database is down: keep streaming, retry next time
            log.exception("could not save a reply in progress")
            metrics.write_failed("checkpoint")
            self.saving_failed = True
            if not retrying_may_mend(error) and self._mend():
                self.checkpoint()  # the text, made storable, goes at once
            return
        self.saved(kept)

    def unsaved(self) -> Message | None:
        """The reply as a checkpoint saves it now; None once it has ended (`_settle` saves that)."""
        if self.done.is_set():
            return None
        with self._changed:
            return replace(self.reply, text=self._text)

    def saved(self, kept: bool) -> None:
        """A checkpoint went through; not `kept`: the reply was stopped or settled elsewhere."""
        self.saving_failed = False
        if not kept and not self.done.is_set():
            log.info("a reply was stopped from elsewhere")
            self.stop()

    def _run(self) -> None:
        request, reply = self.request, self.reply
        # How the reply ended is kept here until it is saved, then told to `reply` (see
        # `_text`): set on `reply` first, a refresh in that instant took the stored
        # "streaming" state back into it, and the reply was saved cut with no text.
        status, error = Status.STREAMING, None
        try:
            if not self._stopping.is_set():
                extra = {} if request.temperature is None else {"temperature": request.temperature}
                self._stream = self._client.stream_chat(
                    request.wire,
                    model=request.model_id,
                    system_prompt=request.system_prompt,
                    **extra,
                )
                if self._stopping.is_set():
                    self._stream.close()
                for arrived in self._stream:
                    # The one rule, before the text is shown, stored, exported or shared: a
                    # NUL or an ESC from the service costs nothing of what comes after it.
                    self._take(without_controls(arrived))
                    self._rest()
                self.dropped = self._stream.history.dropped
                self.over_budget = self._stream.history.over_budget
                if not self._stopping.is_set():
                    status = Status.COMPLETE
        except LiaobotsError as exc:
            if not self._stopping.is_set():  # closing the stream on Stop raises here too
                status, error = Status.FAILED, describe(exc)
                log.info("reply failed: %s", type(exc).__name__)
                metrics.upstream_error(exc)
        except Exception:  # a bug of ours: keep the text, say so plainly, log the details
            log.exception("reply failed unexpectedly")
            status, error = Status.FAILED, ErrorInfo("unknown")
        finally:
            if status is Status.STREAMING:
                status = Status.INTERRUPTED if self._interrupting else Status.STOPPED
            with self._changed:
                ended = replace(reply, text=self._text, status=status, error=error)
            ended = self._settle(ended)
            with self._changed:
                self._ended = ended
            self._tell_reply()
            metrics.REPLIES_STREAMING.dec()
            metrics.reply_finished(status.value, error.kind if error else None)
            self.on_end()
            with self._changed:
                self.done.set()
                self._changed.notify_all()

    def _take(self, text: str) -> None:
        """Add text that arrived, and wake the pages waiting for it."""
        if not text:
            return
        if not self._parts:
            metrics.FIRST_TEXT.observe(time.monotonic() - self._started_at)
        with self._changed:
            self._text += text
            self.reply.text = self._text
            self._parts.append(text)
            if self._listening:
                self._changed.notify_all()

    def _rest(self) -> None:
        """Rest `read_pause` after a read, while the process is busy; Stop ends it at once.

        Each read takes all the service had sent by then (`liaobots_core` reads a chunked
        body whole, not a token at a time), so a rest delays text, never drops behind: at
        64 KiB a read and ten reads a second, no model is faster than that.
        """
        pause = self.read_pause()
        if pause > 0:
            self._stopping.wait(pause)

    def settled_in(self, conversation: Conversation) -> None:
        """Put `conversation`, the copy of the page that started this reply, at the revision
        the reply's end was saved at, if that copy is the stored state: nobody else wrote into
        the conversation since the reply started, and the copy holds this task's own reply.
        The page's refresh after the reply then reads nothing more (in a conversation of a
        thousand messages, all of them)."""
        if (
            self.done.is_set()
            and self.revision_after is not None
            and conversation.id == self.request.conversation_id
            and conversation.revision == self.request.revision
            and conversation.tree.get(self.reply.id) is self.reply
        ):
            conversation.revision = self.revision_after

    def ended_reply(self) -> Message:
        """The reply as its writer saved it, once `done` (as `follow` leaves it at its end)."""
        self._tell_reply()
        return self.reply

    def _tell_reply(self) -> None:
        """Put how the reply ended into `reply`, the message the page shows."""
        with self._changed:
            if self._ended is not None:
                ended, reply = self._ended, self.reply
                reply.text, reply.status, reply.error = ended.text, ended.status, ended.error

    def _settle(self, ended: Message) -> Message:
        """Save how the reply ended; retried while the database is away, never into a loss.

        A write the database refuses for what it holds (a DataError, a NUL PostgreSQL cannot
        store) is not retried as it is: the text is made storable by the one rule and written
        at once. Retrying the same write would only let the writer's lease run out, and the
        reply be kept as interrupted with the text of its last checkpoint. Returns what was
        (or was last tried to be) saved.
        """
        self._count_usage(ended)
        attempt = 0
        while attempt < SETTLE_ATTEMPTS:
            try:
                written = self._store.settle_reply(
                    self.request.conversation_id,
                    ended,
                    self.request.owner,
                    known_revision=self.request.revision,
                )
                if written is not None and self.request.revision is not None:
                    self.revision_after = None if written.changed_elsewhere else written.revision
                return ended
            except SQLAlchemyError as error:
                log.exception("could not save how a reply ended (attempt %d)", attempt + 1)
                metrics.write_failed("reply_end")
                attempt += 1
                if not retrying_may_mend(error):
                    storable = without_controls(ended.text)
                    if storable != ended.text:
                        ended = replace(ended, text=storable)
                        continue  # the storable text, at once
                    log.error("a reply's end was refused by the database; not retried")
                    return ended
                time.sleep(min(2.0**attempt, 5.0))
        return ended

    def _mend(self) -> bool:
        """Make the text so far storable by the one rule; False if it already was."""
        with self._changed:
            storable = without_controls(self._text)
            if storable == self._text:
                return False
            self._text = self.reply.text = storable
            return True

    def _count_usage(self, reply: Message) -> None:
        if self.usage_id is None:
            return
        try:
            self._store.usage.end(
                self.usage_id,
                chars_out=max(0, len(reply.text) - self._text_before),
                outcome=reply.status.value,
                error_kind=reply.error.kind if reply.error else None,
                now=time.time(),
            )
        except SQLAlchemyError:  # the reply matters more than its count: log, go on
            log.exception("could not record how much a reply used")


@dataclass
class Replies:
    """The replies this app process is writing: bounded, checkpointed, finished at exit."""

    store: ConversationStore
    max_per_process: int = 32
    _tasks: dict[str, ReplyTask] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _keeper: threading.Thread | None = None
    # Replies being written, counted as they start and end: every page update asks
    # `update_interval`, and counting the live tasks each time cost more than the update.
    _streaming: int = 0
    _arrivals: collections.deque[float] = field(default_factory=collections.deque)
    clock: Callable[[], float] = time.monotonic  # when page loads arrived (`arriving`)

    def __post_init__(self) -> None:
        # A Stop asked for on another process is heard at once (notices.py), not only at the
        # reply's next checkpoint, which still hears it should the notice be lost.
        self.store.notices.on_stop(self._stopped_elsewhere)

    def _stopped_elsewhere(self, conversation_id: str, message_id: str) -> None:
        task = self.get(message_id)
        if task is not None and task.request.conversation_id == conversation_id:
            log.info("a reply was stopped from elsewhere")
            task.stop()

    def start(
        self,
        request: Request,
        reply: Message,
        client: LiaobotsClient,
        *,
        max_per_person: int,
    ) -> ReplyTask:
        """Start writing `reply` (stored already, streaming).

        Raises Busy past a bound, OverLimit when the person has spent what they may; else
        the request is counted in the usage ledger before anything goes upstream.
        """
        self.check_room(request.owner, max_per_person, starting=reply.id, session=request.session)
        task = ReplyTask(request, reply, client, self.store, self._count(request))
        task.on_end = self._one_ended
        task.read_pause = lambda: read_pause(self._streaming, self.arriving())
        with self._lock:
            self._tasks[task.id] = task
            self._streaming += 1
            if self._keeper is None:
                self._keeper = threading.Thread(
                    target=self._keep, name="chat-reply-checkpoints", daemon=True
                )
                self._keeper.start()
        return task.start()

    def check_room(
        self,
        owner: str,
        max_per_person: int,
        starting: str | None = None,
        session: str | None = None,
    ) -> None:
        """Raise Busy when the person or the process is writing as many replies as allowed.

        The person's count is read from the store, so it holds across app processes;
        `starting` is the reply about to start (stored already), which does not count. Where
        everyone shares one owner, a `session` (a browser session, which lives in this
        process) is counted instead: the page cannot tell people apart there.
        """
        live = self._live()
        if len(live) >= self.max_per_process:
            raise Busy("process", self.max_per_process)
        if session is not None:
            mine = {t.id for t in live if t.request.session == session} - {starting}
        else:
            mine = self.store.writing_replies(owner) - {starting}
        if len(mine) >= max_per_person:
            raise Busy("person", max_per_person)

    def streaming(self) -> int:
        """Replies this process is writing now."""
        return self._streaming

    def _one_ended(self) -> None:
        with self._lock:
            self._streaming -= 1

    def _live(self) -> list[ReplyTask]:
        with self._lock:
            return [task for task in self._tasks.values() if not task.done.is_set()]

    def update_interval(self) -> float:
        """How often a page on this process should show a reply's new text, by its load."""
        return update_interval(self.streaming(), self.arriving())

    def note_arrival(self) -> None:
        """A page was opened on this process (a session's first run)."""
        now = self.clock()
        with self._lock:
            self._arrivals.append(now)
            self._forget_arrivals_before(now - 1.0)  # held to a second's worth, read or not

    def arriving(self) -> int:
        """Pages opened on this process in the last second."""
        since = self.clock() - 1.0
        with self._lock:
            self._forget_arrivals_before(since)
            return len(self._arrivals)

    def _forget_arrivals_before(self, since: float) -> None:
        arrivals = self._arrivals
        while arrivals and arrivals[0] < since:
            arrivals.popleft()

    def _count(self, request: Request) -> str | None:
        """Record the request in the usage ledger; its id, or None if it cannot be counted.

        With limits to keep, a request that cannot be counted does not go: the operator's
        balance is at stake. Without, the reply matters more than its count.
        """
        chars_in = sum(len(turn["content"]) for turn in request.wire)
        chars_in += len(request.system_prompt or "")
        try:
            counted = self.store.usage.begin(
                request.owner, request.model_id, chars_in, request.allowances, time.time()
            )
        except SQLAlchemyError:
            log.exception("could not record a request in the usage ledger")
            if request.allowances:
                raise OverLimit(ErrorInfo("limits_unavailable")) from None
            return None
        if isinstance(counted, ErrorInfo):
            raise OverLimit(counted)
        return counted

    def get(self, message_id: str) -> ReplyTask | None:
        with self._lock:
            return self._tasks.get(message_id)

    def stop(self, message_id: str, wait: float = 2.0) -> bool:
        """Stop a reply this process writes; wait a moment for it to settle. False if not here."""
        task = self.get(message_id)
        if task is None:
            return False
        task.stop()
        task.done.wait(wait)
        return True

    def shutdown(self, grace: float) -> None:
        """At exit: let replies finish for `grace` seconds, then cut and save the rest."""
        tasks = self._live()
        deadline = time.monotonic() + grace
        for task in tasks:
            task.done.wait(max(0.0, deadline - time.monotonic()))
        for task in tasks:
            if not task.done.is_set():
                task.stop(interrupted=True)
        for task in tasks:
            task.done.wait(5.0)
        if tasks:
            finished = sum(1 for task in tasks if task.reply.status is not Status.INTERRUPTED)
            log.info(
                "at exit: %d replies finished, %d interrupted", finished, len(tasks) - finished
            )

    def _keep(self) -> None:
        """Checkpoint every running reply once a second, on the second; forget finished ones.

        The seconds are counted from the keeper's start, not from the end of the last round, so
        the time a round takes does not stretch the interval; a round late (a starved machine)
        runs at once, and the next a second after it, never a burst of those missed.
        """
        due = time.monotonic()
        while True:
            due = max(due + CHECKPOINT_INTERVAL, time.monotonic())
            time.sleep(max(0.0, due - time.monotonic()))
            with self._lock:
                for message_id in [i for i, t in self._tasks.items() if t.done.is_set()]:
                    del self._tasks[message_id]
                tasks = list(self._tasks.values())
            checkpoint_together(self.store, tasks)


def checkpoint_together(store: ConversationStore, tasks: list[ReplyTask]) -> None:
    """Checkpoint `tasks` in one transaction (`ConversationStore.checkpoint_many`).

    If it fails, each is checkpointed on its own, as ever: one reply's text the database
    refuses (a NUL on PostgreSQL) is mended without holding back the others.
    """
    due = [(task, written) for task in tasks if (written := task.unsaved()) is not None]
    if not due:
        return
    try:
        kept = store.checkpoint_many(
            [(task.request.conversation_id, written, task.request.owner) for task, written in due]
        )
    except SQLAlchemyError:
        log.warning("could not save replies in progress together; saving each on its own")
        for task, _ in due:
            task.checkpoint()
        return
    for (task, _), each in zip(due, kept, strict=True):
        task.saved(each)
