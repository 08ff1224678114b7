"""What the page asks of PostgreSQL, and how much of it one PostgreSQL holds (docs/capacity.md).

Two measurements, each on a PostgreSQL server of its own (`testkit/postgres.py`, fsync ON as a
real server runs, unless `--no-fsync`):

`count`: runs `bench/load.py --target page` against that server (`--page-env DATABASE_URL=`)
and reads PostgreSQL's own counters (pg_stat_database) before and after: transactions, rows
inserted / updated / read, per completed reply; and samples pg_stat_activity every 0.2 s for
the connections the page process holds (its pool and its notice listener).

    python bench/db_writes.py count --sessions 50 [--replicas 0]

`checkpoints`: the page's hottest write, as `ConversationStore.checkpoint` makes it (the
reply's text and lease, the conversation's updated_at, its NOTIFY; one transaction), from
`--writers` threads each with its own connection, on `--replies` streaming replies of ~3,000
characters, as fast as the server takes them for `--seconds`. A reply checkpoints once a
second, so checkpoints a second = replies being written that one server holds.

    python bench/db_writes.py checkpoints --writers 8 --replies 400 --seconds 20

Runs on this machine's 2 cores, shared by the benchmark, the server and whatever else runs.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from chatpage.data.conversation import Conversation, Message
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from testkit.postgres import PostgresServer

OWNER = "header:bench@example.com"
COUNTERS = "xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched"


def server(fsync: bool) -> PostgresServer:
    started = PostgresServer()
    started.start(fsync=fsync, max_connections=300, preload="pg_stat_statements")
    return started


def statements(url: str) -> list[tuple[str, int, int]]:
    """(kind, calls, rows) of every statement pg_stat_statements saw, by its first word."""
    engine = create_engine(url)
    with engine.connect() as db:
        rows = db.execute(text("SELECT query, calls, rows FROM pg_stat_statements")).all()
    engine.dispose()
    kinds: dict[str, list[int]] = {}
    for query, calls, affected in rows:
        words = query.split()
        kind = words[0].upper() if words else "?"
        if "pg_notify" in query:
            kind = "NOTIFY"
        if "pg_stat" in query or kind in ("BEGIN", "COMMIT", "ROLLBACK"):
            kind = kind if kind in ("BEGIN", "COMMIT", "ROLLBACK") else "(this benchmark)"
        totals = kinds.setdefault(kind, [0, 0])
        totals[0] += calls
        totals[1] += affected
    return sorted(((k, c, r) for k, (c, r) in kinds.items()), key=lambda x: -x[1])


def counters(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as db:
        db.execute(text("SELECT pg_stat_clear_snapshot()"))
        row = db.execute(
            text(f"SELECT {COUNTERS} FROM pg_stat_database WHERE datname = current_database()")
        ).one()
    engine.dispose()
    return dict(row._mapping)


def count(args: argparse.Namespace) -> None:
    pg = server(fsync=not args.no_fsync)
    try:
        url = pg.url
        ConversationStore(url).close()  # the tables, made before the counters are read
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as db:
            db.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            db.execute(text("SELECT pg_stat_statements_reset()"))
        peak: dict[str, int] = {"connections": 0, "listening": 0, "samples": 0}
        stop = threading.Event()

        def sample() -> None:
            engine = create_engine(url)
            with engine.connect() as db:
                while not stop.wait(0.2):
                    rows = db.execute(
                        text(
                            "SELECT count(*), count(*) FILTER (WHERE query LIKE 'LISTEN %') "
                            "FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                            "AND backend_type = 'client backend'"
                        )
                    ).one()
                    db.rollback()  # pg_stat_activity holds still within one transaction
                    peak["samples"] += 1
                    peak["connections"] = max(peak["connections"], rows[0])
                    peak["listening"] = max(peak["listening"], rows[1])
            engine.dispose()

        sampler = threading.Thread(target=sample, daemon=True)
        before = counters(url)
        sampler.start()
        command = [
            sys.executable,
            str(Path(__file__).with_name("load.py")),
            "--target",
            "page",
            "--sessions",
            str(args.sessions),
            "--chunk-bytes",
            "4",
            "--rate",
            "200",
            "--idle",
            str(args.idle),
            "--page-env",
            f"DATABASE_URL={url}",
        ]
        if args.replicas:
            command += ["--replicas", str(args.replicas)]
        print("$", " ".join(command[1:]).replace(url, "<this server>"), flush=True)
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        stop.set()
        sampler.join(5)
        after = counters(url)
        print(run.stdout[-4000:])
        replies = _completed(run.stdout)
        print(f"completed replies (from load.py's output): {replies}")
        for name in before:
            delta = after[name] - before[name]
            per = f"{delta / replies:.1f} per reply" if replies else ""
            print(f"{name:>14}: {delta:>8}  {per}")
        print("statements by kind: calls (per reply), rows")
        for kind, calls, affected in statements(url):
            per = f"({calls / replies:.1f})" if replies else ""
            print(f"{kind:>18}: {calls:>7} {per:>8}  {affected:>8}")
        print(
            f"peak connections from the page process(es): {peak['connections']} "
            f"(of which notice listeners: {peak['listening']}); this benchmark's own sampling: "
            f"{peak['samples']} transactions (rolled back), counted above"
        )
    finally:
        with suppress(subprocess.CalledProcessError):
            pg.stop()
        pg.remove()


def _completed(output: str) -> int:
    """The replies the page wrote: load.py's complete sessions (its table), and its warm-up."""
    found = re.search(r"^\|\s*page\s*\|\s*\d+\s*\|\s*(\d+)\s*\|", output, re.MULTILINE)
    return int(found.group(1)) + 1 if found else 0


def checkpoints(args: argparse.Namespace) -> None:
    pg = server(fsync=not args.no_fsync)
    try:
        store = ConversationStore(pg.url)
        replies: list[tuple[Conversation, Message]] = []
        journal = Journal(store, OWNER)
        for i in range(args.replies):
            chat = Conversation(model_id="gpt-4")
            journal.add(chat, chat.add_user(f"question {i}"))
            reply = chat.start_reply("gpt-4")
            journal.add(chat, reply)
            replies.append((chat, reply))
        store.close()
        stores = [ConversationStore(pg.url) for _ in range(args.writers)]
        latencies: list[list[float]] = [[] for _ in stores]
        start = threading.Barrier(args.writers + 1)
        ends = [0.0]

        def write(index: int) -> None:
            mine = replies[index :: args.writers]
            own = stores[index]
            start.wait()
            n = 0
            while time.monotonic() < ends[0]:
                chat, reply = mine[n % len(mine)]
                n += 1
                reply.text = ("Строка ответа, streamed text " * 110)[: 100 + (n * 40) % 3000]
                began = time.perf_counter()
                own.checkpoint(chat.id, reply, OWNER)
                latencies[index].append(time.perf_counter() - began)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(args.writers)]
        for thread in threads:
            thread.start()
        ends[0] = time.monotonic() + args.seconds
        start.wait()
        for thread in threads:
            thread.join()
        for own in stores:
            own.close()
        every = sorted(x for one in latencies for x in one)
        rate = len(every) / args.seconds
        p95 = every[int(0.95 * len(every))] * 1000
        print(
            f"fsync {'off' if args.no_fsync else 'on'}, {args.writers} writers, "
            f"{args.replies} replies: {rate:.0f} checkpoints/s; latency median "
            f"{statistics.median(every) * 1000:.1f} ms, p95 {p95:.1f} ms"
        )
    finally:
        with suppress(subprocess.CalledProcessError):
            pg.stop()
        pg.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-fsync", action="store_true", help="the tests' server settings")
    sub = parser.add_subparsers(dest="what", required=True)
    counting = sub.add_parser("count", help="the page's database work per reply")
    counting.add_argument("--sessions", type=int, default=50)
    counting.add_argument("--replicas", type=int, default=0)
    counting.add_argument("--idle", type=float, default=10.0)
    writing = sub.add_parser("checkpoints", help="checkpoint-shaped writes one server takes")
    writing.add_argument("--writers", type=int, default=8)
    writing.add_argument("--replies", type=int, default=400)
    writing.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    (count if args.what == "count" else checkpoints)(args)


if __name__ == "__main__":
    main()
