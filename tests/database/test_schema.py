"""The tables the queries are written against are the tables the migrations build."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Float, MetaData, Text, create_engine, delete, func, insert, select

from chatpage.database import schema
from chatpage.database.migrations import migrate

# Kept by the migrations for search alone, and read by no query: SQLite's FTS5 index over the
# messages (a virtual table and its shadow tables) and PostgreSQL's trigram index on an
# expression, which SQLAlchemy cannot reflect.
SEARCH_ONLY = ("message_search", "messages_text_trigram")


def _not_search_only(obj: object, name: str | None, type_: str, reflected: bool, _: object) -> bool:
    return not (name or "").startswith(SEARCH_ONLY)


def _same_type(
    context, inspected_column, metadata_column, inspected_type, metadata_type
) -> bool | None:
    """SQLite stores DOUBLE PRECISION as REAL, which is what `Float` means there."""
    if context.dialect.name == "sqlite" and isinstance(metadata_type, Float):
        return not isinstance(inspected_type, Float)
    return None  # Alembic's own comparison


def _same_default(
    context,
    inspected_column,
    metadata_column,
    inspected_default,
    metadata_default,
    rendered_metadata_default,
) -> bool | None:
    """SQLite reflects a default as written in the DDL, quotes and brackets and all."""
    if context.dialect.name == "sqlite":
        return _bare(inspected_default) != _bare(rendered_metadata_default)
    return None


def _bare(default: str | None) -> str:
    return (default or "").strip("()'\"")


def _differences(database_url: str, metadata: MetaData) -> list:
    engine = create_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as db:
            context = MigrationContext.configure(
                db,
                opts={
                    "compare_type": _same_type,
                    "compare_server_default": _same_default,
                    "include_object": _not_search_only,
                },
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    if engine.dialect.name == "sqlite":
        differences = [d for d in differences if not _sqlite_reflection_gap(d, metadata)]
    return differences


def _sqlite_reflection_gap(difference: object, metadata: MetaData) -> bool:
    """What SQLite cannot tell back: a text primary key admits NULL there (a documented quirk
    of SQLite, never used by the page), and SQLAlchemy's reflection misses `ON DELETE` when the
    DDL breaks its line before `REFERENCES` (checked by deleting below instead)."""
    change = difference[0] if isinstance(difference, list) else difference
    if change[0] == "modify_nullable":
        return metadata.tables[change[2]].c[change[3]].primary_key
    return change[0] in ("remove_fk", "add_fk")


def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert _differences(database_url, schema.metadata) == []


def test_deleting_a_conversation_deletes_its_messages_on_sqlite_too(tmp_path) -> None:
    from chatpage.database.conversations import ConversationStore

    store = ConversationStore(f"sqlite:///{tmp_path / 'chat.sqlite3'}")
    with store.engine.begin() as db:
        db.execute(
            insert(schema.conversations).values(
                id="c",
                owner="o",
                model_id="m",
                system_prompt="",
                created_at=0,
                updated_at=0,
                revision=1,
            )
        )
        db.execute(
            insert(schema.messages).values(
                id="m",
                conversation_id="c",
                position=0,
                role="user",
                text="hi",
                status="done",
                created_at=0,
            )
        )
        db.execute(delete(schema.conversations))
        left = db.execute(select(func.count()).select_from(schema.messages)).scalar()
    assert left == 0


def test_the_comparison_sees_a_column_the_migrations_never_added(database_url: str) -> None:
    declared = MetaData()
    for table in schema.metadata.sorted_tables:
        table.to_metadata(declared)
    declared.tables["messages"].append_column(Column("undeclared_in_migrations", Text))
    assert [d[0] for d in _differences(database_url, declared)] == ["add_column"]


def test_every_table_the_page_queries_is_on_the_one_metadata() -> None:
    from chatpage.database import conversations as store
    from chatpage.database import prompts, sharing, usage

    for table in (
        store.conversations,
        store.messages,
        store.demo_usage,
        usage.reply_usage,
        sharing.shared_links,
        prompts.saved_prompts,
    ):
        assert table.metadata is schema.metadata, table.name


def test_the_schema_module_is_the_only_one_of_the_page_to_declare_a_metadata() -> None:
    package = Path(schema.__file__).parents[1]
    declaring = sorted(
        str(path.relative_to(package.parent))
        for path in package.rglob("*.py")
        if "MetaData(" in path.read_text(encoding="utf-8")
    )
    assert declaring == ["chatpage/database/schema.py"]
