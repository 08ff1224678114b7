"""Sign-in (`CHAT_ACCESS=login`) in real Chromium, end to end.

A real `streamlit run app.py` signs people in with Streamlit's own OpenID Connect code
(`st.login`, authorization code flow with PKCE) against a real provider running in this
process (`testkit/oidc_provider.py`): the browser is sent to the provider's form, comes back
with a code, and Streamlit exchanges it and checks the signed ID token. Nothing is mocked.
Alice and Bob use separate browser contexts, so separate cookies and Streamlit sessions.
"""

from __future__ import annotations

import importlib.util
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.oidc_provider import Client, OIDCProvider

from .conftest import (
    _FAILED,
    APP,
    AUTH_CODE,
    INPUT,
    REPLY_TIMEOUT_MS,
    ChatPage,
    ResponseLog,
    StreamlitServer,
    WebSocketLog,
    page_env,
)

pytestmark = pytest.mark.browser

CLIENT_ID = "liaobots-chat-tests"
CLIENT_SECRET = "client-secret-" + secrets.token_hex(16)
COOKIE_SECRET = "cookie-secret-" + secrets.token_hex(24)
USERS = {
    "alice": {"email": "alice@example.com", "name": "Alice"},
    "bob": {"email": "bob@example.com", "name": "Bob"},
}
# Alice's words appear nowhere else, so finding one in Bob's browser is a leak. Bob searches
# for ALICE_WORD himself, so his own frames carry that one; the markers he never types.
ALICE_MESSAGE = "marmalade zeppelin plan, ask the lighthouse keeper"
ALICE_WORD = "marmalade"
ALICE_REPLY = "Noted: the quince harbour schedule."
ALICE_MARKERS = ("lighthouse", "quince harbour")
BOB_MESSAGE = "zeppelin timetable for bob"
SIDEBAR = '[data-testid="stSidebar"]'
AUTH_COOKIES = ("_streamlit_user", "_streamlit_user_tokens")
TIMEOUT = REPLY_TIMEOUT_MS


@dataclass(frozen=True)
class Site:
    """The signed-in page and the provider it trusts."""

    server: StreamlitServer
    provider: OIDCProvider
    database: Path

    @property
    def url(self) -> str:
        return self.server.url

    def secrets(self) -> list[str]:
        """What must never reach a browser: the app's secrets and every token issued so far."""
        found = [CLIENT_SECRET, COOKIE_SECRET]
        for issued in self.provider.issued:
            found += [issued.id_token, issued.access_token]
        return found

    def owner_of(self, conversation_id: str) -> str | None:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT owner FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        return None if row is None else str(row[0])


@dataclass(frozen=True)
class Visit:
    """One person's browser: a context of its own, with every frame and response it saw."""

    context: BrowserContext
    page: Page
    chat: ChatPage
    frames: WebSocketLog
    responses: ResponseLog


@dataclass(frozen=True)
class AliceChat:
    conversation_id: str
    title: str


def secrets_toml(redirect_uri: str, metadata_url: str) -> str:
    values = {
        "redirect_uri": redirect_uri,
        "cookie_secret": COOKIE_SECRET,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "server_metadata_url": metadata_url,
    }  # JSON strings of these characters are valid TOML basic strings
    return "[auth]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


@pytest.fixture(scope="module")
def site(page_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not any(importlib.util.find_spec(name) for name in ("httpx", "httpx2")):
        pytest.fail(
            "Streamlit's sign-in (Authlib's Starlette client) needs httpx: install "
            "streamlit[auth] (Authlib and httpx), or the page answers /auth/login with a 500",
            pytrace=False,
        )
    data_dir = tmp_path_factory.mktemp("login")
    env = page_env(page_emulator.base_url, AUTH_CODE, data_dir)
    env["CHAT_ACCESS"] = "login"
    secrets_file = data_dir / "secrets.toml"
    log_path = data_dir / "streamlit.log"  # at debug level: the most the page would ever log
    server = StreamlitServer(APP, env, log_path, log_level="debug", secrets_file=secrets_file)
    redirect_uri = f"http://127.0.0.1:{server.port}/oauth2callback"  # the port is known already
    with OIDCProvider(USERS, [Client(CLIENT_ID, CLIENT_SECRET, (redirect_uri,))]) as provider:
        secrets_file.write_text(secrets_toml(redirect_uri, provider.metadata_url))
        with server:
            yield Site(server, provider, data_dir / "chat.sqlite3")


def new_visit(browser: Browser, site: Site) -> Visit:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    return Visit(context, page, ChatPage(page, site.url), WebSocketLog(page), ResponseLog(page))


@pytest.fixture
def visit(
    chromium: Browser, site: Site, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Visit]]:
    """Opens fresh browser contexts; on failure each leaves a screenshot and its websocket
    frames behind."""
    visits: list[Visit] = []

    def open_one() -> Visit:
        visits.append(new_visit(chromium, site))
        return visits[-1]

    yield open_one
    for number, opened in enumerate(visits):
        if request.node.stash.get(_FAILED, False):
            shot = Path("/tmp") / f"chat-browser-{request.node.name}-{number}.png"
            opened.page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failed page: {shot}")
            print(f"browser {number} at {opened.page.url}, its websocket frames (CI keeps no")
            print(f"screenshot):\n{opened.frames.story()}")
        opened.context.close()


def sign_in(visit: Visit, site: Site, username: str, path: str = "") -> None:
    """Through the provider's form and back, as a person does it."""
    page = visit.page
    page.goto(site.url + path)
    page.get_by_role("button", name="Sign in").click(timeout=TIMEOUT)
    page.wait_for_url(re.compile(re.escape(f"{site.provider.issuer}/authorize") + r"\?"))
    page.get_by_label("Username").fill(username)
    page.get_by_role("button", name="Continue").click()
    signed_in = page.locator(SIDEBAR).get_by_text(f"Signed in as {USERS[username]['name']}")
    expect(signed_in).to_be_visible(timeout=TIMEOUT)
    page.wait_for_selector(INPUT, timeout=TIMEOUT)
    visit.chat.wait_until_idle()


def send_and_wait(visit: Visit, text: str) -> tuple[str, str]:
    """Send a message; returns the reply and the id of the conversation it is stored in."""
    index = visit.chat.send(text)
    reply = visit.chat.wait_for_reply(index)
    conversation_id = visit.page.wait_for_function(
        "() => new URLSearchParams(location.search).get('c')", timeout=TIMEOUT
    ).json_value()
    return reply, str(conversation_id)


def listed(page: Page, conversation_id: str) -> int:
    """How many entries of the sidebar's list open this conversation."""
    return page.locator(f"{SIDEBAR} .st-key-open_{conversation_id}").count()


def leaked(visit: Visit) -> list[str]:
    """Alice's markers found in any websocket frame of this browser, either way."""
    return [m for m in ALICE_MARKERS if any(m.encode() in f.data for f in visit.frames.frames)]


def assert_no_secrets(site: Site, *visits: Visit) -> None:
    """No secret in any websocket frame, page, response body, script-readable cookie, or log."""
    hidden = site.secrets()
    for visit in visits:  # the signed auth cookies themselves must stay out of reach too
        hidden += [c["value"] for c in visit.context.cookies() if c["name"] in AUTH_COOKIES]
    assert len(site.provider.issued) > 0, "no token was issued: nothing was checked"
    for visit in visits:
        assert visit.frames.frames, "no websocket frame was recorded"
        for frame in visit.frames.frames:
            for secret in hidden:
                assert secret.encode() not in frame.data, f"a secret in a {frame.direction} frame"
        content = visit.page.content()
        for url, body in visit.responses.bodies():
            for secret in hidden:
                assert secret.encode() not in body, f"a secret in the response body of {url}"
        for secret in hidden:
            assert secret not in content, "a secret in the page"
        script_cookies = str(visit.page.evaluate("document.cookie"))
        assert not any(name in script_cookies for name in AUTH_COOKIES), "auth cookie not HttpOnly"
    log = site.server.log_bytes()
    for secret in hidden:
        assert secret.encode() not in log, "a secret in the page's log"


@pytest.fixture(scope="module")
def alice_chat(chromium: Browser, site: Site, page_emulator: Emulator) -> Iterator[AliceChat]:
    """Alice has signed in once and has one conversation, stored under her account."""
    page_emulator.clear()
    page_emulator.default = Behavior()
    page_emulator.enqueue(Behavior(reply=ALICE_REPLY))
    alice = new_visit(chromium, site)
    try:
        sign_in(alice, site, "alice")
        reply, conversation_id = send_and_wait(alice, ALICE_MESSAGE)
        assert ALICE_REPLY in reply
        expect(alice.page.locator(f"{SIDEBAR} .st-key-open_{conversation_id}")).to_be_visible()
        yield AliceChat(conversation_id, ALICE_MESSAGE)
    finally:
        alice.context.close()


def test_before_sign_in_only_the_sign_in_button_shows(
    site: Site, alice_chat: AliceChat, visit: Callable[[], Visit]
) -> None:
    stranger = visit()
    page = stranger.page
    page.goto(f"{site.url}?c={alice_chat.conversation_id}")  # even with a link to her chat

    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT)
    stranger.chat.wait_until_idle()
    main = page.locator('[data-testid="stMain"]')  # the page's own area, not Streamlit's toolbar
    expect(main.get_by_role("button", name="Sign in")).to_be_visible()
    assert main.get_by_role("button").count() == 1  # the Sign in button, and nothing else
    app = page.locator('[data-testid="stApp"]')
    assert app.locator("input, textarea").count() == 0  # no chat input, search or code field
    assert page.locator(SIDEBAR).count() == 0  # no conversation list, no settings
    assert page.locator('[data-testid="stChatMessage"]').count() == 0
    assert page.get_by_text("Signed in as").count() == 0
    assert page.get_by_text("Conversations", exact=True).count() == 0
    assert not any(word in page.content() for word in (ALICE_WORD, *ALICE_MARKERS))
    assert not leaked(stranger)
    assert_no_secrets(site, stranger)


def test_alice_signs_in_chats_and_finds_it_listed(
    site: Site, emulator: Emulator, visit: Callable[[], Visit]
) -> None:
    alice = visit()
    issued_before = len(site.provider.issued)
    sign_in(alice, site, "alice")

    issued = site.provider.issued[issued_before:]
    assert [(i.username, i.client_id) for i in issued] == [("alice", CLIENT_ID)]
    assert issued[0].pkce_method == "S256"  # Streamlit used PKCE, as the metadata offered
    assert site.provider.refusals == []
    page = alice.page
    expect(page.locator(SIDEBAR).get_by_role("button", name="Sign out")).to_be_visible()

    emulator.enqueue(Behavior(reply="Reply for Alice: the otter ledger is balanced."))
    reply, conversation_id = send_and_wait(alice, "otter ledger question from alice")

    assert "otter ledger is balanced" in reply
    assert emulator.chat_requests[-1].headers["x-auth-code"] == AUTH_CODE
    entry = page.locator(f"{SIDEBAR} .st-key-open_{conversation_id}")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("otter ledger question from alice")
    assert site.owner_of(conversation_id) == "user:alice@example.com"
    assert_no_secrets(site, alice)


def test_bob_sees_none_of_alices_conversations(
    site: Site, alice_chat: AliceChat, emulator: Emulator, visit: Callable[[], Visit]
) -> None:
    bob = visit()
    sign_in(bob, site, "bob")
    page = bob.page
    sidebar = page.locator(SIDEBAR)

    assert listed(page, alice_chat.conversation_id) == 0
    assert alice_chat.title not in sidebar.inner_text()
    _, bob_id = send_and_wait(bob, BOB_MESSAGE)
    expect(sidebar.locator(f".st-key-open_{bob_id}")).to_be_visible()
    assert listed(page, alice_chat.conversation_id) == 0
    assert site.owner_of(bob_id) == "user:bob@example.com"
    assert site.owner_of(alice_chat.conversation_id) == "user:alice@example.com"

    # Searching for her words finds nothing; a word they share finds only his own.
    search = sidebar.get_by_placeholder("Search titles and messages")
    search.fill(ALICE_WORD)
    search.press("Enter")
    expect(sidebar.get_by_text("Nothing matches this search.")).to_be_visible(timeout=TIMEOUT)
    bob.chat.wait_until_idle()
    assert listed(page, bob_id) == 0
    search.fill("zeppelin")
    search.press("Enter")
    expect(sidebar.get_by_text("Nothing matches this search.")).to_have_count(0, timeout=TIMEOUT)
    expect(sidebar.locator(f".st-key-open_{bob_id}")).to_be_visible()
    bob.chat.wait_until_idle()
    assert listed(page, alice_chat.conversation_id) == 0

    # Her link, opened by him: "not found", and none of her text.
    page.goto(f"{site.url}?c={alice_chat.conversation_id}")
    expect(page.get_by_text("That conversation was not found")).to_be_visible(timeout=TIMEOUT)
    expect(sidebar.get_by_text("Signed in as Bob")).to_be_visible()
    bob.chat.wait_until_idle()
    assert page.locator('[data-testid="stChatMessage"]').count() == 0
    page.wait_for_function("() => !new URLSearchParams(location.search).has('c')")
    assert not any(word in page.content() for word in (ALICE_WORD, *ALICE_MARKERS))
    assert not leaked(bob)
    assert_no_secrets(site, bob)


def test_alice_signs_out_and_is_back_at_the_sign_in_screen(
    site: Site, alice_chat: AliceChat, visit: Callable[[], Visit]
) -> None:
    alice = visit()
    sign_in(alice, site, "alice")
    page = alice.page
    # Her conversations follow her account into a new browser, not the browser she used.
    expect(page.locator(f"{SIDEBAR} .st-key-open_{alice_chat.conversation_id}")).to_be_visible()
    assert {c["name"] for c in alice.context.cookies()} >= set(AUTH_COOKIES)
    assert_no_secrets(site, alice)
    logouts_before = len(site.provider.logouts)

    alice.frames.note("clicking Sign out")
    page.locator(SIDEBAR).get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT)
    alice.chat.wait_until_idle()
    assert page.locator(INPUT).count() == 0
    assert page.locator(SIDEBAR).count() == 0
    assert page.get_by_text("Signed in as").count() == 0
    assert ALICE_WORD not in page.content()
    assert not {c["name"] for c in alice.context.cookies()} & set(AUTH_COOKIES)
    assert site.provider.logouts[logouts_before:] == ["alice"]  # signed out at the provider too

    page.reload()  # nothing left in the browser signs her back in
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT)
    alice.chat.wait_until_idle()
    assert page.locator(INPUT).count() == 0
    assert page.locator(SIDEBAR).count() == 0

    # The next person at the same browser sees nothing of hers.
    since = alice.frames.mark()
    sign_in(alice, site, "bob")
    assert listed(page, alice_chat.conversation_id) == 0
    assert not any(word in page.content() for word in (ALICE_WORD, *ALICE_MARKERS))
    assert not any(ALICE_WORD.encode() in f.data for f in alice.frames.frames[since:])
    assert_no_secrets(site, alice)
