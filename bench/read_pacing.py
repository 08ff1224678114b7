"""What reading a reply costs at a model's pace, token by token against resting between reads.

A model sends a token of ~4 characters every ~20 ms. A `ReplyTask` that reads each as it comes
pays, per token, a thread wake-up, a system call and the interpreter lock; under load the page
shows a reply only a few times a second (`update_interval`), so a busy process lets each task
rest (`read_pause`) once it has read all that had come, and read what gathered in one go.

This starts N real `ReplyTask`s at once (a SQLite store in a temporary folder, the emulator in a
child process streaming `--chars` characters in 4-byte pieces over `--seconds`), each followed
by a thread as a page follows it, and measures this process's CPU (user and system) until all
have ended. Both ways alternate, run after run, in the same process:

- `token by token`: `read_pause` 0, as when the process streams 24 replies or fewer;
- `resting`: `read_pause` as `Replies` gives it for N replies (0.1 s at 100).

    python bench/read_pacing.py [--replies 100] [--runs 3] [--chars 3044] [--seconds 15.2]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.load import EmulatorProcess  # noqa: E402
from chatpage.data.conversation import Conversation, Status  # noqa: E402
from chatpage.database.conversations import ConversationStore  # noqa: E402
from chatpage.journal import Journal  # noqa: E402
from chatpage.replies.tasks import TICK, ReplyTask, Request, read_pause  # noqa: E402
from liaobots_core import LiaobotsClient  # noqa: E402

CODE = "bench-code"
OWNER = "bench"
MODEL = "gpt-4o"
TOKEN = "Слово and word. "


def cpu() -> float:
    """This process's CPU seconds so far, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_run(
    store: ConversationStore, base_url: str, replies: int, pause: float, expected: str
) -> tuple[float, float, int]:
    """(CPU ms per reply, seconds until all ended, replies complete and whole)."""
    client = LiaobotsClient(auth_code=CODE, base_url=base_url, timeout=120)
    tasks = []
    for n in range(replies):
        conversation = Conversation(model_id=MODEL)
        journal = Journal(store, OWNER)
        journal.add(conversation, conversation.add_user(f"question {n}"))
        reply = conversation.start_reply(MODEL)
        journal.add(conversation, reply)
        request = Request(conversation.id, OWNER, conversation.wire_messages(), MODEL, None)
        task = ReplyTask(request, reply, client, store)
        task.read_pause = lambda: pause
        tasks.append(task)

    def follow(task: ReplyTask) -> None:  # as a page does, at the page's pace for this load
        for _ in task.follow(0, pace=2 * pause or 0.08):
            pass

    followers = [threading.Thread(target=follow, args=(task,)) for task in tasks]
    before, started = cpu(), time.monotonic()
    for task, follower in zip(tasks, followers, strict=True):
        task.start()
        follower.start()
    for follower in followers:
        follower.join()
    spent, took = cpu() - before, time.monotonic() - started
    whole = sum(t.reply.status is Status.COMPLETE and t.reply.text == expected for t in tasks)
    return spent / replies * 1000, took, whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=100, help="replies at once")
    parser.add_argument("--runs", type=int, default=3, help="runs of each way, alternating")
    parser.add_argument("--chars", type=int, default=3044, help="characters per reply")
    parser.add_argument("--seconds", type=float, default=15.2, help="how long each reply takes")
    args = parser.parse_args()
    if TICK is not None:  # follow() yields None as a tick; the loop above relies on nothing else
        raise SystemExit("TICK changed: check the follower loop")

    reply = (TOKEN * (args.chars // len(TOKEN) + 1))[: args.chars]
    pieces = -(-len(reply.encode()) // 4)
    behavior = {"reply": reply, "chunk_bytes": 4, "delay": args.seconds / pieces}
    ways = {"token by token": 0.0, "resting": read_pause(args.replies)}
    results: dict[str, list[tuple[float, float, int]]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory() as folder, EmulatorProcess(behavior, CODE) as emulator:
        store = ConversationStore(f"sqlite:///{folder}/bench.db")
        try:
            for run in range(args.runs):
                for way, pause in ways.items():
                    result = one_run(store, emulator.base_url, args.replies, pause, reply)
                    results[way].append(result)
                    print(f"run {run + 1}, {way}: {result[0]:.1f} CPU ms per reply", flush=True)
        finally:
            store.close()

    print(
        f"\n{args.replies} replies at once, each {args.chars:,} characters in {pieces} pieces "
        f"of 4 bytes over {args.seconds} s; CPU of this process per reply, median (each run):\n"
    )
    print("| reading | CPU ms per reply | all ended after (s) | complete |")
    print("|---|---|---:|---:|")
    for way, pause in ways.items():
        runs = results[way]
        each = ", ".join(f"{ms:.1f}" for ms, _, _ in runs)
        took = statistics.median(t for _, t, _ in runs)
        whole = min(w for _, _, w in runs)
        label = f"{way} (rest {pause:.2f} s)" if pause else way
        print(
            f"| {label} | **{statistics.median(ms for ms, _, _ in runs):.1f}** ({each}) "
            f"| {took:.1f} | {whole}/{args.replies} |"
        )
    print(f"\n`python bench/read_pacing.py {' '.join(sys.argv[1:])}`".rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
