"""Which connections the page serves at all: host names, the proxy's secret, trusted proxies."""

from __future__ import annotations

import pytest

from chatpage.access.connection import SECRET_HEADER, host_allowed, refusal, trusted_peer
from chatpage.settings import Settings, load_settings

HEADER = "X-Forwarded-Email"
SECRET = "s3cret-of-the-proxy-0123456789"


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8501", "LOCALHOST.", "chat.localhost:80", "127.0.0.1:8501",
     "[::1]:8501", "[::1]", None, ""],
)  # fmt: skip
def test_default_mode_serves_the_loopback_names_on_any_port(host: str | None) -> None:
    assert host_allowed(Settings(), host)


@pytest.mark.parametrize(
    "host",
    ["rebind.test:8501", "127.0.0.2", "[::ffff:127.0.0.1]:8501", "localhost.evil.example",
     "evil.example@localhost", "local host", "0.0.0.0:8501", "localhost:port", "x" * 300],
)  # fmt: skip
def test_default_mode_refuses_any_other_host_name(host: str) -> None:
    assert not host_allowed(Settings(), host)
    assert refusal(Settings(), {"Host": host}, None) == "foreign_host"


def test_an_allow_list_is_the_only_names_a_team_page_answers_to() -> None:
    settings = load_settings(
        [{"CHAT_ACCESS": "header", "CHAT_USER_HEADER": HEADER,
          "CHAT_ALLOWED_HOSTS": "Chat.Example.com, *.corp.example"}]
    )  # fmt: skip
    assert settings.problems == ()
    assert host_allowed(settings, "chat.example.com:443")
    assert host_allowed(settings, "eu.corp.example")
    assert not host_allowed(settings, "corp.example.evil")
    assert not host_allowed(settings, "localhost:8501")
    assert host_allowed(Settings(access="header"), "anything.example")  # no list: any name


def test_in_the_default_mode_the_allow_list_adds_names() -> None:
    settings = Settings(allowed_hosts=("laptop.lan",))
    assert host_allowed(settings, "laptop.lan:8501")
    assert host_allowed(settings, "localhost:8501")
    assert not host_allowed(settings, "rebind.test")


@pytest.mark.parametrize("address", [None, "::ffff:127.0.0.1", "127.0.0.9", "::1"])
def test_loopback_in_any_spelling_is_a_trusted_proxy_by_default(address: str | None) -> None:
    assert trusted_peer(Settings(), address)


def test_a_user_header_from_an_untrusted_peer_is_refused_not_ignored() -> None:
    settings = Settings(access="header", user_header=HEADER)
    assert refusal(settings, {HEADER: "boss@example.com"}, "192.0.2.4") == "untrusted_proxy"
    assert refusal(settings, {}, "192.0.2.4") is None  # no header: the gate asks for it
    assert refusal(settings, {HEADER: "boss@example.com"}, None) is None  # loopback proxy


def test_trusted_proxies_name_addresses_and_networks() -> None:
    settings = load_settings(
        [{"CHAT_ACCESS": "header", "CHAT_USER_HEADER": HEADER,
          "CHAT_TRUSTED_PROXIES": "10.1.0.0/16, 192.0.2.7"}]
    )  # fmt: skip
    assert settings.problems == ()
    headers = {HEADER: "alice@example.com"}
    assert refusal(settings, headers, "10.1.200.3") is None
    assert refusal(settings, headers, "192.0.2.7") is None
    assert refusal(settings, headers, "::ffff:192.0.2.7") is None
    assert refusal(settings, headers, None) == "untrusted_proxy"  # loopback is not listed
    assert refusal(settings, headers, "192.0.2.8") == "untrusted_proxy"


def test_with_a_proxy_secret_every_request_must_carry_it() -> None:
    settings = load_settings(
        [{"CHAT_ACCESS": "header", "CHAT_USER_HEADER": HEADER, "CHAT_PROXY_SECRET": SECRET}]
    )
    assert settings.problems == ()
    alice = {HEADER: "alice@example.com"}
    assert refusal(settings, alice | {SECRET_HEADER: SECRET}, None) is None
    assert refusal(settings, alice | {SECRET_HEADER.lower(): SECRET}, None) is None
    assert refusal(settings, alice, None) == "proxy_secret"
    assert refusal(settings, alice | {SECRET_HEADER: SECRET[:-1]}, None) == "proxy_secret"
    assert refusal(settings, alice | {SECRET_HEADER: "ÿ" + SECRET}, None) == "proxy_secret"
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"CHAT_TRUSTED_PROXIES": "127.0.0.1, nginx"}, "'nginx' is neither"),
        ({"CHAT_ALLOWED_HOSTS": "chat.example.com/path"}, "CHAT_ALLOWED_HOSTS must list"),
        ({"CHAT_PROXY_SECRET": "short"}, "at least 16 printable"),
        ({"CHAT_ACCESS": "", "CHAT_PROXY_SECRET": SECRET}, "is for a page behind a proxy"),
    ],
)
def test_a_bad_boundary_setting_is_named(values: dict[str, str], words: str) -> None:
    settings = load_settings([{"CHAT_ACCESS": "open"} | values])
    assert any(words in problem for problem in settings.problems), settings.problems
    assert all(SECRET not in problem and "short" not in problem for problem in settings.problems)
