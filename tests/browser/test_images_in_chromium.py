"""Images in replies load nothing from elsewhere, in real Chromium: the bar of issue 23.

A throw-away HTTP server on another loopback port stands for "elsewhere" and counts every
request it gets. A reply (and a question) holding every kind of image markdown, and raw
`<img>`, is shown in the chat, after a reload, in the shared view, and (behind nginx, two
replicas) in the live view of a second tab while it is written; elsewhere gets no request.
Behind nginx the page also runs under the site's Content-Security-Policy: Streamlit reports
no violation of its own, KaTeX and code render, and an image made by a script is blocked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import AUTH_CODE, ChatPage, Cluster, page_env
from testkit.header_relay import behind_sign_in_proxy

from .test_cluster import sessions, settles

pytestmark = pytest.mark.browser

LINK = re.compile(r"https?://\S+\?share=[A-Za-z0-9_-]{32}")
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
# Notes every violation of the page's Content-Security-Policy, from before Streamlit loads.
VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


class Elsewhere:
    """A server on another port: what a leaking image would reach. Counts what it gets."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[Elsewhere]:
    server = Elsewhere()
    yield server
    server.close()


def reply_with_images(base: str, filler: int = 0) -> str:
    """Every way markdown (and HTML) writes an image, each to its own address."""
    return (
        f"Here is the chart: ![chart]({base}/inline.png?leak=secret-words)\n\n"
        f"![]({base}/no-alt.png)\n\n"
        f"![ref image][pic] and ![pic]\n\n"
        f'<img src="{base}/html.png"> <picture><source srcset="{base}/srcset.png"></picture>\n\n'
        f"[![nested]({base}/nested.png)]({base}/click-me)\n\n"
        f"[pic]: {base}/reference.png\n\n"
        "Formula $x^2 + y^2$ and code:\n\n```python\nif not [1]: pass\n```\n\n"
        + "The lighthouse keeper counts ships. " * filler
        + "The end."
    )


def question_with_image(base: str) -> str:
    return f"What is in ![mine]({base}/question.png)?"


def test_a_reply_with_images_fetches_nothing_from_elsewhere_in_the_chat_and_the_shared_view(
    chat: ChatPage, emulator: Emulator, elsewhere: Elsewhere
) -> None:
    emulator.default = Behavior(reply=reply_with_images(elsewhere.base), chunk_bytes=7)
    chat.open()
    index = chat.send(question_with_image(elsewhere.base))
    chat.wait_for_reply(index)
    reply = chat.messages.nth(index)
    # Shown as a link to its address, which a person can click.
    expect(reply.locator(f'a[href="{elsewhere.base}/inline.png?leak=secret-words"]')).to_have_count(
        1
    )
    expect(reply.locator(f'a[href="{elsewhere.base}/no-alt.png"]')).to_contain_text("no-alt.png")
    expect(reply.locator(".katex")).to_have_count(1)
    assert reply.locator("img").count() == 0

    chat.page.reload()  # the history's rendering
    chat.page.wait_for_selector('[data-testid="stChatInput"] textarea')
    chat.wait_until_idle()
    expect(chat.messages.nth(index)).to_contain_text("The end.")

    sidebar = chat.page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("button", name="more_vert icon").first.click()
    chat.page.get_by_role("button", name="Share", exact=True).click()
    link = chat.page.locator('[data-testid="stCode"]:visible').filter(has_text="?share=").first
    expect(link).to_be_visible()
    found = LINK.search(link.inner_text())
    assert found is not None, link.inner_text()
    shared = chat.page.context.new_page()
    shared.goto(found.group(0))
    expect(shared.get_by_text("The end.")).to_be_visible()
    ChatPage(shared, found.group(0)).wait_until_idle()
    assert shared.locator('[data-testid="stChatMessage"] img').count() == 0
    assert elsewhere.paths == [], f"fetched from elsewhere: {elsewhere.paths}"


@pytest.fixture
def cluster_of_two(page_emulator: Emulator, postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:
    env = page_env(page_emulator.base_url, AUTH_CODE, tmp_path) | {
        "DATABASE_URL": postgres_url,
        "CHAT_ACCESS": "header",
        "CHAT_USER_HEADER": "X-Forwarded-Email",
    }
    page_emulator.clear()
    cluster = Cluster(2, env, tmp_path / "cluster.log").wait_ready()
    yield cluster
    assert cluster.stop() == 0


def violations(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__violations"))


def test_behind_nginx_the_live_view_fetches_nothing_and_the_page_works_under_its_csp(
    chromium: Browser, cluster_of_two: Cluster, page_emulator: Emulator, elsewhere: Elsewhere
) -> None:
    page_emulator.default = Behavior(
        reply=reply_with_images(elsewhere.base, filler=60), chunk_bytes=20, delay=0.05
    )
    contexts: list[BrowserContext] = []

    def person() -> tuple[ChatPage, int]:
        """A tab of one person's, on the replica nginx gives it, noting CSP violations."""
        before = sessions(cluster_of_two)
        context, url = behind_sign_in_proxy(
            chromium,
            cluster_of_two.url,
            {"X-Forwarded-Email": "reader@example.com"},
            viewport={"width": 1280, "height": 900},
            locale="en-US",
        )
        contexts.append(context)
        context.add_init_script(VIOLATIONS)
        chat = ChatPage(context.new_page(), url).open()

        def grown() -> list[int]:
            return [k for k, n in sessions(cluster_of_two).items() if n > before[k]]

        assert settles(lambda: len(grown()) == 1), "no one replica took the tab's session"
        return chat, grown()[0]

    try:
        first, first_replica = person()
        second, second_replica = person()
        assert first_replica != second_replica  # so the second tab reads the reply live
        index = first.send(question_with_image(elsewhere.base))
        first.page.wait_for_url("**?c=*")
        conversation = first.page.evaluate("() => new URLSearchParams(location.search).get('c')")
        second.page.goto(f"{second.url}?c={conversation}")
        live = second.messages.nth(index)
        expect(live.get_by_text("being written", exact=False)).to_be_visible(timeout=30_000)
        expect(live).to_contain_text("Here is the chart", timeout=30_000)
        expect(live.locator(f'a[href^="{elsewhere.base}/inline.png"]')).to_have_count(1)
        first.wait_for_reply(index)
        expect(second.messages.nth(index)).to_contain_text("The end.", timeout=30_000)

        # The page works under the policy: rendered, formula and code, and no violation.
        reply = first.messages.nth(index)
        expect(reply.locator(".katex")).to_have_count(1)
        expect(reply.locator("code", has_text="if not [1]: pass")).to_have_count(1)
        assert first.page.evaluate("() => document.fonts.check('16px \"Source Sans\"')")
        assert violations(first.page) == [], violations(first.page)
        assert violations(second.page) == []
        icon = first.page.evaluate("() => document.querySelector('link[rel*=icon]').href")
        assert icon.startswith("data:image/png;base64,"), icon  # the page's own, not Google's

        # The policy is in force: an image a script adds is blocked, and reported.
        first.page.evaluate(
            "url => { const i = new Image(); i.src = url; document.body.appendChild(i); }",
            f"{elsewhere.base}/scripted.png",
        )
        first.page.wait_for_function("() => window.__violations.length > 0")
        assert violations(first.page) == [f"img-src {elsewhere.base}/scripted.png"]
        assert elsewhere.paths == [], f"fetched from elsewhere: {elsewhere.paths}"
    finally:
        for context in contexts:
            context.close()
