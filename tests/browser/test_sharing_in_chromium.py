"""A shared link in real Chromium, on a team page behind a proxy (`header` mode)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import INPUT, ChatPage

from .test_access_header_demo import SIDEBAR, context_as, server_with  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

LINK = re.compile(r"https?://\S+\?share=([A-Za-z0-9_-]{32})")
REPLY = "Step one: **chop** the beets.\n\n- beets\n- cabbage"


def test_a_shared_link_is_read_only_for_a_colleague_and_gone_once_stopped(
    chromium: Browser,
    server_with,  # noqa: F811 (the fixture imported above)
    page_emulator: Emulator,
) -> None:
    server = server_with(CHAT_ACCESS="header", CHAT_USER_HEADER="X-Forwarded-Email")
    page_emulator.default = Behavior(reply=REPLY)
    alice_context = context_as(chromium, "alice@example.com")
    bob_context = context_as(chromium, "bob@example.com")
    stranger_context = context_as(chromium, None)
    try:
        alice = ChatPage(alice_context.new_page(), server.url).open()
        alice.wait_for_reply(alice.send("Alice's borscht recipe"))
        sidebar = alice.page.locator(SIDEBAR)
        sidebar.get_by_role("button", name="more_vert icon").first.click()  # its ⋮ menu
        # Asked at Share: her name is shown only as she chooses (files' text: not ticked).
        alice.page.get_by_text("Show my name (alice@example.com)").click()
        alice.page.get_by_role("button", name="Share", exact=True).click()
        link = alice.page.locator('[data-testid="stCode"]').filter(has_text="?share=").first
        expect(link).to_be_visible()
        found = LINK.search(link.inner_text())
        assert found is not None, link.inner_text()
        url, token = found.group(0), found.group(1)
        assert url.startswith(server.url)  # the page's own address, from st.context.url

        bob = bob_context.new_page()
        bob.goto(url)
        expect(bob.get_by_text("Shared by alice@example.com")).to_be_visible()
        expect(bob.locator('[data-testid="stChatMessage"]')).to_have_count(2)
        expect(bob.locator("strong", has_text="chop")).to_be_visible()  # markdown, rendered
        ChatPage(bob, url).wait_until_idle()
        assert bob.locator(INPUT).count() == 0
        assert bob.get_by_role("button", name="Edit").count() == 0
        assert bob.get_by_role("button", name="Regenerate").count() == 0
        expect(bob.get_by_role("button", name="Continue in my own chat")).to_be_visible()

        copying = ChatPage(bob_context.new_page(), url)  # another tab of Bob's: his own copy
        copying.page.goto(url)
        copying.page.get_by_role("button", name="Continue in my own chat").click()
        copying.page.wait_for_selector(INPUT)
        copying.page.wait_for_url("**?c=*")
        copying.wait_until_idle()
        expect(copying.messages).to_have_count(2)
        assert copying.text(0) == "Alice's borscht recipe"

        alice.page.get_by_role("button", name="Stop sharing").click()  # in the same menu
        expect(alice.page.get_by_role("button", name="Share", exact=True)).to_be_visible()

        bob.reload()
        expect(bob.get_by_text("This shared conversation was not found.")).to_be_visible()
        ChatPage(bob, url).wait_until_idle()
        assert "borscht" not in bob.content()
        assert bob.locator('[data-testid="stChatMessage"]').count() == 0

        stranger = stranger_context.new_page()
        stranger.goto(url)
        expect(stranger.get_by_text("only available through your team's sign-in")).to_be_visible()
        assert "borscht" not in stranger.content()
        assert token not in server.log_text()  # the token stays out of the log
    finally:
        alice_context.close()
        bob_context.close()
        stranger_context.close()
