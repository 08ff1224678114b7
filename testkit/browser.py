"""The real page in real Chromium: `streamlit run app.py` (or `scripts/cluster`) as a process,
Debian's Chromium through Playwright, and the page as a person uses it.

Nothing is mocked, so what a test or a benchmark sees is what a person's browser sees: the
websocket frames Streamlit really sends, the DOM the real frontend builds, the text a real
stream leaves. Used by tests/browser (whose conftest adds the fixtures) and by bench/.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import Browser, Locator, Page, Playwright, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from liaobots_core.emulator.server import Startable

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app.py"
AUTH_CODE = "browser-secret-code-7f3a9c"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
SKIP_ENV = "CHAT_SKIP_BROWSER"
START_TIMEOUT = 60.0  # seconds for `streamlit run` to answer its health check
STOP_TIMEOUT = 30.0
REPLY_TIMEOUT_MS = 30_000
# Settings the page would otherwise pick up from the developer's shell or secrets file.
_INHERITED_PREFIXES = ("LIAOBOTS_", "STREAMLIT_", "CHAT_", "DATABASE_URL")
_LOOPBACK = "127.0.0.1,localhost,::1"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy

INPUT = '[data-testid="stChatInput"] textarea'
MESSAGE = '[data-testid="stChatMessage"]'

# Page-side helpers, installed before Streamlit's own scripts run. `text(i)` is what a person
# reads in bubble i: its markdown, without buttons, captions or elements left from an old run.
_PAGE_HELPERS = """
window.__chatTest = {
  bubbles() { return document.querySelectorAll('[data-testid="stChatMessage"]'); },
  text(index) {
    const bubble = this.bubbles()[index];
    if (!bubble) return '';
    return Array.from(bubble.querySelectorAll('[data-testid="stMarkdown"]'))
      .filter((m) => !m.closest('button') && !m.closest('[data-stale="true"]')
        && !m.querySelector('[data-testid="stCaptionContainer"]'))
      .map((m) => m.innerText).join('\\n');
  },
  samples: [],
  sample(index, everyMs) {
    this.samples = [];
    const started = performance.now();
    this.timer = setInterval(() => {
      this.samples.push([performance.now() - started, this.text(index).length]);
    }, everyMs);
  },
  stopSampling() { clearInterval(this.timer); return this.samples; },
};
"""


def word_watcher(name: str, words: list[str], root: str) -> str:
    """A page script, installed before Streamlit's, that notes each of `words` that ever shows
    inside `root` (a CSS selector), even for one frame: `window[name].seen` lists them."""
    return f"""
window.{name} = {{
  words: {json.dumps(words)},
  seen: [],
  check() {{
    const root = document.querySelector({json.dumps(root)});
    if (!root) return;
    const text = root.textContent;
    for (const word of this.words) {{
      if (text.includes(word) && !this.seen.includes(word)) this.seen.push(word);
    }}
  }},
}};
new MutationObserver(() => window.{name}.check()).observe(document, {{
  subtree: true, childList: true, characterData: true,
}});
"""


# --- the page's server ----------------------------------------------------------------------


_SERVING = b"You can now view your Streamlit app"  # printed once its port is bound


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page_env(base_url: str, auth_code: str | None, data_dir: Path) -> dict[str, str]:
    """The environment for a page process: ours, minus anything that would change its setup.

    Conversations go to a fresh SQLite file in `data_dir`, not the developer's store. With
    `auth_code` None the operator sets no code, as for a person who has none.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    if auth_code is not None:
        env["LIAOBOTS_AUTH_CODE"] = auth_code
    env.update(
        LIAOBOTS_BASE_URL=base_url,
        DATABASE_URL=f"sqlite:///{data_dir / 'chat.sqlite3'}",
        PYTHONUNBUFFERED="1",
        NO_PROXY=_LOOPBACK,  # a proxy in the shell must not see the auth code on its way
        no_proxy=_LOOPBACK,
    )
    return env


def page_for(
    base_url: str, auth_code: str | None, data_dir: Path, log_level: str = "info"
) -> StreamlitServer:
    """The page (`app.py`) talking to the service at `base_url`, its database and log in
    `data_dir` (`page_env`); `with` starts and stops it."""
    env = page_env(base_url, auth_code, data_dir)
    return StreamlitServer(APP, env, data_dir / "streamlit.log", log_level=log_level)


class StreamlitServer(Startable):
    """`streamlit run <script>` on a loopback port, its output kept in a file.

    Secrets are read from `secrets_file` if given, else from a file that does not exist, so a
    developer's `.streamlit/secrets.toml` (which wins over the environment) cannot point the
    page at a real service. `port` is chosen here, before `start()`, so a secrets file that
    names it (a sign-in's redirect_uri) can be written in between.
    """

    def __init__(
        self,
        script: Path,
        env: Mapping[str, str],
        log_path: Path,
        log_level: str = "info",
        secrets_file: Path | None = None,
    ) -> None:
        self.script = script
        self.env = dict(env)
        self.log_path = log_path
        self.log_level = log_level
        self.secrets_file = secrets_file or log_path.parent / "no-secrets.toml"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> StreamlitServer:
        command = [
            sys.executable, "-m", "streamlit", "run", str(self.script),
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
            "--logger.level", self.log_level,
            "--secrets.files", str(self.secrets_file),
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with _DIRECT.open(self.url + "_stcore/health", timeout=1) as answer:
                    # Another test worker's server could hold the port; ours says it serves.
                    if answer.status == 200 and _SERVING in self.log_bytes():
                        return
            except (OSError, urllib.error.URLError):
                pass
            try:  # doubles as the pause between polls, and notices a crash at once
                code = self.process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"streamlit exited with {code} on start:\n{self.log_text()}")
        self.stop()
        raise RuntimeError(
            f"streamlit did not answer within {START_TIMEOUT:.0f}s:\n{self.log_text()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def log_bytes(self) -> bytes:
        return self.log_path.read_bytes() if self.log_path.exists() else b""

    def log_text(self) -> str:
        return self.log_bytes().decode(errors="replace")


# --- the browser ----------------------------------------------------------------------------


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's chromium: Playwright's own browser download does not work on these machines."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))


@dataclass(frozen=True)
class Frame:
    direction: Literal["sent", "received"]
    data: bytes
    at: float = 0.0  # time.monotonic() when Playwright reported it


class WebSocketLog:
    """Every websocket frame of a page, both ways, as bytes (text frames are UTF-8 encoded).

    Attach before the page navigates, or the first frames are missed.
    """

    def __init__(self, page: Page, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.frames: list[Frame] = []
        # (frames before it, when, what happened): the socket's life, and the test's steps
        self.events: list[tuple[int, float, str]] = []
        page.on("websocket", self._attach)

    def _attach(self, ws: Any) -> None:
        self.note(f"socket opened: {ws.url}")
        ws.on("framereceived", lambda payload: self._add("received", payload))
        ws.on("framesent", lambda payload: self._add("sent", payload))
        ws.on("close", lambda _ws: self.note("socket closed"))

    def _add(self, direction: Literal["sent", "received"], payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        self.frames.append(Frame(direction, data, self.clock()))

    def note(self, what: str) -> None:
        """Put a line in the story here: a test's step (a click) among the frames."""
        self.events.append((len(self.frames), self.clock(), what))

    def mark(self) -> int:
        """A position to count from: frames after it came later."""
        return len(self.frames)

    def received(self, since: int = 0) -> list[Frame]:
        return [f for f in self.frames[since:] if f.direction == "received"]

    def story(self, last: int = 400) -> str:
        """The last frames as Streamlit's messages, a line each, seconds from the first shown,
        with the socket's life and the test's notes: what a failed test's report shows of the
        conversation with the server. A stretch that repeats (a fragment's ticks) is folded."""
        start = max(0, len(self.frames) - last)
        shown = self.frames[start:]
        origin = shown[0].at if shown else self.clock()
        entries: list[tuple[float, str]] = []
        for index, frame in enumerate(shown, start):
            entries += [(at, f"~ {what}") for before, at, what in self.events if before == index]
            arrow = "->" if frame.direction == "sent" else "<-"
            entries.append((frame.at, f"{arrow} {_message_kind(frame)}"))
        ends = len(self.frames)
        entries += [(at, f"~ {what}") for before, at, what in self.events if before >= ends]
        lines = [
            f"(frames {start}-{len(self.frames)} of {len(self.frames)}; seconds from the first)"
        ]
        lines += _folded([(f"{at - origin:+8.3f}", text) for at, text in entries])
        return "\n".join(lines)


FOLDED_BLOCK = 12  # the longest stretch of lines `_folded` looks for repeats of


def _folded(entries: list[tuple[str, str]]) -> list[str]:
    """Lines `  <when> <what>`; a stretch of `what`s that comes again and again is shown once,
    with how often it came and until when."""
    texts = [text for _, text in entries]
    lines: list[str] = []
    i = 0
    while i < len(entries):
        for size in range(1, FOLDED_BLOCK + 1):
            block = texts[i : i + size]
            repeats = 1
            while texts[i + repeats * size : i + (repeats + 1) * size] == block:
                repeats += 1
            if repeats >= 3:
                lines += [f"  {when} {text}" for when, text in entries[i : i + size]]
                until = entries[i + repeats * size - 1][0].strip()
                above = "the line above" if size == 1 else f"the {size} lines above"
                lines.append(f"  ({above}, {repeats - 1} times more, until {until})")
                i += repeats * size
                break
        else:
            when, text = entries[i]
            lines.append(f"  {when} {text}")
            i += 1
    return lines


def _widget_name(widget_id: str) -> str:
    """A widget's key, or the start of its hash when it has none (`$$ID-<hash>-<key>`)."""
    _, _, rest = widget_id.partition("$$ID-")
    digest, _, key = rest.partition("-")
    return key if key and key != "None" else digest[:8] or widget_id


def _message_kind(frame: Frame) -> str:
    """A frame's Streamlit message type and the little that tells runs apart."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    try:
        if frame.direction == "sent":
            back = BackMsg.FromString(frame.data)
            kind = back.WhichOneof("type") or "?"
            if kind == "rerun_script":
                run = back.rerun_script
                triggers = [
                    _widget_name(w.id)
                    for w in run.widget_states.widgets
                    if w.WhichOneof("value") == "trigger_value" and w.trigger_value
                ]
                kind += f" fragment={run.fragment_id or '-'} triggers={triggers}"
            return kind
        forward = ForwardMsg.FromString(frame.data)
        kind = forward.WhichOneof("type") or "?"
        if kind == "script_finished":
            status = ForwardMsg.ScriptFinishedStatus.Name(forward.script_finished)
            kind += f" {status} fragments={list(forward.metadata.run.fragment_ids)}"
        elif kind == "auth_redirect":
            kind += f" {forward.auth_redirect.url}"
        return kind
    except Exception as error:  # a frame that is not a Streamlit message says so
        return f"({len(frame.data)} bytes: {type(error).__name__})"


class ResponseLog:
    """Every HTTP response a page received; bodies are read later, outside the event handler."""

    def __init__(self, page: Page) -> None:
        self.responses: list[Response] = []
        page.on("response", self._add)  # Playwright needs a Python function, not a builtin

    def _add(self, response: Response) -> None:
        self.responses.append(response)

    def bodies(self) -> list[tuple[str, bytes]]:
        """(url, body) of every response whose body the browser still has."""
        found = []
        for response in self.responses:
            try:
                found.append((response.url, response.body()))
            except Exception:  # redirects and evicted bodies have none to give
                continue
        return found


def labelled(name: str) -> re.Pattern[str]:
    """A button's accessible name: its label, then the keyboard shortcut Streamlit shows on it
    (`Regenerate Shortcut Ctrl + Shift + E`, chatpage/views/shortcuts.py), if it has one."""
    return re.compile(rf"^{re.escape(name)}( Shortcut .*)?$")


class ChatPage:
    """The chat page as a person uses it: type, press Enter, watch the bubbles."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        page.add_init_script(_PAGE_HELPERS)

    def open(self) -> ChatPage:
        self.page.goto(self.url)
        self.page.wait_for_selector(INPUT, timeout=REPLY_TIMEOUT_MS)
        self.wait_until_idle()
        return self

    @property
    def messages(self) -> Locator:
        return self.page.locator(MESSAGE)

    def wait_until_idle(self) -> None:
        """Until the page's script run has ended (Streamlit marks the app root)."""
        self.page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]',
            timeout=REPLY_TIMEOUT_MS,
        )

    def send(self, text: str) -> int:
        """Send a message; returns the index of the bubble its reply will appear in."""
        before = self.messages.count()
        self.page.fill(INPUT, text)
        self.page.press(INPUT, "Enter")
        self.page.wait_for_function(
            "n => window.__chatTest.bubbles().length >= n", arg=before + 2,
            timeout=REPLY_TIMEOUT_MS,
        )  # fmt: skip
        return before + 1

    def button(self, index: int, name: str) -> Locator:
        """A button inside bubble `index`, by its label (the toolbar's own Stop is elsewhere)."""
        return self.messages.nth(index).get_by_role("button", name=labelled(name))

    def wait_for_button(self, index: int, name: str) -> Locator:
        button = self.button(index, name)
        button.wait_for(state="visible", timeout=REPLY_TIMEOUT_MS)
        return button

    def wait_for_reply(self, index: int) -> str:
        """Until the reply in bubble `index` is finished; returns its text."""
        self.wait_for_button(index, "Regenerate")
        self.wait_until_idle()
        return self.text(index)

    def text(self, index: int) -> str:
        return str(self.page.evaluate("i => window.__chatTest.text(i)", index))

    def wait_until_reads(self, index: int, text: str, timeout_ms: int = REPLY_TIMEOUT_MS) -> None:
        """Until bubble `index` reads exactly `text` (whitespace aside).

        A reply's code and math are drawn by components Streamlit loads on their first use, a
        moment after the run that wrote them has ended: a check of what a person reads waits.
        """
        want = squash(text)
        try:
            self.page.wait_for_function(
                "([i, want]) => window.__chatTest.text(i).split(/\\s+/).join(' ').trim() === want",
                arg=[index, want],
                timeout=timeout_ms,
            )
        except PlaywrightTimeoutError:
            shown = squash(self.text(index))
            raise AssertionError(
                f"bubble {index} reads {len(shown)} characters, not the {len(want)} expected;"
                f" it ends: ...{shown[-200:]!r}"
            ) from None

    def wait_for_text(self, index: int) -> None:
        """Until some reply text shows in bubble `index`."""
        self.page.wait_for_function(
            "i => window.__chatTest.text(i).length > 0", arg=index, timeout=REPLY_TIMEOUT_MS
        )

    def start_sampling(self, index: int, every_ms: int = 50) -> None:
        """Record the length of bubble `index`'s text every `every_ms`, in the page itself."""
        self.page.evaluate("([i, ms]) => window.__chatTest.sample(i, ms)", [index, every_ms])

    def stop_sampling(self) -> list[tuple[float, int]]:
        """(milliseconds since sampling started, text length) pairs."""
        samples = self.page.evaluate("() => window.__chatTest.stopSampling()")
        return [(float(at), int(length)) for at, length in samples]


@dataclass(frozen=True)
class Opening:
    """What opening a page cost a fresh tab."""

    seconds: float  # from navigation until the awaited words showed in a chat bubble
    received: int  # websocket bytes received until the page's run ended
    bubbles: int  # chat bubbles drawn


_SHOWN_IN_A_BUBBLE = """(words) => Array.from(window.__chatTest.bubbles())
    .some((bubble) => bubble.innerText.includes(words))"""


def open_measured(browser: Browser, url: str, words: str, timeout_ms: int) -> Opening:
    """Open `url` in a fresh browser context (a fresh Streamlit session), as a person opening
    a link does; how long until `words` showed in a chat bubble, and the websocket's bytes."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        sockets = WebSocketLog(page)
        chat = ChatPage(page, url)
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_function(_SHOWN_IN_A_BUBBLE, arg=words, timeout=timeout_ms, polling=20)
        seconds = time.perf_counter() - started
        chat.wait_until_idle()
        received = sum(len(frame.data) for frame in sockets.received())
        return Opening(seconds, received, chat.messages.count())
    finally:
        context.close()


def squash(text: str) -> str:
    """Text with every run of whitespace as one space: rendered and source text differ there."""
    return " ".join(text.split())


# --- several replicas behind nginx (scripts/cluster) ------------------------------------------

CLUSTER = REPO / "scripts" / "cluster"
CLUSTER_START_TIMEOUT = 240.0  # beyond scripts/cluster's own READY_TIMEOUT (180 s)
REPLICA_LINE = re.compile(r"replica (\d+) pid (\d+) port (\d+)")


@dataclass(frozen=True)
class Replica:
    number: int
    pid: int
    port: int

    def sessions(self) -> int:
        """Open connections to this replica: with no upstream keep-alive in the nginx site,
        each is a browser session's websocket."""
        return established(self.port)


def established(port: int) -> int:
    """Established TCP connections whose local end is `port` (from /proc/net/tcp{,6})."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, state = fields[1], fields[3]
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


class Cluster:
    """`scripts/cluster` in a subprocess, read the way its interface promises."""

    def __init__(
        self, replicas: int, env: dict[str, str], log: Path, options: Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        scheme = "https" if "--tls" in options else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}/"
        self.log = log
        self.replicas: list[Replica] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(CLUSTER),
                    "--replicas",
                    str(replicas),
                    "--port",
                    str(self.port),
                    *options,
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def wait_ready(self) -> Cluster:
        deadline = time.monotonic() + CLUSTER_START_TIMEOUT
        while True:
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no `ready` line in time; log:\n{self._log()}") from None
            if line is None:
                raise AssertionError(f"scripts/cluster ended early; log:\n{self._log()}")
            found = REPLICA_LINE.fullmatch(line)
            if found:
                self.replicas.append(Replica(*(int(part) for part in found.groups())))
            elif line == f"ready {self.url}":
                return self
            else:
                raise AssertionError(f"unexpected line from scripts/cluster: {line!r}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("scripts/cluster did not stop within 60 s of SIGTERM") from None

    def _log(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]
