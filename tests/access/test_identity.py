"""Who the page thinks the visitor is, in each access mode."""

from __future__ import annotations

import ipaddress

import pytest

from chatpage.access.identity import identify
from chatpage.operations.server import from_this_machine
from chatpage.settings import Settings


def test_default_mode_is_one_local_user_on_this_machine() -> None:
    visitor = identify(Settings(), headers={}, user=None, session_key="s1")
    assert visitor is not None
    assert visitor.owner == "local"
    assert visitor.session is None  # one person: bounds count their replies, not tabs


@pytest.mark.parametrize(
    ("headers", "ip_address"),
    [
        ({"X-Forwarded-For": "203.0.113.9"}, None),
        ({"x-forwarded-for": "127.0.0.1"}, None),  # even a proxy on this machine forwards
        ({"Forwarded": "for=198.51.100.7"}, None),
        ({"X-Real-IP": "198.51.100.7"}, None),
        ({}, "192.0.2.4"),  # a direct connection from another computer
    ],
)
def test_default_mode_lets_no_one_in_from_another_computer(
    headers: dict[str, str], ip_address: str | None
) -> None:
    visitor = identify(
        Settings(), headers=headers, user=None, session_key="s", ip_address=ip_address
    )
    assert visitor is None


@pytest.mark.parametrize("address", ["::ffff:127.0.0.1", "::1", "127.0.0.1"])
def test_default_mode_takes_a_loopback_peer_in_any_spelling_for_local(address: str) -> None:
    # `streamlit run app.py` listens on both families: 127.0.0.1 arrives as ::ffff:127.0.0.1.
    visitor = identify(Settings(), headers={}, user=None, session_key="s", ip_address=address)
    assert visitor is not None
    assert visitor.owner == "local"
    assert from_this_machine(address, {})


def test_explicit_open_mode_serves_everyone_as_one_user_counted_by_session() -> None:
    settings = Settings(access="open")
    remote = identify(
        settings, headers={"X-Forwarded-For": "203.0.113.9"}, user=None, session_key="s1"
    )
    other = identify(settings, headers={}, user=None, session_key="s2", ip_address="192.0.2.4")
    assert remote is not None
    assert other is not None
    assert remote.owner == other.owner == "local"
    assert (remote.session, other.session) == ("s1", "s2")


def test_header_mode_reads_the_named_header_case_insensitively() -> None:
    settings = Settings(access="header", user_header="X-Forwarded-Email")
    visitor = identify(
        settings, headers={"x-forwarded-email": " Alice@Example.com "}, user=None, session_key="s"
    )
    assert visitor is not None
    assert visitor.owner == "header:alice@example.com"
    assert visitor.name == "Alice@Example.com"


def test_header_mode_without_the_header_lets_nobody_in() -> None:
    settings = Settings(access="header", user_header="X-Forwarded-Email")
    assert identify(settings, headers={"X-Other": "x"}, user=None, session_key="s") is None
    assert (
        identify(settings, headers={"X-Forwarded-Email": "  "}, user=None, session_key="s") is None
    )


def test_login_mode_needs_a_signed_in_user_and_keys_them_by_email() -> None:
    settings = Settings(access="login")
    assert identify(settings, headers={}, user={"is_logged_in": False}, session_key="s") is None
    user = {
        "is_logged_in": True,
        "email": "Bob@Example.com",
        "email_verified": True,
        "name": "Bob",
        "sub": "42",
    }
    visitor = identify(settings, headers={}, user=user, session_key="s")
    assert visitor is not None
    assert visitor.owner == "user:bob@example.com"
    assert visitor.signed_in


def test_demo_visitors_are_private_to_their_session_and_counted_by_address() -> None:
    settings = Settings(public_demo=True)
    one = identify(settings, headers={}, user=None, session_key="s1", ip_address="203.0.113.9")
    two = identify(settings, headers={}, user=None, session_key="s2", ip_address="203.0.113.9")
    assert one is not None
    assert two is not None
    assert one.owner != two.owner
    assert one.quota_key == two.quota_key == "ip:203.0.113.9"


def test_demo_behind_a_local_proxy_counts_the_address_the_proxy_saw() -> None:
    settings = Settings(public_demo=True)
    headers = {"X-Forwarded-For": "10.9.9.9, 198.51.100.7"}
    visitor = identify(settings, headers=headers, user=None, session_key="s", ip_address=None)
    assert visitor is not None
    assert visitor.quota_key == "ip:198.51.100.7"


def test_demo_on_plain_localhost_counts_per_session() -> None:
    visitor = identify(Settings(public_demo=True), headers={}, user=None, session_key="s9")
    assert visitor is not None
    assert visitor.quota_key == "s9"


def test_login_mode_ignores_an_unverified_email_and_keys_by_subject() -> None:
    user = {
        "is_logged_in": True,
        "email": "alice@example.com",
        "email_verified": False,
        "iss": "https://id.example",
        "sub": "mallory-7",
    }
    visitor = identify(Settings(access="login"), headers={}, user=user, session_key="s")
    assert visitor is not None
    assert visitor.owner == "user:https://id.example|mallory-7"


ENTRA = "https://login.microsoftonline.com/9f1e-tenant/v2.0"


@pytest.mark.parametrize("claim", [None, False, "false", "yes", 1])
def test_login_mode_takes_no_email_as_proven_without_email_verified_true(claim: object) -> None:
    # A tenant that sets the address it likes: no `email_verified`, or not true.
    settings = Settings(access="login", admins=frozenset({"ceo@corp.example"}))
    user = {"is_logged_in": True, "iss": ENTRA, "sub": "AbC-9", "email": "CEO@corp.example"}
    if claim is not None:
        user["email_verified"] = claim
    visitor = identify(settings, headers={}, user=user, session_key="s")
    assert visitor is not None
    assert visitor.owner == f"user:{ENTRA}|AbC-9"
    assert not visitor.admin


@pytest.mark.parametrize("claim", [True, "true", "TRUE"])
def test_login_mode_keys_a_verified_email_and_makes_the_admin_an_admin(claim: object) -> None:
    settings = Settings(access="login", admins=frozenset({"ceo@corp.example"}))
    user = {"is_logged_in": True, "iss": "https://accounts.google.com", "sub": "1"}
    user |= {"email": "CEO@corp.example", "email_verified": claim}
    visitor = identify(settings, headers={}, user=user, session_key="s")
    assert visitor is not None
    assert visitor.owner == "user:ceo@corp.example"
    assert visitor.admin


def test_an_admin_without_a_verified_email_is_named_by_issuer_and_subject() -> None:
    settings = Settings(access="login", admins=frozenset({f"{ENTRA}|abc-9".lower()}))
    user = {"is_logged_in": True, "iss": ENTRA, "sub": "AbC-9", "email": "boss@corp.example"}
    visitor = identify(settings, headers={}, user=user, session_key="s")
    assert visitor is not None
    assert visitor.admin


def test_with_several_providers_a_named_providers_owners_include_its_issuer() -> None:
    settings = Settings(access="login", login_providers=("default", "partner"))
    verified = {"is_logged_in": True, "email": "alice@corp.example", "email_verified": True}
    own = identify(settings, headers={}, user=verified | {"provider": "default"}, session_key="s")
    partner = identify(
        settings,
        headers={},
        user=verified | {"provider": "partner", "iss": "https://partner.example", "sub": "7"},
        session_key="s",
    )
    assert own is not None
    assert partner is not None
    assert own.owner == "user:alice@corp.example"  # `[auth]`'s own client: as before
    assert partner.owner == "user:https://partner.example|alice@corp.example"


def test_demo_visitors_of_one_ipv6_64_share_one_quota_and_ipv4_counts_each_address() -> None:
    settings = Settings(public_demo=True)

    def key(address: str, session: str = "s") -> str | None:
        visitor = identify(settings, headers={}, user=None, session_key=session, ip_address=address)
        assert visitor is not None
        return visitor.quota_key

    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff:ffff:ffff:fffe", "t")
    assert key("2001:db8:1:2::1") == "ip:2001:db8:1:2::/64"
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")  # the next /64 is someone else
    assert key("203.0.113.9") != key("203.0.113.10")
    assert key("::ffff:203.0.113.9") == key("203.0.113.9") == "ip:203.0.113.9"


def test_demo_behind_a_local_proxy_counts_an_ipv6_visitor_by_their_64() -> None:
    headers = {"X-Forwarded-For": "2001:db8:aa:bb:1:2:3:4"}
    visitor = identify(
        Settings(public_demo=True), headers=headers, user=None, session_key="s", ip_address=None
    )
    assert visitor is not None
    assert visitor.quota_key == "ip:2001:db8:aa:bb::/64"


def test_demo_counts_x_forwarded_for_only_from_a_trusted_proxy() -> None:
    headers = {"X-Forwarded-For": "198.51.100.7"}

    def key(settings: Settings, peer: str | None) -> str | None:
        visitor = identify(settings, headers=headers, user=None, session_key="s", ip_address=peer)
        assert visitor is not None
        return visitor.quota_key

    demo = Settings(public_demo=True)
    assert key(demo, None) == "ip:198.51.100.7"  # nginx on this machine: the address it saw
    assert key(demo, "203.0.113.9") == "ip:203.0.113.9"  # a stranger's header is a claim
    proxied = Settings(public_demo=True, trusted_proxies=(ipaddress.ip_network("10.0.0.5/32"),))
    assert key(proxied, "10.0.0.5") == "ip:198.51.100.7"
    assert key(proxied, None) == "s"  # loopback is no longer a trusted proxy: no address
