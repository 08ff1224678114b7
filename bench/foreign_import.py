"""What importing a large ChatGPT export costs: reading it (in this process, and through the
bounded child the page uses) and storing it on SQLite and PostgreSQL, then importing it again
(every conversation skipped as already imported).

The export is generated: `--conversations` conversations, each the branched Lisbon
conversation of testkit/foreign_exports.py continued by `--turns` replies of about 1 KB,
zipped as ChatGPT zips it. `--save` keeps the zip, to measure reading's peak memory in a
process of its own:

    python bench/foreign_import.py [--conversations 300] [--turns 100] [--save big.zip]
    /usr/bin/time -v python3 -c "from chatpage.data import foreign_imports as f; \
        f.read(open('big.zip', 'rb').read())"   # "Maximum resident set size"
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatpage.data import foreign_imports
from chatpage.data.foreign import Batch
from chatpage.database.conversations import ConversationStore
from chatpage.journal import Journal
from testkit import foreign_exports as exports
from testkit.postgres import temporary_server


def store_twice(url: str, label: str, batch: Batch, data: bytes) -> None:
    store = ConversationStore(url)
    journal = Journal(store, owner="local")
    started = time.perf_counter()
    for found in batch.found:
        journal.import_once(found, batch.source)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = foreign_imports.read(data)
    skipped = sum(not journal.import_once(found, again.source) for found in again.found)
    second = time.perf_counter() - started
    print(f"{label}: stored in {first:.2f} s; again (read + {skipped} skipped) in {second:.2f} s")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--save", type=Path, help="write the generated zip here")
    args = parser.parse_args()
    raw = exports.big_chatgpt_json(args.conversations, args.turns)
    data = exports.as_zip(raw)
    if args.save:
        args.save.write_bytes(data)
    print(f"{platform.python_version()} on {platform.machine()}")
    print(f"export: {len(raw) / 2**20:.1f} MB of JSON in a {len(data) / 2**20:.1f} MB zip")
    started = time.perf_counter()
    batch = foreign_imports.read(data)
    took = time.perf_counter() - started
    messages = sum(len(found.conversation.tree) for found in batch.found)
    print(f"read in-process: {took:.2f} s, {len(batch.found)} conversations, {messages} messages")
    del batch
    started = time.perf_counter()
    batch = foreign_imports.read_bounded(data)
    took = time.perf_counter() - started
    print(f"read in the bounded child: {took:.2f} s (its fork server's start included)")
    with tempfile.TemporaryDirectory() as directory:
        store_twice(f"sqlite:///{directory}/chat.sqlite3", "SQLite", batch, data)
    with temporary_server() as url:
        store_twice(url, "PostgreSQL", batch, data)


if __name__ == "__main__":  # the fork server imports the main module: run only when run
    main()
