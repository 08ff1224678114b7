"""A conversation of 1,000 messages opens as a short one does (issue 26): the page draws its
latest turns, not the whole history, so opening it by its URL in a fresh tab costs within
1.5x the time and 10x the websocket bytes of a 10-message one.

Both conversations are imported through the store (as the page's import stores them), then
each is opened by its URL in a fresh browser context, alternately, several times; the medians
are compared. Ratios of the same page on the same machine hold on a busy machine too; the
absolute deadlines are only there so a hung page fails.
"""

from __future__ import annotations

import statistics

import pytest
from playwright.sync_api import Browser, expect

from chatpage.data.export import to_json
from chatpage.views.window import STEP, WINDOW
from testkit.browser import (
    REPLY_TIMEOUT_MS,
    ChatPage,
    Opening,
    StreamlitServer,
    open_measured,
)
from testkit.conversations import imported, recipe, the_end

pytestmark = pytest.mark.browser

RUNS = 5  # openings of each conversation; the medians are compared
OPEN_TIMEOUT_MS = 120_000  # only a hung page takes this long, however busy the machine
TIME_RATIO = 1.5
BYTES_RATIO = 10.0
SHOWN = '[data-testid="stChatMessage"]'


def test_a_thousand_message_conversation_opens_within_its_bars_of_a_ten_message_one(
    chromium: Browser, page_server: StreamlitServer
) -> None:
    database_url = page_server.env["DATABASE_URL"]
    sizes = {n: imported(database_url, recipe(n, f"{n} messages")) for n in (10, 1000)}

    def opening(count: int) -> Opening:
        url = f"{page_server.url}?c={sizes[count]}"
        return open_measured(chromium, url, the_end(count), OPEN_TIMEOUT_MS)

    for count in sizes:  # the server's first runs (imports, caches) count for neither
        opening(count)
    openings: dict[int, list[Opening]] = {count: [] for count in sizes}
    for _ in range(RUNS):
        for count in sizes:
            found = opening(count)
            assert found.bubbles == min(count, WINDOW), f"{count}: {found.bubbles} drawn"
            openings[count].append(found)

    def ratio(field: str) -> float:
        long, short = ([getattr(o, field) for o in openings[n]] for n in (1000, 10))
        return statistics.median(long) / statistics.median(short)

    figures = {n: [(round(o.seconds, 2), o.received) for o in found]
               for n, found in openings.items()}  # fmt: skip
    print(f"time ratio {ratio('seconds'):.2f}, bytes ratio {ratio('received'):.2f}: {figures}")
    assert ratio("seconds") <= TIME_RATIO, f"1,000 messages took longer: {figures}"
    assert ratio("received") <= BYTES_RATIO, f"1,000 messages sent more bytes: {figures}"


def test_show_earlier_in_chromium_keeps_the_message_being_read_in_view(
    chromium: Browser, page_server: StreamlitServer
) -> None:
    long = imported(page_server.env["DATABASE_URL"], recipe(200, "Two hundred"))
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        chat = ChatPage(page, f"{page_server.url}?c={long}").open()
        expect(page.locator(SHOWN)).to_have_count(WINDOW, timeout=REPLY_TIMEOUT_MS)
        reading = f"Question {(200 - WINDOW) // 2}:"  # the first message drawn
        assert reading in page.locator(SHOWN).first.inner_text()
        page.get_by_role("button", name="Show earlier messages").click()
        expect(page.locator(SHOWN)).to_have_count(WINDOW + STEP, timeout=REPLY_TIMEOUT_MS)
        chat.wait_until_idle()
        was_first = page.locator(SHOWN).nth(STEP)
        assert reading in was_first.inner_text()
        expect(was_first).to_be_in_viewport(timeout=REPLY_TIMEOUT_MS)
        assert page.url.endswith(f"?c={long}")
    finally:
        context.close()


def test_an_import_through_the_page_is_in_the_url_and_a_reload_reopens_it(
    chromium: Browser, page_server: StreamlitServer, tmp_path
) -> None:
    export = tmp_path / "chat.json"
    export.write_bytes(to_json(recipe(100, "Imported hundred")).encode())
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        chat = ChatPage(page, page_server.url).open()
        page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(export))
        expect(page.locator(SHOWN).last).to_contain_text(the_end(100), timeout=OPEN_TIMEOUT_MS)
        chat.wait_until_idle()
        assert "?c=" in page.url, f"after an import the URL is {page.url}"
        page.reload()
        expect(page.locator(SHOWN).last).to_contain_text(the_end(100), timeout=OPEN_TIMEOUT_MS)
        expect(page.locator(SHOWN)).to_have_count(WINDOW)
    finally:
        context.close()


def test_a_search_hit_deep_in_a_long_conversation_opens_with_it_in_view(
    chromium: Browser, page_server: StreamlitServer
) -> None:
    chat = recipe(200, "Deep search")
    deep = chat.messages[6]  # question 3 of 100, far above the latest turns
    deep.text = "How long does the quinoa-zanzibar broth rest?"
    imported(page_server.env["DATABASE_URL"], chat)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        chat_page = ChatPage(page, page_server.url).open()
        sidebar = page.locator('[data-testid="stSidebar"]')
        search = page.get_by_placeholder("Search titles and messages")
        search.fill("quinoa-zanzibar")
        search.press("Enter")
        # The title is listed before the search too, where it opens the conversation at its
        # latest turns: click it once the list shows the results (they have no archive link).
        archive = sidebar.get_by_role("button", name="Archived conversations")
        expect(archive).to_have_count(0, timeout=REPLY_TIMEOUT_MS)
        chat_page.wait_until_idle()
        sidebar.get_by_role("button", name="Deep search").click(timeout=REPLY_TIMEOUT_MS)
        found = page.locator(SHOWN).filter(has_text="quinoa-zanzibar broth")
        expect(found).to_be_in_viewport(timeout=OPEN_TIMEOUT_MS)
        expect(page.locator(SHOWN).last).to_contain_text(the_end(200), timeout=OPEN_TIMEOUT_MS)
        assert "?c=" in page.url
    finally:
        context.close()
