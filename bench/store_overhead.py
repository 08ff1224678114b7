"""Does saving a streaming reply slow the stream? Measured, against not saving, same run.

A long reply is read from the emulator through the page's own path (`ChatStream` on a worker
thread, `ReplyPump` to the reading thread, the text growing in the `Message` piece by piece),
once with the crash-safe checkpoints writing it to a real SQLite store about once a second, once
without. The emulator paces the reply like a fast model (several seconds), so the checkpoints
run while text arrives. Reported: time until the last text arrived, its ratio, how many
checkpoints were written, and the final save after the reply (not part of the streaming).

    python bench/store_overhead.py [--kb 2000] [--seconds 5] [--runs 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatpage.conversation import Conversation
from chatpage.persistence import Journal
from chatpage.store import ConversationStore
from chatpage.streaming import ReplyPump
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator

CODE = "bench-code"
PARAGRAPH = "Строка ответа, streamed for the benchmark: 你好 👋 and plain words too.\n\n"


def one_reply(client: LiaobotsClient, journal: Journal | None) -> tuple[float, float, int]:
    """Seconds until the last text arrived, seconds of the final save, and the reply's length."""
    conversation = Conversation(model_id="gpt-3.5-turbo")
    conversation.add_user("Tell me everything")
    reply = conversation.start_reply(conversation.model_id)
    saving: AbstractContextManager[object] = nullcontext()
    if journal is not None:
        journal.save(conversation)
        saving = journal.checkpoints(conversation, reply)
    started = time.perf_counter()
    with saving:
        with ReplyPump(client.stream_chat(conversation.wire_messages())) as pump:
            for event in pump.events():
                if event:
                    reply.text += event  # as the page keeps it
        streamed = time.perf_counter() - started
    final_save = time.perf_counter() - started - streamed
    return streamed, final_save, len(reply.text)


class CountingStore(ConversationStore):
    """The real store, counting the reply saves made through it."""

    saves = 0

    def save_reply_text(self, *args: Any, **kwargs: Any) -> bool:
        self.saves += 1
        return super().save_reply_text(*args, **kwargs)


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
    labels = ("without saving", "saving about once a second")
    streamed: dict[str, list[float]] = {label: [] for label in labels}
    final_saves: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        store = CountingStore(url)
        journal = Journal(store, owner="bench")
        with (
            Emulator(auth_code=CODE, default=pace) as emu,
            LiaobotsClient(CODE, emu.base_url, timeout=30) as client,
        ):
            for _ in range(args.runs):
                for label, target in zip(labels, (None, journal), strict=True):
                    seconds, final_save, chars = one_reply(client, target)
                    assert chars == len(reply), (chars, len(reply))
                    streamed[label].append(seconds)
                    if target is not None:
                        final_saves.append(final_save)
        saves_per_reply = store.saves / args.runs
        store.close()

    print(
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}; "
        f"one reply of {size / 1000:,.0f} KB ({len(reply):,} characters) paced over "
        f"~{args.seconds:g} s by the emulator on loopback; store: "
        f"{'SQLite (temporary file)' if args.database_url is None else 'the given URL'}; "
        f"median of {args.runs} interleaved runs\n"
    )
    print("| reply streamed through the page's path | until the last text arrived |")
    print("|---|---:|")
    medians = {label: statistics.median(values) for label, values in streamed.items()}
    for label, seconds in medians.items():
        print(f"| {label} | {seconds:.3f} s |")
    slower = medians[labels[1]] / medians[labels[0]] - 1
    print(
        f"\nstreaming time with saving vs without: {slower:+.1%}; "
        f"{saves_per_reply:.0f} checkpoints written per reply; "
        f"final save after the reply: {statistics.median(final_saves) * 1000:.0f} ms (median)"
    )
    print("\n`python bench/store_overhead.py` " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
