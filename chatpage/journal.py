"""Keeping the open conversation in the store as it changes, a streaming reply included.

Each change is one message written on its own, never the whole conversation again. Replies
are written by the process's reply tasks (`replies.py`), which checkpoint them about once a
second, so a killed process loses at most about a second of text.
"""

from __future__ import annotations

import atexit
import logging
import time
from dataclasses import dataclass

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from chatpage.access.identity import DEMO_PREFIX
from chatpage.data.conversation import Conversation, Message
from chatpage.data.foreign import Found
from chatpage.database.conversations import ConversationStore, Written, default_url
from chatpage.operations import metrics
from chatpage.operations.audit import audit
from chatpage.replies.tasks import Replies
from chatpage.settings import Settings

log = logging.getLogger(__name__)

PURGE_EVERY = 600.0  # seconds between sweeps for expired demo conversations


@st.cache_resource(show_spinner=False)
def _store(url: str, listen_url: str | None = None) -> ConversationStore:
    return ConversationStore(url, listen_url=listen_url)


# Every Replies of this process with its grace period, for `finish_replies`.
_WRITERS: list[tuple[Replies, float]] = []


@st.cache_resource(show_spinner=False)
def _replies(url: str, listen_url: str | None, max_per_process: int, grace: float) -> Replies:
    """The replies this process writes; at exit they get `grace` seconds to finish."""
    replies = Replies(_store(url, listen_url), max_per_process=max_per_process)
    atexit.register(replies.shutdown, grace)
    _WRITERS.append((replies, grace))
    return replies


def finish_replies() -> None:
    """At exit, before the process ends: replies get their grace, the rest are saved cut.

    The server `streamlit run app.py` starts (chatpage/operations/server.py) calls this as it shuts
    down: after a SIGTERM its uvicorn re-raises the signal, which ends the process without
    running `atexit`. Calling it again (atexit) finds nothing left to do.
    """
    for replies, grace in list(_WRITERS):
        replies.shutdown(grace)


# What every run asks for again: looked up here first, as a call of a Streamlit cached
# function inspects its signature and hashes its arguments each time (4% of a message's run).
_REPLIES: dict[tuple[str, str | None, int, float], Replies] = {}
_STORES: dict[tuple[str, str | None], ConversationStore] = {}


def process_replies(settings: Settings) -> Replies:
    args = (
        settings.database_url or default_url(settings.data_dir),
        settings.database_listen_url,
        settings.max_process_replies,
        settings.shutdown_grace_seconds,
    )
    made = _REPLIES.get(args)
    if made is None:
        made = _REPLIES[args] = _replies(*args)
    return made


def close_stores(url: str) -> None:
    """Close and forget this process's stores of the database at `url`: it is gone for good
    (a test's throw-away database, dropped after it). Left open, a PostgreSQL store's notice
    listener would try to reconnect to it for as long as the process lives."""
    for where in [where for where in _STORES if where[0] == url]:
        _STORES.pop(where).close()
        _store.clear(*where)


@st.cache_resource(show_spinner=False)
def _last_purge() -> dict[str, float]:
    return {"at": 0.0}


def open_store(settings: Settings) -> ConversationStore | None:
    """The store for this app process (one pool of connections for every browser session).

    None when the database cannot be reached or migrated (the next run tries again). In a
    public demo, visitors' conversations older than the retention age are deleted here, at
    most every PURGE_EVERY seconds per process.
    """
    try:
        url = settings.database_url or default_url(settings.data_dir)
        where = (url, settings.database_listen_url)
        store = _STORES.get(where)
        if store is None:
            store = _STORES[where] = _store(*where)
    except (SQLAlchemyError, OSError):
        log.exception("the conversation database cannot be opened")
        return None
    if settings.public_demo:
        last = _last_purge()
        now = time.time()
        if now - last["at"] > PURGE_EVERY:
            last["at"] = now
            hours = settings.demo.retention_hours
            try:
                removed = store.delete_older_than(hours * 3600, DEMO_PREFIX)
                log.info("purged %d demo conversations older than %g h", removed, hours)
                if removed:
                    audit("conversations_purged", None, count=removed, older_than_hours=hours)
            except SQLAlchemyError:
                log.exception("could not purge old demo conversations")
    return store


@dataclass
class Journal:
    """Writes one person's changes to the store, one message at a time.

    Every write says whether the conversation changed elsewhere (another tab, device or
    process) since this copy was read; the copy then takes in those changes at once, and
    `changed_elsewhere` tells the page to say so.
    """

    store: ConversationStore
    owner: str

    failed: bool = False  # a write failed: the page says so, and keeps working from memory
    changed_elsewhere: bool = False

    def add(self, conversation: Conversation, message: Message) -> None:
        """Store a new message of the conversation. Raises ConversationGone."""
        try:
            written = self.store.add_message(conversation, message, self.owner)
        except SQLAlchemyError:
            log.exception("could not save a message")
            metrics.write_failed("message")
            self.failed = True
            return
        self._took(conversation, written)

    def settle(self, conversation: Conversation, reply: Message) -> None:
        try:
            written = self.store.settle(conversation, reply, self.owner)
        except SQLAlchemyError:
            log.exception("could not save how a reply ended")
            metrics.write_failed("settle")
            self.failed = True
            return
        if written is not None:
            self._took(conversation, written)

    def resume(self, conversation: Conversation, reply: Message) -> bool:
        """Take up a cut reply again; False when another window is writing it already."""
        try:
            written = self.store.resume(conversation, reply, self.owner)
        except SQLAlchemyError:
            log.exception("could not resume a reply")
            metrics.write_failed("resume")
            self.failed = True
            return True  # the page works from memory while the database is down
        if written is None:
            return False
        self._took(conversation, written)
        return True

    def compare(self, conversation: Conversation) -> None:
        """Store an opened or settled comparison with the branch on show (`comparison.py`)."""
        if not conversation.revision:
            return  # never stored (the database was down): the page works from memory
        try:
            written = self.store.compare(conversation, self.owner)
        except SQLAlchemyError:
            log.exception("could not save a comparison")
            metrics.write_failed("branch")
            self.failed = True
            return
        if written is not None:
            self._took(conversation, written)

    def show_branch(self, conversation: Conversation) -> None:
        if conversation.revision and conversation.leaf_id:
            try:
                self.store.show_branch(conversation.id, conversation.leaf_id, self.owner)
            except SQLAlchemyError:
                log.exception("could not remember the branch on show")
                metrics.write_failed("branch")
                self.failed = True

    def refresh(self, conversation: Conversation) -> bool:
        """Take in what other windows wrote since this copy was read; False if it is gone."""
        if not conversation.revision:
            return True  # never stored: nobody else can have it
        try:
            revision = self.store.revision(conversation.id, self.owner)
            if revision is None:
                return False
            # A reply written elsewhere ends without a new revision when its writer dies
            # (the lease runs out): while one is on show, always read the stored state.
            if revision != conversation.revision or conversation.streaming() is not None:
                stored = self.store.load(conversation.id, self.owner)
                if stored is None:
                    return False
                conversation.absorb(stored)
        except SQLAlchemyError:
            log.exception("could not check the conversation for changes")
            self.failed = True
        return True

    def is_gone(self, conversation: Conversation) -> bool:
        """Whether a conversation that was stored has been deleted (by another window)."""
        if not conversation.revision:
            return False
        try:
            return self.store.revision(conversation.id, self.owner) is None
        except SQLAlchemyError:
            log.exception("could not check the conversation")
            self.failed = True
            return False

    def seen(self, conversation_id: str) -> None:
        """The person saw how the conversation's last reply ended."""
        try:
            self.store.mark_seen(conversation_id, self.owner)
        except SQLAlchemyError:
            log.exception("could not mark a conversation as seen")
            metrics.write_failed("other")

    def create(self, conversation: Conversation) -> None:
        """Store a whole new conversation (an import), under fresh ids if its are taken."""
        while not self.store.create(conversation, self.owner):
            conversation.renew_ids()

    def import_once(self, found: Found, source: str) -> bool:
        """Store a conversation from ChatGPT's or Claude's export, under fresh ids if its are
        taken; False when this person imported it before and still has it (nothing stored)."""
        while True:
            stored = self.store.create_imported(
                found.conversation,
                self.owner,
                source=source,
                source_id=found.source_id,
                updated_at=found.updated_at,
            )
            if stored is not None and not stored:
                found.conversation.renew_ids()
                continue
            return bool(stored)

    def load(self, conversation_id: str) -> Conversation | None:
        """The person's conversation, or None (also when the database fails: said once)."""
        try:
            return self.store.load(conversation_id, self.owner)
        except SQLAlchemyError:
            log.exception("could not load a conversation")
            self.failed = True
            return None

    def ratings(self, message_ids: list[str]) -> dict[str, int] | None:
        """The person's ratings of these replies; None when they cannot be read now."""
        if not message_ids:
            return {}
        try:
            return self.store.ratings.of_messages(self.owner, message_ids)
        except SQLAlchemyError:
            log.exception("could not read ratings")
            return None

    def _took(self, conversation: Conversation, written: Written) -> None:
        if written.changed_elsewhere:
            self.changed_elsewhere = True
            stored = self.store.load(conversation.id, self.owner)
            if stored is not None:
                conversation.absorb(stored)
        conversation.revision = max(conversation.revision, written.revision)
