"""Many people chatting at once: N sessions of the page on Streamlit's own protocol, no browser.

Each session is a browser tab as far as the server can tell (`testkit/st_protocol.py`): it asks
for the page, waits for the first full script run to finish, sends one chat message through
the chat input and follows the reply to its end, answering fragment timers as a browser does.
Every session is a different person (`CHAT_ACCESS=header`, its own `X-Forwarded-Email`), each
with a new conversation; sessions start spread evenly over `--ramp` seconds. The emulator (in a
process of its own) streams the same ~3,000 characters of markdown to every session at a
model's pace: by default a token of 4 characters (`--chunk-bytes`) every 20 ms (`--rate`
200 characters a second), about 50 tokens a second as a model streams.

Measured per session, from arrival times of the websocket messages:

- page load: from the health check before the websocket opens to the end of the first full run;
- first text: from sending the message (Enter) to the first delta that carries reply text;
- upstream request: from Enter to the request reaching the emulator;
- update gap: between visible updates of the reply (deltas within 10 ms count as one update,
  as a browser draws them in one frame), from the first text to the whole text;
- completion: from Enter to the delta that shows the whole reply; the last reply text of that
  run must equal the emulator's reply exactly, or the session counts as failed;
- bytes: websocket payload bytes received, for the page load and for the message (Enter to the
  end of its run), as Chromium's `framereceived` counts them.

And for the page's process (from /proc): CPU seconds per reply (everything the process did
from the first session's start to the last session's end, divided by the completed replies),
its CPU use in that time, RSS before the sessions, at its peak while they stream and with all
of them connected and idle afterwards (held for `--idle` seconds, with the CPU that idle tabs
cost).

    python bench/load.py                                # 50 sessions, this page and the tutorial
    python bench/load.py --sessions 1 --check-chromium  # and one session in headless Chromium
    python bench/load.py --sessions 100 --target page --profile /tmp/prof   # with py-spy
    python bench/load.py --sessions 40 --rounds 24 --target page   # memory over 960 replies
    python bench/load.py --replicas 2 --sessions 150 --cpu-quota 0.6   # as on a slower machine

`--target page|tutorial|both` runs `app.py`, `bench/tutorial_app.py` (Streamlit's chat tutorial
pattern) or both, each as a real `streamlit run` on a fresh SQLite file, started together and
measured one after the other, after one warm-up message each. `--url` measures a page that is
already running instead; start it against the emulator this starts (`--emulator-port`), e.g.

    LIAOBOTS_BASE_URL=http://127.0.0.1:8765 LIAOBOTS_AUTH_CODE=x CHAT_ACCESS=header \\
      CHAT_USER_HEADER=X-Forwarded-Email streamlit run app.py
    python bench/load.py --url http://127.0.0.1:8501/ --emulator-port 8765 --pid <its pid>

Unlike a person, a session sends its message the moment the page has loaded, and, unlike a
browser, it sends only the chat input's widget state (Streamlit keeps every other widget's
value), draws nothing and reports no cached messages; an idle session still re-runs fragments
on their timers. `--check-chromium` runs each target in headless Chromium too (a new user per
try) and reads its websocket frames, timed by Chromium's network stack, through the same
probe, so bytes and first text compare one to one; it adds the first text on screen (Enter to
the text in the DOM) and the whole page load with HTML and scripts. `--trace` prints every
message of session 0, of the first failed and of the slowest session; `--profile DIR` records
the page process with py-spy while the sessions run and prints its busiest functions.

All traffic stays on 127.0.0.1. Exit status 1 when any session failed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.Markdown_pb2 import Markdown  # noqa: E402
from streamlit.string_util import clean_text  # noqa: E402

from bench.ws_bytes import bench_reply  # noqa: E402
from chatpage.database.conversations import ConversationStore  # noqa: E402
from liaobots_core import DEFAULT_MODEL_ID  # noqa: E402
from testkit.browser import (  # noqa: E402
    APP,
    AUTH_CODE,
    Cluster,
    StreamlitServer,
    page_env,
)
from testkit.st_protocol import (  # noqa: E402
    FINISHED,
    FINISHED_EARLY,
    FINISHED_FRAGMENT,
    MAIN,
    SessionError,
    StreamlitSession,
    describe,
    new_element,
)

TUTORIAL = REPO / "bench" / "tutorial_app.py"
SAVED = "page, saved"  # the page whose users have saved conversations (--saved, --history)
USER_HEADER = "X-Forwarded-Email"
SAME_FRAME = 0.010  # seconds: deltas closer than this are one visible update
SAMPLE_EVERY = 0.2  # seconds between samples of the page process
OPEN_TIMEOUT = 30.0  # health check and websocket handshake
LOAD_TIMEOUT = 120.0  # from connecting to the end of the first full run
SETTLE_SECONDS = 2.0  # quiet time before a target's sessions start
WARMUP_REPLY = "Warm-up reply: **ready**.\n\n- one\n- two\n"


# --- the emulator, in a process of its own ---------------------------------------------------


def _emulator_main(
    conn: Connection, auth_code: str | None, port: int, behavior: dict[str, Any]
) -> None:
    """Serve the emulator until told to stop (or the parent is gone); answer commands.

    Each /api/chat request's arrival is noted (monotonic clock, shared by every process on
    Linux) with its last message, so the parent can tell when a session's request left the page.
    """
    from liaobots_core.emulator import Behavior, Emulator

    emulator = Emulator(auth_code=auth_code, port=port, default=Behavior(**behavior))
    arrivals: list[tuple[float, str]] = []
    state = getattr(emulator, "_state", None)
    record = getattr(state, "record", None)
    if callable(record):  # the record is how requests are seen; without it, no arrival times

        def noted(request: Any) -> None:
            if getattr(request, "endpoint", None) == "/api/chat":
                arrivals.append((time.monotonic(), _last_message(getattr(request, "body", None))))
            record(request)

        state.record = noted  # type: ignore[union-attr]
    emulator.start()
    parent = os.getppid()
    conn.send(emulator.base_url)
    try:
        while os.getppid() == parent:  # a parent killed hard leaves no orphan serving
            if not conn.poll(1.0):
                continue
            command, argument = conn.recv()
            if command == "enqueue":
                emulator.enqueue(Behavior(**argument))
                conn.send(None)
            elif command == "arrivals":
                conn.send(list(arrivals))
            else:
                break
    except (EOFError, OSError):
        pass
    finally:
        emulator.stop()


def _last_message(body: Any) -> str:
    try:
        return str(body["messages"][-1]["content"])
    except (KeyError, IndexError, TypeError):
        return ""


class EmulatorProcess:
    """`liaobots_core.emulator.Emulator` in a child process, so its pacing and ours never
    share an interpreter lock."""

    def __init__(self, behavior: dict[str, Any], auth_code: str | None, port: int = 0) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_emulator_main, args=(child, auth_code, port, behavior), daemon=True
        )
        self.base_url = ""

    def __enter__(self) -> EmulatorProcess:
        self._process.start()
        try:
            if not self._conn.poll(30):
                raise RuntimeError("the emulator process did not start within 30 s")
            self.base_url = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise RuntimeError("the emulator process ended on start") from exc
        except BaseException:
            self._process.kill()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._conn.send(("stop", None))
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._conn.send((command, argument))
        if not self._conn.poll(10):
            raise RuntimeError(f"the emulator did not answer {command!r}")
        return self._conn.recv()

    def cpu(self) -> float:
        """The emulator process's CPU seconds so far (0 when it is gone)."""
        pid = self._process.pid
        try:
            return ProcessMeter(pid).cpu() if pid is not None else 0.0
        except OSError:
            return 0.0

    def enqueue(self, **behavior: Any) -> None:
        self._ask("enqueue", behavior)

    def arrivals(self) -> dict[str, float]:
        """When each /api/chat request arrived, by its last message (the first arrival)."""
        found: dict[str, float] = {}
        for at, text in self._ask("arrivals"):
            found.setdefault(text, at)
        return found


# --- the page's process ----------------------------------------------------------------------


class ProcessMeter:
    """CPU time, RSS and threads of one process, from /proc (psutil is not needed)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._tick = os.sysconf("SC_CLK_TCK")

    def cpu(self) -> float:
        """User + system CPU seconds so far, all threads."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / self._tick

    def status(self) -> tuple[int, int]:
        """(RSS in bytes, threads)."""
        rss = threads = 0
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
        return rss, threads


class GroupMeter:
    """The same readings summed over several processes (the replicas of a cluster)."""

    def __init__(self, pids: list[int]) -> None:
        self.meters = [ProcessMeter(pid) for pid in pids]
        self.pid = pids[0]  # what the profiler attaches to: the first replica

    def cpu(self) -> float:
        return sum(_alive(meter.cpu, 0.0) for meter in self.meters)

    def cpu_each(self) -> list[float]:
        return [_alive(meter.cpu, 0.0) for meter in self.meters]

    def status(self) -> tuple[int, int]:
        readings = [_alive(meter.status, (0, 0)) for meter in self.meters]
        return sum(r[0] for r in readings), sum(r[1] for r in readings)


class CpuQuota:
    """Each page process held to `cores` of CPU in a cgroup of its own: the same code as on a
    slower or busier machine, reproducibly (the shared machines' slow spells come and go).

    cgroup v2 (`cpu.max`) or v1 (`cpu.cfs_quota_us`), over 10 ms periods so that a process
    is slowed evenly, not stopped for long stretches. Needs root; the groups are removed when
    the processes in them have ended.
    """

    PERIOD_US = 10_000
    V2, V1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")

    def __init__(self, cores: float) -> None:
        self.cores = cores
        self.groups: list[Path] = []

    def hold(self, pid: int) -> None:
        try:
            self._hold(pid)
        except OSError as exc:
            raise SystemExit(
                f"--cpu-quota: could not hold a page process to {self.cores:g} of a core "
                f"({exc}); it needs root and a cgroup cpu controller"
            ) from None

    def _hold(self, pid: int) -> None:
        quota = str(max(1000, round(self.cores * self.PERIOD_US)))
        name = f"bench-load-{os.getpid()}-{pid}"
        if (self.V2 / "cgroup.controllers").exists():
            group = self.V2 / name
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:
            group = self.V1 / name
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(quota)
        self.groups.append(group)
        (group / "cgroup.procs").write_text(str(pid))  # its threads, present and future

    def release(self) -> None:
        for group in self.groups:
            with contextlib.suppress(OSError):  # a process still in it: left for the reboot
                group.rmdir()


def _alive(read: Any, dead: Any) -> Any:
    try:
        return read()
    except FileNotFoundError:  # a replica that has exited
        return dead


def machine_busy() -> float:
    """CPU seconds all processes of this machine have used, from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class Usage:
    cpu_seconds: float = math.nan  # from the first session's start to the last one's end
    cpu_each: tuple[float, ...] = ()  # the same, replica by replica (a cluster)
    wall_seconds: float = math.nan
    rss_before: int = 0
    rss_peak: int = 0
    rss_idle: int = 0
    threads_before: int = 0
    threads_peak: int = 0
    idle_cpu_share: float = math.nan  # CPU seconds per second with every session idle
    own_cpu_share: float = math.nan  # the load generator's own CPU, for a sanity check
    others_cpu_share: float = math.nan  # the rest of the machine (not page, us, emulator)
    loop_lag: tuple[float, float] = (math.nan, math.nan)  # its event loop's lag: p99, max
    profile: str | None = None


class Sampler:
    """Samples the page process in the background while sessions run."""

    def __init__(self, meter: ProcessMeter | GroupMeter | None) -> None:
        self.meter = meter
        self.rss_peak = 0
        self.threads_peak = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.meter is not None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self.meter is not None
        while True:  # until stop() cancels it
            with contextlib.suppress(OSError, ValueError):
                rss, threads = self.meter.status()
                self.rss_peak = max(self.rss_peak, rss)
                self.threads_peak = max(self.threads_peak, threads)
            await asyncio.sleep(SAMPLE_EVERY)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class LoopLag:
    """How late this process's event loop wakes up: when it lags, so do the arrival times."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:  # until stop() cancels it
            before = time.monotonic()
            await asyncio.sleep(self.every)
            self.lags.append(time.monotonic() - before - self.every)

    def summary(self) -> tuple[float, float]:
        if not self.lags:
            return math.nan, math.nan
        ordered = sorted(self.lags)
        return ordered[int(0.99 * (len(ordered) - 1))], ordered[-1]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# --- one session ------------------------------------------------------------------------------


class ReplyText:
    """Tells reply text from the rest of the page: the user's message, captions, sidebar.

    `shown` is the whole reply as an `st.markdown` of it carries it (dedented and stripped, as
    Streamlit does to every markdown body): what the last reply text must equal.
    """

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.shown = clean_text(reply)
        self.lines = {line.strip() for line in reply.splitlines()}

    def matches(self, body: str) -> bool:
        text = body.strip()
        if not text:
            return False
        if text in self.reply:
            return True
        # A piece cut inside a table or code block starts with its header or fence again.
        *whole, last = text.splitlines()
        return all(line.strip() in self.lines for line in whole) and last.strip() in self.reply


@dataclass
class Probe:
    """What one session saw, with the times it saw it (monotonic seconds)."""

    index: int
    user: str
    prompt: str
    expected: ReplyText
    query: str = ""  # `c=<id>`: the saved conversation the session opens (--history)
    started: float = math.nan
    loaded_at: float = math.nan
    sent_at: float = math.nan
    first_at: float = math.nan
    complete_at: float = math.nan
    ended_at: float = math.nan  # the message's run finished
    upstream_at: float = math.nan
    updates: list[float] = field(default_factory=list)
    last_text: str | None = None
    alerts: list[str] = field(default_factory=list)
    failure: str | None = None
    bytes_total: int = 0
    load_bytes: int = 0
    message_bytes: int = 0
    full_runs: int = 0  # full script runs started after Enter (1 unless something re-ran)
    ref_hashes: int = 0
    fragment_reruns: int = 0
    trace: list[str] | None = None
    session: StreamlitSession | None = None
    message_wire_bytes: float = math.nan  # on the socket, compressed if the page compresses
    _send_runs: set[str] = field(default_factory=set)
    _send_fragment: str = ""  # the fragment the message re-runs ("" for the whole page)
    _bytes_at_send: int = 0
    _wire_at_send: int = 0
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ok(self) -> bool:
        return self.failure is None and not math.isnan(self.complete_at)

    def progress(self) -> str:
        """Where a session stood, for a failure's reason."""
        if math.isnan(self.sent_at):
            return ""
        last = len(self.last_text or "")
        return (
            f" ({len(self.updates)} updates, last reply text {last} characters, "
            f"{self.full_runs} full runs since Enter)"
        )

    def fail(self, reason: str, at: float | None = None) -> None:
        if self.failure is None and not self.finished.is_set():
            self.failure = reason
            self.ended_at = time.monotonic() if at is None else at
        self.finished.set()

    def on_message(self, at: float, size: int, msg: ForwardMsg) -> None:
        self.bytes_total += size
        if self.trace is not None:
            self.trace.append(f"{at - self.started:8.3f} {size:7d} {describe(msg)}")
        kind = msg.WhichOneof("type")
        sent = not math.isnan(self.sent_at)
        if not sent:
            self.load_bytes += size
            if kind == "script_finished" and msg.script_finished == FINISHED:
                if math.isnan(self.loaded_at):
                    self.loaded_at = at
                self.loaded.set()
            return
        if self.finished.is_set():
            return
        run = msg.metadata.run
        if kind == "new_session":
            # The message's run: the whole page, or the fragment its input belongs to (a
            # fragment on a timer runs on its own and is not part of it).
            if not run.fragment_ids:
                self.full_runs += 1
            if not run.fragment_ids or self._send_fragment in run.fragment_ids:
                self._send_runs.add(run.script_run_id)
        elif kind == "script_finished" and run.script_run_id in self._send_runs:
            # A run cut short by a queued re-run (a stale timer's, say) after the whole reply
            # was drawn has done the message's work; one cut short before has not.
            if msg.script_finished in (FINISHED, FINISHED_FRAGMENT) or (
                msg.script_finished == FINISHED_EARLY and not math.isnan(self.complete_at)
            ):
                self._run_ended(at)
        elif kind == "delta":
            self._delta(at, msg)

    def _delta(self, at: float, msg: ForwardMsg) -> None:
        drawn = new_element(msg)
        if drawn is None:
            return
        path, kind, element = drawn
        if not path or path[0] != MAIN:
            return
        if kind == "alert":
            self.alerts.append(element.body)
        elif kind == "exception":
            self.alerts.append(element.message or element.type)
        elif kind == "markdown" and element.element_type == Markdown.Type.NATIVE:
            body = element.body
            if body.strip() == self.prompt.strip() or not self.expected.matches(body):
                return
            if math.isnan(self.complete_at):
                if math.isnan(self.first_at):
                    self.first_at = at
                if not self.updates or at - self.updates[-1] >= SAME_FRAME:
                    self.updates.append(at)
                if body == self.expected.shown:
                    self.complete_at = at
            self.last_text = body

    def _run_ended(self, at: float) -> None:
        self.ended_at = at
        self.message_bytes = self.bytes_total - self._bytes_at_send
        if self.session is not None:
            self.message_wire_bytes = self.session.wire_bytes - self._wire_at_send
        if math.isnan(self.complete_at):
            reason = (
                f"refused: {self.alerts[-1]}"
                if self.alerts
                else f"the run ended without the whole reply{self.progress()}"
            )
            self.failure = reason
        elif self.last_text != self.expected.shown:
            self.failure = "the last reply text differs from the emulator's reply"
        self.finished.set()

    def mark_sent(self, at: float, fragment: str = "") -> None:
        self.sent_at = at
        self._send_fragment = fragment
        self._bytes_at_send = self.bytes_total
        if self.session is not None:
            self._wire_at_send = self.session.wire_bytes
        if self.trace is not None:
            self.trace.append(f"{at - self.started:8.3f}    sent {self.prompt!r}")


async def _until(event: asyncio.Event, closed: asyncio.Event, timeout: float) -> bool:
    """Wait for `event`; False when the session closed first. TimeoutError after `timeout`."""
    waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(closed.wait())]
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when="FIRST_COMPLETED")
    finally:
        for waiter in waiters:
            waiter.cancel()
    if not done:
        raise TimeoutError
    return event.is_set()


async def run_session(
    probe: Probe,
    url: str,
    delay: float,
    reply_timeout: float,
    header: str,
    opened: list[StreamlitSession],
) -> None:
    """One tab: open the page, send the message, follow the reply. The session is added to
    `opened` and left connected, an idle tab, for the caller to close."""
    await asyncio.sleep(delay)
    probe.started = time.monotonic()
    session = StreamlitSession(
        f"{url}?{probe.query}" if probe.query else url,
        headers={header: probe.user},
        listener=probe.on_message,
        open_timeout=OPEN_TIMEOUT,
    )
    opened.append(session)
    probe.session = session
    stage = "connecting"
    try:
        await session.open()
        stage = "loading the page"
        if not await _until(probe.loaded, session.closed, LOAD_TIMEOUT):
            probe.fail(f"while {stage}: {session.close_reason}")
            return
        if session.chat_input_id is None:
            probe.fail("the page has no chat input (refused at the door?)")
            return
        stage = "waiting for the reply"
        probe.mark_sent(time.monotonic(), session.chat_input_fragment)
        await session.send_chat(probe.prompt)
        if not await _until(probe.finished, session.closed, reply_timeout):
            probe.fail(f"while {stage}: {session.close_reason}")
    except TimeoutError:
        probe.fail(f"timed out while {stage}{probe.progress()}")
    except (OSError, SessionError, ValueError) as exc:
        probe.fail(f"while {stage}: {type(exc).__name__}: {exc}")
    except Exception as exc:  # the websocket library's handshake errors, and anything else
        probe.fail(f"while {stage}: {type(exc).__name__}: {exc}")
    finally:
        probe.ref_hashes = session.ref_hashes


# --- one target ---------------------------------------------------------------------------


@dataclass
class TargetResult:
    name: str
    sessions: int
    probes: list[Probe]
    usage: Usage
    reply: str


async def measure(
    name: str,
    url: str,
    args: argparse.Namespace,
    reply: str,
    meter: ProcessMeter | GroupMeter | None,
    emulator: EmulatorProcess,
) -> TargetResult:
    """N sessions against one page; the page process watched while they run and idle."""
    run_id = secrets.token_hex(3)
    expected = ReplyText(reply)
    probes = [
        Probe(
            index=i,
            user=f"load-{name}-{run_id}-{i:03d}@load.test",
            prompt=f"Load test {run_id} session {i}: please write the long answer.",
            expected=expected,
            trace=[] if args.trace else None,
        )
        for i in range(args.sessions)
    ]
    if name == SAVED:
        opened = seed(database_url(name, args), [p.user for p in probes], args.saved, args.history)
        for probe in probes:
            probe.query = f"c={opened[probe.user]}" if opened.get(probe.user) else ""
    usage = Usage()
    sampler = Sampler(meter)
    lag = LoopLag()
    if meter is not None:
        usage.rss_before, usage.threads_before = meter.status()
    profiler = start_profiler(args, name, meter)
    sampler.start()
    lag.start()
    cpu_start = meter.cpu() if meter is not None else math.nan
    each_start = meter.cpu_each() if isinstance(meter, GroupMeter) else []
    own_cpu = time.process_time()
    machine_start, emulator_start = machine_busy(), emulator.cpu()
    wall_start = time.monotonic()
    spacing = args.ramp / args.sessions if args.sessions > 1 else 0.0
    opened: list[StreamlitSession] = []
    tasks = [
        asyncio.create_task(
            run_session(p, url, i * spacing, args.reply_timeout, args.user_header, opened)
        )
        for i, p in enumerate(probes)
    ]
    try:
        deadline = args.ramp + OPEN_TIMEOUT + LOAD_TIMEOUT + args.reply_timeout + 30
        _, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        for probe in probes:
            if not probe.finished.is_set():
                probe.fail("gave up at the run's deadline")
        if meter is not None:
            usage.cpu_seconds = meter.cpu() - cpu_start
            if isinstance(meter, GroupMeter):
                usage.cpu_each = tuple(
                    end - start for end, start in zip(meter.cpu_each(), each_start, strict=True)
                )
        usage.wall_seconds = time.monotonic() - wall_start
        own = time.process_time() - own_cpu
        usage.own_cpu_share = own / usage.wall_seconds
        if meter is not None:
            known = usage.cpu_seconds + own + emulator.cpu() - emulator_start
            others = machine_busy() - machine_start - known
            usage.others_cpu_share = max(0.0, others) / usage.wall_seconds
        usage.profile = stop_profiler(profiler)
        profiler = None
        usage.rss_peak, usage.threads_peak = sampler.rss_peak, sampler.threads_peak
        usage.loop_lag = lag.summary()
        if meter is not None and args.idle > 0:
            idle_cpu = meter.cpu()
            await asyncio.sleep(args.idle)
            usage.idle_cpu_share = (meter.cpu() - idle_cpu) / args.idle
            usage.rss_idle = meter.status()[0]
        for probe in probes:
            if probe.session is not None:
                probe.fragment_reruns = probe.session.fragment_reruns_sent
    finally:
        stop_profiler(profiler)
        await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
        await sampler.stop()
        await lag.stop()
    arrivals = emulator.arrivals()
    for probe in probes:
        probe.upstream_at = arrivals.get(probe.prompt, math.nan)
    return TargetResult(name, args.sessions, probes, usage, reply)


def database_url(name: str, args: argparse.Namespace) -> str:
    return f"sqlite:///{Path(args.workdir_path) / name / 'chat.sqlite3'}"


def seed(url: str, users: list[str], saved: int, history: int) -> dict[str, str]:
    """Give each user `saved` conversations, and one of `history` messages to send in.

    Returns the conversation each user opens (none when `history` is 0). Written straight to
    the page's store, as earlier visits would have left it, before any session starts.
    """
    from chatpage.data.conversation import Conversation, Message

    store = ConversationStore(url)
    opened: dict[str, str] = {}
    text = bench_reply(600)
    try:
        for user in users:
            owner = "header:" + user.lower()
            for k in range(saved):
                question = Message("user", f"Saved question {k} of {user}")
                pair = [question, Message("assistant", text)]
                store.create(
                    Conversation.linear(pair, model_id=DEFAULT_MODEL_ID, title=f"Saved {k}"), owner
                )
            if history:
                chain = [
                    Message("user" if i % 2 == 0 else "assistant", f"Turn {i}. " + text)
                    for i in range(history)
                ]
                if chain[-1].role == "user":
                    chain.append(Message("assistant", text))
                conversation = Conversation.linear(
                    chain, model_id=DEFAULT_MODEL_ID, title="Long history"
                )
                store.create(conversation, owner)
                opened[user] = conversation.id
    finally:
        store.close()
    return opened


async def warm_up(url: str, emulator: EmulatorProcess, header: str) -> None:
    """One quick message, so the measured sessions meet a warm process (imports, caches)."""
    emulator.enqueue(reply=WARMUP_REPLY, chunk_bytes=8, delay=0.0)
    probe = Probe(
        0, f"warmup-{secrets.token_hex(3)}@load.test", "Warm up.", ReplyText(WARMUP_REPLY)
    )
    opened: list[StreamlitSession] = []
    try:
        await run_session(probe, url, 0.0, 60.0, header, opened)
    finally:
        await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
    if not probe.ok:
        raise RuntimeError(f"the warm-up message at {url} failed: {probe.failure}")


# --- profiling --------------------------------------------------------------------------------


def start_profiler(
    args: argparse.Namespace, name: str, meter: ProcessMeter | GroupMeter | None
) -> tuple[subprocess.Popen[bytes], Path] | None:
    if not args.profile or meter is None:
        return None
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed (pip install py-spy): no profile", file=sys.stderr)
        return None
    out = Path(args.profile) / f"{name}-{args.sessions}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        spy,
        "record",
        "--pid",
        str(meter.pid),
        "--rate",
        str(getattr(args, "profile_rate", 100)),
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
        "--threads",
        # Only the thread holding the interpreter (where its one core goes), or with
        # --profile-loop every thread, waits included (where the event loop's time goes).
        "--idle" if getattr(args, "profile_loop", False) else "--gil",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, out


def stop_profiler(profiler: tuple[subprocess.Popen[bytes], Path] | None) -> str | None:
    if profiler is None:
        return None
    process, out = profiler
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    if not out.exists():
        print(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}", file=sys.stderr)
        return None
    return str(out)


def profile_summary(path: str, top: int = 15) -> str:
    """The functions with the most samples of their own, and in their stacks, from py-spy's
    collapsed stacks (`--format raw`), idle waits left out."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    idle_markers = (
        "wait (threading.py",
        "select (selectors.py",
        "_worker (concurrent",
        "run_forever (asyncio",
        "sleep (",
        "_run_once (asyncio",
        "get (queue.py",
    )
    for line in Path(path).read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or any(m in frames[-1] for m in idle_markers):
            continue
        samples = int(count)
        total += samples
        own[_short(frames[-1])] += samples
        for frame in {_short(f) for f in frames}:
            inclusive[frame] += samples
    if total == 0:
        return "(no busy samples)"
    lines = _shares(f"{total:,} busy samples (100 a second, every thread).", own, total, top)
    lines += ["", "| in stack | % | function |", "|---:|---:|---|"]
    lines += [
        f"| {n:,} | {100 * n / total:.1f} | `{f}` |"
        for f, n in inclusive.most_common(top * 3)
        if not f.startswith(("_bootstrap", "run (threading", "<module>"))
    ][:top]
    return "\n".join(lines)


def loop_summary(path: str, top: int = 12) -> str:
    """Where the server's event loop (its main thread) spent the run, from an `--idle`
    profile: the frame each sample was in, waits included (`select`: waiting for sockets, or
    for the interpreter after them)."""
    own: Counter[str] = Counter()
    for line in Path(path).read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or not any(f.endswith("MainThread") for f in frames[:2]):
            continue
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if frames:
            own[_short(frames[-1])] += int(count)
    total = sum(own.values())
    if total == 0:
        return "(no samples of the event loop's thread)"
    title = f"The event loop's thread: {total:,} samples, waits included."
    return "\n".join(_shares(title, own, total, top))


def _shares(title: str, own: Counter[str], total: int, top: int) -> list[str]:
    """A table of the frames with the most samples of their own."""
    lines = [title, "", "| own samples | % | function |", "|---:|---:|---|"]
    return lines + [f"| {n:,} | {100 * n / total:.1f} | `{f}` |" for f, n in own.most_common(top)]


def _short(frame: str) -> str:
    """`func (path/to/file.py:12)` -> `func (file.py)`: lines merged, paths shortened."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(where).parts
    for anchor in ("site-packages", "lib"):
        if anchor in parts:
            parts = parts[parts.index(anchor) + 1 :]
            break
    else:
        with contextlib.suppress(ValueError):
            parts = Path(where).relative_to(REPO).parts
    return f"{name} ({'/'.join(parts[-3:])})"


# --- Chromium, once, to check the generator --------------------------------------------------

_CHROMIUM_PROBE = """
([index]) => {
  const probe = { sent: null, first: null };
  window.__loadProbe = probe;
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && probe.sent === null
        && e.target.closest('[data-testid="stChatInput"]')) probe.sent = performance.now();
  }, true);
  const seen = () => {
    if (probe.sent !== null && probe.first === null && window.__chatTest.text(index).length > 0)
      probe.first = performance.now();
  };
  new MutationObserver(seen).observe(document.body,
    { childList: true, subtree: true, characterData: true });
}
"""


@dataclass
class ChromiumResult:
    """One try in Chromium: its websocket frames, with Chromium's own network timestamps, read
    by the same `Probe` as a generated session's, and the reply's first text on screen."""

    name: str
    load_seconds: float  # navigation to the first run finished, HTML and scripts included
    wire: Probe
    on_screen: float  # Enter (keydown) to the first reply text in the DOM, timed in the page


def chromium_check(
    targets: list[tuple[str, str]],
    header: str,
    tries: int,
    timeout: float,
    reply: str,
    trace: bool = False,
) -> list[ChromiumResult]:
    """Each target once per try in headless Chromium, alternating, each a new user."""
    from playwright.sync_api import sync_playwright

    from testkit.browser import CHROMIUM, CHROMIUM_ARGS
    from testkit.header_relay import context_with_headers

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium")
    results = []
    with sync_playwright() as playwright:
        # Loopback only: Streamlit's frontend would fetch a material-icon favicon from Google.
        loopback = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, loopback]
        )
        try:
            for attempt in range(tries):
                for name, url in targets:
                    user = f"chromium-{name}-{attempt}-{secrets.token_hex(3)}@load.test"
                    context = context_with_headers(
                        browser,
                        {header: user},
                        viewport={"width": 1280, "height": 900},
                        locale="en-US",
                    )
                    try:
                        probe = Probe(
                            0,
                            user,
                            f"Chromium check {attempt}: the long answer, please.",
                            ReplyText(reply),
                            trace=[] if trace else None,
                        )
                        results.append(_chromium_once(context, name, url, timeout, probe))
                        if trace:
                            print(f"--- Chromium, {name}, try {attempt}")
                            print("\n".join(probe.trace or []))
                    finally:
                        context.close()
        finally:
            browser.close()
    return results


def _chromium_once(
    context: Any, name: str, url: str, timeout: float, probe: Probe
) -> ChromiumResult:
    from testkit.browser import ChatPage

    page = context.new_page()
    events: list[tuple[str, dict[str, Any]]] = []
    cdp = context.new_cdp_session(page)
    for event in (
        "webSocketWillSendHandshakeRequest",
        "webSocketFrameSent",
        "webSocketFrameReceived",
    ):
        cdp.on(f"Network.{event}", lambda params, event=event: events.append((event, params)))
    cdp.send("Network.enable")
    chat = ChatPage(page, url)
    started = time.monotonic()
    chat.open()
    load_seconds = time.monotonic() - started
    index = chat.messages.count() + 1
    page.evaluate(_CHROMIUM_PROBE, [index])
    chat.send(probe.prompt)
    page.wait_for_function(
        "() => window.__loadProbe.first !== null", timeout=timeout * 1000, polling=10
    )
    if name == "page":
        chat.button(index, "Regenerate").wait_for(state="visible", timeout=timeout * 1000)
    chat.wait_until_idle()
    page.wait_for_timeout(300)  # every frame event handed over
    shown = page.evaluate("() => window.__loadProbe")
    _replay(events, probe)
    return ChromiumResult(name, load_seconds, probe, (shown["first"] - shown["sent"]) / 1000)


def _replay(events: list[tuple[str, dict[str, Any]]], probe: Probe) -> None:
    """Feed the page's websocket frames, as Chromium timed them, through `probe`."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    socket = None
    for event, params in events:
        if event == "webSocketWillSendHandshakeRequest":
            if socket is None:
                socket = params["requestId"]
                probe.started = params["timestamp"]
            continue
        if params.get("requestId") != socket or params["response"].get("opcode") != 2:
            continue
        at, payload = params["timestamp"], base64.b64decode(params["response"]["payloadData"])
        if event == "webSocketFrameSent":
            back = BackMsg()
            back.ParseFromString(payload)
            widgets = back.rerun_script.widget_states.widgets
            if any(w.chat_input_value.data == probe.prompt for w in widgets):
                probe.mark_sent(at, back.rerun_script.fragment_id)
        else:
            msg = ForwardMsg()
            msg.ParseFromString(payload)
            probe.on_message(at, len(payload), msg)


# --- the report ---------------------------------------------------------------------------


def _quantiles(values: Sequence[float]) -> str:
    values = sorted(v for v in values if not math.isnan(v))
    if not values:
        return "–"
    p50 = statistics.median(values)
    p95 = values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)]
    return f"{p50:.3f} / {p95:.3f} / {values[-1]:.3f}"


def _median(values: Sequence[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}" if n else "–"


def latency_table(results: list[TargetResult]) -> str:
    lines = [
        "| target | sessions | complete | failed | page load | first text | upstream request "
        "| update gap | completion |",
        "|---|---:|---:|---:|---|---|---|---|---|",
    ]
    for r in results:
        ok = [p for p in r.probes if p.ok]
        loaded = [p.loaded_at - p.started for p in r.probes]
        gaps = [b - a for p in ok for a, b in itertools.pairwise(p.updates)]
        lines.append(
            f"| {r.name} | {r.sessions} | {len(ok)} | {r.sessions - len(ok)} "
            f"| {_quantiles(loaded)} | {_quantiles([p.first_at - p.sent_at for p in r.probes])} "
            f"| {_quantiles([p.upstream_at - p.sent_at for p in r.probes])} "
            f"| {_quantiles(gaps)} | {_quantiles([p.complete_at - p.sent_at for p in ok])} |"
        )
    return "\n".join(lines)


def _f(value: float, spec: str, unit: str = "") -> str:
    """`value` formatted, or a dash when it was not measured."""
    return "–" if math.isnan(value) else f"{value:{spec}}{unit}"


def cost_table(results: list[TargetResult]) -> str:
    lines = [
        "| target | WS bytes: page load | WS bytes: message | per reply byte "
        "| on the wire: message | per reply byte | updates/s "
        "| CPU s per reply | CPU busy | RSS MB: before / peak / idle after "
        "| RSS MB per session: streaming / idle | CPU per idle session | threads |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for r in results:
        ok = [p for p in r.probes if p.ok]
        load = _median([p.load_bytes for p in r.probes if not math.isnan(p.loaded_at)])
        message = _median([p.message_bytes for p in ok])
        wire = _median([p.message_wire_bytes for p in ok])
        rates = [
            (len(p.updates) - 1) / (p.complete_at - p.first_at)
            for p in ok
            if p.complete_at > p.first_at
        ]
        u, n = r.usage, r.sessions
        per_reply = u.cpu_seconds / len(ok) if ok else math.nan
        busy = u.cpu_seconds / u.wall_seconds
        stream_each = (u.rss_peak - u.rss_before) / n / 1e6 if u.rss_peak else math.nan
        idle_each = (u.rss_idle - u.rss_before) / n / 1e6 if u.rss_idle else math.nan
        threads = f"{u.threads_before} → {u.threads_peak}" if u.threads_peak else "–"
        lines.append(
            f"| {r.name} | {_f(load, ',.0f')} | {_f(message, ',.0f')} "
            f"| {_f(message / len(r.reply.encode()), '.1f', 'x')} "
            f"| {_f(wire, ',.0f')} | {_f(wire / len(r.reply.encode()), '.1f', 'x')} "
            f"| {_f(_median(rates), '.1f')} "
            f"| {_f(per_reply, '.3f')} | {_f(100 * busy, '.0f', '%')} "
            f"| {_mb(u.rss_before)} / {_mb(u.rss_peak)} / {_mb(u.rss_idle)} "
            f"| {_f(stream_each, '.2f')} / {_f(idle_each, '.2f')} "
            f"| {_f(100 * u.idle_cpu_share / n, '.2f', '% of a core')} | {threads} |"
        )
    return "\n".join(lines)


def chromium_table(chromium: list[ChromiumResult], results: list[TargetResult]) -> str:
    lines = [
        "| target | measured by | page load | WS bytes: page load | first text "
        "| first text on screen | update gap p50 | completion | WS bytes: message |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def row(label: str, probes: list[Probe], load: list[float], screen: str) -> str:
        gaps = [b - a for p in probes for a, b in itertools.pairwise(p.updates)]
        return (
            f"| {label} | {_median(load):.3f} | {_median([p.load_bytes for p in probes]):,.0f} "
            f"| {_median([p.first_at - p.sent_at for p in probes]):.3f} | {screen} "
            f"| {_median(gaps):.3f} | {_median([p.complete_at - p.sent_at for p in probes]):.3f} "
            f"| {_median([p.message_bytes for p in probes]):,.0f} |"
        )

    for r in results:
        runs = [c for c in chromium if c.name == r.name]
        if not runs:
            continue
        ok = [p for p in r.probes if p.ok]
        lines.append(
            row(
                f"{r.name} | load.py, {len(ok)} session{'s' if len(ok) != 1 else ''}",
                ok,
                [p.loaded_at - p.started for p in ok],
                "–",
            )
        )
        wire = [c.wire for c in runs]
        screens = ", ".join(f"{c.on_screen:.3f}" for c in runs)
        lines.append(
            row(
                f"{r.name} | Chromium, {len(runs)} tries",
                wire,
                [c.wire.loaded_at - c.wire.started for c in runs],
                f"{_median([c.on_screen for c in runs]):.3f} ({screens})",
            )
        )
        lines.append(
            f"| {r.name} | Chromium, whole page load (HTML, scripts) "
            f"| {_median([c.load_seconds for c in runs]):.3f} | | | | | | |"
        )
        failed = [c.wire.failure or "incomplete" for c in runs if not c.wire.ok]
        if failed:
            lines.append(f"| {r.name} | Chromium, failed | {'; '.join(failed)} | | | | | | |")
    return "\n".join(lines)


def figures(results: list[TargetResult], args: argparse.Namespace) -> dict[str, Any]:
    """The run's figures as data (for `bench/scaling.py`'s chart)."""

    def quantiles(values: list[float]) -> dict[str, float]:
        values = sorted(v for v in values if not math.isnan(v))
        if not values:
            return {}
        return {
            "p50": statistics.median(values),
            "p95": values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)],
            "max": values[-1],
        }

    out: dict[str, Any] = {
        "sessions": args.sessions,
        "replicas": args.replicas,
        "cpu_quota": args.cpu_quota,
        "targets": {},
    }
    for r in results:
        ok = [p for p in r.probes if p.ok]
        out["targets"][r.name] = {
            "complete": len(ok),
            "sessions": r.sessions,
            "page_load": quantiles([p.loaded_at - p.started for p in r.probes]),
            "first_text": quantiles([p.first_at - p.sent_at for p in ok]),
            "gap": quantiles([b - a for p in ok for a, b in itertools.pairwise(p.updates)]),
            "completion": quantiles([p.complete_at - p.sent_at for p in ok]),
            "cpu_seconds": r.usage.cpu_seconds,
            "cpu_seconds_each": list(r.usage.cpu_each),
            "wall_seconds": r.usage.wall_seconds,
            "rss_peak": r.usage.rss_peak,
            "others_cores": r.usage.others_cpu_share,
        }
    return out


def failures(results: list[TargetResult]) -> str:
    lines = []
    for r in results:
        examples: dict[str, str] = {}
        reasons: Counter[str] = Counter()
        for probe in r.probes:
            if not probe.ok:
                full = probe.failure or "incomplete"
                kind = full.split(" (")[0]
                reasons[kind] += 1
                examples.setdefault(kind, full)
        for kind, count in reasons.most_common():
            lines.append(f"- {r.name}: {count} × {examples[kind]}")
        hashed = sum(p.ref_hashes for p in r.probes)
        if hashed:
            lines.append(f"- {r.name}: {hashed} messages arrived as a hash only (not counted)")
    return "\n".join(lines)


def print_traces(probes: list[Probe]) -> None:
    """Session 0's messages, and those of the first failed and the slowest complete session."""
    chosen = {0: "session 0"}
    failed = [p for p in probes if not p.ok]
    if failed:
        chosen.setdefault(failed[0].index, "first failed")
    ok = [p for p in probes if p.ok]
    if ok:
        slowest = max(ok, key=lambda p: p.complete_at - p.sent_at)
        chosen.setdefault(slowest.index, "slowest complete")
    for index, why in chosen.items():
        probe = probes[index]
        print(f"--- session {index} ({why}): {probe.failure or 'complete'}")
        print("\n".join(probe.trace or []))


# --- running it -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions")
    parser.add_argument("--ramp", type=float, default=5.0, help="start sessions over SECONDS")
    parser.add_argument("--chars", type=int, default=3000, help="reply length in characters")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="reply characters a second (50 tokens of 4)"
    )
    parser.add_argument(
        "--chunk-bytes", type=int, default=4, help="bytes per emulator piece (a token)"
    )
    parser.add_argument("--target", choices=["page", "tutorial", "both"], default="both")
    parser.add_argument("--url", help="measure this running page instead of starting any")
    parser.add_argument("--pid", type=int, help="with --url: the page's process, for CPU/RSS")
    parser.add_argument("--emulator-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--user-header", default=USER_HEADER, help="the header naming the user")
    parser.add_argument(
        "--page-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for the page processes (repeatable)",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=10.0,
        help="seconds to hold every session idle after the replies",
    )
    parser.add_argument(
        "--reply-timeout",
        type=float,
        default=None,
        help="seconds from Enter to the whole reply (default 3x pace + 120)",
    )
    parser.add_argument(
        "--check-chromium",
        action="store_true",
        help="also measure each target in headless Chromium, one session",
    )
    parser.add_argument("--chromium-tries", type=int, default=3)
    parser.add_argument("--profile", metavar="DIR", help="py-spy the page process while it runs")
    parser.add_argument(
        "--profile-loop",
        action="store_true",
        help="with --profile: every thread, waits included, and where the event loop's time went",
    )
    parser.add_argument(
        "--trace", action="store_true", help="print every message session 0 received"
    )
    parser.add_argument(
        "--saved",
        type=int,
        default=0,
        help="saved conversations each user already has (the sidebar lists up to 100)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="messages of a saved conversation each session opens and sends its message in",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="run each target (the page, the tutorial pattern) as this many replicas behind "
        "nginx (scripts/cluster) and measure through nginx; CPU and memory are summed over "
        "the replicas",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each target this many times over, round after round, and report its "
        "memory after each (the tables show the last round)",
    )
    parser.add_argument(
        "--cpu-quota",
        type=float,
        metavar="CORES",
        help="hold each page process (each replica) to this much CPU after its warm-up, as on "
        "a slower machine (a cgroup each; needs root)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument(
        "--workdir", help="keep the pages' databases and logs here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    if args.replicas < 0 or (args.replicas and (args.url or args.saved or args.history)):
        parser.error("--replicas needs a page this run starts, without --saved or --history")
    if args.saved < 0 or args.history < 0:
        parser.error("--saved and --history must not be negative")
    if args.url and (args.saved or args.history):
        parser.error("--saved and --history need a page this run starts (not --url)")
    if args.sessions < 1 or args.chars < 1 or args.rate <= 0 or args.chunk_bytes < 1:
        parser.error("--sessions, --chars, --rate and --chunk-bytes must be positive")
    if args.cpu_quota is not None and not (0.01 <= args.cpu_quota <= os.cpu_count()):
        parser.error("--cpu-quota must be between 0.01 and the machine's cores")
    if args.cpu_quota is not None and args.url:
        parser.error("--cpu-quota needs pages this run starts (not --url)")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.ramp < 0 or args.idle < 0:
        parser.error("--ramp and --idle must not be negative")
    if args.url:
        parts = urlsplit(args.url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            parser.error("--url must be an http:// address on 127.0.0.1")
        if not args.url.endswith("/"):
            args.url += "/"
    for item in args.page_env:
        if "=" not in item:
            parser.error(f"--page-env needs NAME=VALUE, not {item!r}")
    if args.reply_timeout is None:
        args.reply_timeout = 3 * args.chars / args.rate + 120
    return args


@contextlib.contextmanager
def _workdir(path: str | None) -> Iterator[str]:
    if path is None:
        with tempfile.TemporaryDirectory(prefix="load-") as tmp:
            yield tmp
    else:
        folder = Path(path) / time.strftime("%Y%m%d-%H%M%S")
        folder.mkdir(parents=True)
        yield str(folder)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """A `kill` ends the run as Ctrl-C does: the pages, cluster and emulator it started stop."""
    raise SystemExit(128 + signum)


def _longest_gaps(probes: list[Probe], count: int = 3) -> str:
    """Where the longest pauses between updates fell: which session, how far into its reply."""
    gaps = sorted(
        (
            (b - a, p.index, a - p.sent_at)
            for p in probes
            if p.ok
            for a, b in itertools.pairwise(p.updates)
        ),
        reverse=True,
    )[:count]
    if not gaps:
        return ""
    where = ", ".join(f"{gap:.2f} s (session {i}, {at:.1f} s in)" for gap, i, at in gaps)
    return f" Longest update gaps: {where}."


def memory_growth(rounds: list[tuple[int, float]], over: int = 400) -> str:
    """RSS after each round, and how fast it grew over the last `over` replies."""
    listed = ", ".join(f"{rss:.0f}" for _, rss in rounds)
    last_replies, last_rss = rounds[-1]
    earlier = [r for r in rounds if r[0] <= last_replies - over] or rounds[:1]
    start_replies, start_rss = earlier[-1]
    text = f"RSS MB after each round: {listed}."
    if last_replies > start_replies:
        per_100 = (last_rss - start_rss) / (last_replies - start_replies) * 100
        text += (
            f" Over the last {last_replies - start_replies} replies it grew "
            f"{last_rss - start_rss:+.1f} MB: {per_100:+.2f} MB per 100 replies."
        )
    return text


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = parse_args(argv)
    reply = bench_reply(args.chars)
    data = reply.encode()
    pieces = -(-len(data) // args.chunk_bytes)
    seconds = len(reply) / args.rate
    behavior = {"reply": reply, "chunk_bytes": args.chunk_bytes, "delay": seconds / pieces}
    names = ["page", "tutorial"] if args.target == "both" else [args.target]
    if args.saved or args.history:  # the same page empty and with saved data, same run
        names = ["page", SAVED]
    if args.url:
        names = ["url"]

    with (
        _workdir(args.workdir) as tmp,
        EmulatorProcess(behavior, None if args.url else AUTH_CODE, args.emulator_port) as emu,
        contextlib.ExitStack() as stack,
    ):
        args.workdir_path = tmp
        quota = CpuQuota(args.cpu_quota) if args.cpu_quota is not None else None
        if quota is not None:
            stack.callback(quota.release)  # first in, so last out: after the pages ended
        targets: list[tuple[str, str, ProcessMeter | GroupMeter | None]] = []
        warm: dict[str, list[str]] = {}
        if args.url:
            print(f"emulator at {emu.base_url}; the page at {args.url} must use it", flush=True)
            targets.append(("url", args.url, ProcessMeter(args.pid) if args.pid else None))
        elif args.replicas:
            extra = dict(item.split("=", 1) for item in args.page_env)
            env = page_env(emu.base_url, AUTH_CODE, Path(tmp)) | {
                "PYTHONPATH": str(REPO),
                "CHAT_ACCESS": "header",
                "CHAT_USER_HEADER": args.user_header,
                **extra,
            }
            env.pop("DATABASE_URL")  # the cluster's own PostgreSQL, unless --page-env names one
            env.update({k: v for k, v in extra.items() if k == "DATABASE_URL"})
            for target in names:  # the tutorial pattern behind the same nginx site, to compare
                script = TUTORIAL if target == "tutorial" else APP
                options = ("--app", str(script.relative_to(REPO)))
                cluster = Cluster(args.replicas, env, Path(tmp) / f"{target}-cluster.log", options)
                stack.callback(cluster.stop)
                cluster.wait_ready()
                name = f"{target}, {args.replicas} replica{'s' if args.replicas > 1 else ''}"
                print(f"{name}: nginx at {cluster.url}", flush=True)
                targets.append((name, cluster.url, GroupMeter([r.pid for r in cluster.replicas])))
                # Each replica warmed on its own port: through nginx a warm-up reaches only one.
                warm[name] = [f"http://127.0.0.1:{r.port}/" for r in cluster.replicas]
        else:
            extra = dict(item.split("=", 1) for item in args.page_env)
            for name in names:
                data_dir = Path(tmp) / name
                data_dir.mkdir()
                if name == SAVED:
                    ConversationStore(database_url(name, args)).close()  # its schema, now
                env = page_env(emu.base_url, AUTH_CODE, data_dir) | {
                    "PYTHONPATH": str(REPO),
                    "CHAT_ACCESS": "header",
                    "CHAT_USER_HEADER": args.user_header,
                    **extra,
                }
                script = TUTORIAL if name == "tutorial" else APP
                server = StreamlitServer(script, env, data_dir / "streamlit.log")
                stack.enter_context(server)
                assert server.process is not None
                print(
                    f"{name}: {script.name} at {server.url}, pid {server.process.pid}", flush=True
                )
                targets.append((name, server.url, ProcessMeter(server.process.pid)))

        results = []
        memory: dict[str, list[tuple[int, float]]] = {}
        failed_earlier = 0
        for name, url, meter in targets:
            if not args.no_warmup:
                for warm_url in warm.get(name, [url]):
                    asyncio.run(warm_up(warm_url, emu, args.user_header))
            if quota is not None and meter is not None:
                meters = meter.meters if isinstance(meter, GroupMeter) else [meter]
                for each in meters:
                    quota.hold(each.pid)
            time.sleep(SETTLE_SECONDS)
            replies = 0
            for round_number in range(1, args.rounds + 1):
                print(f"{name}: {args.sessions} sessions over {args.ramp:g} s ...", flush=True)
                result = asyncio.run(measure(name, url, args, reply, meter, emu))
                if args.rounds > 1 and meter is not None:
                    time.sleep(SETTLE_SECONDS)  # the round's sessions closed
                    replies += sum(p.ok for p in result.probes)
                    rss = meter.status()[0] / 1e6
                    memory.setdefault(name, []).append((replies, rss))
                    print(f"{name}: round {round_number}: {replies} replies, RSS {rss:.1f} MB")
                if round_number < args.rounds:
                    failed_earlier += sum(not p.ok for p in result.probes)
            results.append(result)
            if args.trace:
                print_traces(result.probes)
        chromium = []
        if args.check_chromium:
            print("Chromium ...", flush=True)
            chromium = chromium_check(
                [(name, url) for name, url, _ in targets],
                args.user_header,
                args.chromium_tries,
                args.reply_timeout,
                reply,
                args.trace,
            )

    print()
    print(
        f"{args.sessions} sessions, each a different user with a new conversation, starting "
        f"over {args.ramp:g} s; one reply of {len(reply):,} characters ({len(data):,} bytes) "
        f"in {pieces} pieces of {args.chunk_bytes} bytes, {behavior['delay'] * 1000:.0f} ms "
        f"apart (~{args.rate:g} characters a second, {seconds:.1f} s)"
        + (
            f"; each page process held to {args.cpu_quota:g} of a core"
            if args.cpu_quota is not None
            else ""
        )
        + "; seconds as p50 / p95 / max.\n"
    )
    print(latency_table(results))
    print()
    print(cost_table(results))
    if chromium:
        print("\nOne session in headless Chromium beside the generator's figures:\n")
        print(chromium_table(chromium, results))
    command = " ".join(["python bench/load.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"\n`{command}`")
    for r in results:
        lag_p99, lag_max = r.usage.loop_lag
        print(
            f"\n{r.name}: the load generator used {100 * r.usage.own_cpu_share:.0f}% of a core, "
            f"its event loop woke late by {1000 * lag_p99:.0f} ms (p99), {1000 * lag_max:.0f} ms "
            f"(max); fragment re-runs sent: {sum(p.fragment_reruns for p in r.probes)}; "
            f"other processes on this machine used {_f(r.usage.others_cpu_share, '.2f')} cores."
            + (
                " CPU s by replica: " + ", ".join(f"{c:.1f}" for c in r.usage.cpu_each) + "."
                if r.usage.cpu_each
                else ""
            )
            + _longest_gaps(r.probes)
        )
    for name, rounds in memory.items():
        print(f"\n{name}: {memory_growth(rounds)}")
    if args.json:
        data = figures(results, args)
        if memory:
            data["memory_rounds"] = {name: rounds for name, rounds in memory.items()}
        Path(args.json).write_text(json.dumps(data, indent=2))
    problems = failures(results)
    if problems:
        print("\n" + problems)
    for r in results:
        if r.usage.profile:
            print(f"\nprofile of {r.name} ({r.usage.profile}):\n")
            print(profile_summary(r.usage.profile))
            if args.profile_loop:
                print(f"\n{loop_summary(r.usage.profile)}")
    if failed_earlier:
        print(f"\n{failed_earlier} sessions failed in rounds before the last")
    return 1 if failed_earlier or any(not p.ok for r in results for p in r.probes) else 0


if __name__ == "__main__":
    sys.exit(main())
