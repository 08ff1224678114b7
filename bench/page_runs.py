"""The CPU of one full page run: a page load, and the run of a sent message, one at a time.

`bench/load.py` measures a hundred sessions at once, where the cost of each page run is hidden
in the crowd. This opens sessions one after the other on Streamlit's own protocol (beside one idle
tab, no other session busy), so the page process's CPU between two points is that of one run:

- page load: from opening the websocket to the end of the first full run;
- message: from sending a chat message to the end of its run (the reply, short and sent at
  once, so what is measured is the runs and not the streaming).

Each session is a new user (`CHAT_ACCESS=header`) with `--saved` conversations in its list (0
by default: a first visit), and with `--history N` opens a conversation of N messages to send
in (at `?c=`). This page and Streamlit's tutorial pattern (`bench/tutorial_app.py`)
run in the same run, after a warm-up. The mean CPU milliseconds per run are printed
(the process's CPU is counted in ticks of 10 ms, so use tens of sessions); `--profile DIR`
records the page process with py-spy (`--gil`) over its sessions.

    python bench/page_runs.py --sessions 40
    python bench/page_runs.py --sessions 40 --saved 20 --target page --profile /tmp/runs
    python bench/page_runs.py --sessions 20 --history 1000 --target page
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.load import (  # noqa: E402
    SAVED,
    TUTORIAL,
    EmulatorProcess,
    Probe,
    ProcessMeter,
    ReplyText,
    _until,
    _workdir,
    database_url,
    profile_summary,
    seed,
    start_profiler,
    stop_profiler,
    warm_up,
)
from chatpage.database.conversations import ConversationStore  # noqa: E402
from testkit.browser import APP, AUTH_CODE, StreamlitServer, page_env  # noqa: E402
from testkit.st_protocol import StreamlitSession  # noqa: E402

REPLY = "A short reply: **ready**.\n\n- one\n- two\n"
USER_HEADER = "X-Forwarded-Email"
SETTLE = 0.3  # seconds after a run ends, so its last messages and their CPU are counted


async def one_session(
    url: str, meter: ProcessMeter, user: str, query: str
) -> tuple[float, float, str | None]:
    """(CPU s of the page load, CPU s of the message, failure)."""
    probe = Probe(0, user, f"Page runs {user}: a question.", ReplyText(REPLY), query=query)
    probe.started = time.monotonic()
    session = StreamlitSession(
        f"{url}?{query}" if query else url,
        headers={USER_HEADER: user},
        listener=probe.on_message,
        open_timeout=30.0,
    )
    probe.session = session
    try:
        before = meter.cpu()
        await session.open()
        if not await _until(probe.loaded, session.closed, 60.0):
            return 0.0, 0.0, "the page did not load"
        await asyncio.sleep(SETTLE)
        loaded = meter.cpu()
        probe.mark_sent(time.monotonic(), session.chat_input_fragment)
        await session.send_chat(probe.prompt)
        if not await _until(probe.finished, session.closed, 60.0):
            return 0.0, 0.0, "the message's run did not end"
        await asyncio.sleep(SETTLE)
        sent = meter.cpu()
        return loaded - before, sent - loaded, probe.failure
    finally:
        await session.close()


async def all_sessions(
    url: str,
    meter: ProcessMeter,
    users: list[str],
    queries: list[str],
    emulator: EmulatorProcess,
) -> tuple[list[float], list[float], list[str]]:
    """Each user's session in turn, beside one idle tab kept open: Streamlit drops its compiled
    script when the last session leaves, which a page with visitors never pays for."""
    keeper = StreamlitSession(url, headers={USER_HEADER: f"keeper-{users[0]}"})
    loads: list[float] = []
    messages: list[float] = []
    failures: list[str] = []
    try:
        await keeper.open()
        deadline = time.monotonic() + 60
        while keeper.chat_input_id is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        keeper._stop_timers()  # idle: connected, its fragments not re-run
        for user, query in zip(users, queries, strict=True):
            emulator.enqueue(reply=REPLY, chunk_bytes=64, delay=0.0)
            load, message, failure = await one_session(url, meter, user, query)
            if failure is not None:
                failures.append(f"{user}: {failure}")
                continue
            loads.append(load)
            messages.append(message)
    finally:
        await keeper.close()
    return loads, messages, failures


def _mean(values: list[float]) -> str:
    """The mean in ms: /proc counts CPU in ticks of 10 ms, so one run's reading is coarse,
    and only the mean over many runs is exact enough."""
    return f"{1000 * statistics.fmean(values):.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=30, help="sessions, one after another")
    parser.add_argument("--saved", type=int, default=0, help="saved conversations per user")
    parser.add_argument(
        "--history", type=int, default=0, help="messages of a conversation each user opens"
    )
    parser.add_argument("--target", choices=["page", "tutorial", "both"], default="both")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the page over its sessions")
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples a second")
    parser.add_argument("--workdir", help="keep the servers' files here (default: a temp dir)")
    args = parser.parse_args(argv)
    seeded = args.saved or args.history
    names = ["page", "tutorial"] if args.target == "both" else [args.target]
    behavior = {"reply": REPLY, "chunk_bytes": 64, "delay": 0.0}
    rows: list[str] = []
    failed = 0
    with (
        _workdir(args.workdir) as tmp,
        EmulatorProcess(behavior, AUTH_CODE) as emulator,
        contextlib.ExitStack() as stack,
    ):
        args.workdir_path = tmp
        servers = []
        for name in names:
            data_dir = Path(tmp) / (SAVED if name == "page" and seeded else name)
            data_dir.mkdir()
            if name == "page" and seeded:
                ConversationStore(database_url(SAVED, args)).close()
            env = page_env(emulator.base_url, AUTH_CODE, data_dir) | {
                "PYTHONPATH": str(REPO),
                "CHAT_ACCESS": "header",
                "CHAT_USER_HEADER": USER_HEADER,
            }
            server = StreamlitServer(
                TUTORIAL if name == "tutorial" else APP, env, data_dir / "streamlit.log"
            )
            stack.enter_context(server)
            assert server.process is not None
            servers.append((name, server.url, ProcessMeter(server.process.pid)))
        for name, url, meter in servers:
            run_id = secrets.token_hex(3)
            users = [f"runs-{name}-{run_id}-{i:03d}@load.test" for i in range(args.sessions)]
            opened: dict[str, str] = {}
            if name == "page" and seeded:
                opened = seed(database_url(SAVED, args), users, args.saved, args.history)
            asyncio.run(warm_up(url, emulator, USER_HEADER))
            args.sessions_name = name
            profiler = start_profiler(args, name, meter) if name == "page" else None
            queries = [f"c={opened[u]}" if opened.get(u) else "" for u in users]
            loads, messages, failures = asyncio.run(
                all_sessions(url, meter, users, queries, emulator)
            )
            failed += len(failures)
            for failure in failures:
                print(f"{name}: {failure}", file=sys.stderr)
            profile = stop_profiler(profiler)
            if loads:
                rows.append(f"| {name} | {len(loads)} | {_mean(loads)} | {_mean(messages)} |")
            if profile:
                print(f"\nprofile of {name} ({profile}):\n\n{profile_summary(profile, 25)}")
    print(
        f"\nCPU ms of the page process per run, one session at a time, {args.saved} saved "
        f"conversations, {args.history} messages in the one opened; mean of the sessions:\n"
    )
    print("| target | sessions | page load | message |\n|---|---:|---:|---:|")
    print("\n".join(rows))
    command = " ".join(["python bench/page_runs.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"\n`{command}`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
