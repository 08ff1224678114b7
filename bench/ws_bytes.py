"""Websocket bytes a real browser receives for one long streamed reply: our page vs the tutorial.

Streamlit re-sends an element whole on every update, so how a page feeds a stream into its
elements decides whether a reply costs its own size on the wire or its size squared. This runs
`app.py` and `bench/tutorial_app.py` (Streamlit's LLM chat tutorial pattern) side by side against
one emulator sending the same ~20,000-character markdown reply in ~16-byte pieces, drives each
in headless Chromium, and prints a markdown table for docs/benchmarks.md.

    python bench/ws_bytes.py            # exit status 1 when our page misses a bar

Bars for our page: at most 10 bytes received per UTF-8 byte of the reply, at least 5 visible
updates a second while it streams, and the same final render as the tutorial page.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from liaobots_core.emulator import Behavior, Emulator  # noqa: E402
from testkit.browser import (  # noqa: E402
    APP,
    AUTH_CODE,
    CHROMIUM,
    ChatPage,
    StreamlitServer,
    WebSocketLog,
    launch_chromium,
    page_env,
)

TUTORIAL = REPO / "bench" / "tutorial_app.py"
SAMPLE_MS = 50
MAX_RATIO = 10.0
MIN_UPDATES_PER_SECOND = 5.0
SIZE_BUCKETS = (1_000, 10_000, 100_000)


def bench_reply(target_chars: int) -> str:
    """Mixed markdown, mostly ASCII with some Cyrillic: sections of prose, lists, code, tables."""
    sections: list[str] = []
    for k in itertools.count(1):
        if sum(map(len, sections)) >= target_chars:
            break
        parts = [
            f"## Section {k} — streaming in small pieces",
            " ".join(
                f"Sentence {k}.{i} explains how a long answer reaches the browser while it is "
                f"still being written, one small piece after another."
                for i in range(1, 5)
            ),
            f"Раздел {k}: ответ приходит частями, и каждая часть должна дойти целой, "
            f"без потерянных букв и лишних повторов.",
            "\n".join(
                [
                    f"- item {k}.1 with `inline code` and **bold** text",
                    f"- пункт {k}.2, написанный по-русски",
                    f"- item {k}.3: plain words only",
                ]
            ),
        ]
        if k % 2:
            code = "\n".join(
                [f"def step_{k}(values: list[int]) -> int:", '    """Sum the squares."""']
                + [f"    total_{j} = sum(v * v for v in values)  # шаг {j}" for j in range(4)]
                + [f"    return total_{3}"]
            )
            parts.append(f"```python\n{code}\n```")
        else:
            rows = [f"| {k}.{j} | value {j * k} | значение {j} |" for j in range(1, 5)]
            parts.append("\n".join(["| Key | Value | Значение |", "|---|---:|---|", *rows]))
        sections.append("\n\n".join(parts))
    return "\n\n".join(sections) + "\n"


@dataclass(frozen=True)
class Result:
    name: str
    received_bytes: int
    frames: int
    frame_sizes: list[int]
    reply_bytes: int
    updates_per_second: float
    seconds: float
    text: str
    counts: dict[str, int]

    @property
    def ratio(self) -> float:
        return self.received_bytes / self.reply_bytes


def update_rates(samples: list[tuple[float, int]]) -> list[int]:
    """Visible increases of the reply's length in each whole second while it streamed."""
    changes = [t for (_, a), (t, b) in itertools.pairwise(samples) if b != a]
    increases = [t for (_, a), (t, b) in itertools.pairwise(samples) if b > a]
    if len(changes) < 2:
        return []
    start, end = changes[0], changes[-1]
    seconds = int((end - start) // 1000)
    return [
        sum(start + 1000 * s <= t < start + 1000 * (s + 1) for t in increases)
        for s in range(seconds)
    ]


def measure(browser: Browser, name: str, url: str, reply: str, ours: bool) -> Result:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    frames = WebSocketLog(page)
    chat = ChatPage(page, url).open()
    page.evaluate("0")  # hand over every frame of the page load before counting starts
    mark = frames.mark()
    started = time.monotonic()
    index = chat.send("Write the long answer, please.")
    chat.start_sampling(index, SAMPLE_MS)
    if ours:
        chat.wait_for_button(index, "Regenerate")
    chat.wait_until_idle()
    seconds = time.monotonic() - started
    samples = chat.stop_sampling()
    received = frames.received(mark)
    bubble = chat.messages.nth(index)
    counts = {tag: bubble.locator(tag).count() for tag in ("pre", "table", "li")}
    text = chat.text(index)
    context.close()
    rates = update_rates(samples)
    return Result(
        name=name,
        received_bytes=sum(len(f.data) for f in received),
        frames=len(received),
        frame_sizes=[len(f.data) for f in received],
        reply_bytes=len(reply.encode()),
        updates_per_second=statistics.median(rates) if rates else 0.0,
        seconds=seconds,
        text=text,
        counts=counts,
    )


def size_breakdown(result: Result) -> str:
    """Which frame sizes carry the bytes: the first place to look when a page misses a bar."""
    edges = (0, *SIZE_BUCKETS, float("inf"))
    parts = []
    for low, high in itertools.pairwise(edges):
        sizes = [s for s in result.frame_sizes if low <= s < high]
        label = (
            f"{low / 1000:g}-{high / 1000:g} KB" if high != float("inf") else f">={low / 1000:g} KB"
        )
        parts.append(f"{label}: {len(sizes)} frames, {sum(sizes) / 1e6:.2f} MB")
    largest = max(result.frame_sizes, default=0)
    return f"{result.name}: " + "; ".join(parts) + f"; largest {largest / 1000:.1f} KB"


def table(results: list[Result], same_render: bool) -> str:
    lines = [
        "| page | WS bytes received | frames | bytes per reply byte "
        "| visible updates/s (median) | time to complete | final render |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        counts = ", ".join(f"{n} `{tag}`" for tag, n in r.counts.items())
        render = "identical" if same_render else "DIFFERENT"
        render += f": {len(r.text):,} characters, {counts}"
        lines.append(
            f"| {r.name} | {r.received_bytes / 1e6:.2f} MB | {r.frames} | {r.ratio:.1f}x "
            f"| {r.updates_per_second:g} | {r.seconds:.1f} s | {render} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chars", type=int, default=20_000, help="reply length in characters")
    parser.add_argument("--chunk-bytes", type=int, default=16, help="bytes per emulator piece")
    parser.add_argument("--seconds", type=float, default=9.0, help="how long the reply streams")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")

    reply = bench_reply(args.chars)
    data = reply.encode()
    pieces = -(-len(data) // args.chunk_bytes)
    behavior = Behavior(reply=reply, chunk_bytes=args.chunk_bytes, delay=args.seconds / pieces)
    with (
        tempfile.TemporaryDirectory(prefix="ws-bytes-") as tmp,
        Emulator(auth_code=AUTH_CODE, default=behavior) as emulator,
    ):
        env = page_env(emulator.base_url, AUTH_CODE, Path(tmp)) | {"PYTHONPATH": str(REPO)}
        ours = StreamlitServer(APP, env, Path(tmp) / "app.log")
        tutorial = StreamlitServer(TUTORIAL, env, Path(tmp) / "tutorial.log")
        with ours, tutorial, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            results = [
                measure(browser, "our page (`app.py`)", ours.url, reply, ours=True),
                measure(browser, "tutorial (`st.write_stream` per piece)", tutorial.url, reply,
                        ours=False),
            ]  # fmt: skip
            browser.close()

    mine, theirs = results
    same_render = mine.text == theirs.text and mine.counts == theirs.counts
    print(
        f"One reply of {len(reply):,} characters ({len(data):,} UTF-8 bytes) in {pieces:,} "
        f"pieces of {args.chunk_bytes} bytes over ~{args.seconds:g} s; websocket payload bytes "
        f"received by headless Chromium from sending the message until the reply is complete.\n"
    )
    print(table(results, same_render))
    print(f"\n`python bench/ws_bytes.py --chars {args.chars} --chunk-bytes {args.chunk_bytes} "
          f"--seconds {args.seconds:g}`\n")  # fmt: skip
    for r in results:
        print(size_breakdown(r))

    misses = []
    if mine.ratio > MAX_RATIO:
        misses.append(f"bytes per reply byte {mine.ratio:.1f}x > {MAX_RATIO:g}x")
    if mine.updates_per_second < MIN_UPDATES_PER_SECOND:
        misses.append(f"{mine.updates_per_second:g} updates/s < {MIN_UPDATES_PER_SECOND:g}")
    if not same_render:
        misses.append("final render differs from the tutorial page's")
    for miss in misses:
        print(f"MISSED: {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
