"""Does saving a streaming reply slow the stream? Measured, against not saving, same run.

Replies are written by the app process: a `ReplyTask` reads the reply from the service on a
thread of its own into its `Message`, a page follows the text as it arrives
(`ReplyTask.follow`), and the process's `Replies` checkpoints every running reply to the store
about once a second from one keeper thread (`CHECKPOINT_INTERVAL`), so a killed process loses at
most about a second of text. Those checkpoints write the whole text so far, while text keeps
arriving: this measures what they cost the stream.

A long reply from the emulator, paced like a fast model over several seconds, is read through
that path and followed from `task.follow(0)` as a page would, (a) started through
`Replies.start`, so the keeper checkpoints it to a real store, and (b) as a lone
`ReplyTask(...).start()` that no `Replies` knows of, so nothing checkpoints it. The two
alternate, run after run. Reported: time from the start until the follower had the last text
(median and range), its ratio, the checkpoints written per reply, and the final settle that
both make when the reply ends (timed separately: it is not part of the streaming).

The emulator runs in this process and sleeps between pieces, so whatever time a checkpoint
holds the interpreter lock delays the service's pacing as well as the reading: a remote service
would not be slowed, so the figure errs against the checkpoints. The clock starts at the start
call, which for (a) includes `Replies`' room check (one read of the store).

    python bench/store_overhead.py [--kb 2000] [--seconds 5] [--runs 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatpage.data.conversation import Conversation, Message, Status
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from chatpage.replies.tasks import CHECKPOINT_INTERVAL, TICK, Replies, ReplyTask, Request
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator

CODE = "bench-code"
OWNER = "bench"
MODEL = "gpt-3.5-turbo"
PARAGRAPH = "Строка ответа, streamed for the benchmark: 你好 👋 and plain words too.\n\n"


class CountingStore(ConversationStore):
    """The real store, counting the checkpoints made through it and timing the settles."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._lock = threading.Lock()
        self.checkpoints = 0  # calls from the keeper
        self.written = 0  # of which saved text (the reply was still streaming in the store)
        self.checkpoint_seconds: list[float] = []  # how long each took, on the keeper thread
        self.settles: dict[str, float] = {}  # reply id -> seconds of its final settle

    def checkpoint(self, conversation_id: str, message: Message, owner: str) -> bool:
        started = time.perf_counter()
        kept = super().checkpoint(conversation_id, message, owner)
        with self._lock:
            self.checkpoints += 1
            self.written += kept
            self.checkpoint_seconds.append(time.perf_counter() - started)
        return kept

    def settle_reply(self, conversation_id: str, message: Message, owner: str) -> bool:
        started = time.perf_counter()
        settled = super().settle_reply(conversation_id, message, owner)
        with self._lock:
            self.settles[message.id] = time.perf_counter() - started
        return settled

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.checkpoints, self.written


@dataclass
class Run:
    streamed: float  # seconds from the start until the follower had the last text
    settle: float  # seconds of the final settle, made after the last text
    checkpoints: int
    written: int


def one_reply(
    store: CountingStore, client: LiaobotsClient, replies: Replies | None, expected: str
) -> Run:
    """One reply through the page's path, followed to its end as a page would."""
    conversation = Conversation(model_id=MODEL)
    journal = Journal(store, OWNER)
    journal.add(conversation, conversation.add_user("Tell me everything"))
    reply = conversation.start_reply(MODEL)
    journal.add(conversation, reply)  # stored, streaming: what the checkpoints update
    request = Request(conversation.id, OWNER, conversation.wire_messages(), MODEL, None)
    before = store.counts()

    started = time.perf_counter()
    if replies is not None:  # the process's keeper checkpoints it about once a second
        task = replies.start(request, reply, client, max_per_person=1)
    else:  # known to no Replies: nothing checkpoints it
        task = ReplyTask(request, reply, client, store).start()
    pieces: list[str] = []
    last_text = started
    for piece in task.follow(0):
        if piece and piece is not TICK:
            pieces.append(piece)
            last_text = time.perf_counter()
    # follow ends once the task is done, which is after its settle
    after = store.counts()

    assert "".join(pieces) == expected == reply.text, (len(reply.text), len(expected))
    assert reply.status is Status.COMPLETE, reply.status
    return Run(
        streamed=last_text - started,
        settle=store.settles[reply.id],
        checkpoints=after[0] - before[0],
        written=after[1] - before[1],
    )


def spread(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    """Median (min–max)."""
    median, low, high = (scale * v for v in (statistics.median(values), min(values), max(values)))
    return f"{median:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=2000, help="reply size in KB of UTF-8")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the reply streams")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    reply = PARAGRAPH * int(args.kb * 1000 / len(PARAGRAPH.encode()))
    size = len(reply.encode())
    piece = 4096
    pace = Behavior(reply=reply, chunk_bytes=piece, delay=args.seconds / (size / piece))
    labels = ("without checkpoints", "checkpoints about once a second")
    runs: dict[str, list[Run]] = {label: [] for label in labels}
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        store = CountingStore(url)
        replies = Replies(store)  # one per process, as in the app; its keeper runs throughout
        with (
            Emulator(auth_code=CODE, default=pace) as emu,
            LiaobotsClient(CODE, emu.base_url, timeout=30) as client,
        ):
            for _ in range(args.runs):
                for label, keeper in zip(labels, (None, replies), strict=True):
                    runs[label].append(one_reply(store, client, keeper, reply))
        replies.shutdown(grace=5.0)
        store.close()

    print(
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}; "
        f"one reply of {size / 1000:,.0f} KB ({len(reply):,} characters) paced over "
        f"~{args.seconds:g} s by the emulator on loopback, read by a ReplyTask and followed "
        f"through task.follow(0); store: "
        f"{'SQLite (temporary file)' if args.database_url is None else 'the given URL'}; "
        f"checkpoint interval {CHECKPOINT_INTERVAL:g} s; "
        f"median (min–max) of {args.runs} interleaved runs\n"
    )
    print("| reply streamed through the page's path | until the last text arrived, s |")
    print("|---|---:|")
    for label in labels:
        print(f"| {label} | {spread([run.streamed for run in runs[label]])} |")

    medians = {label: statistics.median(run.streamed for run in runs[label]) for label in labels}
    slower = medians[labels[1]] / medians[labels[0]] - 1
    saving = runs[labels[1]]
    print(
        f"\nstreaming time with checkpoints vs without: {slower:+.1%}; "
        f"checkpoints written per reply: {', '.join(str(run.written) for run in saving)} "
        f"(of {', '.join(str(run.checkpoints) for run in saving)} made); "
        f"without: {sum(run.checkpoints for run in runs[labels[0]])} made in all"
    )
    print(
        "one checkpoint (the whole text so far, on the keeper thread), ms: "
        f"{spread(store.checkpoint_seconds, 1000, 0)}"
    )
    print(
        "final settle after the last text, ms: "
        f"with checkpoints {spread([run.settle for run in saving], 1000, 0)}, "
        f"without {spread([run.settle for run in runs[labels[0]]], 1000, 0)}"
    )
    print("\n`python bench/store_overhead.py` " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
