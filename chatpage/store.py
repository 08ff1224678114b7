"""Conversations kept in a database: SQLite by default, PostgreSQL by `DATABASE_URL`.

SQLAlchemy Core rather than the ORM: the page already has its own dataclasses, every query
here is a plain statement with bound parameters, and nothing is cached in an identity map that
another browser session or app process could make stale. Every method takes the owner, so a
conversation can only ever be read or changed by whoever it belongs to.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url

from .conversation import Conversation, ErrorInfo, Message, Status, title_from
from .limits import TITLE_MAX_CHARS
from .migrations import migrate

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LOCAL_OWNER = "local"  # the one user of a page in `open` access mode
DEMO_PREFIX = "demo:"  # owners of anonymous public-demo visitors, purged after a while
WRITE_OPTION = "chat_write"

_meta = MetaData()
conversations = Table(
    "conversations",
    _meta,
    Column("id", String(64), primary_key=True),
    Column("owner", String(320), nullable=False),
    Column("title", String(200)),
    Column("model_id", String(200), nullable=False),
    Column("system_prompt", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
messages = Table(
    "messages",
    _meta,
    Column("id", String(64), primary_key=True),
    Column("conversation_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("model_id", String(200)),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
)
demo_usage = Table(
    "demo_usage",
    _meta,
    Column("visitor", String(320), nullable=False),
    Column("at", Float, nullable=False),
)


@dataclass(frozen=True)
class Summary:
    """One line of the conversation list."""

    id: str
    title: str
    updated_at: float


def default_url(data_dir: Path | None = None) -> str:
    folder = Path(data_dir or os.environ.get("CHAT_DATA_DIR") or DEFAULT_DATA_DIR)
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

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        # A writer takes the write lock up front: a read that later upgrades to a write
        # would fail at once ("database is locked") when another writer got there first.
        writing = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, for transactions that will write."""
    return engine.execution_options(**{WRITE_OPTION: True})


class ConversationStore:
    """Every read and write of stored conversations."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._writes = writer(self.engine)
        migrate(self._writes)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- writing -----------------------------------------------------------------------------

    def save(self, conversation: Conversation, owner: str) -> None:
        """Write the conversation and all its messages as they are now."""
        now = time.time()
        with self._writes.begin() as db:
            found = db.execute(
                select(conversations.c.owner).where(conversations.c.id == conversation.id)
            ).first()
            if found is not None and found.owner != owner:
                raise PermissionError("conversation belongs to someone else")
            row = {
                "title": _clip(conversation.title),
                "model_id": conversation.model_id,
                "system_prompt": conversation.system_prompt,
                "updated_at": now,
            }
            if found is None:
                db.execute(
                    insert(conversations).values(
                        id=conversation.id, owner=owner, created_at=conversation.created_at, **row
                    )
                )
            else:
                db.execute(
                    update(conversations).where(conversations.c.id == conversation.id).values(**row)
                )
            db.execute(delete(messages).where(messages.c.conversation_id == conversation.id))
            if conversation.messages:
                db.execute(
                    insert(messages),
                    [
                        _message_row(conversation.id, position, message)
                        for position, message in enumerate(conversation.messages)
                    ],
                )

    def save_reply_text(self, conversation_id: str, message: Message, owner: str) -> bool:
        """Write one reply's text and status as they are now (the incremental save)."""
        with self._writes.begin() as db:
            mine = _owned(conversation_id, owner)
            result = db.execute(
                update(messages)
                .where(
                    messages.c.id == message.id,
                    messages.c.conversation_id == conversation_id,
                    messages.c.conversation_id.in_(mine),
                )
                .values(
                    text=message.text,
                    status=message.status.value,
                    error=_error_json(message.error),
                )
            )
            db.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .values(updated_at=time.time())
            )
            return result.rowcount > 0

    def rename(self, conversation_id: str, title: str, owner: str) -> bool:
        with self._writes.begin() as db:
            result = db.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .values(title=_clip(title.strip()) or None)
            )
            return result.rowcount > 0

    def delete(self, conversation_id: str, owner: str) -> bool:
        with self._writes.begin() as db:
            db.execute(
                delete(messages).where(
                    messages.c.conversation_id.in_(_owned(conversation_id, owner))
                )
            )
            result = db.execute(
                delete(conversations).where(
                    conversations.c.id == conversation_id, conversations.c.owner == owner
                )
            )
            return result.rowcount > 0

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
                db.execute(delete(conversations).where(conversations.c.id.in_(ids)))
            day_ago = time.time() - 86_400  # usage older than the longest window counts no more
            db.execute(delete(demo_usage).where(demo_usage.c.at < min(cutoff, day_ago)))
            return len(ids)

    def take_demo_use(
        self, visitor: str, now: float, limits: Sequence[tuple[float, int]]
    ) -> float | None:
        """Count one request against `(window_seconds, allowed)` limits, if all allow it.

        Returns None when the request may go (and records it), else the seconds until it
        may. The check and the record are one transaction, so two tabs cannot both slip in.
        """
        with self._writes.begin() as db:
            if db.dialect.name == "postgresql":
                db.execute(select(func.pg_advisory_xact_lock(func.hashtext(visitor))))
            for window, allowed in limits:
                recent = db.execute(
                    select(demo_usage.c.at)
                    .where(demo_usage.c.visitor == visitor, demo_usage.c.at > now - window)
                    .order_by(demo_usage.c.at.desc())
                    .limit(allowed)
                ).all()
                if len(recent) >= allowed:
                    return max(1.0, recent[-1].at + window - now)
            db.execute(insert(demo_usage).values(visitor=visitor, at=now))
            return None

    # -- reading -----------------------------------------------------------------------------

    def load(self, conversation_id: str, owner: str) -> Conversation | None:
        """The conversation, or None when it does not exist or is someone else's.

        A reply found still streaming was cut off by a crash or restart: it comes back
        marked interrupted, with the text that had been saved.
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
                select(messages)
                .where(messages.c.conversation_id == conversation_id)
                .order_by(messages.c.position)
            ).all()
        loaded = [_message(row) for row in rows]
        for message in loaded:
            if message.status is Status.STREAMING:
                message.status = Status.INTERRUPTED
        return Conversation(
            id=head.id,
            title=head.title,
            model_id=head.model_id,
            system_prompt=head.system_prompt,
            created_at=head.created_at,
            messages=loaded,
        )

    def list(self, owner: str, query: str = "", limit: int = 200) -> list[Summary]:
        """The owner's conversations, newest first; `query` searches titles and text."""
        first_text = (
            select(messages.c.text)
            .where(messages.c.conversation_id == conversations.c.id, messages.c.role == "user")
            .order_by(messages.c.position)
            .limit(1)
            .scalar_subquery()
        )
        statement = (
            select(
                conversations.c.id, conversations.c.title, conversations.c.updated_at, first_text
            )
            .where(conversations.c.owner == owner)
            .order_by(conversations.c.updated_at.desc())
            .limit(limit)
        )
        if query.strip():
            pattern = f"%{_escape_like(query.strip().lower())}%"
            has_text = select(messages.c.id).where(
                messages.c.conversation_id == conversations.c.id,
                func.lower(messages.c.text).like(pattern, escape="\\"),
            )
            statement = statement.where(
                or_(
                    func.lower(conversations.c.title).like(pattern, escape="\\"),
                    has_text.exists(),
                )
            )
        with self.engine.connect() as db:
            rows = db.execute(statement).all()
        return [
            Summary(
                id=row.id, title=row.title or title_from(row[3] or ""), updated_at=row.updated_at
            )
            for row in rows
        ]


def _owned(conversation_id: str, owner: str) -> Any:
    return select(conversations.c.id).where(
        conversations.c.id == conversation_id, conversations.c.owner == owner
    )


def _message_row(conversation_id: str, position: int, message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": conversation_id,
        "position": position,
        "role": message.role,
        "text": message.text,
        "status": message.status.value,
        "model_id": message.model_id,
        "error": _error_json(message.error),
        "created_at": message.created_at,
    }


def _message(row: Any) -> Message:
    error = json.loads(row.error) if row.error else None
    return Message(
        role=row.role,
        text=row.text,
        status=Status(row.status),
        model_id=row.model_id,
        error=ErrorInfo.from_dict(error) if isinstance(error, dict) else None,
        id=row.id,
        created_at=row.created_at,
    )


def _error_json(error: ErrorInfo | None) -> str | None:
    return json.dumps(error.to_dict()) if error else None


def _clip(title: str | None) -> str | None:
    return title[:TITLE_MAX_CHARS] if title else None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


__all__: Sequence[str] = ["ConversationStore", "Summary", "default_url", "make_engine"]
