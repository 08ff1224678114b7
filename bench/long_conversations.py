"""What opening a long conversation costs a fresh tab: time and websocket bytes by length.

Conversations of each length (markdown replies with a heading, a list and code) are stored as
the page's import stores them; each is opened by its URL in a fresh Chromium context, the
lengths in turn, `--runs` times after one warm-up round. Prints a markdown table of medians
for the README, with the ratios to the shortest.

    python bench/long_conversations.py                    # 10, 100 and 1,000 messages, 5 runs
    python bench/long_conversations.py --sizes 10 1000 --runs 3

Bar (issue 26): 1,000 messages within 1.5x the time and 10x the bytes of 10.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from liaobots_core.emulator import Emulator  # noqa: E402
from testkit.browser import (  # noqa: E402
    APP,
    AUTH_CODE,
    Opening,
    StreamlitServer,
    launch_chromium,
    open_measured,
    page_env,
)
from testkit.conversations import imported, recipe, the_end  # noqa: E402

TIMEOUT_MS = 300_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, Emulator(auth_code=AUTH_CODE) as emulator:
        data = Path(folder)
        env = page_env(emulator.base_url, AUTH_CODE, data)
        with StreamlitServer(APP, env, data / "streamlit.log") as server, sync_playwright() as pw:
            browser = launch_chromium(pw)
            ids = {n: imported(env["DATABASE_URL"], recipe(n, f"{n} messages")) for n in args.sizes}
            found: dict[int, list[Opening]] = {n: [] for n in args.sizes}
            for run in range(args.runs + 1):
                for n in args.sizes:
                    url = f"{server.url}?c={ids[n]}"
                    opening = open_measured(browser, url, the_end(n), TIMEOUT_MS)
                    if run:  # the first round warms the server up
                        found[n].append(opening)
            browser.close()
    base = args.sizes[0]

    def median(n: int, field: str) -> float:
        return statistics.median(getattr(o, field) for o in found[n])

    print(f"medians of {args.runs} openings each, by the conversation's URL in a fresh tab")
    print()
    print("| messages | bubbles drawn | last message shown | websocket bytes | time / bytes vs "
          f"{base} |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        seconds, received = median(n, "seconds"), median(n, "received")
        time_ratio = seconds / median(base, "seconds")
        ratios = f"{time_ratio:.2f}x / {received / median(base, 'received'):.2f}x"
        bubbles = found[n][-1].bubbles
        print(f"| {n:,} | {bubbles} | {seconds:.2f} s | {received / 1000:,.0f} KB | {ratios} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
