"""The browser tests' fixtures: the real page in real Chromium (see `testkit/browser.py`).

The harness itself (the page's server, Chromium, the page as a person uses it) lives in
`testkit.browser`, which the benchmarks use too; its names are imported here as well, for the
tests that import them from this module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import (  # noqa: F401 (the harness, for tests importing it from here)
    APP,
    AUTH_CODE,
    CHROMIUM,
    CHROMIUM_ARGS,
    CLUSTER,
    INPUT,
    MESSAGE,
    REPLY_TIMEOUT_MS,
    REPO,
    SKIP_ENV,
    START_TIMEOUT,
    STOP_TIMEOUT,
    ChatPage,
    Cluster,
    Frame,
    Replica,
    ResponseLog,
    StreamlitServer,
    WebSocketLog,
    established,
    free_port,
    launch_chromium,
    page_env,
    page_for,
    squash,
    word_watcher,
)

# Playwright's assertions wait 5 s unless told otherwise: a page on a machine ten times slower
# (or sharing it with other test workers) takes longer than that, and a hung page still fails.
expect.set_options(timeout=REPLY_TIMEOUT_MS)

# --- fixtures -------------------------------------------------------------------------------


def _browser_allowed() -> None:
    """Skip on request; a missing browser is a failure, so a broken CI cannot pass silently."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: browser tests skipped on request")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), "
            f"or set {SKIP_ENV}=1 to skip the browser tests on purpose",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def page_emulator() -> Iterator[Emulator]:
    """The Liaobots service the page talks to, here in the test process."""
    _browser_allowed()
    with Emulator(auth_code=AUTH_CODE) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def page_server(
    page_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitServer]:
    """The real page, started once: Streamlit's start-up is the slow part.

    It logs at debug level, so the check that the auth code stays out of the log reads the
    most the server would ever write.
    """
    data_dir = tmp_path_factory.mktemp("streamlit")
    with page_for(page_emulator.base_url, AUTH_CODE, data_dir, log_level="debug") as server:
        yield server


@pytest.fixture
def emulator(page_emulator: Emulator) -> Iterator[Emulator]:
    """The shared emulator with no record and no queued behaviours left by an earlier test;
    a reply a test held and never released goes on when the test ends."""
    page_emulator.clear()
    page_emulator.default = Behavior()
    yield page_emulator
    page_emulator.release_held()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    _browser_allowed()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Note a failed test so its page fixture can leave a screenshot behind."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture
def page(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context: its own cookies, so its own Streamlit session."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    yield page
    if request.node.stash.get(_FAILED, False):
        shot = Path("/tmp") / f"chat-browser-{request.node.name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failed page: {shot}")
        print(f"what it showed at {page.url} (CI keeps no screenshot):\n{_shown(page)}")
    context.close()


def _shown(page: Page) -> str:
    """The main area's text, for a failure's report."""
    try:
        return page.locator('[data-testid="stMain"]').inner_text(timeout=5_000)[-3_000:]
    except PlaywrightError as error:
        return f"(unreadable: {error.message})"


@pytest.fixture
def chat(page: Page, page_server: StreamlitServer, emulator: Emulator) -> ChatPage:
    """The chat page, not yet opened, so a test can attach listeners first."""
    return ChatPage(page, page_server.url)


@pytest.fixture(autouse=True)
def page_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A failed test that used the shared page prints that process's warnings and errors of
    its time: CI keeps only the printed output."""
    if "page_server" not in request.fixturenames:
        yield
        return
    server: StreamlitServer = request.getfixturevalue("page_server")
    start = server.log_path.stat().st_size if server.log_path.exists() else 0
    yield
    if request.node.stash.get(_FAILED, False) and server.log_path.exists():
        with server.log_path.open("rb") as log:
            log.seek(start)
            lines = log.read().decode("utf-8", "replace").splitlines()
        noted = [line for line in lines if " WARNING " in line or " ERROR " in line]
        print("the page process's warnings and errors meanwhile:\n" + "\n".join(noted[-40:]))


# --- several tabs on one conversation -------------------------------------------------------


@pytest.fixture
def context(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    """One browser, one person: its tabs share cookies; each tab is its own session."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    yield context
    if request.node.stash.get(_FAILED, False):
        for number, tab in enumerate(context.pages):
            shot = Path("/tmp") / f"chat-browser-{request.node.name}-tab{number}.png"
            tab.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of tab {number}: {shot}")
    context.close()


@dataclass(frozen=True)
class WordWatch:
    """Tabs that note each of `words` that ever shows inside `root`, even for one frame, so a
    test can tell a word never flashed by; `name` is the page global that keeps them."""

    name: str
    words: tuple[str, ...]
    root: str

    @property
    def script(self) -> str:
        """Installed in a page before Streamlit's scripts."""
        return word_watcher(self.name, list(self.words), self.root)

    def new_tab(self, context: BrowserContext, url: str) -> ChatPage:
        page = context.new_page()
        page.add_init_script(self.script)
        return ChatPage(page, url)

    def words_seen(self, chat: ChatPage) -> list[str]:
        return list(chat.page.evaluate(f"() => window.{self.name}.seen"))


def url_of(base: str, conversation: str) -> str:
    return f"{base}?c={conversation}"


def conversation_id(chat: ChatPage) -> str:
    """The open conversation, from the tab's URL (`?c=`), once the page has put it there."""
    handle = chat.page.wait_for_function(
        "() => new URLSearchParams(location.search).get('c')", timeout=REPLY_TIMEOUT_MS
    )
    return str(handle.json_value())
