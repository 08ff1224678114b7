"""Who gets in, in real Chromium: the default's local-only page, the team page behind a proxy
(`header` mode) and the public demo."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from chatpage.data.conversation import Conversation, Message
from chatpage.data.export import to_json
from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import (
    APP,
    AUTH_CODE,
    CHROMIUM,
    CHROMIUM_ARGS,
    INPUT,
    ChatPage,
    StreamlitServer,
    WebSocketLog,
    page_env,
)
from testkit.header_relay import context_with_headers

pytestmark = pytest.mark.browser

HEADER = "X-Forwarded-Email"
MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
SIDEBAR = '[data-testid="stSidebar"]'
NAVIGATION = '[data-testid="stSidebarNav"]'
METRIC = '[data-testid="stMetric"]'
CHAT_INPUT = '[data-testid="stChatInput"]'
REBIND_HOST = "rebind.test"  # a foreign name that this test's Chromium resolves to 127.0.0.1


@pytest.fixture
def server_with(page_emulator: Emulator, tmp_path: Path) -> Iterator[dict[str, StreamlitServer]]:
    """Start a page process with extra settings; every one started is stopped afterwards."""
    started: dict[str, StreamlitServer] = {}

    def start(**settings: str) -> StreamlitServer:
        env = page_env(page_emulator.base_url, AUTH_CODE, tmp_path) | settings
        server = StreamlitServer(APP, env, tmp_path / f"page-{len(started)}.log").start()
        started[str(len(started))] = server
        return server

    page_emulator.clear()
    page_emulator.default = Behavior()
    yield start  # type: ignore[misc]
    for server in started.values():
        server.stop()


@pytest.fixture(scope="module")
def default_server(
    page_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitServer]:
    """The page with no settings at all, shared by this module's tests of the default."""
    data_dir = tmp_path_factory.mktemp("default-page")
    env = page_env(page_emulator.base_url, AUTH_CODE, data_dir)
    with StreamlitServer(APP, env, data_dir / "page.log") as server:
        yield server


@pytest.fixture(scope="module")
def header_server(
    page_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitServer]:
    """A team page in header mode with every other setting at its default, shared here."""
    data_dir = tmp_path_factory.mktemp("header-page")
    env = page_env(page_emulator.base_url, AUTH_CODE, data_dir)
    env |= {"CHAT_ACCESS": "header", "CHAT_USER_HEADER": HEADER}
    with StreamlitServer(APP, env, data_dir / "page.log") as server:
        yield server


@pytest.fixture(scope="module")
def rebinding_chromium(chromium: Browser) -> Iterator[Browser]:
    """Chromium as a DNS-rebinding web page leaves it: a foreign name resolving to 127.0.0.1.
    (Another browser of the session's Playwright: one process may run only one.)"""
    browser = chromium.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1"],
    )
    yield browser
    browser.close()


def context_as(chromium: Browser, email: str | None, **more_headers: str) -> BrowserContext:
    """A visitor's browser behind a proxy that adds these headers to all it sends."""
    headers = ({HEADER: email} if email else {}) | more_headers
    return context_with_headers(
        chromium, headers, viewport={"width": 1280, "height": 900}, locale="en-US"
    )


def test_default_settings_serve_only_a_visitor_on_this_machine(
    chromium: Browser, default_server: StreamlitServer
) -> None:
    server = default_server  # no CHAT_ACCESS at all
    local_context = context_as(chromium, None)
    forwarded_context = context_as(chromium, None, **{"X-Forwarded-For": "203.0.113.9"})
    try:
        local = ChatPage(local_context.new_page(), server.url).open()
        local.wait_for_reply(local.send("The local user's private notes"))
        assert "The local user's private notes" in listed_titles(local)

        page = forwarded_context.new_page()
        page.goto(server.url)
        expect(page.get_by_text("This page is not open to other computers yet")).to_be_visible()
        expect(page.get_by_text("CHAT_ACCESS=header")).to_be_visible()
        assert page.locator('[data-testid="stChatInput"]').count() == 0
        assert page.locator(SIDEBAR).count() == 0
        assert "private notes" not in page.content()
        assert [r["kind"] for r in refusals(server)] == ["not_local"]  # audited, once
    finally:
        local_context.close()
        forwarded_context.close()


def refusals(server: StreamlitServer) -> list[dict[str, object]]:
    """The audit log's refusals so far, from the page's output."""
    return [
        json.loads(line)
        for line in server.log_bytes().decode().splitlines()
        if line.startswith("{") and '"event": "refused"' in line
    ]


def test_default_settings_under_a_foreign_host_name_give_no_chat_but_by_127_0_0_1_do(
    rebinding_chromium: Browser, default_server: StreamlitServer
) -> None:
    context = context_as(rebinding_chromium, None)
    try:
        page = context.new_page()
        page.goto(f"http://{REBIND_HOST}:{default_server.port}/")
        expect(page.get_by_text("This page does not answer to this address")).to_be_visible()
        assert page.locator(CHAT_INPUT).count() == 0
        assert page.locator(SIDEBAR).count() == 0
        assert [r.get("host") for r in refusals(default_server)].count(REBIND_HOST) == 1

        ChatPage(context.new_page(), default_server.url).open()  # by 127.0.0.1: the chat
    finally:
        context.close()


def listed_titles(chat: ChatPage) -> list[str]:
    buttons = chat.page.locator(SIDEBAR).locator('[data-testid^="stBaseButton-"]')
    return [t.strip() for t in buttons.all_inner_texts()]


def test_header_mode_keeps_each_persons_conversations_apart(
    chromium: Browser, header_server: StreamlitServer, emulator: Emulator
) -> None:
    server = header_server
    alice_context = context_as(chromium, "alice@example.com")
    bob_context = context_as(chromium, "bob@example.com")
    try:
        alice = ChatPage(alice_context.new_page(), server.url).open()
        expect(alice.page.get_by_text("Signed in as alice@example.com")).to_be_visible()
        alice.wait_for_reply(alice.send("Alice's secret launch plan"))
        alice.page.wait_for_url("**?c=*")
        alice_id = alice.page.url.split("?c=")[1]
        assert "Alice's secret launch plan" in listed_titles(alice)

        bob = ChatPage(bob_context.new_page(), server.url).open()
        expect(bob.page.get_by_text("Signed in as bob@example.com")).to_be_visible()
        assert "Alice's secret launch plan" not in listed_titles(bob)
        search = bob.page.locator(SIDEBAR).get_by_placeholder("Search titles and messages")
        search.fill("launch")
        search.press("Enter")
        expect(bob.page.get_by_text("Nothing matches this search.")).to_be_visible()

        bob.page.goto(f"{server.url}?c={alice_id}")
        expect(bob.page.get_by_text("That conversation was not found.")).to_be_visible()
        bob.wait_until_idle()
        assert "secret launch plan" not in bob.page.content()
        assert bob.messages.count() == 0
    finally:
        alice_context.close()
        bob_context.close()


def test_header_mode_without_the_header_shows_no_page(
    chromium: Browser, header_server: StreamlitServer
) -> None:
    server = header_server
    context = context_as(chromium, None)
    try:
        page = context.new_page()
        page.goto(server.url)
        expect(page.get_by_text("only available through your team's sign-in")).to_be_visible()
        assert page.locator('[data-testid="stChatInput"]').count() == 0
        assert page.locator(SIDEBAR).count() == 0
    finally:
        context.close()


def test_header_mode_takes_the_user_header_only_from_a_trusted_proxy(
    chromium: Browser, header_server: StreamlitServer, server_with
) -> None:
    elsewhere = server_with(
        CHAT_ACCESS="header", CHAT_USER_HEADER=HEADER, CHAT_TRUSTED_PROXIES="192.0.2.1"
    )
    context = context_as(chromium, "carol@example.com")  # a loopback request with the header
    try:
        page = context.new_page()
        page.goto(elsewhere.url)
        expect(page.get_by_text("only from your team's sign-in proxy")).to_be_visible()
        assert page.locator(CHAT_INPUT).count() == 0
        assert "carol" not in page.content()
        assert [r["kind"] for r in refusals(elsewhere)] == ["untrusted_proxy"]

        default = ChatPage(context.new_page(), header_server.url).open()  # loopback trusted
        expect(default.page.get_by_text("Signed in as carol@example.com")).to_be_visible()
    finally:
        context.close()


def test_a_persons_daily_limit_refuses_their_third_message_but_not_another_persons(
    chromium: Browser, server_with, page_emulator: Emulator
) -> None:
    server = server_with(
        CHAT_ACCESS="header",
        CHAT_USER_HEADER=HEADER,
        CHAT_USER_PER_DAY="2",
        CHAT_ADMINS="Boss@Example.com",
    )
    alice_context = context_as(chromium, "alice@example.com")
    bob_context = context_as(chromium, "bob@example.com")
    boss_context = context_as(chromium, "boss@example.com")
    try:
        alice = ChatPage(alice_context.new_page(), server.url).open()
        alice.wait_for_reply(alice.send("Первый вопрос"))
        alice.wait_for_reply(alice.send("Второй вопрос"))
        alice.page.fill(INPUT, "Третий вопрос")
        alice.page.press(INPUT, "Enter")
        expect(alice.page.get_by_text("You have sent your 2 messages for today")).to_be_visible()
        expect(alice.page.locator(INPUT)).to_have_value("Третий вопрос")  # given back
        alice.wait_until_idle()
        assert alice.messages.count() == 4  # nothing added
        assert len(page_emulator.chat_requests) == 2  # nothing sent upstream

        bob = ChatPage(bob_context.new_page(), server.url).open()
        bob.wait_for_reply(bob.send("Вопрос Боба"))
        assert len(page_emulator.chat_requests) == 3

        boss = ChatPage(boss_context.new_page(), server.url).open()  # admins are not limited
        for question in ("one", "two", "three"):
            boss.wait_for_reply(boss.send(question))
        assert len(page_emulator.chat_requests) == 6
    finally:
        alice_context.close()
        bob_context.close()
        boss_context.close()


def test_public_demo_refuses_the_third_message_and_never_shows_the_code(
    chromium: Browser, server_with, page_emulator: Emulator, tmp_path: Path
) -> None:
    server = server_with(CHAT_DEMO="1", CHAT_DEMO_PER_MINUTE="2")
    context = context_as(chromium, None)
    try:
        page = context.new_page()
        frames = WebSocketLog(page)
        chat = ChatPage(page, server.url).open()
        assert page.get_by_label("Auth code").count() == 0
        chat.wait_for_reply(chat.send("Первый вопрос"))
        chat.wait_for_reply(chat.send("Второй вопрос"))
        third = chat.send("Третий вопрос")
        chat.wait_for_button(third, "Retry")
        chat.wait_until_idle()
        expect(page.get_by_text("Demo limit: at most 2 messages a minute")).to_be_visible()
        assert len(page_emulator.chat_requests) == 2
        assert all(r.headers["x-auth-code"] == AUTH_CODE for r in page_emulator.chat_requests)

        with page.expect_download() as json_download:
            page.get_by_role("button", name="JSON", exact=True).click()
        with page.expect_download() as md_download:
            page.get_by_role("button", name="Markdown", exact=True).click()
        exports = [Path(d.value.path()).read_bytes() for d in (json_download, md_download)]
        assert "Третий вопрос".encode() in exports[0]

        code = AUTH_CODE.encode()
        assert all(code not in frame.data for frame in frames.frames)
        assert AUTH_CODE not in page.content()
        assert all(code not in export for export in exports)
        assert code not in server.log_bytes()
    finally:
        context.close()


def test_markup_in_titles_and_imports_is_shown_as_text_not_run(
    chromium: Browser, server_with, tmp_path: Path
) -> None:
    server = server_with()
    imported = Conversation(model_id="gpt-4", title=f"Imported {MARKUP}")
    imported.add_user(f"question {MARKUP}")
    imported.append(Message("assistant", f"answer {MARKUP}"))
    export = tmp_path / "import.json"
    export.write_text(to_json(imported), encoding="utf-8")
    json.loads(export.read_text(encoding="utf-8"))  # a valid export, as the page writes them

    context = context_as(chromium, None)
    try:
        chat = ChatPage(context.new_page(), server.url).open()
        chat.wait_for_reply(chat.send(f"Title {MARKUP}"))
        chat.page.locator(SIDEBAR).locator('input[type="file"]').set_input_files(str(export))
        expect(chat.page.get_by_text("answer <img", exact=False)).to_be_visible()
        chat.wait_until_idle()
        # Each listed once, as text (to_have_count waits out a run still replacing the list).
        sidebar = chat.page.locator(SIDEBAR)
        expect(sidebar.get_by_text("Imported <img", exact=False)).to_have_count(1)
        expect(sidebar.get_by_text("Title <img", exact=False)).to_have_count(1)
        assert chat.page.evaluate("() => window.__pwned") is None
        assert chat.page.locator('img[src="x"]').count() == 0
    finally:
        context.close()


def test_the_usage_page_is_for_admins_alone(
    chromium: Browser, server_with, page_emulator: Emulator
) -> None:
    server = server_with(
        CHAT_ACCESS="header", CHAT_USER_HEADER=HEADER, CHAT_ADMINS="Boss@Example.com"
    )
    page_emulator.default = Behavior(reply="A reply of some length")
    alice_context = context_as(chromium, "alice@example.com")
    bob_context = context_as(chromium, "bob@example.com")
    boss_context = context_as(chromium, "boss@example.com")
    try:
        alice = ChatPage(alice_context.new_page(), server.url).open()
        alice.wait_for_reply(alice.send("Alice's private question"))
        alice.wait_for_reply(alice.send("And another one"))
        assert alice.page.locator(NAVIGATION).count() == 0  # no menu for her either

        bob = ChatPage(bob_context.new_page(), server.url).open()
        assert bob.page.locator(NAVIGATION).count() == 0
        assert bob.page.get_by_role("link", name="Usage").count() == 0
        bob.page.goto(server.url + "usage")  # the page's address, typed in
        bob.page.wait_for_selector(INPUT)
        bob.wait_until_idle()
        assert bob.page.get_by_role("heading", name="Usage").count() == 0
        assert bob.page.locator(METRIC).count() == 0
        assert "alice@example.com" not in bob.page.content()

        boss = ChatPage(boss_context.new_page(), server.url).open()
        boss.page.locator(NAVIGATION).get_by_role("link", name="Usage").click()
        expect(boss.page.get_by_role("heading", name="Usage")).to_be_visible()
        boss.wait_until_idle()
        expect(metric(boss, "Requests")).to_have_text("2")
        expect(metric(boss, "Reply characters")).to_have_text(
            f"{2 * len('A reply of some length')}"
        )
        expect(metric(boss, "People")).to_have_text("1")
        expect(metric(boss, "Service balance")).to_have_text(f"{page_emulator.balance:,.2f}")
        expect(boss.page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()

        with boss.page.expect_download() as download:
            boss.page.get_by_role("button", name="Download the period's requests (CSV)").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [row["person"] for row in rows] == ["alice@example.com"] * 2
        assert [row["outcome"] for row in rows] == ["complete"] * 2
        assert "private question" not in text  # sizes and outcomes, never the text
        assert AUTH_CODE not in text
    finally:
        alice_context.close()
        bob_context.close()
        boss_context.close()


def metric(chat: ChatPage, label: str):
    """The value shown under a metric's label."""
    card = chat.page.locator(METRIC).filter(
        has=chat.page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return card.get_by_test_id("stMetricValue")
