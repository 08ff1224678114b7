"""Conversations kept in a database: SQLite by default, PostgreSQL by `DATABASE_URL`.

SQLAlchemy Core rather than the ORM: the page already has its own dataclasses, every query
here is a plain statement with bound parameters, and nothing is cached in an identity map that
another browser session or app process could make stale. Every method takes the owner, so a
conversation can only ever be read or changed by whoever it belongs to.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    case,
    column,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy import exc as db_errors
from sqlalchemy.engine import make_url

from chatpage.access.limits import TITLE_MAX_CHARS
from chatpage.data.conversation import (
    Attachment,
    Conversation,
    ErrorInfo,
    Message,
    Status,
    attachments_from,
    title_from,
)
from chatpage.database.clock import database_now
from chatpage.database.demo_usage import DAY, DemoImports, DemoUse
from chatpage.database.migrations import migrate
from chatpage.database.notices import REVISION, STOP, TEXT, WRITING, Notice, Notices, owner_tag
from chatpage.database.projects import ProjectStore
from chatpage.database.prompts import PromptLibrary
from chatpage.database.ratings import Ratings
from chatpage.database.schema import (
    conversations,
    imported_conversations,
    messages,
    project_members,
)
from chatpage.database.sharing import Shares
from chatpage.database.usage import Ledger
from chatpage.database.watching import RevisionBoard, WritingBoard

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # beside app.py
WRITE_OPTION = "chat_write"
# A reply being written is renewed by every checkpoint (about once a second); one whose
# lease ran out had its writer stop (a crash, a killed process) and counts as interrupted.
# Written and judged by the database's clock (clock.py), never a process's.
LEASE_SECONDS = 5.0
TRIGRAM = 3  # the shortest search the text index can answer


class ConversationGone(LookupError):
    """The conversation is not in the store (deleted elsewhere, or not this owner's)."""


@dataclass(frozen=True)
class Written:
    """The conversation's revision after a write, and whether someone else wrote first.

    `changed_elsewhere` is true when the store's revision before this write was not the one
    the writer's copy was read at: another window or process changed the conversation.
    """

    revision: int
    changed_elsewhere: bool


@dataclass(frozen=True)
class Summary:
    """One line of the conversation list."""

    id: str
    title: str
    updated_at: float
    writing: bool = False  # a reply is being written there right now
    unseen: bool = False  # a reply ended there since its person last looked
    pinned: bool = False  # kept at the top of the list
    archived: bool = False  # out of the list; search still finds it


def retrying_may_mend(error: db_errors.SQLAlchemyError) -> bool:
    """Whether the same write may succeed later: the database was away, busy or restarting.

    Not when it refused what was written (a DataError, a value psycopg cannot send, such as a
    NUL in text): the same write fails the same way however often it is tried.
    """
    if isinstance(error, db_errors.DBAPIError):
        transient = (db_errors.OperationalError, db_errors.InterfaceError)
        return error.connection_invalidated or isinstance(error, transient)
    return isinstance(error, (db_errors.TimeoutError, db_errors.DisconnectionError))


def default_url(data_dir: Path | None = None) -> str:
    """The SQLite file the page keeps when no DATABASE_URL is set (CHAT_DATA_DIR's folder)."""
    folder = Path(data_dir or DEFAULT_DATA_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'chat.sqlite3'}"


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs to be safe under concurrent writers."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
    engine = create_engine(parsed, connect_args={"timeout": 15, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_settings(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy own the transactions (pysqlite would start them late, or not at all).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # a commit survives a killed process
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()
        # SQLite's own lower() folds ASCII only; search folds every script, as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, _fold, deterministic=True)

    turns = WriterTurns()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        # A writer takes the write lock up front: a read that later upgrades to a write
        # would fail at once ("database is locked") when another writer got there first.
        if not connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN")
            return
        turns.take(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turns.give_back(connection.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _sqlite_end(connection: Any) -> None:
        turns.give_back(connection.info)

    return engine


class WriterTurns:
    """This process's SQLite writers, one at a time, each woken the moment the last is done.

    SQLite lets one writer in at a time and makes the others poll, sleeping longer after each
    miss (up to 100 ms a try). With a hundred replies being written, a write could lose that
    race for seconds, and every page waiting on it stood still (bench/load.py: update gaps of
    3 s). Writers of one process take turns here instead; SQLite's own lock still keeps out
    other processes. A turn not given back (a connection lost mid-transaction) is waited for
    at most `WAIT` seconds, then SQLite's lock alone decides, as before.
    """

    WAIT = 5.0
    _HELD = "chat_writer_turn"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def take(self, info: dict[str, Any]) -> None:
        if self._lock.acquire(timeout=self.WAIT):
            info[self._HELD] = True
        else:
            log.warning("a writer's turn was not given back in %.0f s; writing anyway", self.WAIT)

    def give_back(self, info: dict[str, Any]) -> None:
        if info.pop(self._HELD, False):
            self._lock.release()


def _fold(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def writer(engine: Engine) -> Engine:
    """The same engine, for transactions that will write."""
    return engine.execution_options(**{WRITE_OPTION: True})


def reader(engine: Engine) -> Engine:
    """The same engine, for reads of one statement, which need no transaction around them.

    On PostgreSQL they run in autocommit: a read in a transaction is four round trips to the
    server (the pool's ping, BEGIN, the statement, the ROLLBACK as the connection goes back),
    and a page load makes five of them, a message as many again. SQLite's transactions cost
    no round trip (and its BEGIN is ours, `make_engine`): there it is the engine itself.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


log = logging.getLogger(__name__)


class ConversationStore:
    """Every read and write of stored conversations."""

    def __init__(self, url: str, listen_url: str | None = None) -> None:
        """`listen_url`: where the notice listener connects, when not `url` (a pooler's)."""
        self.engine = make_engine(url)
        self._writes = writer(self.engine)
        self._reads = reader(self.engine)  # a statement alone; more than one: `self.engine`
        migrate(self._writes)
        # Word of each write that other tabs and processes follow (LISTEN/NOTIFY on PostgreSQL).
        self.notices = Notices(self.engine, listen_url=listen_url)
        self.usage = Ledger(self.engine, self._writes)
        self.prompts = PromptLibrary(self._reads, self._writes)
        self.ratings = Ratings(self._reads, self._writes)
        self.projects = ProjectStore(self._reads, self._writes, self.notices)
        # What the tabs of this process watch for changes, read in one query (see watching.py).
        self.watched = RevisionBoard(self.revisions, notices=self.notices)
        # Each person's replies being written, for the list's marks (see watching.py).
        self.writers = WritingBoard(self._being_written, max_age=1.5, notices=self.notices)
        self.shares = Shares(self._reads, self._writes)
        self.demo_use = DemoUse(self._writes)
        self.demo_imports = DemoImports(self.engine, self._writes)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.notices.close()
        self.engine.dispose()

    # -- writing -----------------------------------------------------------------------------

    def create(self, conversation: Conversation, owner: str) -> bool:
        """Store a whole new conversation at once (an import); False if an id is taken."""
        with self._writes.begin() as db:
            if not self._insert(db, conversation, owner):
                return False
        conversation.revision = 1
        return True

    def create_imported(
        self,
        conversation: Conversation,
        owner: str,
        *,
        source: str,
        source_id: str,
        updated_at: float,
    ) -> bool | None:
        """Store a conversation from another service's export, once for each owner.

        None: the owner imported it before and still keeps it, so nothing is stored (one they
        deleted imports again); False: an id is taken (renew them and call again). Checked and
        stored in one transaction, so two tabs importing the same file store it once.
        """
        origin = (
            imported_conversations.c.owner == owner,
            imported_conversations.c.source == source,
            imported_conversations.c.source_id == source_id,
        )
        with self._writes.begin() as db:
            if db.dialect.name == "postgresql":  # SQLite's write lock is taken at the start
                key = f"imported:{owner}:{source}:{source_id}"
                db.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
            earlier = db.execute(
                select(imported_conversations.c.conversation_id).where(*origin)
            ).scalar()
            if earlier is not None and db.execute(_owned(earlier, owner)).first() is not None:
                return None
            if not self._insert(db, conversation, owner, updated_at=updated_at):
                return False
            remembered = {"conversation_id": conversation.id, "imported_at": time.time()}
            if earlier is None:
                db.execute(
                    insert(imported_conversations).values(
                        owner=owner, source=source, source_id=source_id, **remembered
                    )
                )
            else:
                db.execute(update(imported_conversations).where(*origin).values(**remembered))
        conversation.revision = 1
        return True

    def _insert(
        self,
        db: Connection,
        conversation: Conversation,
        owner: str,
        updated_at: float | None = None,
    ) -> bool:
        ids = list(conversation.tree)
        taken = db.execute(
            select(conversations.c.id).where(conversations.c.id == conversation.id)
        ).first()
        if taken is None and ids:
            taken = db.execute(select(messages.c.id).where(messages.c.id.in_(ids))).first()
        if taken is not None:
            return False
        head = _head_row(conversation, owner)
        if updated_at is not None:
            head["updated_at"] = updated_at
        db.execute(
            insert(conversations).values(**head, current_leaf_id=conversation.leaf_id, revision=1)
        )
        depth = _depths(conversation)
        rows = [_message_row(conversation.id, depth[m.id], m) for m in conversation.tree.values()]
        if rows:
            db.execute(insert(messages), rows)
        if any(m.status is Status.STREAMING for m in conversation.tree.values()):
            db.execute(
                update(messages)
                .where(
                    messages.c.conversation_id == conversation.id,
                    messages.c.status == Status.STREAMING.value,
                )
                .values(lease_until=_lease_end())
            )
            self._announce_writing(db, owner)
        self.notices.announce(db, Notice(REVISION, conversation.id))
        return True

    def add_message(self, conversation: Conversation, message: Message, owner: str) -> Written:
        """Add one message after its parent and make it the end of the branch on show.

        Nothing else is touched: a message added from a stale copy starts a branch beside
        whatever was added meanwhile. The first message stores the conversation itself.
        Raises ConversationGone when the conversation was stored once and is gone now.
        """
        now = time.time()
        with self._writes.begin() as db:
            head = db.execute(_LOCK_HEAD, {"in_conversation": conversation.id}).first()
            if head is None and conversation.revision == 0:
                db.execute(
                    _INSERT_HEAD,
                    {**_head_row(conversation, owner), "current_leaf_id": None, "revision": 0},
                )
                before = 0
            elif head is None or head.owner != owner:
                raise ConversationGone(conversation.id)
            else:
                before = head.revision
            depth = 0
            if message.parent_id is not None:
                parent = db.execute(
                    _PARENT_POSITION,
                    {"parent": message.parent_id, "in_conversation": conversation.id},
                ).first()
                depth = parent.position + 1 if parent is not None else 0
            row = _message_row(conversation.id, depth, message)
            if message.status is Status.STREAMING:
                del row["lease_until"]  # given by the database's clock (`_INSERT_STREAMING`)
                row["lease_for"] = LEASE_SECONDS
                self._announce_writing(db, owner)
                db.execute(_INSERT_STREAMING, row)
            else:
                db.execute(_INSERT_MESSAGE, row)
            db.execute(
                # A new question ends a comparison (`comparison.py`).
                _HEAD_AFTER_QUESTION if message.role == "user" else _HEAD_AFTER_MESSAGE,
                {
                    "in_conversation": conversation.id,
                    "new_revision": before + 1,
                    "leaf": message.id,
                    "at": now,
                    "model": conversation.model_id,
                    "prompt": conversation.system_prompt,
                    "temp": conversation.temperature,
                },
            )
            self.notices.announce(db, Notice(REVISION, conversation.id, message.id))
        return Written(before + 1, changed_elsewhere=before != conversation.revision)

    def checkpoint(self, conversation_id: str, message: Message, owner: str) -> bool:
        """Save a streaming reply's text so far and renew its writer's lease.

        False when the writer should stop: the reply was settled, its conversation deleted,
        or a Stop asked for from another process. A late checkpoint never brings a settled
        reply back to life.
        """
        return self.checkpoint_many([(conversation_id, message, owner)]) == [True]

    def checkpoint_many(self, replies: Sequence[tuple[str, Message, str]]) -> list[bool]:
        """`checkpoint` for many replies (conversation id, message, owner) in one transaction.

        A process writing a hundred replies saves them all once a second, in four statements
        however many they are: lock the owners' conversations, save the texts, touch the
        conversations, announce the texts. On PostgreSQL each statement is a round trip, and
        four a reply were most of what a replica spent on the database. If any write fails,
        none is kept (the caller retries them one by one).
        """
        if not replies:
            return []
        with self._writes.begin() as db:
            # The conversations' rows first, in one order, as a reply's end locks its own
            # (`_change_state`): taken the other way round, a reply ending mid-batch would
            # deadlock with it, and two batches in different orders with each other.
            asked = sorted({(conversation_id, owner) for conversation_id, _, owner in replies})
            owned = {tuple(row) for row in db.execute(_lock_owned(asked))}
            live = [(c, m) for c, m, owner in replies if (c, owner) in owned]
            saved: set[str] = set()
            if live:
                saved = set(db.execute(_checkpoint(live)).scalars())
            written = [(c, m) for c, m in live if m.id in saved]
            if written:
                db.execute(
                    update(conversations)
                    .where(conversations.c.id.in_(sorted({c for c, _ in written})))
                    .values(updated_at=time.time())
                )
                self.notices.announce_all(db, [Notice(TEXT, c, m.id) for c, m in written])
        return [(c, owner) in owned and m.id in saved for c, m, owner in replies]

    def settle(self, conversation: Conversation, message: Message, owner: str) -> Written | None:
        """Save how a reply ended (its text, status and error); the revision moves on.

        None when the reply was not being written (settled already, or deleted).
        """
        return self._change_state(conversation.id, conversation.revision, message, owner)

    def resume(self, conversation: Conversation, message: Message, owner: str) -> Written | None:
        """Take up writing a cut reply again (Continue).

        None when someone is writing it already: only one writer at a time, whichever
        window or process asked first.
        """
        return self._change_state(conversation.id, conversation.revision, message, owner, live=True)

    def settle_reply(
        self,
        conversation_id: str,
        message: Message,
        owner: str,
        known_revision: int | None = None,
    ) -> Written | None:
        """`settle` for a writer that keeps no copy of the conversation (a reply task); None
        if the reply is no longer there to settle. Given the revision the conversation had as
        the reply started (`known_revision`), the result says whether anyone wrote since."""
        return self._change_state(conversation_id, known_revision, message, owner)

    def request_stop(self, conversation_id: str, message_id: str, owner: str) -> bool:
        """Ask whichever process writes this reply to stop it (at its next checkpoint)."""
        with self._writes.begin() as db:
            result = db.execute(
                update(messages)
                .where(
                    messages.c.id == message_id,
                    messages.c.conversation_id.in_(_owned(conversation_id, owner)),
                    messages.c.status == Status.STREAMING.value,
                )
                .values(stop_requested_at=time.time())
            )
            if result.rowcount:
                self.notices.announce(db, Notice(STOP, conversation_id, message_id))
            return result.rowcount > 0

    def mark_seen(self, conversation_id: str, owner: str) -> None:
        """The person has seen how the conversation's last reply ended."""
        with self._writes.begin() as db:
            db.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .values(seen_at=time.time())
            )

    def _change_state(
        self,
        conversation_id: str,
        known_revision: int | None,
        message: Message,
        owner: str,
        *,
        live: bool = False,
    ) -> Written | None:
        now = time.time()
        with self._writes.begin() as db:
            head = db.execute(
                select(conversations.c.revision)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .with_for_update()
            ).first()
            if head is None:
                return None
            result = db.execute(
                update(messages)
                .where(
                    messages.c.id == message.id,
                    messages.c.conversation_id == conversation_id,
                    *(
                        # Continue takes up the reply only as this copy saw it: not one being
                        # written, nor one that another window continued meanwhile.
                        (
                            ~_being_written(),
                            messages.c.status != Status.COMPLETE.value,
                            messages.c.text == message.text,
                        )
                        if live
                        else (messages.c.status == Status.STREAMING.value,)
                    ),
                )
                .values(
                    text=message.text,
                    status=message.status.value,
                    error=_error_json(message.error),
                    lease_until=_lease_end() if live else None,
                    stop_requested_at=None,
                )
            )
            if not result.rowcount:
                return None
            head_values: dict[str, Any] = {"revision": head.revision + 1, "updated_at": now}
            if not live:
                head_values["reply_settled_at"] = now
            db.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(**head_values)
            )
            self.notices.announce(db, Notice(REVISION, conversation_id, message.id))
            self._announce_writing(db, owner)  # a reply ended, or (Continue) started again
        changed = known_revision is not None and head.revision != known_revision
        return Written(head.revision + 1, changed_elsewhere=changed)

    def show_branch(self, conversation_id: str, leaf_id: str, owner: str) -> bool:
        """Remember which branch is on show, so a reload opens the same one."""
        with self._writes.begin() as db:
            result = db.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .values(current_leaf_id=leaf_id)
            )
            return result.rowcount > 0

    def compare(self, conversation: Conversation, owner: str) -> Written | None:
        """Open or close a comparison (`Conversation.comparing`) with the branch on show: the
        first of the replies compared, or the one picked. The revision moves on, so every tab
        and process showing the conversation follows. None when the conversation is gone.
        """
        with self._writes.begin() as db:
            head = db.execute(
                select(conversations.c.revision)
                .where(conversations.c.id == conversation.id, conversations.c.owner == owner)
                .with_for_update()
            ).first()
            if head is None:
                return None
            db.execute(
                update(conversations)
                .where(conversations.c.id == conversation.id)
                .values(
                    revision=head.revision + 1,
                    current_leaf_id=conversation.leaf_id,
                    model_id=conversation.model_id,
                    comparing=json.dumps(list(conversation.comparing))
                    if conversation.comparing
                    else None,
                )
            )
            self.notices.announce(db, Notice(REVISION, conversation.id))
        changed = head.revision != conversation.revision
        return Written(head.revision + 1, changed_elsewhere=changed)

    def rename(self, conversation_id: str, title: str, owner: str) -> bool:
        with self._writes.begin() as db:
            result = db.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .values(
                    title=_clip(title.strip()) or None,
                    revision=conversations.c.revision + 1,  # other tabs take the title in
                )
            )
            if result.rowcount:
                self.notices.announce(db, Notice(REVISION, conversation_id))
            return result.rowcount > 0

    def pin(self, conversation_id: str, owner: str, pinned: bool) -> bool:
        """Keep a conversation at the top of the list, or let it go back to its place."""
        return self._mark(conversation_id, owner, pinned_at=time.time() if pinned else None)

    def archive(self, conversation_id: str, owner: str, archived: bool) -> bool:
        """Take a conversation out of the list (search still finds it), or bring it back."""
        return self._mark(conversation_id, owner, archived_at=time.time() if archived else None)

    def _mark(self, conversation_id: str, owner: str, **values: float | None) -> bool:
        # Only the list shows these: the conversation's revision (what tabs follow) stays.
        with self._writes.begin() as db:
            result = db.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .values(**values)
            )
            return result.rowcount > 0

    def delete(self, conversation_id: str, owner: str) -> bool:
        with self._writes.begin() as db:
            db.execute(
                delete(messages).where(
                    messages.c.conversation_id.in_(_owned(conversation_id, owner))
                )
            )
            db.execute(
                delete(imported_conversations).where(
                    imported_conversations.c.conversation_id == conversation_id,
                    imported_conversations.c.owner == owner,
                )
            )
            result = db.execute(
                delete(conversations).where(
                    conversations.c.id == conversation_id, conversations.c.owner == owner
                )
            )
            if result.rowcount:
                self.notices.announce(db, Notice(REVISION, conversation_id))
                self._announce_writing(db, owner)  # a reply it held is gone with it
            return result.rowcount > 0

    def _announce_writing(self, db: Connection, owner: str) -> None:
        """One of the owner's replies started or ended: the boards of every process read
        their replies being written again (watching.py)."""
        self.notices.announce(db, Notice(WRITING, owner_tag(owner)))

    def delete_older_than(self, seconds: float, owner_prefix: str) -> int:
        """Forget conversations not touched for `seconds` whose owner starts with the prefix."""
        cutoff = time.time() - seconds
        with self._writes.begin() as db:
            old = select(conversations.c.id).where(
                conversations.c.updated_at < cutoff,
                conversations.c.owner.startswith(owner_prefix, autoescape=True),
            )
            ids = [row.id for row in db.execute(old)]
            if ids:
                db.execute(delete(messages).where(messages.c.conversation_id.in_(ids)))
                db.execute(
                    delete(imported_conversations).where(
                        imported_conversations.c.conversation_id.in_(ids)
                    )
                )
                db.execute(delete(conversations).where(conversations.c.id.in_(ids)))
        self.projects.delete_older_than(cutoff, owner_prefix)
        day_ago = time.time() - DAY  # use older than the longest window counts no more
        self.demo_use.forget_before(min(cutoff, day_ago))
        self.demo_imports.forget_before(min(cutoff, day_ago))
        return len(ids)

    # -- reading -----------------------------------------------------------------------------

    def load(self, conversation_id: str, owner: str) -> Conversation | None:
        """The conversation with every message, or None when missing or someone else's.

        A reply still streaming whose writer's lease ran out was cut off by a crash or a
        restart: it comes back marked interrupted, with the text that had been saved. One
        whose lease holds is being written right now, elsewhere, and comes back streaming.
        """
        with self.engine.connect() as db:
            head = db.execute(
                select(conversations).where(
                    conversations.c.id == conversation_id, conversations.c.owner == owner
                )
            ).first()
            if head is None:
                return None
            rows = db.execute(
                select(messages, _lease_held())
                .where(messages.c.conversation_id == conversation_id)
                .order_by(messages.c.position, messages.c.created_at)
            ).all()
        conversation = Conversation(
            id=head.id,
            title=head.title,
            model_id=head.model_id,
            system_prompt=head.system_prompt,
            temperature=head.temperature,
            created_at=head.created_at,
            tree={row.id: _message(row) for row in rows},
            revision=head.revision,
            comparing=_comparing(head.comparing),
        )
        leaf = head.current_leaf_id
        if leaf not in conversation.tree:
            leaf = rows[-1].id if rows else None
        conversation.leaf_id = leaf
        conversation.follow()
        return conversation

    def revision(self, conversation_id: str, owner: str) -> int | None:
        """The conversation's revision now (a cheap check for changes), None if gone."""
        with self._reads.connect() as db:
            return db.execute(
                select(conversations.c.revision).where(
                    conversations.c.id == conversation_id, conversations.c.owner == owner
                )
            ).scalar()

    def revisions(self, conversation_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """Owner and revision of each of these conversations still stored (one query)."""
        ids = list(conversation_ids)
        if not ids:
            return {}
        with self._reads.connect() as db:
            rows = db.execute(
                select(conversations.c.id, conversations.c.owner, conversations.c.revision).where(
                    conversations.c.id.in_(ids)
                )
            ).all()
        return {row.id: (row.owner, row.revision) for row in rows}

    def message(self, conversation_id: str, message_id: str, owner: str) -> Message | None:
        """One message as stored now (a reply being written elsewhere, read as it grows)."""
        with self._reads.connect() as db:
            row = db.execute(
                select(messages, _lease_held()).where(
                    messages.c.id == message_id,
                    messages.c.conversation_id.in_(_owned(conversation_id, owner)),
                )
            ).first()
        return _message(row) if row is not None else None

    def writing(self, owner: str) -> frozenset[str]:
        """The owner's conversations with a reply being written right now, by any process."""
        return frozenset(self._being_written(owner)[0].values())

    def writing_as_watched(self, owner: str) -> frozenset[str]:
        """`writing`, from the process's board (watching.py): for the tabs that check it on a
        timer, read again when one of the owner's replies starts or ends, at most once per
        `writers.max_age` without the listener."""
        return frozenset(self.writers.replies(owner).values())

    def writing_replies(self, owner: str) -> frozenset[str]:
        """The owner's replies being written right now, by any process (message ids)."""
        return frozenset(self._being_written(owner)[0])

    def _being_written(self, owner: str) -> tuple[dict[str, str], float | None]:
        """The owner's replies being written (id -> conversation id), and the seconds until
        the earliest of their leases runs out (by the database's clock; None without any)."""
        with self._reads.connect() as db:
            rows = db.execute(_BEING_WRITTEN, {"of_owner": owner}).all()
        left = [row.lease_left for row in rows if row.lease_left is not None]
        return {row.id: row.conversation_id for row in rows}, min(left) if left else None

    def list(
        self,
        owner: str,
        query: str = "",
        limit: int = 200,
        writing: frozenset[str] | None = None,
        *,
        archived: bool = False,
        project: str | None = None,
        in_projects: bool | None = None,
    ) -> list[Summary]:
        """The owner's conversations, pinned first, then newest first.

        Without a query, the list (or, with `archived`, the archive); a `query` searches
        titles and text of all of them, archived too, as any part of a word in any case.
        `project` keeps those of one project; `in_projects` those in some project (True) or
        in none (False).
        """
        first_text = (
            select(messages.c.text)
            .where(messages.c.conversation_id == conversations.c.id, messages.c.role == "user")
            .order_by(messages.c.position, messages.c.created_at)
            .limit(1)
            .scalar_subquery()
        )
        unseen = conversations.c.reply_settled_at > func.coalesce(conversations.c.seen_at, 0.0)
        statement = (
            select(
                conversations.c.id,
                conversations.c.title,
                conversations.c.updated_at,
                first_text,
                unseen.label("unseen"),
                conversations.c.pinned_at,
                conversations.c.archived_at,
            )
            .where(conversations.c.owner == owner)
            .order_by(conversations.c.pinned_at.is_(None), conversations.c.updated_at.desc())
            .limit(limit)
        )
        statement = _in_project(statement, owner, project, in_projects)
        wanted = query.strip()
        if wanted:
            pattern = f"%{_escape_like(wanted.lower())}%"
            statement = statement.where(
                or_(
                    func.lower(conversations.c.title).like(pattern, escape="\\"),
                    conversations.c.id.in_(self._with_text(wanted, pattern)),
                )
            )
        elif archived:
            statement = statement.where(conversations.c.archived_at.is_not(None))
        else:
            statement = statement.where(conversations.c.archived_at.is_(None))
        with self.engine.connect() as db:
            if len(wanted) >= TRIGRAM and self.backend == "postgresql":
                # The planner prices a scan by rows, not by the text each lower() reads, and
                # so scans 10,000 conversations' messages (80 ms) rather than use the
                # trigram index (3 ms). For this query only; without the index it scans.
                db.execute(text("SET LOCAL enable_seqscan = off"))
            rows = db.execute(statement).all()
        if writing is None:
            writing = self.writing(owner)
        return [
            Summary(
                id=row.id,
                title=row.title or title_from(row[3] or ""),
                updated_at=row.updated_at,
                writing=row.id in writing,
                unseen=bool(row.unseen) and row.id not in writing,
                pinned=row.pinned_at is not None,
                archived=row.archived_at is not None,
            )
            for row in rows
        ]

    def _with_text(self, wanted: str, pattern: str) -> Any:
        """The conversations with a message holding `wanted`, through the trigram index.

        SQLite asks its FTS5 table (a phrase: any substring, case folded); PostgreSQL's LIKE
        on the lower-cased text is served by the pg_trgm index. Under three characters no
        trigram exists, and every message is scanned.
        """
        if self.backend == "sqlite" and len(wanted) >= TRIGRAM:
            phrase = '"' + wanted.replace('"', '""') + '"'
            matching = text(
                "SELECT rowid FROM message_search WHERE message_search MATCH :phrase"
            ).bindparams(phrase=phrase)
            return select(messages.c.conversation_id).where(
                literal_column("messages.rowid").in_(matching.columns(column("rowid")))
            )
        return select(messages.c.conversation_id).where(
            func.lower(messages.c.text).like(pattern, escape="\\")
        )


def _in_project(statement: Any, owner: str, project: str | None, grouped: bool | None) -> Any:
    """The list narrowed to one project's conversations, or to those in some project or none."""
    if project is not None:
        return statement.where(
            conversations.c.id.in_(
                select(project_members.c.conversation_id).where(
                    project_members.c.project_id == project, project_members.c.owner == owner
                )
            )
        )
    if grouped is None:
        return statement
    members = select(project_members.c.conversation_id).where(project_members.c.owner == owner)
    return statement.where(
        conversations.c.id.in_(members) if grouped else conversations.c.id.not_in(members)
    )


def _being_written() -> Any:
    """A reply whose writer holds the lease (a reply left with none was cut)."""
    return (messages.c.status == Status.STREAMING.value) & (
        func.coalesce(messages.c.lease_until, 0.0) >= database_now()
    )


def _lease_end() -> Any:
    """When a lease renewed now runs out, by the database's clock."""
    return database_now() + LEASE_SECONDS


def _lease_held() -> Any:
    """Whether a message's lease holds now, by the database's clock (read with the row)."""
    return (func.coalesce(messages.c.lease_until, 0.0) >= database_now()).label("lease_held")


# Every page run and tab asks for a person's replies being written: built once, like these.
_BEING_WRITTEN = select(
    messages.c.id,
    messages.c.conversation_id,
    (messages.c.lease_until - database_now()).label("lease_left"),
).where(
    _being_written(),
    messages.c.conversation_id.in_(
        select(conversations.c.id).where(conversations.c.owner == bindparam("of_owner"))
    ),
)


# A batch of checkpoints' statements, built once a batch (a second), not once a reply.
def _lock_owned(asked: Sequence[tuple[str, str]]) -> Any:
    """The (conversation, owner) pairs of `asked` that exist, locked in the order given."""
    pair = tuple_(conversations.c.id, conversations.c.owner)
    return (
        select(conversations.c.id, conversations.c.owner)
        .where(pair.in_(asked))
        .order_by(conversations.c.id)
        .with_for_update()
    )


def _checkpoint(live: Sequence[tuple[str, Message]]) -> Any:
    """Save each reply's text and renew its lease, if it is still being written and no Stop
    was asked for; returns the ids of those saved. (A late checkpoint never brings a settled
    reply back to life.)"""
    return (
        update(messages)
        .where(
            tuple_(messages.c.id, messages.c.conversation_id).in_([(m.id, c) for c, m in live]),
            messages.c.status == Status.STREAMING.value,
            messages.c.stop_requested_at.is_(None),
        )
        .values(
            text=case({m.id: m.text for _, m in live}, value=messages.c.id),
            lease_until=_lease_end(),
        )
        .returning(messages.c.id)
    )


# A new message's statements, built once: every question and every reply runs them, and
# building them each time cost more than running them on SQLite (`bench/page_runs.py`).
_INSERT_HEAD = insert(conversations)  # a new conversation's first message: the row comes with it
_LOCK_HEAD = (
    select(conversations.c.owner, conversations.c.revision)
    .where(conversations.c.id == bindparam("in_conversation"))
    .with_for_update()
)
_PARENT_POSITION = select(messages.c.position).where(
    messages.c.id == bindparam("parent"),
    messages.c.conversation_id == bindparam("in_conversation"),
)
_INSERT_MESSAGE = insert(messages)  # the row's columns come with each execution
_INSERT_STREAMING = insert(messages).values(lease_until=database_now() + bindparam("lease_for"))
_HEAD_AFTER_MESSAGE = (
    update(conversations)
    .where(conversations.c.id == bindparam("in_conversation"))
    .values(
        revision=bindparam("new_revision"),
        current_leaf_id=bindparam("leaf"),
        updated_at=bindparam("at"),
        model_id=bindparam("model"),
        system_prompt=bindparam("prompt"),
        temperature=bindparam("temp"),
    )
)
_HEAD_AFTER_QUESTION = _HEAD_AFTER_MESSAGE.values(comparing=None)


def _owned(conversation_id: str, owner: str) -> Any:
    return select(conversations.c.id).where(
        conversations.c.id == conversation_id, conversations.c.owner == owner
    )


def _head_row(conversation: Conversation, owner: str) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "owner": owner,
        "title": _clip(conversation.title),
        "model_id": conversation.model_id,
        "system_prompt": conversation.system_prompt,
        "temperature": conversation.temperature,
        "created_at": conversation.created_at,
        "updated_at": time.time(),
    }


def _depths(conversation: Conversation) -> dict[str, int]:
    """How far each message is from its root (stored as `position`, to order a load)."""
    depth: dict[str, int] = {}
    for message in conversation.tree.values():  # parents come before their children
        depth[message.id] = depth.get(message.parent_id, -1) + 1 if message.parent_id else 0
    return depth


def _message_row(conversation_id: str, position: int, message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": conversation_id,
        "parent_id": message.parent_id,
        "position": position,
        "role": message.role,
        "text": message.text,
        "status": message.status.value,
        "model_id": message.model_id,
        "error": _error_json(message.error),
        "attachments": _attachments_json(message.attachments),
        "created_at": message.created_at,
        "lease_until": None,  # a reply being written gets its lease by the database's clock
    }


def _message(row: Any) -> Message:
    error = json.loads(row.error) if row.error else None
    status = Status(row.status)
    if status is Status.STREAMING and not row.lease_held:
        status = Status.INTERRUPTED  # its writer stopped renewing the lease
    return Message(
        role=row.role,
        text=row.text,
        status=status,
        model_id=row.model_id,
        error=ErrorInfo.from_dict(error) if isinstance(error, dict) else None,
        id=row.id,
        created_at=row.created_at,
        parent_id=row.parent_id,
        attachments=_attachments(row.attachments),
    )


def _comparing(stored: str | None) -> tuple[str, ...]:
    """The replies of an open comparison as stored; a damaged record opens none."""
    try:
        ids = json.loads(stored) if stored else []
    except ValueError:
        ids = None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        log.warning("a conversation's comparison could not be read; shown without it")
        return ()
    return tuple(ids)


def _attachments_json(attachments: tuple[Attachment, ...]) -> str | None:
    return json.dumps([a.to_dict() for a in attachments]) if attachments else None


def _attachments(stored: str | None) -> tuple[Attachment, ...]:
    """A question's files as stored; a damaged record shows the question without them."""
    try:
        return attachments_from(json.loads(stored)) if stored else ()
    except ValueError:
        log.warning("a message's attachments could not be read; shown without them")
        return ()


def _error_json(error: ErrorInfo | None) -> str | None:
    return json.dumps(error.to_dict()) if error else None


def _clip(title: str | None) -> str | None:
    return title[:TITLE_MAX_CHARS] if title else None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


__all__: Sequence[str] = [
    "ConversationGone",
    "ConversationStore",
    "Summary",
    "Written",
    "default_url",
    "make_engine",
]
