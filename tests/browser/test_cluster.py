"""Several app processes behind nginx on one PostgreSQL, as `scripts/cluster` runs them.

Newcomers take turns over the replicas (even from one address, as here on loopback) and each stays
on theirs; a replica killed with `kill -9` mid-reply hands its people to another replica,
where the reply is found saved up to about a second before the kill, marked interrupted, with
Continue, while people on the other replica never notice.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import signal
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import Browser, BrowserContext, expect

from chatpage.data.conversation import Status
from chatpage.database.conversations import ConversationStore
from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import AUTH_CODE, ChatPage, Cluster, free_port, page_env, squash
from testkit.header_relay import behind_sign_in_proxy
from testkit.postgres import controllable_server

pytestmark = pytest.mark.browser

HEADER = "X-Forwarded-Email"
CHARS_PER_SECOND = 400  # 20 ASCII characters every 50 ms
KILL_AFTER_CHARS = 3 * CHARS_PER_SECOND
WAIT_SECONDS = 60  # for a page, a note or an answer on a machine ten times slower


@pytest.fixture
def start_cluster(
    page_emulator: Emulator, postgres_url: str, tmp_path: Path
) -> Iterator[Callable[..., Cluster]]:
    """Start `scripts/cluster --replicas 2` with these settings (header mode by default)."""
    started: list[Cluster] = []

    def start(
        database_url: str = postgres_url, options: tuple[str, ...] = (), **settings: str
    ) -> Cluster:
        env = page_env(page_emulator.base_url, AUTH_CODE, tmp_path) | {
            "DATABASE_URL": database_url,
            "CHAT_ACCESS": "header",
            "CHAT_USER_HEADER": HEADER,
            **settings,
        }
        log = tmp_path / f"cluster-{len(started)}.log"
        started.append(Cluster(2, env, log, options))
        return started[-1].wait_ready()

    page_emulator.clear()
    page_emulator.default = Behavior()
    yield start
    for running in started:
        assert running.stop() == 0


@pytest.fixture
def cluster(start_cluster: Callable[..., Cluster]) -> Cluster:
    return start_cluster()


def settles(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether `condition` holds within `timeout` (polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def sessions(cluster: Cluster) -> dict[int, int]:
    return {replica.number: replica.sessions() for replica in cluster.replicas}


def open_person(
    chromium: Browser, cluster: Cluster, email: str
) -> tuple[BrowserContext, ChatPage, int]:
    """A new person's browser on the cluster, and the replica their session landed on."""
    before = sessions(cluster)
    context, url = behind_sign_in_proxy(
        chromium, cluster.url, {HEADER: email}, viewport={"width": 1280, "height": 900},
        locale="en-US",
    )  # fmt: skip
    chat = ChatPage(context.new_page(), url).open()

    def grown() -> list[int]:
        return [k for k, n in sessions(cluster).items() if n > before[k]]

    if not settles(lambda: len(grown()) == 1):
        raise AssertionError(
            f"no one replica took {email}'s session: {before} -> {sessions(cluster)}"
        )
    return context, chat, grown()[0]


def people_on_both(
    chromium: Browser, cluster: Cluster, count: int = 2
) -> list[tuple[BrowserContext, ChatPage, int]]:
    """`count` new people, who take turns over the replicas (nginx's round robin for browsers
    without a replica cookie): replicas a, b, a, b ..."""
    people = [open_person(chromium, cluster, f"person{i}@example.com") for i in range(count)]
    landed = [replica for _, _, replica in people]
    first, second = landed[0], 3 - landed[0]
    assert landed == [first, second] * (count // 2) + [first] * (count % 2), landed
    return people


def test_newcomers_take_turns_over_the_replicas_and_each_stays_on_theirs(
    chromium: Browser, cluster: Cluster
) -> None:
    people = people_on_both(chromium, cluster, count=4)
    try:
        (_, first, _), (_, second, _) = people[0], people[1]
        first.wait_for_reply(first.send("First person's question"))
        second.wait_for_reply(second.send("Second person's question"))
        for chat, own, other in (
            (first, "First person's question", "Second person's question"),
            (second, "Second person's question", "First person's question"),
        ):
            sidebar = chat.page.locator('[data-testid="stSidebar"]')
            expect(sidebar.get_by_text(own)).to_have_count(1)
            expect(sidebar.get_by_text(other)).to_have_count(0)

        before = sessions(cluster)
        first.page.reload()  # the same browser: its cookie brings it back to its replica
        first.page.wait_for_selector('[data-testid="stChatInput"] textarea')
        first.wait_until_idle()
        expect(first.messages.first).to_contain_text("First person's question")
        # Once the old websocket's close has reached its replica, nothing else moved.
        assert settles(lambda: sessions(cluster) == before), f"{before} -> {sessions(cluster)}"
    finally:
        for context, _, _ in people:
            context.close()


def fetch(url: str) -> tuple[int, str]:
    """(status, body) of a GET straight to this machine, an error status included."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(url, timeout=WAIT_SECONDS) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_each_replicas_metrics_have_a_loopback_address_and_none_are_public(
    cluster: Cluster,
) -> None:
    for replica in cluster.replicas:
        status, body = fetch(f"{cluster.url}_replica/{replica.number}/metrics")
        assert status == 200, body
        assert "liaobots_chat_replies_started_total" in body
        direct_status, _ = fetch(f"http://127.0.0.1:{replica.port}/metrics")
        assert direct_status == 200
    for path in ("metrics", "metrics/", "metrics?x=1", "%6detrics"):
        status, body = fetch(cluster.url + path)
        assert status == 404, path
        assert "liaobots_chat" not in body, path
    assert fetch(cluster.url + "_stcore/health") == (200, "ok")


def long_reply(label: str) -> str:
    return "".join(
        f"{label} sentence {i} goes on about the lighthouse keeper. " for i in range(100)
    )


def test_a_replica_killed_mid_reply_loses_nothing_and_others_never_notice(
    chromium: Browser, cluster: Cluster, page_emulator: Emulator
) -> None:
    page_emulator.default = Behavior(reply=long_reply("Story"), chunk_bytes=20, delay=0.05)
    people = people_on_both(chromium, cluster, count=4)  # two on each replica
    try:
        doomed = people[-1][2]
        victims = [chat for _, chat, replica in people if replica == doomed]
        bystanders = [chat for _, chat, replica in people if replica != doomed]
        reconnects: list[str] = []
        for chat in bystanders:
            chat.page.on("websocket", lambda ws: reconnects.append(ws.url))

        asked = [(chat, chat.send(f"A long question from {n}")) for n, chat in enumerate(victims)]
        calm = [(chat, chat.send("A calm question")) for chat in bystanders]
        for chat, index in asked:
            chat.page.wait_for_function(
                "([i, n]) => window.__chatTest.text(i).length >= n",
                arg=[index, KILL_AFTER_CHARS],
                timeout=30_000,
            )
        shown_at_kill = [squash(chat.text(index)) for chat, index in asked]
        os.kill(cluster.replicas[doomed - 1].pid, signal.SIGKILL)

        # Each victim's browser reconnects through nginx to the other replica, which reopens
        # its conversation from the URL: the reply is there, then marked interrupted.
        for (chat, index), shown in zip(asked, shown_at_kill, strict=True):
            reply = chat.messages.nth(index)
            expect(reply.get_by_text("Interrupted", exact=False)).to_be_visible(timeout=30_000)
            expect(reply.get_by_role("button", name="Continue", exact=True)).to_be_visible()
            recovered = squash(chat.text(index))
            assert squash(long_reply("Story")).startswith(recovered)
            assert len(recovered) >= len(shown) - int(1.25 * CHARS_PER_SECOND), (
                f"shown at the kill: {len(shown)} characters; found: {len(recovered)}"
            )
        for chat, index in calm:
            chat.wait_for_reply(index)
            assert squash(chat.text(index)) == squash(long_reply("Story"))
        assert reconnects == [], f"pages on the live replica reconnected: {reconnects}"

        # And the conversation goes on there.
        page_emulator.default = Behavior(reply="Still here, on the other replica.")
        for chat, _ in asked:
            chat.wait_for_reply(after := chat.send("Are you still there?"))
            assert "Still here" in chat.text(after)
    finally:
        for context, _, _ in people:
            context.close()


def test_demo_limits_hold_across_replicas(
    chromium: Browser, start_cluster: Callable[..., Cluster], page_emulator: Emulator
) -> None:
    # One visitor's address (loopback here, through nginx's X-Forwarded-For) on two replicas.
    cluster = start_cluster(CHAT_ACCESS="open", CHAT_DEMO="1", CHAT_DEMO_PER_MINUTE="2")
    people = people_on_both(chromium, cluster)
    try:
        (_, first, _), (_, second, _) = people
        first.wait_for_reply(first.send("Первый вопрос"))
        second.wait_for_reply(second.send("Второй вопрос"))
        third = first.send("Третий вопрос")
        first.wait_for_button(third, "Retry")
        expect(first.page.get_by_text("Demo limit: at most 2 messages a minute")).to_be_visible()
        assert len(page_emulator.chat_requests) == 2
    finally:
        for context, _, _ in people:
            context.close()


def test_a_database_outage_mid_reply_loses_nothing(
    chromium: Browser, start_cluster: Callable[..., Cluster], page_emulator: Emulator
) -> None:
    full = long_reply("Outage")
    page_emulator.default = Behavior(reply=full, chunk_bytes=20, delay=0.05)
    with controllable_server() as database:
        cluster = start_cluster(database.url)
        context, chat, _ = open_person(chromium, cluster, "outage@example.com")
        try:
            index = chat.send("A question during an outage")
            chat.page.wait_for_function(
                "([i, n]) => window.__chatTest.text(i).length >= n", arg=[index, 400]
            )
            conversation = chat.page.evaluate("() => new URLSearchParams(location.search).get('c')")
            database.stop()
            note = chat.messages.nth(index).get_by_text("The database cannot be reached")
            expect(note).to_be_visible(timeout=WAIT_SECONDS * 1000)
            during = len(chat.text(index))
            chat.page.wait_for_function(  # the reply goes on while the database is away
                "([i, n]) => window.__chatTest.text(i).length >= n", arg=[index, during + 400]
            )
            database.start()
            chat.wait_for_reply(index)
            expect(note).to_have_count(0)
            assert squash(chat.text(index)) == squash(full)

            def saved_whole() -> bool:
                store = ConversationStore(database.url)
                try:
                    loaded = store.load(conversation, "header:outage@example.com")
                finally:
                    store.close()
                last = loaded.last if loaded is not None else None
                return last is not None and last.status is Status.COMPLETE and last.text == full

            assert settles(saved_whole, timeout=30), "the reply is not whole in the database"
        finally:
            context.close()
            cluster.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "liaobots-chat test")])
    now = datetime.now(UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "certificate.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_the_site_serves_https_alone_with_hsts_and_secure_cookies_and_needs_its_secret(
    chromium: Browser, start_cluster: Callable[..., Cluster], tmp_path: Path
) -> None:
    certificate, key = self_signed_certificate(tmp_path)
    http_port = free_port()
    secret = secrets.token_hex(32)
    cluster = start_cluster(
        options=("--tls", "--http-port", str(http_port), "--certificate", str(certificate),
                 "--certificate-key", str(key)),
        CHAT_PROXY_SECRET=secret,
        CHAT_ALLOWED_HOSTS="localhost,127.0.0.1",
    )  # fmt: skip
    assert cluster.url == f"https://127.0.0.1:{cluster.port}/"

    # Plain HTTP only points to HTTPS.
    plain = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirects())
    with pytest.raises(urllib.error.HTTPError) as redirect:
        plain.open(f"http://127.0.0.1:{http_port}/?c=abc", timeout=WAIT_SECONDS)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"] == f"{cluster.url}?c=abc"

    # HTTPS, checked against the certificate: HSTS, and the replica cookie only over TLS.
    trusted = ssl.create_default_context(cafile=str(certificate))
    tls = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=trusted)
    )
    with tls.open(cluster.url, timeout=WAIT_SECONDS) as answer:
        assert answer.status == 200
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
        route = [c for c in answer.headers.get_all("Set-Cookie") if c.startswith("lbchat_")]
        assert len(route) == 1, route
        assert "; Secure" in route[0], route

    context, url = behind_sign_in_proxy(
        chromium, cluster.url, {HEADER: "alice@example.com"}, certificate=(certificate, key),
        viewport={"width": 1280, "height": 900}, locale="en-US", ignore_https_errors=True,
    )  # fmt: skip
    try:
        chat = ChatPage(context.new_page(), url).open()  # the websocket, over TLS
        expect(chat.page.get_by_text("Signed in as alice@example.com")).to_be_visible()
        chat.wait_for_reply(chat.send("Over TLS"))
        cookies = {c["name"]: c["secure"] for c in context.cookies()}
        assert {"lbchat_route", "_streamlit_xsrf"} <= cookies.keys(), cookies
        assert all(cookies.values()), cookies  # nginx's own and Streamlit's: Secure

        # Around nginx, straight to a replica, the header without the secret gets no chat.
        around = context.new_page()
        around.goto(f"http://127.0.0.1:{cluster.replicas[0].port}/")
        expect(around.get_by_text("only from your team's sign-in proxy")).to_be_visible()
        assert around.locator('[data-testid="stChatInput"]').count() == 0
        assert secret not in around.content()
    finally:
        context.close()
