"""Does saving a message cost the same in a long conversation as in a short one? Same run.

The store keeps each message as its own row, so a write should not grow with the
conversation. The bar: a save in a 1,000-message conversation costs at most 2x one in a
10-message conversation (SQLite and PostgreSQL), and loading 1,000 messages stays under 50 ms
on SQLite. Timed through the page's own calls: "one more exchange" is `journal.add` of a
question, `journal.add` of a streaming reply and `journal.settle` of it, as a page turn does;
also a single `journal.add`, a streaming checkpoint and `store.load`. Each timed write is undone
(untimed) afterwards, so every sample sees exactly 10 or 1,000 messages. The two sizes are
interleaved operation by operation, so a slow moment of the machine hits both.

The baseline is the old whole rewrite (every save deleted the conversation's rows and
inserted them all again; a turn saved twice that way, then updated the reply's row),
emulated with SQLAlchemy Core on the same tables in the same run, so "before" and "after"
come from one command.

    python bench/store_save_cost.py [--rounds 7] [--ops 20] [--filler 20]

PostgreSQL: a throw-away server (`testkit/postgres.py`, fsync off, so commits are cheaper than
on a real server; both sizes and both paths alike) unless `BENCH_DATABASE_URL` names one;
skipped, and said so, when PostgreSQL is not installed. Its tables are analyzed after set-up,
as autovacuum would have done on a server in use.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, insert, select, update

from chatpage.data.conversation import Conversation, Message, Status
from chatpage.database.conversations import (
    ConversationStore,
    _message_row,
    conversations,
    messages,
    writer,
)
from chatpage.journal import Journal

SIZES = (10, 1000)
SQLITE_LOAD_BAR_MS = 50.0
RATIO_BAR = 2.0

QUESTIONS = (
    "Как сделать так, чтобы потоковый ответ сохранялся каждую секунду и не терялся при падении "
    "процесса? У меня Streamlit и SQLite, пишут несколько вкладок сразу.",
    "Can you rewrite this function so it never holds the write lock while waiting on the "
    "network? It currently opens a transaction, calls the API, then commits.",
    "Объясни разницу между WAL и обычным журналом в SQLite простыми словами, с примером, "
    "когда это важно для веб-приложения с одним процессом.",
    "What is a sensible index for a table of chat messages that is read by conversation and "
    "written one row at a time? Show the CREATE INDEX and explain the column order.",
    "Переведи на английский: «Сообщение сохранено, но соединение с сервером прервалось; "
    "нажмите «Продолжить», чтобы дописать ответ».",
)
ANSWERS = (
    "Коротко: пишите ответ в базу из отдельного потока раз в секунду и ещё раз в конце.\n\n"
    "1. Сохраните вопрос и пустой ответ со статусом `streaming` до первого байта.\n"
    "2. Раз в секунду обновляйте только строку ответа: `UPDATE messages SET text = ? "
    "WHERE id = ?`.\n"
    "3. В конце запишите итоговый статус: `complete`, `stopped` или `failed`.\n\n"
    "Так падение процесса стоит не больше секунды текста, а страница никогда не ждёт базу, "
    "пока приходит текст. При чтении ответ, чей «арендатор» перестал продлевать аренду, "
    "показывается как прерванный.",
    "Here is the shape I would use:\n\n```python\ndef save_reply(db, reply):\n    with "
    "db.begin():\n        db.execute(update(messages).where(messages.c.id == reply.id)"
    ".values(text=reply.text))\n```\n\nThe network call happens before the transaction "
    "starts, so the lock is held for one short UPDATE, never for the round trip. If the "
    "write fails, keep the text in memory and try again on the next tick; nothing the "
    "person saw is lost.",
    "WAL (write-ahead log) пишет изменения в отдельный файл, а читатели продолжают читать "
    "старую версию страниц. Поэтому чтение не ждёт записи, а запись не ждёт чтения. В "
    "обычном режиме (`DELETE`) писатель блокирует всех читателей на время фиксации.\n\n"
    "Пример: одна вкладка стримит ответ и сохраняет его раз в секунду, другая в это время "
    "открывает список бесед. С WAL список открывается сразу.",
    "Index by `(conversation_id, position)`: every load asks for one conversation's rows in "
    "order, so the first column narrows to that conversation and the second gives the "
    "order without a sort.\n\n```sql\nCREATE INDEX messages_by_conversation\n    ON messages "
    "(conversation_id, position);\n```\n\nA write touches one row and one index entry; the "
    "cost does not depend on how long the conversation is.",
    "“The message was saved, but the connection to the server was lost; press “Continue” "
    "to finish the answer.”\n\nЕсли нужно короче для кнопки: “Connection lost — press "
    "Continue to finish the reply.”",
)


@dataclass
class Samples:
    """Milliseconds per sample, by size, plus the 1000/10 ratio of each round's medians."""

    by_size: dict[int, list[float]] = field(default_factory=lambda: {n: [] for n in SIZES})
    round_ratios: list[float] = field(default_factory=list)

    def add_round(self, round_samples: dict[int, list[float]]) -> None:
        for size, values in round_samples.items():
            self.by_size[size].extend(values)
        small, large = (statistics.median(round_samples[n]) for n in SIZES)
        self.round_ratios.append(large / small)

    def median(self, size: int) -> float:
        return statistics.median(self.by_size[size])

    def ratio(self) -> float:
        return self.median(SIZES[1]) / self.median(SIZES[0])


def spread(values: list[float]) -> tuple[float, float]:
    """p10 and p90 (the min and max say more about the machine than about the code)."""
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return deciles[0], deciles[-1]


def build(size: int, rng: random.Random, model_id: str = "gpt-4") -> Conversation:
    """A settled conversation of `size` messages, alternating question and answer."""
    conversation = Conversation(model_id=model_id, system_prompt="Отвечай кратко. Be precise.")
    for index in range(size):
        if index % 2 == 0:
            conversation.add_user(rng.choice(QUESTIONS))
        else:
            conversation.append(
                Message(role="assistant", text=rng.choice(ANSWERS), model_id=model_id)
            )
    return conversation


class Bench:
    """One backend's store, its conversations of each size, and the timed operations."""

    def __init__(self, url: str, rng: random.Random, filler: int) -> None:
        self.store = ConversationStore(url)
        self.writes = writer(self.store.engine)
        self.owner = f"bench-{uuid.uuid4().hex[:8]}"
        self.journal = Journal(self.store, self.owner)
        self.rng = rng
        for _ in range(filler):  # other conversations, so the table is not just ours
            self.journal.create(build(100, rng))
        self.new = {n: self._stored(n) for n in SIZES}  # written through the new path
        self.old = {n: self._stored(n) for n in SIZES}  # rewritten the old way
        if self.store.backend == "postgresql":  # statistics, as autovacuum keeps them
            with self.store.engine.begin() as db:
                db.exec_driver_sql("ANALYZE conversations, messages")

    def _stored(self, size: int) -> Conversation:
        conversation = build(size, self.rng)
        self.journal.create(conversation)
        return conversation

    def close(self) -> None:
        with self.writes.begin() as db:  # matters only on a server given by URL
            owned = select(conversations.c.id).where(conversations.c.owner == self.owner)
            db.execute(delete(messages).where(messages.c.conversation_id.in_(owned)))
            db.execute(delete(conversations).where(conversations.c.owner == self.owner))
        self.store.close()

    @contextmanager
    def undone(self, conversation: Conversation) -> Iterator[None]:
        """Whatever the block adds to the conversation is removed again (not timed)."""
        leaf, before = conversation.leaf_id, set(conversation.tree)
        yield
        added = [m for m in conversation.tree if m not in before]
        with self.writes.begin() as db:
            db.execute(delete(messages).where(messages.c.id.in_(added)))
            db.execute(
                update(conversations)
                .where(conversations.c.id == conversation.id)
                .values(current_leaf_id=leaf)
            )
        for message_id in added:
            del conversation.tree[message_id]
        conversation.leaf_id = leaf

    # -- the new path, as the page calls it ----------------------------------------------------

    def exchange(self, size: int) -> float:
        """One page turn: the question, the streaming reply, the settled reply."""
        conversation = self.new[size]
        with self.undone(conversation):
            started = time.perf_counter()
            self.journal.add(conversation, conversation.add_user(self.rng.choice(QUESTIONS)))
            reply = conversation.start_reply(conversation.model_id)
            self.journal.add(conversation, reply)
            reply.text, reply.status = self.rng.choice(ANSWERS), Status.COMPLETE
            self.journal.settle(conversation, reply)
            elapsed = time.perf_counter() - started
        return elapsed

    def add_one(self, size: int) -> float:
        conversation = self.new[size]
        with self.undone(conversation):
            message = conversation.add_user(self.rng.choice(QUESTIONS))
            started = time.perf_counter()
            self.journal.add(conversation, message)
            elapsed = time.perf_counter() - started
        return elapsed

    def checkpoint(self, size: int) -> float:
        """The write made about once a second while a reply streams."""
        conversation = self.new[size]
        with self.undone(conversation):
            reply = conversation.start_reply(conversation.model_id)
            self.journal.add(conversation, reply)
            reply.text = self.rng.choice(ANSWERS)
            started = time.perf_counter()
            saved = self.store.checkpoint(conversation.id, reply, self.owner)
            elapsed = time.perf_counter() - started
        assert saved
        return elapsed

    def load(self, size: int) -> float:
        conversation = self.new[size]
        started = time.perf_counter()
        loaded = self.store.load(conversation.id, self.owner)
        elapsed = time.perf_counter() - started
        assert loaded is not None
        assert len(loaded.messages) == size, size
        return elapsed

    # -- the old path, emulated ----------------------------------------------------------------

    def _rewrite(self, conversation: Conversation, branch: list[Message]) -> None:
        """The old `save`: the head row updated, every message row deleted and re-inserted."""
        now = time.time()
        with self.writes.begin() as db:
            found = db.execute(
                select(conversations.c.owner).where(conversations.c.id == conversation.id)
            ).first()
            assert found is not None
            assert found.owner == self.owner
            db.execute(
                update(conversations)
                .where(conversations.c.id == conversation.id)
                .values(model_id=conversation.model_id, updated_at=now)
            )
            db.execute(delete(messages).where(messages.c.conversation_id == conversation.id))
            db.execute(
                insert(messages),
                [_message_row(conversation.id, i, m) for i, m in enumerate(branch)],
            )

    def old_save(self, size: int) -> float:
        conversation = self.old[size]
        branch = conversation.messages
        started = time.perf_counter()
        self._rewrite(conversation, branch)
        return time.perf_counter() - started

    def old_exchange(self, size: int) -> float:
        """The old turn: a rewrite with the question, one with the reply, the reply's row."""
        conversation = self.old[size]
        with self.undone(conversation):
            started = time.perf_counter()
            conversation.add_user(self.rng.choice(QUESTIONS))
            self._rewrite(conversation, conversation.messages)
            reply = conversation.start_reply(conversation.model_id)
            self._rewrite(conversation, conversation.messages)
            reply.text, reply.status = self.rng.choice(ANSWERS), Status.COMPLETE
            with self.writes.begin() as db:
                db.execute(
                    update(messages)
                    .where(messages.c.id == reply.id)
                    .values(text=reply.text, status=reply.status.value)
                )
            elapsed = time.perf_counter() - started
        return elapsed

    def check(self) -> None:
        """The timed path really stores what the page needs (once, before timing)."""
        conversation = self.new[SIZES[1]]
        with self.undone(conversation):
            self.journal.add(conversation, conversation.add_user("проверка"))
            reply = conversation.start_reply(conversation.model_id)
            self.journal.add(conversation, reply)
            reply.text, reply.status = "готово", Status.COMPLETE
            self.journal.settle(conversation, reply)
            loaded = self.store.load(conversation.id, self.owner)
            assert loaded is not None
            assert len(loaded.messages) == SIZES[1] + 2, len(loaded.messages)
            assert loaded.messages[-1].text == "готово"
            assert loaded.messages[-1].status is Status.COMPLETE
            assert not self.journal.failed
            assert not self.journal.changed_elsewhere


OPERATIONS: dict[str, str] = {
    "exchange": "one more exchange: `journal.add` question + reply, `journal.settle`",
    "add_one": "one message: `journal.add`",
    "checkpoint": "streaming checkpoint: `store.checkpoint`",
    "old_exchange": "before: one exchange (2 whole rewrites + the reply's row)",
    "old_save": "before: one save (delete + re-insert every row)",
    "load": "load: `store.load`",
}


def measure(bench: Bench, rounds: int, ops: int) -> dict[str, Samples]:
    """Every operation, sizes interleaved one sample at a time, order flipped each time."""
    results = {name: Samples() for name in OPERATIONS}
    for name in OPERATIONS:  # warm-up: pools, statement caches, the database's pages
        for size in SIZES:
            getattr(bench, name)(size)
    bench.check()
    gc.disable()
    try:
        for round_index in range(rounds):
            for name in OPERATIONS:
                timed: Callable[[int], float] = getattr(bench, name)
                round_samples: dict[int, list[float]] = {n: [] for n in SIZES}
                for op in range(ops):
                    order = SIZES if (round_index + op) % 2 == 0 else SIZES[::-1]
                    for size in order:
                        round_samples[size].append(timed(size) * 1000)
                results[name].add_round(round_samples)
            gc.collect()
    finally:
        gc.enable()
    return results


def cell(values: list[float]) -> str:
    low, high = spread(values)
    return f"{statistics.median(values):.2f} ({low:.2f}–{high:.2f})"


VERDICTS = {"exchange": "one more exchange", "add_one": "one message", "checkpoint": "checkpoint"}


def report(label: str, detail: str, results: dict[str, Samples]) -> list[str]:
    """Print one backend's table; return its verdict lines."""
    print(f"\n**{label}** ({detail}), ms per operation, median (p10–p90):\n")
    print("| operation | 10 messages | 1,000 messages | 1,000 / 10 (per round) |")
    print("|---|---:|---:|---:|")
    for name, title in OPERATIONS.items():
        samples = results[name]
        ratios = samples.round_ratios
        print(
            f"| {title} | {cell(samples.by_size[SIZES[0]])} | {cell(samples.by_size[SIZES[1]])} "
            f"| **{samples.ratio():.2f}** ({min(ratios):.2f}–{max(ratios):.2f}) |"
        )
    verdicts = []
    for name, title in VERDICTS.items():
        ratio = results[name].ratio()
        holds = "holds" if ratio <= RATIO_BAR else "DOES NOT HOLD"
        verdicts.append(f"{label}, {title}: 1,000/10 = {ratio:.2f} (bar ≤ {RATIO_BAR:g}): {holds}")
    old, new = results["old_exchange"].median(SIZES[1]), results["exchange"].median(SIZES[1])
    verdicts.append(
        f"{label}: an exchange at 1,000 messages is {old / new:.0f}x cheaper than before"
    )
    load = results["load"].median(SIZES[1])
    if label == "SQLite":
        holds = "holds" if load < SQLITE_LOAD_BAR_MS else "DOES NOT HOLD"
        verdicts.append(
            f"{label}: load of 1,000 messages {load:.1f} ms (bar < {SQLITE_LOAD_BAR_MS:g}): {holds}"
        )
    else:
        verdicts.append(f"{label}: load of 1,000 messages {load:.1f} ms (no bar)")
    return verdicts


@contextmanager
def postgres_url() -> Iterator[tuple[str, str] | None]:
    """A PostgreSQL URL and what server it is, or None when there is no PostgreSQL to use."""
    given = os.environ.get("BENCH_DATABASE_URL")
    if given:
        yield given, "the server in BENCH_DATABASE_URL"
        return
    from testkit.postgres import find_bindir, temporary_server

    bindir = find_bindir()
    if bindir is None:
        print("\nPostgreSQL: skipped, no PostgreSQL binaries (initdb) on this machine.")
        yield None
        return
    with temporary_server() as url:
        version = bindir.parent.name if bindir.parent.name.isdigit() else "local"
        yield url, f"{version}, throw-away server on loopback, fsync=off"


def run(url: str, label: str, detail: str, args: argparse.Namespace) -> list[str]:
    bench = Bench(url, random.Random(args.seed), args.filler)
    try:
        results = measure(bench, args.rounds, args.ops)
    finally:
        bench.close()
    return report(label, detail, results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ops", type=int, default=20, help="samples per size, round, operation")
    parser.add_argument(
        "--filler", type=int, default=20, help="other 100-message conversations in the tables"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    lengths = [len(text) for text in QUESTIONS + ANSWERS]
    print(
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores; conversations of {SIZES[0]} and {SIZES[1]:,} messages "
        f"(alternating question and answer, {min(lengths)}–{max(lengths)} characters, Russian "
        f"and English) beside "
        f"{args.filler} others of 100; {args.rounds} rounds × {args.ops} samples per size and "
        f"operation, sizes interleaved; every timed write undone afterwards, untimed."
    )
    verdicts: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        verdicts += run(sqlite_url, "SQLite", "WAL, synchronous=NORMAL, temporary file", args)
    with postgres_url() as found:
        if found is not None:
            verdicts += run(found[0], "PostgreSQL", found[1], args)
    print()
    for line in verdicts:
        print(f"- {line}")
    command = " ".join(["python bench/store_save_cost.py", *sys.argv[1:]])
    print(f"\n`{command}`")
    print(f"(took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
