"""The CPU of storing one message, as every question and every reply's start does.

`Journal.add`, that is `ConversationStore.add_message` (lock the conversation's head, read the
parent's depth, insert the message, move the head), and `settle_reply` (a reply's end): the CPU
of the calling thread per call (SQLite's own work included), on a SQLite file of their own,
one conversation growing by a question and a reply a round, as a person's does. With
`--baseline DIR` (another checkout of this repository, e.g. a `git worktree` of an older
commit) the same rounds run on that code too, in a child process each, alternating, so both
meet the same machine.

    python bench/message_writes.py --rounds 7 --turns 150
    git worktree add /tmp/before HEAD~1 && python bench/message_writes.py --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import baseline


def one_round(turns: int) -> dict[str, float]:
    """CPU ms per call (this thread's) of the code on sys.path[0]: the median of `turns`."""
    from chatpage.data.conversation import Conversation, Status
    from chatpage.database.conversations import ConversationStore
    from chatpage.journal import Journal

    with tempfile.TemporaryDirectory() as folder:
        store = ConversationStore(f"sqlite:///{folder}/bench.sqlite3")
        journal = Journal(store, "header:bench@example.com")
        chat = Conversation(model_id="gpt-4")
        added: list[float] = []
        settled: list[float] = []
        try:
            for n in range(turns):
                question = chat.add_user(f"Question {n}: как дела?")
                started = time.thread_time()
                journal.add(chat, question)
                reply = chat.start_reply("gpt-4")
                journal.add(chat, reply)
                added.append((time.thread_time() - started) / 2)
                reply.text, reply.status = f"Answer {n}: хорошо " * 20, Status.COMPLETE
                started = time.thread_time()
                store.settle_reply(chat.id, reply, journal.owner)
                settled.append(time.thread_time() - started)
        finally:
            store.close()
    return {
        "add_message": statistics.median(added) * 1000,
        "settle_reply": statistics.median(settled) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--turns", type=int, default=150, help="questions and replies a round")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    codes = baseline.checkouts(args.baseline)
    results = baseline.alternate(codes, args.rounds, "message_writes", f"one_round({args.turns})")
    print(f"CPU ms per call, median of {args.turns} a round; rounds' median (range):\n")
    baseline.print_table(results, {"add_message": "add_message", "settle_reply": "settle_reply"}, 2)


if __name__ == "__main__":
    main()
