"""Keeping the open conversation in the store as it changes, a streaming reply included.

A streaming reply is written by a worker thread about once a second, so a killed process
loses at most about a second of text and the page never waits on the database while text
arrives. The last write happens when the reply settles, however it settles.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from .conversation import Conversation, Message
from .settings import Settings
from .store import DEMO_PREFIX, ConversationStore, default_url

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 1.0  # seconds of streamed text a crash may cost at most


PURGE_EVERY = 600.0  # seconds between sweeps for expired demo conversations


@st.cache_resource(show_spinner=False)
def _store(url: str) -> ConversationStore:
    return ConversationStore(url)


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
        store = _store(settings.database_url or default_url())
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
            except SQLAlchemyError:
                log.exception("could not purge old demo conversations")
    return store


@dataclass
class Journal:
    """Writes one person's conversation to the store as the page changes it."""

    store: ConversationStore
    owner: str

    failed: bool = False  # a write failed: the page says so, and keeps working from memory

    def save(self, conversation: Conversation) -> None:
        if not conversation.messages:
            return
        try:
            self.store.save(conversation, self.owner)
        except (SQLAlchemyError, PermissionError):
            log.exception("could not save the conversation")
            self.failed = True

    def load(self, conversation_id: str) -> Conversation | None:
        """The person's conversation, or None (also when the database fails: said once)."""
        try:
            return self.store.load(conversation_id, self.owner)
        except SQLAlchemyError:
            log.exception("could not load a conversation")
            self.failed = True
            return None

    def checkpoints(self, conversation: Conversation, reply: Message) -> ReplyCheckpoints:
        return ReplyCheckpoints(self, conversation, reply)


class ReplyCheckpoints:
    """Saves a reply's text every CHECKPOINT_INTERVAL while it streams, and once at the end."""

    def __init__(self, journal: Journal, conversation: Conversation, reply: Message) -> None:
        self._journal = journal
        self._conversation_id = conversation.id
        self._reply = reply
        self._saved: tuple[int, str] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="reply-checkpoints", daemon=True)

    def __enter__(self) -> ReplyCheckpoints:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._save()  # the final state, whatever ended the reply

    def _run(self) -> None:
        while not self._stop.wait(CHECKPOINT_INTERVAL):
            self._save()

    def _save(self) -> None:
        try:
            self._write()
        except SQLAlchemyError:  # the database is down: keep streaming, try again next time
            log.exception("could not save the reply in progress")
            self._journal.failed = True

    def _write(self) -> None:
        with self._lock:
            state = (len(self._reply.text), self._reply.status.value)
            if state == self._saved:
                return
            self._journal.store.save_reply_text(
                self._conversation_id, self._reply, self._journal.owner
            )
            self._saved = state
