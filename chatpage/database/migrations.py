"""The database schema, as an ordered list of forward-only migrations.

A small explicit migrations table rather than Alembic: the schema is a few tables, it must
upgrade itself when the page starts (no separate command for a person to forget), and every
step has to run the same on SQLite and PostgreSQL. Each migration is a function named after
what it does; `_migrations` records which have run. Never edit one that has shipped: add the
next, and declare its change in `schema.py` (tests/database/test_schema.py compares the two).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(function: Migration) -> Migration:
    MIGRATIONS.append((function.__name__, function))
    return function


@migration
def m001_conversations_and_messages(db: Connection) -> None:
    db.execute(
        text(
            """
            CREATE TABLE conversations (
                id VARCHAR(64) PRIMARY KEY,
                title VARCHAR(200),
                model_id VARCHAR(200) NOT NULL,
                system_prompt TEXT NOT NULL DEFAULT '',
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """
        )
    )
    db.execute(
        text(
            """
            CREATE TABLE messages (
                id VARCHAR(64) PRIMARY KEY,
                conversation_id VARCHAR(64) NOT NULL
                    REFERENCES conversations (id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                role VARCHAR(16) NOT NULL,
                text TEXT NOT NULL,
                status VARCHAR(16) NOT NULL,
                model_id VARCHAR(200),
                error TEXT,
                created_at DOUBLE PRECISION NOT NULL
            )
            """
        )
    )
    db.execute(
        text("CREATE INDEX messages_by_conversation ON messages (conversation_id, position)")
    )


@migration
def m002_conversation_owner(db: Connection) -> None:
    """Conversations belong to someone, so a team page can keep each person's apart."""
    db.execute(
        text("ALTER TABLE conversations ADD COLUMN owner VARCHAR(320) NOT NULL DEFAULT 'local'")
    )
    db.execute(text("CREATE INDEX conversations_by_owner ON conversations (owner, updated_at)"))


@migration
def m003_demo_usage(db: Connection) -> None:
    """Each request a public-demo visitor makes, so limits hold across reloads and processes."""
    db.execute(
        text(
            "CREATE TABLE demo_usage ( visitor VARCHAR(320) NOT NULL, at DOUBLE PRECISION NOT NULL)"
        )
    )
    db.execute(text("CREATE INDEX demo_usage_by_visitor ON demo_usage (visitor, at)"))


@migration
def m004_message_tree(db: Connection) -> None:
    """Messages form a tree (edits and regenerated replies are kept as branches).

    Each message names its parent; each conversation names the end of the branch on show
    and counts its revisions, so a page can tell that another window changed it. A reply
    being written holds a lease its writer renews; one whose lease ran out was cut off.
    Every existing conversation becomes one chain, in its old order.
    """
    db.execute(text("ALTER TABLE messages ADD COLUMN parent_id VARCHAR(64)"))
    db.execute(text("ALTER TABLE messages ADD COLUMN lease_until DOUBLE PRECISION"))
    db.execute(text("ALTER TABLE conversations ADD COLUMN current_leaf_id VARCHAR(64)"))
    db.execute(text("ALTER TABLE conversations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0"))
    db.execute(
        text(
            """
            UPDATE messages SET parent_id = (
                SELECT earlier.id FROM messages AS earlier
                WHERE earlier.conversation_id = messages.conversation_id
                  AND earlier.position < messages.position
                ORDER BY earlier.position DESC LIMIT 1
            )
            """
        )
    )
    db.execute(
        text(
            """
            UPDATE conversations SET current_leaf_id = (
                SELECT last.id FROM messages AS last
                WHERE last.conversation_id = conversations.id
                ORDER BY last.position DESC LIMIT 1
            ), revision = 1
            """
        )
    )
    db.execute(text("CREATE INDEX messages_by_parent ON messages (conversation_id, parent_id)"))


@migration
def m005_replies_on_their_own(db: Connection) -> None:
    """Replies written by the app process, not the page: stoppable from anywhere, noticed.

    A Stop from a tab on another process asks the writer through the message's row; a
    conversation remembers when a reply last ended there and when its person last saw it,
    so the list can mark replies that finished while they were elsewhere. The partial index
    keeps "which replies are being written" cheap however many messages there are.
    """
    db.execute(text("ALTER TABLE messages ADD COLUMN stop_requested_at DOUBLE PRECISION"))
    db.execute(text("ALTER TABLE conversations ADD COLUMN reply_settled_at DOUBLE PRECISION"))
    db.execute(text("ALTER TABLE conversations ADD COLUMN seen_at DOUBLE PRECISION"))
    db.execute(
        text(
            "CREATE INDEX messages_being_written ON messages (conversation_id)"
            " WHERE status = 'streaming'"
        )
    )


@migration
def m006_reply_usage(db: Connection) -> None:
    """One row per request sent upstream: who, when, which model, how much, how it ended.

    Never the text. Per-person limits count it (across app processes) and the usage page
    sums it; the second index serves the page's "everyone, these days" reads.
    """
    db.execute(
        text(
            """
            CREATE TABLE reply_usage (
                id VARCHAR(64) PRIMARY KEY,
                owner VARCHAR(320) NOT NULL,
                started_at DOUBLE PRECISION NOT NULL,
                finished_at DOUBLE PRECISION,
                model_id VARCHAR(200),
                chars_in INTEGER NOT NULL,
                chars_out INTEGER NOT NULL DEFAULT 0,
                outcome VARCHAR(16) NOT NULL,
                error_kind VARCHAR(40)
            )
            """
        )
    )
    db.execute(text("CREATE INDEX reply_usage_by_owner ON reply_usage (owner, started_at)"))
    db.execute(text("CREATE INDEX reply_usage_by_time ON reply_usage (started_at)"))


@migration
def m007_tidy_history(db: Connection) -> None:
    """Pinned and archived conversations, and a text index that keeps search fast.

    Search finds any part of a word, in any case (a substring, as people expect of a chat's
    search). Trigram indexes answer exactly that: SQLite's FTS5 `trigram` tokenizer (folding
    case, Cyrillic included) over the messages, kept by triggers; PostgreSQL's `pg_trgm` GIN
    index on the lower-cased text, used by the same LIKE the search already runs. Without
    the extension (it needs the right to create it) search still works, by scanning.
    """
    db.execute(text("ALTER TABLE conversations ADD COLUMN pinned_at DOUBLE PRECISION"))
    db.execute(text("ALTER TABLE conversations ADD COLUMN archived_at DOUBLE PRECISION"))
    if db.dialect.name == "sqlite":
        for statement in _SQLITE_SEARCH:
            db.exec_driver_sql(statement)
    elif db.dialect.name == "postgresql":
        try:
            with db.begin_nested():
                db.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
                db.execute(
                    text(
                        "CREATE INDEX messages_text_trigram ON messages"
                        " USING gin (lower(text) gin_trgm_ops)"
                    )
                )
        except DBAPIError:
            log.warning(
                "pg_trgm is not available (CREATE EXTENSION pg_trgm needs the right to create "
                "it): search works, by scanning every message"
            )


@migration
def m008_shared_links(db: Connection) -> None:
    """Read-only links to a snapshot of a conversation, each revocable by its owner.

    The snapshot is the export JSON of the branch on show at the moment of sharing, so a
    link never shows what was written (or deleted) afterwards. A revoked link keeps its row
    with `revoked_at` set, so it answers "not found" exactly as an unknown token does.
    """
    db.execute(
        text(
            """
            CREATE TABLE shared_links (
                token VARCHAR(64) PRIMARY KEY,
                owner VARCHAR(320) NOT NULL,
                shared_by VARCHAR(320),
                conversation_id VARCHAR(64) NOT NULL,
                title VARCHAR(200) NOT NULL,
                snapshot TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION
            )
            """
        )
    )
    db.execute(text("CREATE INDEX shared_links_by_owner ON shared_links (owner, conversation_id)"))


@migration
def m009_message_attachments(db: Connection) -> None:
    """The files sent with a question (name, size, text), as JSON: shown as chips, exported.

    The text sent upstream is the question's text with each file fenced in it, made from
    this column, so the search and the title keep to what was typed.
    """
    db.execute(text("ALTER TABLE messages ADD COLUMN attachments TEXT"))


# The messages' text, indexed by trigrams, kept in step by triggers (FTS5 external content).
_SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE message_search USING fts5("
    "text, content='messages', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO message_search (rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO message_search (message_search, rowid, text) "
    "VALUES ('delete', old.rowid, old.text); END",
    "CREATE TRIGGER message_search_update AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO message_search (message_search, rowid, text) "
    "VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO message_search (rowid, text) VALUES (new.rowid, new.text); END",
    "INSERT INTO message_search (message_search) VALUES ('rebuild')",
)


@migration
def m010_conversation_temperature(db: Connection) -> None:
    """A conversation's temperature, kept with its model and system prompt (none: the
    service's default)."""
    db.execute(text("ALTER TABLE conversations ADD COLUMN temperature DOUBLE PRECISION"))


@migration
def m011_saved_prompts(db: Connection) -> None:
    """A person's saved system prompts, by name."""
    db.execute(
        text(
            """
            CREATE TABLE saved_prompts (
                id VARCHAR(64) PRIMARY KEY,
                owner VARCHAR(320) NOT NULL,
                name VARCHAR(80) NOT NULL,
                text TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """
        )
    )
    db.execute(text("CREATE INDEX saved_prompts_by_owner ON saved_prompts (owner, name)"))


@migration
def m012_shares_without_file_text_or_names(db: Connection) -> None:
    """Links made before the Share menu asked: their people never chose to share files' text
    or their name, so every existing snapshot keeps its files' names and sizes only, and the
    links name nobody. The links themselves keep working."""
    rows = db.execute(text("SELECT token, snapshot FROM shared_links")).all()
    for token, snapshot in rows:
        stripped = _without_file_text(snapshot)
        if stripped is not None:
            db.execute(
                text("UPDATE shared_links SET snapshot = :s WHERE token = :t"),
                {"s": stripped, "t": token},
            )
    db.execute(text("UPDATE shared_links SET shared_by = NULL"))


def _without_file_text(snapshot: str) -> str | None:
    """The export JSON with every attachment's text emptied; None when there is nothing to
    empty (or it is no export: then the link shows nothing anyway)."""
    try:
        document = json.loads(snapshot)
        messages = document["conversation"]["messages"]
    except (ValueError, TypeError, KeyError):
        return None
    changed = False
    for message in messages if isinstance(messages, list) else ():
        attachments = message.get("attachments") if isinstance(message, dict) else None
        for attachment in attachments if isinstance(attachments, list) else ():
            if isinstance(attachment, dict) and attachment.get("text"):
                attachment["text"] = ""
                changed = True
    return json.dumps(document, ensure_ascii=False, indent=2) if changed else None


@migration
def m013_demo_imports(db: Connection) -> None:
    """Each conversation a public-demo visitor imported, and its size: bounded per day."""
    db.execute(
        text(
            """
            CREATE TABLE demo_imports (
                visitor VARCHAR(320) NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                bytes INTEGER NOT NULL
            )
            """
        )
    )
    db.execute(text("CREATE INDEX demo_imports_by_visitor ON demo_imports (visitor, at)"))


@migration
def m014_reply_ratings(db: Connection) -> None:
    """A person's thumbs up or down on a reply, one per reply, with its model and when.

    Keyed by the message, and gone with it: deleting a conversation deletes its ratings.
    Never text. The index serves the usage page's "everyone, these days" reads.
    """
    db.execute(
        text(
            """
            CREATE TABLE reply_ratings (
                message_id VARCHAR(64) PRIMARY KEY
                    REFERENCES messages (id) ON DELETE CASCADE,
                owner VARCHAR(320) NOT NULL,
                model_id VARCHAR(200),
                rating INTEGER NOT NULL,
                rated_at DOUBLE PRECISION NOT NULL
            )
            """
        )
    )
    db.execute(text("CREATE INDEX reply_ratings_by_time ON reply_ratings (rated_at)"))


@migration
def m015_imported_conversations(db: Connection) -> None:
    """Which conversation each one imported from ChatGPT or Claude became: imported once."""
    db.execute(
        text(
            """
            CREATE TABLE imported_conversations (
                owner VARCHAR(320) NOT NULL,
                source VARCHAR(16) NOT NULL,
                source_id VARCHAR(100) NOT NULL,
                conversation_id VARCHAR(64) NOT NULL,
                imported_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (owner, source, source_id)
            )
            """
        )
    )


@migration
def m016_compared_replies(db: Connection) -> None:
    """The replies of several models to one question, shown side by side until one is
    picked (a JSON list of their ids; none: no comparison open)."""
    db.execute(text("ALTER TABLE conversations ADD COLUMN comparing TEXT"))


@migration
def m017_projects(db: Connection) -> None:
    """Projects: a person's named groups of conversations, with instructions and reference
    files (their extracted text). Each conversation's membership is its own row; a project's
    deletion takes its files and memberships with it, never a conversation."""
    db.execute(
        text(
            """
            CREATE TABLE projects (
                id VARCHAR(64) PRIMARY KEY,
                owner VARCHAR(320) NOT NULL,
                name VARCHAR(80) NOT NULL,
                instructions TEXT NOT NULL DEFAULT '',
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """
        )
    )
    db.execute(text("CREATE INDEX projects_by_owner ON projects (owner, name)"))
    db.execute(
        text(
            """
            CREATE TABLE project_files (
                id VARCHAR(64) PRIMARY KEY,
                project_id VARCHAR(64) NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                name VARCHAR(200) NOT NULL,
                size INTEGER NOT NULL,
                text TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """
        )
    )
    db.execute(
        text("CREATE INDEX project_files_by_project ON project_files (project_id, created_at)")
    )
    db.execute(
        text(
            """
            CREATE TABLE project_members (
                conversation_id VARCHAR(64) PRIMARY KEY
                    REFERENCES conversations (id) ON DELETE CASCADE,
                project_id VARCHAR(64) NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                owner VARCHAR(320) NOT NULL,
                joined_at DOUBLE PRECISION NOT NULL
            )
            """
        )
    )
    db.execute(text("CREATE INDEX project_members_by_project ON project_members (project_id)"))
    db.execute(text("CREATE INDEX project_members_by_owner ON project_members (owner)"))


def applied(engine: Engine) -> list[str]:
    with engine.connect() as db:
        _ensure_table(db)
        db.commit()
        return [row[0] for row in db.execute(text("SELECT name FROM _migrations ORDER BY name"))]


def migrate(engine: Engine, upto: str | None = None) -> list[str]:
    """Run every migration not yet applied (up to and including `upto`); return their names.

    Safe when several app processes start at once: on PostgreSQL the steps run under an
    advisory lock, on SQLite under the database's write lock.
    """
    ran: list[str] = []
    with engine.begin() as db:
        _ensure_table(db)
    for name, step in MIGRATIONS:
        with engine.begin() as db:
            _lock(db)
            done = db.execute(text("SELECT 1 FROM _migrations WHERE name = :n"), {"n": name})
            if done.first() is None:
                step(db)
                db.execute(
                    text("INSERT INTO _migrations (name, applied_at) VALUES (:n, :t)"),
                    {"n": name, "t": time.time()},
                )
                ran.append(name)
        if name == upto:
            break
    return ran


def _ensure_table(db: Connection) -> None:
    db.execute(
        text(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(name VARCHAR(200) PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
    )


def _lock(db: Connection) -> None:
    if db.dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(724101)"))
    elif db.dialect.name == "sqlite":
        # Take the write lock now, so two processes cannot both see a step as not yet run.
        db.exec_driver_sql("UPDATE _migrations SET name = name WHERE 0")
