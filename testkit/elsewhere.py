"""A reply written elsewhere: started directly on `Replies`, as another app process would.

The page counts it (the per-person bound is read from the store), lists it as being written,
and can stop it through the store; tests use it to play the other process of one person.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Message
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from chatpage.replies.tasks import Replies, ReplyTask, Request
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator
from testkit import AUTH_CODE

WAIT = 60.0  # seconds for a reply thread to end or stop on a machine ten times slower
# About 500 characters a second: minutes long, so it is still being written until stopped.
SLOW = Behavior(reply="slowly " * 20_000, chunk_bytes=10, delay=0.02)


@dataclass
class Elsewhere:
    """A reply being written in another conversation of the same person."""

    conversation: Conversation
    reply: Message
    task: ReplyTask

    def stop(self) -> None:
        self.task.stop()
        assert self.task.done.wait(WAIT), "the reply elsewhere did not stop"


@contextmanager
def reply_elsewhere(
    emulator: Emulator,
    database_url: str,
    question: str = "A question asked elsewhere",
    behavior: Behavior = SLOW,
    *,
    owner: str = LOCAL_OWNER,
    replies: Replies | None = None,
) -> Iterator[Elsewhere]:
    """Start a reply as the page would, on `replies` (another process's by default), and wait
    until its first text has arrived; stop it on the way out if it is still going."""
    store = ConversationStore(database_url)
    client = LiaobotsClient(auth_code=AUTH_CODE, base_url=emulator.base_url, retry_backoff=0.01)
    writer = replies if replies is not None else Replies(store)
    conversation = Conversation(model_id="gpt-4")
    journal = Journal(store, owner)
    journal.add(conversation, conversation.add_user(question))
    reply = conversation.start_reply("gpt-4")
    journal.add(conversation, reply)
    request = Request(conversation.id, owner, conversation.wire_messages(), "gpt-4", None)
    emulator.enqueue(behavior)
    task = writer.start(request, reply, client, max_per_person=100)
    try:
        next(piece for piece in task.follow(0) if piece)  # its first text has arrived
        yield Elsewhere(conversation, reply, task)
    finally:
        task.stop()
        task.done.wait(WAIT)
        client.close()
        store.close()
