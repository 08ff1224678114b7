"""Word of what other windows and processes wrote, heard as it is committed.

A reply written on one app process is followed by tabs on others: its text as it grows, a
Stop asked for there, a conversation changed in another window. Each of those used to read
the store about once a second. Now every write that matters announces itself (`announce`, in
its own transaction): on PostgreSQL as a `NOTIFY`, delivered to every process when the
transaction commits; and to this process's own waiters at once on commit (SQLite: the only
way, one machine and usually one process). One listener connection per process (a thread,
`LISTEN`) hears them and wakes the waiting tabs, which wait on a condition per key; no tab
holds a connection of its own.

Notices are a hint, never the record: a waiter reads the store when woken. While the listener
is down (`listening` is false) waiters fall back to reading on a timer, and the listener comes
back by itself, with backoff; coming back, it wakes everyone, since it may have missed some.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, event, make_url, text
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

CHANNEL = "chat_changes"
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
# Each payload its own notice, in order, delivered together at the commit.
_NOTIFY_ALL = text(
    "SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"
)
_PENDING = "chat_notices"  # a connection's notices, held in its `info` until commit
FIRST_RETRY = 0.2  # seconds before the listener's first reconnect; doubled up to LAST_RETRY
LAST_RETRY = 10.0
HEARTBEAT = 1.0  # seconds the listener waits for a notice before it checks it should stop
FORGET_AFTER = 600.0  # seconds since a key was last asked about, after which it is dropped

# What is announced. TEXT: a reply's text grew (a checkpoint). REVISION: the conversation's
# revision moved (a message added, a reply settled, a rename). STOP: a Stop was asked for.
# WRITING: a reply of an owner started or ended (its `conversation_id` is `owner_tag(owner)`).
TEXT, REVISION, STOP, WRITING = "text", "revision", "stop", "writing"
KINDS = (TEXT, REVISION, STOP, WRITING)


@dataclass(frozen=True)
class Notice:
    kind: str
    conversation_id: str
    message_id: str = ""

    def payload(self) -> str:
        return json.dumps([self.kind, self.conversation_id, self.message_id])

    @classmethod
    def parse(cls, payload: str) -> Notice | None:
        """The notice a payload holds; None for anything else said on the channel."""
        try:
            parts = json.loads(payload)
        except ValueError:
            return None
        if not (isinstance(parts, list) and len(parts) == 3 and parts[0] in KINDS):
            return None
        if not all(isinstance(part, str) for part in parts):
            return None
        return cls(*parts)


def key(conversation_id: str, kind: str = TEXT) -> str:
    """What a waiter waits on: any news of a conversation (TEXT), or its revision moving;
    with WRITING, an owner's replies starting or ending (`conversation_id`: `owner_tag`)."""
    return f"{kind}:{conversation_id}" if kind in (REVISION, WRITING) else conversation_id


def owner_tag(owner: str) -> str:
    """An owner as named in WRITING notices: the same in every process, not the owner's name
    (a `NOTIFY` payload is seen by every session of the database)."""
    return hashlib.sha256(owner.encode()).hexdigest()[:24]


class Notices:
    """The notices one process hears, and the tabs waiting for them."""

    def __init__(self, engine: Engine, listen_url: str | None = None) -> None:
        """`listen_url`: the PostgreSQL the listener connects to, when the engine's address
        is a transaction-mode pooler (PgBouncer), where `LISTEN` cannot work."""
        self._engine = engine
        self._listen_url = make_url(listen_url) if listen_url else engine.url
        self._lock = threading.Condition()
        self._versions: dict[str, int] = {}  # key -> notices heard since a tab first asked
        self._asked: dict[str, float] = {}  # key -> when a tab last asked (to forget old ones)
        self._swept_at = time.monotonic()
        self._waiting: dict[str, int] = {}
        self._epoch = 0  # moves when the listener (re)connects or drops: anything may have changed
        self._stop_handlers: list[Callable[[str, str], None]] = []
        self._closed = threading.Event()
        self.listening = False
        self.heard = 0  # notices heard from the database (tests and benchmarks read it)
        self._postgres = engine.dialect.name == "postgresql"
        event.listen(engine, "commit", self._committed)
        event.listen(engine, "rollback", self._rolled_back)
        self._listener: threading.Thread | None = None
        if self._postgres:
            self._listener = threading.Thread(target=self._listen, name="chat-notices", daemon=True)
            self._listener.start()

    # -- writers -------------------------------------------------------------------------------

    def announce(self, db: Connection, notice: Notice) -> None:
        """Tell every process of this write once `db`'s transaction commits (never before)."""
        self.announce_all(db, [notice])

    def announce_all(self, db: Connection, notices: list[Notice]) -> None:
        """`announce` for many writes, in one statement (a batch of checkpoints)."""
        if self._postgres and len(notices) == 1:
            db.execute(_NOTIFY, {"channel": CHANNEL, "payload": notices[0].payload()})
        elif self._postgres and notices:
            payloads = [notice.payload() for notice in notices]
            db.execute(_NOTIFY_ALL, {"channel": CHANNEL, "payloads": payloads})
        db.info.setdefault(_PENDING, []).extend(notices)

    def _committed(self, connection: Connection) -> None:
        for notice in connection.info.pop(_PENDING, ()):
            self._hear(notice)

    def _rolled_back(self, connection: Connection) -> None:
        connection.info.pop(_PENDING, None)

    # -- waiters -------------------------------------------------------------------------------

    def version(self, waited: str) -> tuple[int, int]:
        """Where the notices of `waited` (a `key`) stand; a different one later means news."""
        now = time.monotonic()
        with self._lock:
            self._asked[waited] = now
            if now - self._swept_at > FORGET_AFTER / 10:
                self._forget_before(now - FORGET_AFTER)
            return self._epoch, self._versions.setdefault(waited, 0)

    def _forget_before(self, cutoff: float) -> None:
        """Drop keys no tab asked about lately: a tab asking again sees news, and reads once."""
        self._swept_at = cutoff + FORGET_AFTER
        for old in [k for k, at in self._asked.items() if at < cutoff and k not in self._waiting]:
            del self._asked[old]
            self._versions.pop(old, None)

    def wait(self, waited: str, seen: tuple[int, int], timeout: float) -> tuple[int, int]:
        """Wait up to `timeout` seconds for news of `waited` after `seen`; where they stand."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._waiting[waited] = self._waiting.get(waited, 0) + 1
            try:
                while (self._epoch, self._versions.get(waited, 0)) == seen:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
                return self._epoch, self._versions.get(waited, 0)
            finally:
                self._waiting[waited] -= 1
                if not self._waiting[waited]:
                    del self._waiting[waited]

    def waiters(self, waited: str) -> int:
        """How many are waiting on `waited` now (tests wait for a tab to be waiting)."""
        with self._lock:
            return self._waiting.get(waited, 0)

    def on_stop(self, handler: Callable[[str, str], None]) -> None:
        """Call `handler(conversation_id, message_id)` when a Stop is asked for anywhere."""
        self._stop_handlers.append(handler)

    def _hear(self, notice: Notice) -> None:
        with self._lock:
            waits = {key(notice.conversation_id), key(notice.conversation_id, notice.kind)}
            if notice.kind == WRITING:  # about an owner, not a conversation
                waits = {key(notice.conversation_id, WRITING)}
            for waited in waits:
                if waited in self._versions:  # asked about by a tab (`version`)
                    self._versions[waited] += 1
            self._lock.notify_all()
        if notice.kind == STOP:
            for handler in list(self._stop_handlers):
                try:
                    handler(notice.conversation_id, notice.message_id)
                except Exception:  # one handler's fault must not silence the others
                    log.exception("a Stop notice could not be handled")

    def _everything_may_have_changed(self, listening: bool) -> None:
        with self._lock:
            self.listening = listening
            self._epoch += 1
            self._lock.notify_all()

    # -- the listener ------------------------------------------------------------------------

    def _listen(self) -> None:
        """Hold one `LISTEN` connection; on any fault, reconnect with backoff. Never raises."""
        import psycopg  # the PostgreSQL driver the engine uses (requirements.txt)

        dsn = self._listen_url.set(drivername="postgresql").render_as_string(hide_password=False)
        retry = FIRST_RETRY
        while not self._closed.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._everything_may_have_changed(listening=True)
                    retry = FIRST_RETRY
                    while not self._closed.is_set():
                        for heard in connection.notifies(timeout=HEARTBEAT):
                            notice = Notice.parse(heard.payload)
                            if notice is not None:
                                self.heard += 1
                                self._hear(notice)
            except Exception as error:  # the database went away, or the connection was killed
                if self._closed.is_set():
                    break
                log.warning("the notice listener lost its connection (%s); retrying", type(error))
            if self.listening:
                self._everything_may_have_changed(listening=False)
            self._closed.wait(retry)
            retry = min(retry * 2, LAST_RETRY)
        self.listening = False

    def wait_listening(self, timeout: float) -> bool:
        """Whether the listener is connected within `timeout` seconds (tests, benchmarks)."""
        with self._lock:
            return self._lock.wait_for(lambda: self.listening, timeout)

    def close(self) -> None:
        self._closed.set()
        event.remove(self._engine, "commit", self._committed)
        event.remove(self._engine, "rollback", self._rolled_back)
        # The listener sees `_closed` within HEARTBEAT and closes its connection itself.

    def __repr__(self) -> str:  # never the URL: it may hold a password
        return f"Notices(listening={self.listening})"
