"""The cost of a process's once-a-second checkpoint batch on PostgreSQL.

`ConversationStore.checkpoint_many` saves every reply a process is writing in one
transaction (`replies/tasks.py` `checkpoint_together`). This times that batch for `--replies`
replies being written, each in a conversation of its own, as the page's reply tasks have
them: the CPU of the calling thread and the wall time per batch (the database's work and the
round trips included), on a PostgreSQL server of its own (fsync on, as a real server runs).
With `--baseline DIR` (another checkout, e.g. a `git worktree` of an older commit) the same
rounds run on that code too, in a child process each, alternating, on the same server.

    python bench/checkpoint_batches.py --replies 75 --rounds 7
    git worktree add /tmp/before HEAD~1 && python bench/checkpoint_batches.py --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import baseline

OWNER = "header:bench@example.com"


def one_round(url: str, replies: int, batches: int) -> dict[str, float]:
    """Median CPU ms (this thread's) and wall ms of `batches` batches, on the code on
    sys.path[0]; each round writes into conversations of its own."""
    from chatpage.data.conversation import Conversation
    from chatpage.database.conversations import ConversationStore
    from chatpage.journal import Journal

    store = ConversationStore(url)
    journal = Journal(store, OWNER)
    live = []
    for n in range(replies):
        chat = Conversation(model_id="gpt-4")
        journal.add(chat, chat.add_user(f"Question {n}"))
        reply = chat.start_reply("gpt-4")
        journal.add(chat, reply)
        live.append((chat.id, reply, OWNER))
    cpu: list[float] = []
    wall: list[float] = []
    try:
        for n in range(batches):
            for _, reply, _ in live:
                reply.text += f"token {n} "
            started, started_cpu = time.perf_counter(), time.thread_time()
            kept = store.checkpoint_many(live)
            cpu.append(time.thread_time() - started_cpu)
            wall.append(time.perf_counter() - started)
            if not all(kept):
                raise RuntimeError("a checkpoint of the batch was not kept")
    finally:
        store.close()
    return {"cpu_ms": statistics.median(cpu) * 1000, "wall_ms": statistics.median(wall) * 1000}


def main() -> None:
    sys.path.insert(0, str(baseline.REPO))
    from testkit.postgres import PostgresServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=75, help="replies being written")
    parser.add_argument("--batches", type=int, default=30, help="batches a round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    server = PostgresServer()
    server.start(fsync=True)
    try:
        call = f"one_round({server.url!r}, {args.replies}, {args.batches})"
        results = baseline.alternate(
            baseline.checkouts(args.baseline), args.rounds, "checkpoint_batches", call
        )
    finally:
        server.stop()
        server.remove()
    print(
        f"A batch of {args.replies} checkpoints on PostgreSQL (fsync on): ms per batch, median "
        f"of {args.batches} a round; rounds' median (range):\n"
    )
    baseline.print_table(results, {"cpu_ms": "CPU of the calling thread", "wall_ms": "wall"}, 1)


if __name__ == "__main__":
    main()
