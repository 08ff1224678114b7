"""Benchmark: `LiaobotsClient.stream_chat` against the bare `requests` loop, on loopback.

Why it exists: the client reads with `read1` so no text is held back, and decodes UTF-8
incrementally so no character breaks. This shows, in one run, what that costs in throughput
against the simplest correct loop (`iter_content(chunk_size=None)` + an incremental decoder)
and what it gains in time to first text over `iter_content`, which holds a close-delimited
reply back.

    python bench/client_throughput.py [--mb 50] [--runs 5] [--ttft-runs 3] [--sse-mb 5]

The emulator runs in this process on 127.0.0.1; each throughput request runs in a fresh Python
process (`--in-process` runs them here instead). A fresh process per request keeps one loop
from inheriting the other's heap: in one process, which loop ran just before moved the bare
loop between ~200 and ~350 MB/s (24k against 52k page faults per request) with no change in
its code. The client's CPU time per MB is printed too: on a busy machine it is steadier than
MB/s. Every loop is bounded and every read has a timeout, so the script stops by itself. It
prints markdown tables for docs/benchmarks.md and exits 1 if the loops disagree on the text (a
correctness failure, not a slow run).
"""

from __future__ import annotations

import argparse
import codecs
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

# Run from a checkout without installing: the package lives next to bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator
from liaobots_core.emulator.framing import encode_body
from liaobots_core.emulator.replies import ReplyText

AUTH_CODE = "bench-code"
MB = 1_000_000
WRITE_BYTES = 64 * 1024
MODEL = {"id": "gpt-4", "name": "GPT-4", "maxLength": 24000, "tokenLimit": 8000}
MESSAGES = [{"role": "user", "content": "Расскажи длинную историю"}]
TIMEOUT = (5.0, 30.0)  # (connect, longest silence): no loop can hang on a dead emulator
WORKER_TIMEOUT = 300.0
# One line of every width UTF-8 has: 1 (ASCII), 2 (Cyrillic), 3 (CJK), 4 (emoji) bytes.
UNIT = "Hello, world! Привет, мир! Съешь ещё этих булок. 你好，世界！東京 🐍👋🏽🇷🇺 café\n"
# Time to first text: FIRST goes out at once, the rest PAUSE seconds later.
FIRST = "Привет, 世界 👋 "
REST = "и пока."
PAUSE = 1.5
BAR = 0.8


@dataclasses.dataclass(frozen=True)
class Reply:
    """A reply made of UNIT repeated, its size on the wire and its number of SSE events."""

    text: ReplyText
    wire_bytes: int
    events: int = 0

    @classmethod
    def of_size(cls, megabytes: float, framing: str) -> Reply:
        """About `megabytes` MB on the wire, whatever the framing adds to the text."""
        unit_wire = len(encode_body(ReplyText(UNIT), framing, sse_done=False))
        chars = round(megabytes * MB * len(UNIT) / unit_wire)
        repeats, rest = divmod(chars, len(UNIT))
        text = ReplyText(UNIT, repeats, UNIT[:rest])
        if framing == "raw":  # counted, not built: 50 MB need not be encoded twice
            return cls(text, unit_wire * repeats + len(text.tail.encode()))
        body = encode_body(text, framing)
        return cls(text, len(body), body.count(b"\n\n") - 1)  # the last is [DONE]


def chat_body() -> dict[str, Any]:
    """The body a Liaobots client sends, as the original provider built it."""
    return {
        "conversationId": str(uuid.uuid4()),
        "model": MODEL,
        "messages": MESSAGES,
        "key": "",
        "prompt": "",
    }


def post(base_url: str) -> requests.Response:
    return requests.post(
        base_url + "/api/chat",
        json=chat_body(),
        headers={"x-auth-code": AUTH_CODE},
        stream=True,
        timeout=TIMEOUT,
    )


# -- the loops being compared: each reads one whole reply and returns its length --------------


def ours(client: LiaobotsClient) -> int:
    count = 0
    with client.stream_chat(MESSAGES, "gpt-4") as stream:
        for text in stream:
            count += len(text)
    return count


def bare_raw(base_url: str) -> int:
    """The simplest correct loop: whatever requests hands over, decoded incrementally."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    count = 0
    with post(base_url) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_content(chunk_size=None):
            count += len(decoder.decode(chunk))
    return count + len(decoder.decode(b"", final=True))


def bare_sse(base_url: str) -> int:
    """A naive SSE loop: split the decoded text on blank lines, JSON-decode each `data:`."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    count = 0
    pending = ""
    with post(base_url) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_content(chunk_size=None):
            pending += decoder.decode(chunk)
            *events, pending = pending.split("\n\n")
            for event in events:
                data = event.removeprefix("data: ")
                if data == "[DONE]":
                    return count
                count += len(json.loads(data)["content"])
    return count


LOOPS = ("ours", "bare-raw", "bare-sse")


@dataclasses.dataclass(frozen=True)
class Run:
    """One request: wall seconds, the client thread's CPU seconds, characters received."""

    seconds: float
    cpu: float
    chars: int


def timed(loop: str, base_url: str, client: LiaobotsClient) -> Run:
    # CPU time of this thread only: in-process, the emulator's threads are not counted.
    started, cpu_started = time.perf_counter(), time.thread_time()
    if loop == "ours":
        chars = ours(client)
    elif loop == "bare-raw":
        chars = bare_raw(base_url)
    else:
        chars = bare_sse(base_url)
    return Run(time.perf_counter() - started, time.thread_time() - cpu_started, chars)


def worker(loop: str, base_url: str) -> int:
    """`--worker`: one timed request in this fresh process, reported as JSON on stdout."""
    with LiaobotsClient(AUTH_CODE, base_url, timeout=TIMEOUT[1]) as client:
        run = timed(loop, base_url, client)
    print(json.dumps(dataclasses.asdict(run)))
    return 0


def in_worker(loop: str, base_url: str) -> Run:
    result = subprocess.run(
        [sys.executable, __file__, "--worker", loop, base_url],
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"error: the {loop} worker failed:\n{result.stderr}")
    return Run(**json.loads(result.stdout))


# -- throughput -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rates:
    """MB/s and client CPU milliseconds per MB of each request, for both loops."""

    ours: list[float]
    bare: list[float]
    ours_cpu: list[float]
    bare_cpu: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.bare)


def throughput(
    emulator: Emulator,
    client: LiaobotsClient,
    reply: Reply,
    behavior: Behavior,
    bare: str,
    runs: int,
    isolated: bool,
) -> Rates:
    """MB/s of each loop over `runs` interleaved requests; exits if any text length differs."""
    emulator.default = behavior
    expected = len(reply.text)
    size = reply.wire_bytes / MB
    done: dict[str, list[Run]] = {"ours": [], bare: []}
    for n in range(runs):
        # Alternate who goes first so neither always meets a warm (or cold) machine.
        for loop in ("ours", bare) if n % 2 == 0 else (bare, "ours"):
            if isolated:
                run = in_worker(loop, emulator.base_url)
            else:
                run = timed(loop, emulator.base_url, client)
            if run.chars != expected:
                sys.exit(f"error: the {loop} loop got {run.chars} characters, expected {expected}")
            done[loop].append(run)
    return Rates(
        ours=[size / r.seconds for r in done["ours"]],
        bare=[size / r.seconds for r in done[bare]],
        ours_cpu=[r.cpu * 1000 / size for r in done["ours"]],
        bare_cpu=[r.cpu * 1000 / size for r in done[bare]],
    )


# -- time to first text ---------------------------------------------------------------------

FirstText = Callable[[], tuple[float, str]]


def first_text_ours(client: LiaobotsClient) -> FirstText:
    def first() -> tuple[float, str]:
        started = time.perf_counter()
        with client.stream_chat(MESSAGES, "gpt-4") as stream:
            text = next(stream)
            return time.perf_counter() - started, text

    return first


def first_text_bare(base_url: str, chunk_size: int | None) -> FirstText:
    def first() -> tuple[float, str]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        started = time.perf_counter()
        with post(base_url) as resp:
            resp.raise_for_status()
            for chunk in resp.iter_content(chunk_size=chunk_size):
                text = decoder.decode(chunk)
                if text:
                    return time.perf_counter() - started, text
        raise RuntimeError("the reply had no text")

    return first


def first_text_times(
    emulator: Emulator, transfer: str, first: FirstText, runs: int
) -> tuple[list[float], str]:
    first_bytes = len(FIRST.encode())
    assert len(REST.encode()) <= first_bytes, "the reply must go out in exactly two writes"
    emulator.default = Behavior(
        transfer=transfer, reply=FIRST + REST, chunk_bytes=first_bytes, delay=PAUSE
    )
    times, text = [], ""
    for _ in range(runs):
        elapsed, text = first()  # leaving the `with` early drops the rest of the reply
        times.append(elapsed)
    return times, text


# -- report ---------------------------------------------------------------------------------


def mbps(values: Sequence[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def ms(values: Sequence[float]) -> str:
    median = statistics.median(values) * 1000
    return f"{median:,.0f} ms" if median >= 10 else f"{median:.1f} ms"


BARE_RAW = "bare loop: `iter_content(chunk_size=None)` + incremental decoder"
BARE_SSE = "bare loop: naive split on blank lines + `json.loads`"


def throughput_rows(
    what: str, bare: str, rates: dict[str, Rates], bar: str = ""
) -> list[list[str]]:
    """MB/s of both loops, their ratio, and the client's CPU per MB (steadier on a busy box)."""
    ratios = (f"**{r.ratio:.2f}**" for r in rates.values())
    cpu = (
        f"{statistics.median(r.ours_cpu):.1f} / {statistics.median(r.bare_cpu):.1f}"
        for r in rates.values()
    )
    return [
        [f"{what}, MB/s", *rates],
        ["`LiaobotsClient.stream_chat`", *(mbps(r.ours) for r in rates.values())],
        [bare, *(mbps(r.bare) for r in rates.values())],
        [f"ours / bare{bar}", *ratios],
        ["client CPU ms per MB, ours / bare", *cpu],
    ]


def machine_line(isolated: bool) -> str:
    where = "a fresh process per request" if isolated else "the same process"
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"requests {requests.__version__}; emulator on 127.0.0.1, clients in {where}"
    )


def table(rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="raw reply size in MB (10^6 B)")
    parser.add_argument("--runs", type=int, default=5, help="requests per loop, interleaved")
    parser.add_argument("--ttft-runs", type=int, default=3, help="requests per first-text cell")
    parser.add_argument("--sse-mb", type=float, default=5.0, help="SSE reply size; 0 skips it")
    parser.add_argument(
        "--write-kib",
        type=int,
        default=WRITE_BYTES // 1024,
        help="KiB the emulator writes at once (one HTTP chunk each when chunked)",
    )
    parser.add_argument(
        "--in-process", action="store_true", help="run the throughput loops in this process"
    )
    parser.add_argument("--worker", nargs=2, metavar=("LOOP", "BASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker and args.worker[0] not in LOOPS:
        parser.error(f"--worker LOOP must be one of {', '.join(LOOPS)}")
    if args.worker and urlsplit(args.worker[1]).hostname != "127.0.0.1":
        parser.error("--worker only talks to the emulator on 127.0.0.1")
    if not (0 < args.mb <= 2000 and 1 <= args.runs <= 100 and 1 <= args.ttft_runs <= 20):
        parser.error("need 0 < --mb <= 2000, 1 <= --runs <= 100, 1 <= --ttft-runs <= 20")
    if not 0 <= args.sse_mb <= 500:
        parser.error("need 0 <= --sse-mb <= 500")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(*args.worker)
    isolated = not args.in_process
    raw = Reply.of_size(args.mb, "raw")
    sse = Reply.of_size(args.sse_mb, "sse") if args.sse_mb else None
    with (
        Emulator(auth_code=AUTH_CODE) as emulator,
        LiaobotsClient(AUTH_CODE, emulator.base_url, timeout=TIMEOUT[1]) as client,
    ):
        raw_rates = {
            label: throughput(
                emulator,
                client,
                raw,
                Behavior(
                    transfer=transfer,
                    reply=UNIT,
                    reply_chars=len(raw.text),
                    chunk_bytes=args.write_kib * 1024,
                ),
                "bare-raw",
                args.runs,
                isolated,
            )
            for transfer, label in (("chunked", "chunked"), ("close", "close-delimited"))
        }
        sse_rates = None
        if sse is not None:
            sse_behavior = Behavior(
                framing="sse",
                reply=UNIT,
                reply_chars=len(sse.text),
                chunk_bytes=args.write_kib * 1024,
                sse_done=True,  # the body `Reply.of_size` counted ends with [DONE]
            )
            sse_rates = throughput(
                emulator, client, sse, sse_behavior, "bare-sse", args.runs, isolated
            )
        first_loops = {
            "`stream_chat`": first_text_ours(client),
            "bare `iter_content(chunk_size=None)`": first_text_bare(emulator.base_url, None),
            "original provider `iter_content(chunk_size=2046)`": first_text_bare(
                emulator.base_url, 2046
            ),
        }
        first = {
            (name, transfer): first_text_times(emulator, transfer, loop, args.ttft_runs)
            for name, loop in first_loops.items()
            for transfer in ("close", "chunked")
        }

    print(machine_line(isolated))
    print()
    print(
        f"Raw reply: {raw.wire_bytes / MB:.1f} MB of UTF-8, {len(raw.text):,} characters "
        f"(ASCII, Cyrillic, CJK, emoji), written in {args.write_kib} KiB pieces; "
        f"MB/s, median (min–max) of {args.runs} interleaved runs; every run of both loops "
        f"got all {len(raw.text):,} characters."
    )
    print()
    print(table(throughput_rows("raw reply", BARE_RAW, raw_rates, f" (bar ≥ {BAR})")))
    if sse is not None and sse_rates is not None:
        print()
        print(
            f"SSE reply: {sse.wire_bytes / MB:.1f} MB on the wire, {len(sse.text):,} characters "
            f"in {sse.events:,} events; MB/s on the wire, median (min–max) of {args.runs} runs."
        )
        print()
        print(table(throughput_rows("SSE reply", BARE_SSE, {"chunked": sse_rates})))
    print()
    print(
        f"Time to first text: {FIRST!r} is sent at once, the rest {PAUSE} s later; "
        f"median of {args.ttft_runs} runs in this process, and what the first text was."
    )
    print()
    rows = [["time to first text", "close-delimited", "chunked"]]
    for name in first_loops:
        cells = []
        for transfer in ("close", "chunked"):
            times, text = first[name, transfer]
            cells.append(f"{ms(times)} ({text!r})")
        rows.append([name, *cells])
    print(table(rows))
    print()
    worst = min(r.ratio for r in raw_rates.values())
    verdict = "meets" if worst >= BAR else "MISSES"
    print(f"Raw throughput ratio ours/bare: worst {worst:.2f}, {verdict} the {BAR} bar.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
