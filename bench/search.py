"""Search over many saved conversations: the trigram index against a plain scan, same run.

    python bench/search.py --conversations 10000            # SQLite and a throw-away PostgreSQL
    python bench/search.py --conversations 10000 --backend sqlite

Each conversation has a question and a reply of a few hundred characters (English and
Russian); one in a thousand holds the word searched for. The baseline is the query the page
ran before the index (LIKE over every message's lower-cased text), timed on the same data;
the page's query is `ConversationStore.list(owner, query)`. Medians of `--repeat` runs, in ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatpage.database.conversations import ConversationStore, conversations, messages

OWNER = "header:bench@example.com"
WORDS = [
    "маяк",
    "lighthouse",
    "погода",
    "weather",
    "рецепт",
    "recipe",
    "история",
    "history",
    "код",
    "code",
]


def fill(store: ConversationStore, count: int) -> None:
    now = time.time()
    heads, bodies = [], []
    for n in range(count):
        cid = f"c{n:07}"
        special = " zanzibar" if n % 1000 == 0 else ""
        words = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(40))
        heads.append(
            dict(
                id=cid, owner=OWNER, title=None, model_id="gpt-4", system_prompt="",
                created_at=now - count + n, updated_at=now - count + n,
                current_leaf_id=f"{cid}a", revision=1,
            )
        )  # fmt: skip
        bodies.append(
            dict(
                id=f"{cid}q", conversation_id=cid, position=0, role="user",
                text=f"Question {n}: {words}", status="complete", created_at=now,
                parent_id=None,
            )
        )  # fmt: skip
        bodies.append(
            dict(
                id=f"{cid}a", conversation_id=cid, position=1, role="assistant",
                text=f"Answer {n}{special}: {words} {words}", status="complete",
                created_at=now, parent_id=f"{cid}q",
            )
        )  # fmt: skip
    with store._writes.begin() as db:
        db.execute(insert(conversations), heads)
        db.execute(insert(messages), bodies)


def scan(store: ConversationStore, query: str) -> int:
    """The search before the index: every message's text, lower-cased, matched by LIKE."""
    pattern = f"%{query.lower()}%"
    has_text = select(messages.c.id).where(
        messages.c.conversation_id == conversations.c.id,
        func.lower(messages.c.text).like(pattern),
    )
    statement = (
        select(conversations.c.id)
        .where(conversations.c.owner == OWNER, has_text.exists())
        .order_by(conversations.c.updated_at.desc())
        .limit(26)
    )
    with store.engine.connect() as db:
        return len(db.execute(statement).all())


def timed(function, repeat: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), max(times)


def measure(name: str, url: str, count: int, repeat: int) -> None:
    store = ConversationStore(url)
    try:
        fill(store, count)
        with store._writes.begin() as db:
            db.exec_driver_sql("ANALYZE")  # as autovacuum would have by now
        found_scan = scan(store, "zanzibar")
        found = len(store.list(OWNER, "zanzibar", limit=26))
        assert found == found_scan == count // 1000, (found, found_scan)
        page = timed(lambda: store.list(OWNER, "zanzibar", limit=26), repeat)
        short = timed(lambda: store.list(OWNER, "zz", limit=26), repeat)
        if store.backend == "postgresql":  # the same LIKE finds the index: time it without
            with store._writes.begin() as db:
                db.exec_driver_sql("DROP INDEX messages_text_trigram")
        base = timed(lambda: scan(store, "zanzibar"), repeat)
        print(
            f"| {name} | {count:,} | {base[0]:.1f} ({base[1]:.1f}–{base[2]:.1f}) "
            f"| {page[0]:.1f} ({page[1]:.1f}–{page[2]:.1f}) | {base[0] / page[0]:.0f}x "
            f"| {short[0]:.1f} |"
        )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(
        "| database | conversations | scan, ms: median (min–max) | index, ms | faster "
        "| two letters (no trigram: scanned), ms |"
    )
    print("|---|---:|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{folder}/search.sqlite3"
            measure("SQLite (FTS5 trigram)", url, args.conversations, args.repeat)
        if args.backend in ("postgresql", "both"):
            from testkit.postgres import temporary_server

            with temporary_server() as url:
                measure("PostgreSQL (pg_trgm)", url, args.conversations, args.repeat)
    print(f"\n`python bench/search.py --conversations {args.conversations}`")


if __name__ == "__main__":
    main()
