"""Every table the page keeps, declared once, on one `MetaData`.

The migrations (`migrations.py`) are what builds a database; this is what the queries are
written against. `tests/database/test_schema.py` builds a database by the migrations and compares it
with these declarations (Alembic's `compare_metadata`) on SQLite and PostgreSQL, so the two
cannot drift apart unnoticed. Change both together: a new migration, then the table here.

Times are seconds since the epoch (`Float`): the same on both databases, and what
`time.time()` gives.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

from chatpage.access.limits import TITLE_MAX_CHARS

OWNER_CHARS = 320  # an e-mail address at its longest, or a prefixed key
ID_CHARS = 64
MODEL_ID_CHARS = 200
PROMPT_NAME_CHARS = 80
PROJECT_NAME_CHARS = 80
FILE_NAME_CHARS = 200
SOURCE_ID_CHARS = 100  # chatpage/data/foreign.py's SOURCE_ID_MAX_CHARS

metadata = MetaData()

migrations_applied = Table(
    "_migrations",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("applied_at", Float, nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column("owner", String(OWNER_CHARS), nullable=False, server_default="local"),
    Column("title", String(TITLE_MAX_CHARS)),
    Column("model_id", String(MODEL_ID_CHARS), nullable=False),
    Column("system_prompt", Text, nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("current_leaf_id", String(ID_CHARS)),  # the end of the branch on show
    Column("revision", Integer, nullable=False, server_default="0"),
    Column("reply_settled_at", Float),  # when a reply last ended here
    Column("seen_at", Float),  # when its person last looked
    Column("pinned_at", Float),
    Column("archived_at", Float),
    Column("temperature", Float),  # none: the service's default
    Column("comparing", Text),  # JSON: the replies side by side until one is picked
    Index("conversations_by_owner", "owner", "updated_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column(
        "conversation_id",
        String(ID_CHARS),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("model_id", String(MODEL_ID_CHARS)),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Column("parent_id", String(ID_CHARS)),
    Column("lease_until", Float),  # a reply being written: renewed by its writer
    Column("stop_requested_at", Float),  # a Stop from any tab or process
    Column("attachments", Text),  # JSON: the files of a question (name, size, text)
    Index("messages_by_conversation", "conversation_id", "position"),
    Index("messages_by_parent", "conversation_id", "parent_id"),
    # Which replies are being written, cheap however many messages there are.
    Index(
        "messages_being_written",
        "conversation_id",
        sqlite_where=Column("status") == "streaming",
        postgresql_where=Column("status") == "streaming",
    ),
)

demo_usage = Table(
    "demo_usage",
    metadata,
    Column("visitor", String(OWNER_CHARS), nullable=False),
    Column("at", Float, nullable=False),
    Index("demo_usage_by_visitor", "visitor", "at"),
)

# Each conversation a public-demo visitor imported, and its size (m013).
demo_imports = Table(
    "demo_imports",
    metadata,
    Column("visitor", String(OWNER_CHARS), nullable=False),
    Column("at", Float, nullable=False),
    Column("bytes", Integer, nullable=False),
    Index("demo_imports_by_visitor", "visitor", "at"),
)

# Which conversation each one imported from ChatGPT or Claude became (m015): importing the
# same export again skips those still kept.
imported_conversations = Table(
    "imported_conversations",
    metadata,
    Column("owner", String(OWNER_CHARS), primary_key=True),
    Column("source", String(16), primary_key=True),  # "chatgpt", "claude"
    Column("source_id", String(SOURCE_ID_CHARS), primary_key=True),  # the service's own id
    Column("conversation_id", String(ID_CHARS), nullable=False),
    Column("imported_at", Float, nullable=False),
)

# One row per request sent upstream: who, when, which model, how much, how it ended. Never text.
reply_usage = Table(
    "reply_usage",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column("owner", String(OWNER_CHARS), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("model_id", String(MODEL_ID_CHARS)),
    Column("chars_in", Integer, nullable=False),
    Column("chars_out", Integer, nullable=False, server_default="0"),
    Column("outcome", String(16), nullable=False),
    Column("error_kind", String(40)),
    Index("reply_usage_by_owner", "owner", "started_at"),
    Index("reply_usage_by_time", "started_at"),
)

shared_links = Table(
    "shared_links",
    metadata,
    Column("token", String(ID_CHARS), primary_key=True),
    Column("owner", String(OWNER_CHARS), nullable=False),
    Column("shared_by", String(OWNER_CHARS)),
    Column("conversation_id", String(ID_CHARS), nullable=False),
    Column("title", String(TITLE_MAX_CHARS), nullable=False),  # for the owner's list of links
    Column("snapshot", Text, nullable=False),  # the export JSON of the branch shared
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
    Index("shared_links_by_owner", "owner", "conversation_id"),
)

saved_prompts = Table(
    "saved_prompts",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column("owner", String(OWNER_CHARS), nullable=False),
    Column("name", String(PROMPT_NAME_CHARS), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("saved_prompts_by_owner", "owner", "name"),
)

# A person's thumbs up (1) or down (-1) on a reply, one per reply (m014). Never text.
reply_ratings = Table(
    "reply_ratings",
    metadata,
    Column(
        "message_id",
        String(ID_CHARS),
        ForeignKey("messages.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("owner", String(OWNER_CHARS), nullable=False),
    Column("model_id", String(MODEL_ID_CHARS)),
    Column("rating", Integer, nullable=False),
    Column("rated_at", Float, nullable=False),
    Index("reply_ratings_by_time", "rated_at"),
)

# A person's projects: a named group of conversations with instructions and reference files
# (m017). Each conversation's membership is a row of its own; deleting a project deletes its
# files and memberships, never its conversations.
projects = Table(
    "projects",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column("owner", String(OWNER_CHARS), nullable=False),
    Column("name", String(PROJECT_NAME_CHARS), nullable=False),
    Column("instructions", Text, nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("projects_by_owner", "owner", "name"),
)

project_files = Table(
    "project_files",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column(
        "project_id",
        String(ID_CHARS),
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(FILE_NAME_CHARS), nullable=False),
    Column("size", Integer, nullable=False),  # bytes, as uploaded
    Column("text", Text, nullable=False),  # as extracted (data/extraction.py)
    Column("created_at", Float, nullable=False),
    Index("project_files_by_project", "project_id", "created_at"),
)

project_members = Table(
    "project_members",
    metadata,
    Column(
        "conversation_id",
        String(ID_CHARS),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "project_id",
        String(ID_CHARS),
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("owner", String(OWNER_CHARS), nullable=False),
    Column("joined_at", Float, nullable=False),
    Index("project_members_by_project", "project_id"),
    Index("project_members_by_owner", "owner"),
)
