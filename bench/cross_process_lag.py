"""How long a checkpoint written on one app process takes to reach a tab on another.

Two processes on one PostgreSQL, each with its own `ConversationStore` (so its own engine and
notice listener, as two replicas have). This one writes a streaming reply's checkpoints, each
with new text; a child process follows that reply as the live view does
(`live.follow_elsewhere`: wait for a notice, then read the reply) and notes when each text
arrives. The lag of a sample is from just before the writer's `checkpoint` call to the moment
the follower has read that text: the write, its commit, the NOTIFY, the listener's wake-up and
the read, all of it. Both sides use CLOCK_MONOTONIC, which is one clock for the machine.

`--background N` has N more replies checkpointing once a second on the writer's side, as a
busy replica does, so the channel carries their notices too.

    python bench/cross_process_lag.py [--samples 400] [--gap 0.05] [--background 0]

PostgreSQL: a throw-away server (`testkit/postgres.py`) unless `BENCH_DATABASE_URL` names one.
Before notices, the live view read the store once a second: its lag was spread evenly over
0..1 s (plus the read), a p95 near 950 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatpage.data.conversation import Conversation, Message
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from chatpage.replies.live import follow_elsewhere

OWNER = "header:bench@example.com"
WAIT = 60.0  # seconds: the longest the follower waits for anything


def follow(url: str, conversation_id: str, message_id: str, samples: int) -> None:
    """The other process: follow the reply and print when each text was read."""
    store = ConversationStore(url)
    if not store.notices.wait_listening(WAIT):
        raise SystemExit("the follower's notice listener never connected")
    heard = store.notices.version(f"{conversation_id}")
    print(json.dumps({"ready": True}), flush=True)
    seen = 0
    for _, reply in follow_elsewhere(store, conversation_id, message_id, OWNER, heard, 3600):
        if reply is None:
            continue
        print(json.dumps({"text": reply.text, "at": time.monotonic()}), flush=True)
        seen += 1
        if reply.text == f"sample {samples - 1}":
            break
    store.close()


def a_reply(store: ConversationStore, question: str) -> tuple[Conversation, Message]:
    chat = Conversation(model_id="gpt-4")
    journal = Journal(store, OWNER)
    journal.add(chat, chat.add_user(question))
    reply = chat.start_reply("gpt-4")
    journal.add(chat, reply)
    return chat, reply


def background(store: ConversationStore, count: int, stop: threading.Event) -> None:
    """`count` other replies, each checkpointed once a second, spread over the second."""
    replies = [a_reply(store, f"background {i}") for i in range(count)]
    while not stop.is_set():
        for chat, reply in replies:
            reply.text += "more text "
            store.checkpoint(chat.id, reply, OWNER)
            if stop.wait(1.0 / max(count, 1)):
                return


def measure(url: str, samples: int, gap: float, busy: int) -> list[float]:
    store = ConversationStore(url)
    chat, reply = a_reply(store, "followed from another process")
    follower = subprocess.Popen(
        [sys.executable, __file__, "--follow", url, chat.id, reply.id, str(samples)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    if json.loads(follower.stdout.readline()).get("ready") is not True:
        raise SystemExit("the follower did not start")
    stop = threading.Event()
    noise = threading.Thread(target=background, args=(store, busy, stop), daemon=True)
    noise.start()
    written: dict[str, float] = {}
    arrived: dict[str, float] = {}

    def read_arrivals() -> None:
        for line in follower.stdout:  # type: ignore[union-attr]
            seen = json.loads(line)
            arrived.setdefault(seen["text"], seen["at"])

    reader = threading.Thread(target=read_arrivals, daemon=True)
    reader.start()
    for i in range(samples):
        reply.text = f"sample {i}"
        written[reply.text] = time.monotonic()
        store.checkpoint(chat.id, reply, OWNER)
        time.sleep(gap * random.uniform(0.5, 1.5))  # a paced writer, not a synchronisation
    follower.wait(WAIT)
    reader.join(WAIT)
    stop.set()
    noise.join(5)
    store.close()
    return [arrived[text] - at for text, at in written.items() if text in arrived]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between checkpoints")
    parser.add_argument("--background", type=int, default=0, help="other replies checkpointing")
    parser.add_argument("--follow", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.follow:
        url, conversation_id, message_id, samples = args.follow
        follow(url, conversation_id, message_id, int(samples))
        return
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        lags = measure(url, args.samples, args.gap, args.background)
    else:
        from testkit.postgres import temporary_server

        with temporary_server() as started:
            lags = measure(started, args.samples, args.gap, args.background)
    lags.sort()
    ms = [lag * 1000 for lag in lags]
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(
        f"{len(ms)} of {args.samples} checkpoints reached the other process "
        f"(background replies: {args.background}); lag median {statistics.median(ms):.1f} ms, "
        f"p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
