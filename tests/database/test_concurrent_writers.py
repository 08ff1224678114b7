"""Two or three writers with stale copies of one conversation, on SQLite and on PostgreSQL.

Each writer is an app process: a store of its own (its own engine and pool), a journal, a
copy of the conversation that goes stale as the others write, and the replies its process is
writing (tasks that checkpoint and settle through the store, as `replies.ReplyTask` does). In
any order they send after what their copy shows, edit a question, regenerate a reply, continue
a cut one, stream, stop (their own reply, or one another process writes), switch branches,
refresh, rename and delete. A writer acts either on its copy as it is (as when another process
writes between a page's refresh and its write) or after taking in the stored state first.

After every step: every message ever accepted is stored with its text, role, parent and state;
nothing is stored that nobody sent; the tree is well formed; a writer whose copy is up to date
holds exactly what is stored. Once the conversation is deleted it stays gone, writes are
refused (ConversationGone) and nothing more is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import or_, select

from chatpage.access.limits import TITLE_MAX_CHARS
from chatpage.data.conversation import Conversation, ErrorInfo, Message, Status
from chatpage.database import conversations as store_module
from chatpage.database.conversations import ConversationGone, ConversationStore
from chatpage.database.conversations import messages as message_rows
from chatpage.journal import Journal
from chatpage.session import CONTINUABLE

OWNER = "local"
MODEL = "gpt-4"
RATE_LIMITED = ErrorInfo("rate_limit", 429, 7.0)
NO_ROOM = ErrorInfo("busy_person", limit=3)  # `replies.Busy`: settled through the journal
OVER_QUOTA = ErrorInfo("demo_per_minute", limit=5)  # a preflight refusal: stored failed

# Any printable text: Cyrillic, CJK, emoji (a flag and a joined sequence among them) and
# whatever else Unicode has, without control characters, NUL or lone surrogates.
_LETTER = st.one_of(
    st.characters(min_codepoint=0x0400, max_codepoint=0x04FF),
    st.sampled_from(["👋", "🙂", "🐍", "🇷🇺", "👩\u200d💻", "你", "好", "ё", " "]),
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
)
WORDS = st.lists(_LETTER, max_size=12).map("".join)
TITLES = st.one_of(WORDS, st.lists(_LETTER, min_size=190, max_size=230).map("".join))
ENDINGS = st.sampled_from([Status.COMPLETE, Status.STOPPED, Status.FAILED])
# How a reply starts: written by a task of the writer's process (most often), refused for
# want of room after it was stored, or refused by a limit before anything was asked for.
STARTS = st.sampled_from(["task", "task", "task", "no room", "over quota"])


@dataclass
class Expected:
    """What the store must hold for one accepted message."""

    role: str
    text: str
    parent_id: str | None
    status: Status | None  # None: a reply a task is still writing
    error: ErrorInfo | None = None


@dataclass
class Writer:
    """One app process: its own store, journal, copy of the conversation and reply tasks."""

    store: ConversationStore
    journal: Journal
    copy: Conversation
    synced: int = 0  # the revision this writer's copy was last brought up to date at
    tasks: dict[str, Message] = field(default_factory=dict)  # replies this process writes


def assert_well_formed(conversation: Conversation, *, shows_a_leaf: bool) -> None:
    """Every parent exists, no message is its own ancestor, `messages` runs root to leaf."""
    tree = conversation.tree
    for message in tree.values():
        seen: set[str] = set()
        node = message
        while node.parent_id is not None:
            assert node.parent_id in tree, f"{node.id} follows {node.parent_id}, not in the tree"
            assert node.id not in seen, f"{message.id} is its own ancestor"
            seen.add(node.id)
            node = tree[node.parent_id]
    path = conversation.messages
    if conversation.leaf_id is None:
        assert path == []
        return
    assert path, "the branch on show is empty"
    assert path[0].parent_id is None
    assert path[-1].id == conversation.leaf_id
    for earlier, later in pairwise(path):
        assert later.parent_id == earlier.id
    if shows_a_leaf:
        assert conversation.children(conversation.leaf_id) == []


class ConcurrentWriters(RuleBasedStateMachine):
    """The model: what each writer did, hence what the store must hold."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.writers: list[Writer] = []
        self.conversation_id = ""
        self.expected: dict[str, Expected] = {}
        self.refused: list[str] = []  # messages sent after the delete: never stored
        self.revision = 0  # one per message added, reply settled or reply taken up again
        self.shown: str | None = None  # the message the store was last told to show
        self.title: str | None = None
        self.stop_asked: set[str] = set()  # replies another process was asked to stop
        self.deleted = False
        self.sent = 0

    def teardown(self) -> None:
        for writer in self.writers:
            writer.store.close()

    # -- writers -------------------------------------------------------------------------------

    def _open_writer(self, copy: Conversation) -> Writer:
        store = ConversationStore(self.url)
        writer = Writer(store, Journal(store, OWNER), copy)
        self.writers.append(writer)
        return writer

    @initialize(count=st.integers(2, 3), question=WORDS, start=STARTS, prompt=WORDS)
    def one_writer_starts_and_the_others_open_it(
        self, count: int, question: str, start: str, prompt: str
    ) -> None:
        creator = self._open_writer(Conversation(model_id=MODEL, system_prompt=prompt))
        self.conversation_id = creator.copy.id
        self._send(creator, None, question, start)
        for _ in range(count - 1):  # while the first reply may still be written
            writer = self._open_writer(Conversation(model_id=MODEL))
            loaded = writer.store.load(self.conversation_id, OWNER)
            assert loaded is not None
            writer.copy, writer.synced = loaded, self.revision

    def _pick(self, data: st.DataObject) -> Writer:
        return self.writers[data.draw(st.integers(0, len(self.writers) - 1), label="writer")]

    def _pick_task(self, data: st.DataObject) -> tuple[Writer, Message]:
        tasks = [(w, reply) for w in self.writers for reply in w.tasks.values()]
        return tasks[data.draw(st.integers(0, len(tasks) - 1), label="task")]

    def _writes(self) -> bool:
        return any(w.tasks for w in self.writers)

    def _task_of(self, message_id: str) -> Writer | None:
        return next((w for w in self.writers if message_id in w.tasks), None)

    def _unique(self, words: str) -> str:
        self.sent += 1
        return f"{self.sent}: {words}"

    # -- writing, as the page and the reply tasks do it ----------------------------------------

    def _add(self, writer: Writer, message: Message, parent_id: str | None, text: str) -> bool:
        """Store one message through the journal; False when the conversation is gone."""
        assert message.parent_id == parent_id
        stale = writer.synced != self.revision
        writer.journal.changed_elsewhere = False
        if self.deleted:
            with pytest.raises(ConversationGone):
                writer.journal.add(writer.copy, message)
            self.refused.append(message.id)
            return False
        writer.journal.add(writer.copy, message)
        assert not writer.journal.failed
        assert writer.journal.changed_elsewhere == stale, "a change elsewhere went unnoticed"
        self.revision += 1
        writer.synced = self.revision
        self.shown = message.id
        status = None if message.status is Status.STREAMING else message.status
        self.expected[message.id] = Expected(
            role=message.role, text=text, parent_id=parent_id, status=status, error=message.error
        )
        return True

    def _send(self, writer: Writer, after: str | None, words: str, start: str) -> None:
        copy = writer.copy
        copy.rewind_to(after)  # after what the writer saw, whatever came since
        text = self._unique(words)
        if self._add(writer, copy.add_user(text), after, text):
            self._reply(writer, copy.leaf_id, start)

    def _reply(self, writer: Writer, question_id: str | None, start: str) -> None:
        """`reply.begin_reply` for a new reply."""
        copy = writer.copy
        assert copy.leaf_id == question_id, "the copy moved away from the question answered"
        reply = copy.start_reply(MODEL)
        if start == "over quota":
            reply.status, reply.error = Status.FAILED, OVER_QUOTA
        if not self._add(writer, reply, question_id, ""):
            return
        if start == "task":
            writer.tasks[reply.id] = reply
        elif start == "no room":
            reply.status, reply.error = Status.FAILED, NO_ROOM
            stale = writer.synced != self.revision
            writer.journal.changed_elsewhere = False
            writer.journal.settle(copy, reply)
            assert not writer.journal.failed
            assert writer.journal.changed_elsewhere == stale, "a change elsewhere went unnoticed"
            self.revision += 1
            writer.synced = self.revision
            self.expected[reply.id].status, self.expected[reply.id].error = reply.status, NO_ROOM

    def _end(self, writer: Writer, reply: Message, how: Status, more: str) -> None:
        """A reply task ends and saves how (`ReplyTask._settle`): no copy is involved."""
        del writer.tasks[reply.id]
        reply.text += more
        reply.status, reply.error = how, RATE_LIMITED if how is Status.FAILED else None
        settled = writer.store.settle_reply(self.conversation_id, reply, OWNER) is not None
        assert settled == (not self.deleted)
        self.stop_asked.discard(reply.id)
        if settled:
            self.revision += 1
            expected = self.expected[reply.id]
            expected.text, expected.status, expected.error = reply.text, how, reply.error

    def _stop(self, writer: Writer, reply_id: str) -> None:
        """`session.stop_reply`: a task of this process stops; another process is asked to."""
        if reply_id in writer.tasks:
            self._end(writer, writer.tasks[reply_id], Status.STOPPED, "")
            return
        asked = writer.store.request_stop(self.conversation_id, reply_id, OWNER)
        assert asked == (self._task_of(reply_id) is not None and not self.deleted)
        if asked:
            self.stop_asked.add(reply_id)

    def _refresh(self, writer: Writer) -> None:
        copy = writer.copy
        viewed = copy.leaf_id
        reads = writer.synced != self.revision or copy.streaming() is not None
        found = writer.journal.refresh(copy)
        assert not writer.journal.failed
        assert found == (not self.deleted)
        if found:
            writer.synced = self.revision
            # The branch on show stays the copy's own, followed to its newest continuation.
            if reads and viewed is not None:
                assert copy.leaf_id == copy.newest_leaf(viewed)
            else:
                assert copy.leaf_id == viewed

    # -- what people do --------------------------------------------------------------------------

    @rule(data=st.data(), words=WORDS, start=STARTS, look=st.booleans())
    def send_after_what_the_copy_shows(
        self, data: st.DataObject, words: str, start: str, look: bool
    ) -> None:
        writer = self._pick(data)
        copy = writer.copy
        viewed = copy.leaf_id  # what the tab showed, before the run takes in other changes
        if look:
            self._refresh(writer)
        if viewed is not None and copy.tree[viewed].status is Status.STREAMING:
            self._stop(writer, viewed)  # sent while the reply was written: it stops there
            self._refresh(writer)
        self._send(writer, viewed, words, start)

    @rule(data=st.data(), words=WORDS, start=STARTS, look=st.booleans())
    def edit_a_question(self, data: st.DataObject, words: str, start: str, look: bool) -> None:
        writer = self._pick(data)
        if look:
            self._refresh(writer)
        copy = writer.copy
        questions = [m.id for m in copy.tree.values() if m.role == "user"]
        chosen = data.draw(st.sampled_from(questions), label="question")
        parent_id = copy.tree[chosen].parent_id
        text = self._unique(words)
        if self._add(writer, copy.edit(chosen, text), parent_id, text):
            self._reply(writer, copy.leaf_id, start)

    @rule(data=st.data(), start=STARTS, look=st.booleans())
    def regenerate_a_reply(self, data: st.DataObject, start: str, look: bool) -> None:
        writer = self._pick(data)
        if look:
            self._refresh(writer)
        copy = writer.copy
        answers = [m.id for m in copy.tree.values() if m.role == "assistant"]
        chosen = data.draw(st.sampled_from(answers), label="reply")
        question_id = copy.tree[chosen].parent_id
        copy.rewind_to(question_id)
        self._reply(writer, question_id, start)

    @rule(data=st.data(), look=st.booleans(), rival=st.booleans())
    def continue_a_cut_reply(self, data: st.DataObject, look: bool, rival: bool) -> None:
        writer = self._pick(data)
        if look:
            self._refresh(writer)
        cut = self._cut(writer)
        if not cut:
            return
        reply_id = cut[data.draw(st.integers(0, len(cut) - 1), label="cut reply")]
        taken = self._continue(writer, reply_id)
        others = [w for w in self.writers if w is not writer and reply_id in self._cut(w)]
        if taken and rival and others:  # a tab that still shows it cut continues it too
            self._continue(
                others[data.draw(st.integers(0, len(others) - 1), label="rival")], reply_id
            )

    @staticmethod
    def _cut(writer: Writer) -> list[str]:
        """The replies the writer's copy shows as cut: Continue is offered on them."""
        tree = writer.copy.tree
        return [m.id for m in tree.values() if m.role == "assistant" and m.status in CONTINUABLE]

    def _outdated(self, reply: Message) -> bool:
        want = self.expected[reply.id]
        return want.status is Status.COMPLETE or want.text != reply.text

    def _continue(self, writer: Writer, reply_id: str) -> bool:
        """`reply.begin_reply` for a cut reply; whether this writer's process took it up."""
        copy = writer.copy
        reply = copy.tree[reply_id]
        busy = self._task_of(reply_id) is not None
        # A copy older than what was written since (continued and finished elsewhere) must
        # not take the reply up: its old text would go over the new.
        outdated = not self.deleted and not busy and self._outdated(reply)
        copy.rewind_to(reply_id)
        before = reply.status, reply.error
        reply.status, reply.error = Status.STREAMING, None
        stale = writer.synced != self.revision
        writer.journal.changed_elsewhere = False
        taken = writer.journal.resume(copy, reply)
        assert not writer.journal.failed
        if self.deleted or busy or outdated:
            assert not taken, "two processes write one reply, or an old copy writes over it"
            reply.status, reply.error = before
            self._refresh(writer)  # the page shows it as the other process writes it
            return False
        assert taken
        assert writer.journal.changed_elsewhere == stale, "a change elsewhere went unnoticed"
        self.revision += 1
        writer.synced = self.revision
        expected = self.expected[reply_id]
        expected.status, expected.error = None, None  # its text so far is kept as it was
        writer.tasks[reply_id] = reply
        return True

    @precondition(_writes)
    @rule(data=st.data(), more=WORDS)
    def a_reply_grows(self, data: st.DataObject, more: str) -> None:
        writer, reply = self._pick_task(data)
        reply.text += more
        kept = writer.store.checkpoint(self.conversation_id, reply, OWNER)
        assert kept == (not self.deleted and reply.id not in self.stop_asked)
        if kept:
            self.expected[reply.id].text = reply.text
        else:  # deleted, or a Stop asked for elsewhere: the task ends, keeping its text
            self._end(writer, reply, Status.STOPPED, "")

    @precondition(_writes)
    @rule(data=st.data(), how=ENDINGS, more=WORDS)
    def a_reply_ends(self, data: st.DataObject, how: Status, more: str) -> None:
        writer, reply = self._pick_task(data)
        self._end(writer, reply, how, more)

    @rule(data=st.data(), look=st.booleans())
    def stop_a_reply(self, data: st.DataObject, look: bool) -> None:
        writer = self._pick(data)
        if look:
            self._refresh(writer)
        shown = [m.id for m in writer.copy.tree.values() if m.status is Status.STREAMING]
        if shown:
            self._stop(writer, data.draw(st.sampled_from(shown), label="streaming reply"))

    @rule(data=st.data(), look=st.booleans())
    def switch_branch(self, data: st.DataObject, look: bool) -> None:
        writer = self._pick(data)
        if look:
            self._refresh(writer)
        chosen = data.draw(st.sampled_from(list(writer.copy.tree)), label="version")
        writer.copy.switch_to(chosen)
        writer.journal.show_branch(writer.copy)
        assert not writer.journal.failed
        if not self.deleted:
            self.shown = writer.copy.leaf_id

    @rule(data=st.data())
    def refresh(self, data: st.DataObject) -> None:
        self._refresh(self._pick(data))

    @rule(data=st.data(), title=TITLES)
    def rename(self, data: st.DataObject, title: str) -> None:
        renamed = self._pick(data).store.rename(self.conversation_id, title, OWNER)
        assert renamed == (not self.deleted)
        if renamed:
            self.title = title.strip()[:TITLE_MAX_CHARS] or None
            self.revision += 1  # so other tabs take the new title in

    @rule(data=st.data(), really=st.sampled_from([False, False, False, True]))
    def delete(self, data: st.DataObject, really: bool) -> None:
        if really:  # rarely: most runs should keep writing to a conversation that exists
            deleted = self._pick(data).store.delete(self.conversation_id, OWNER)
            assert deleted == (not self.deleted)
            self.deleted = True

    # -- what must hold after every step -----------------------------------------------------

    @invariant()
    def the_store_holds_every_accepted_message_and_nothing_else(self) -> None:
        store = self.writers[-1].store
        stored = store.load(self.conversation_id, OWNER)
        if self.deleted:
            assert stored is None
            assert store.revision(self.conversation_id, OWNER) is None
            with store.engine.connect() as db:
                left = db.execute(
                    select(message_rows.c.id).where(
                        or_(
                            message_rows.c.conversation_id == self.conversation_id,
                            message_rows.c.id.in_(self.refused),
                        )
                    )
                ).all()
            assert left == [], "messages of a deleted conversation are still stored"
            return
        assert stored is not None
        missing = [self.expected[i].text for i in self.expected.keys() - stored.tree.keys()]
        assert not missing, f"accepted messages lost: {missing}"
        unknown = [stored.tree[i].text for i in stored.tree.keys() - self.expected.keys()]
        assert not unknown, f"messages nobody sent: {unknown}"
        for message_id, want in self.expected.items():
            got = stored.tree[message_id]
            assert (got.role, got.text, got.parent_id) == (want.role, want.text, want.parent_id)
            if want.status is None:
                assert got.status is Status.STREAMING
            else:
                assert (got.status, got.error) == (want.status, want.error)
        assert_well_formed(stored, shows_a_leaf=True)
        order = list(stored.tree)
        for message in stored.tree.values():  # a load lists parents before their children
            if message.parent_id is not None:
                assert order.index(message.parent_id) < order.index(message.id)
        assert stored.leaf_id == stored.newest_leaf(self.shown)
        assert stored.revision == self.revision
        assert stored.title == self.title
        assert stored.model_id == MODEL
        assert stored.system_prompt == self.writers[0].copy.system_prompt

    @invariant()
    def an_up_to_date_copy_holds_what_is_stored(self) -> None:
        for writer in self.writers:
            copy = writer.copy
            assert_well_formed(copy, shows_a_leaf=False)
            if self.deleted:
                continue
            assert copy.revision == writer.synced
            if writer.synced != self.revision:
                continue  # stale: it catches up on its next write or refresh
            assert copy.tree.keys() == self.expected.keys()
            for message_id, want in self.expected.items():
                got = copy.tree[message_id]
                assert (got.role, got.parent_id) == (want.role, want.parent_id)
                if want.status is not None:
                    assert (got.text, got.status, got.error) == (want.text, want.status, want.error)
                elif message_id in writer.tasks:
                    assert got.text == want.text
                # A reply another process writes is read live as it grows (live.py): its text
                # here is the one stored when this copy was read.


def test_stale_writers_lose_nothing_and_invent_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reply task renews its lease about once a second, so its reply never reads as cut while
    # it runs. Here a task checkpoints only when a step says so, and a busy machine can make a
    # run outlast a lease: the lease lasts the whole run instead, so every run is the same.
    monkeypatch.setattr(store_module, "LEASE_SECONDS", 3600.0)
    run_state_machine_as_test(
        lambda: ConcurrentWriters(database_url),
        settings=settings(
            max_examples=35,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_continue_from_a_stale_copy_keeps_the_text_written_elsewhere(database_url: str) -> None:
    """Two tabs show a stopped reply; one continues it to its end, then the other (its copy
    read before that, as in the instant between a page's refresh and its write) continues it.
    """
    here, there = ConversationStore(database_url), ConversationStore(database_url)
    try:
        mine = Conversation(model_id=MODEL)
        Journal(here, OWNER).add(mine, mine.add_user("Расскажи сказку"))
        reply = mine.start_reply(MODEL)
        Journal(here, OWNER).add(mine, reply)
        reply.text, reply.status = "Жили-были", Status.STOPPED
        assert here.settle_reply(mine.id, reply, OWNER)
        theirs = there.load(mine.id, OWNER)
        assert theirs is not None

        reply.status = Status.STREAMING
        assert Journal(here, OWNER).resume(mine, reply)
        reply.text, reply.status = "Жили-были дед и баба 👵", Status.COMPLETE
        assert here.settle_reply(mine.id, reply, OWNER)

        late = theirs.tree[reply.id]
        assert late.status is Status.STOPPED  # what the other tab still shows
        late.status = Status.STREAMING
        assert not Journal(there, OWNER).resume(theirs, late)

        stored = here.load(mine.id, OWNER)
        assert stored is not None
        assert stored.tree[reply.id].text.startswith("Жили-были дед и баба 👵")
    finally:
        here.close()
        there.close()
