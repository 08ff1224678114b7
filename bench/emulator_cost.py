"""What the emulator itself costs while it streams many replies at a model's pace.

The load benchmarks run the emulator on the machine the page shares, so every core it takes
is one the page under test does not get. This streams `--streams` replies of ~3,000
characters from one emulator (in a process of its own), as `bench/load.py` does: a 4-byte
piece every 20 ms, the replies starting over 5 s. A plain asyncio client reads them. Printed:
the emulator process's CPU (cores, over the run), and how long each reply took to start (its
headers) and to end. With `--baseline DIR` (a `git worktree` of another commit) the rounds
alternate with that checkout's emulator.

    python bench/emulator_cost.py --rounds 3
    git worktree add /tmp/before HEAD~1 && python bench/emulator_cost.py --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline

AUTH_CODE = "emulator-cost-code"
REPLY = ("A model's reply, with **markdown** and `code`, paced.\n" * 60)[:3000]
PIECE_BYTES = 4
PIECE_SECONDS = 0.02
RAMP_SECONDS = 5.0
BEHAVIOR = {"reply": REPLY, "chunk_bytes": PIECE_BYTES, "delay": PIECE_SECONDS}


async def _one_reply(port: int, number: int, streams: int) -> tuple[float, float]:
    """(seconds to the headers, seconds to the end) of one reply."""
    await asyncio.sleep(RAMP_SECONDS * number / streams)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps(
        {
            "model": {"id": "gpt-3.5-turbo"},
            "messages": [{"role": "user", "content": f"question {number}"}],
            "key": "",
            "prompt": "",
            "emulator": BEHAVIOR,  # how the emulator answers, asked per request
        }
    ).encode()
    started = time.monotonic()
    writer.write(
        b"POST /api/chat HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        + f"x-auth-code: {AUTH_CODE}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    headers_at: float | None = None
    tail = b""
    while data := await reader.read(65536):
        if headers_at is None and b"\r\n\r\n" in tail + data:
            headers_at = time.monotonic() - started
        tail = (tail + data)[-8:]
        if tail.endswith(b"\r\n0\r\n\r\n"):  # the last chunk
            break
    writer.close()
    ended = time.monotonic() - started
    if headers_at is None or not tail.endswith(b"\r\n0\r\n\r\n"):
        raise RuntimeError(f"reply {number} ended before its last chunk")
    return headers_at, ended


async def _all_replies(port: int, streams: int) -> list[tuple[float, float]]:
    return await asyncio.gather(*(_one_reply(port, n, streams) for n in range(streams)))


def one_round(streams: int) -> dict[str, float]:
    """One round on the checkout it runs in (`baseline.round_in` runs it there): that
    checkout's emulator, from its command line in a process of its own, at `streams`."""
    from load import ProcessMeter

    command = [sys.executable, "-m", "liaobots_core.emulator", "--port", "0"]
    env = os.environ | {"LIAOBOTS_AUTH_CODE": AUTH_CODE, "PYTHONPATH": str(Path.cwd())}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as emulator:
        try:
            assert emulator.stdout is not None
            started = re.search(r"http://[^:]+:(\d+)", emulator.stdout.readline())
            if started is None:
                raise RuntimeError("the emulator did not say where it listens")
            meter = ProcessMeter(emulator.pid)
            cpu_before, began = meter.cpu(), time.monotonic()
            timings = asyncio.run(_all_replies(int(started.group(1)), streams))
            wall = time.monotonic() - began
            cpu = meter.cpu() - cpu_before
        finally:
            emulator.terminate()
    firsts = sorted(first for first, _ in timings)
    pieces = -(-len(REPLY.encode()) // PIECE_BYTES)
    return {
        "cores": cpu / wall,
        "first_p95_ms": 1000 * firsts[int(0.95 * (len(firsts) - 1))],
        "end_median_s": statistics.median(end for _, end in timings),
        "paced_s": pieces * PIECE_SECONDS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=150, help="replies at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout, rounds alternating")
    args = parser.parse_args()
    codes = baseline.checkouts(args.baseline)
    results = baseline.alternate(codes, args.rounds, "emulator_cost", f"one_round({args.streams})")
    paced = results["this code"][0]["paced_s"]
    print(
        f"\n{args.streams} replies of {len(REPLY)} characters, a {PIECE_BYTES}-byte piece every "
        f"{1000 * PIECE_SECONDS:.0f} ms ({paced:.1f} s each), starting over {RAMP_SECONDS:.0f} s; "
        f"median (range) of {args.rounds} rounds:\n"
    )
    columns = {
        "cores": "emulator's CPU, cores",
        "first_p95_ms": "headers p95, ms",
        "end_median_s": "reply's end, median s",
    }
    baseline.print_table(results, columns, 2)
    print(f"\n`python bench/emulator_cost.py {' '.join(sys.argv[1:])}`".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
