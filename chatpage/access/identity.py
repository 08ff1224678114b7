"""Who is using the page, and so whose conversations they see.

- `local` (no CHAT_ACCESS): one local user, and only a visitor on this machine is let in
  (a loopback connection that no proxy forwarded); anyone else is shown how to open the
  page to others. So a page served without settings shares nobody's conversations.
- `open`: everyone who can reach the page is the one local user and shares everything.
- `login`: Streamlit's OpenID Connect sign-in; each person sees only their own.
- `header`: the user named by a trusted reverse proxy's header; each person sees only their
  own. The header counts only from CHAT_TRUSTED_PROXIES, with the proxy's secret if one is
  set (chatpage/access/connection.py refuses it from anyone else before this module is asked).
In a public demo (`CHAT_DEMO=1`) an anonymous visitor's conversations belong to their browser
session alone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatpage.access.connection import trusted_peer
from chatpage.settings import Settings

LOCAL_OWNER = "local"  # the one user of a page in `open` or `local` access mode
DEMO_PREFIX = "demo:"  # owners of anonymous public-demo visitors, purged after a while
OWNER_MAX_CHARS = 320
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


@dataclass(frozen=True)
class Visitor:
    """The person behind this browser session, as far as the page can tell."""

    owner: str  # the key their conversations are stored under
    name: str | None = None  # what the sidebar shows; None for the local user
    signed_in: bool = False  # True when a sign-out makes sense
    quota_key: str | None = None  # whose usage counts against the demo limits
    # Where everyone shares one owner (CHAT_ACCESS=open), the browser session: per-person
    # bounds count it, since the page cannot tell people apart.
    session: str | None = None
    # May see the usage page and is not limited: named in CHAT_ADMINS, or the local user of
    # a page that serves only its own machine (whoever runs it is its operator).
    admin: bool = False


def identify(
    settings: Settings,
    *,
    headers: Mapping[str, str],
    user: Mapping[str, Any] | None,
    session_key: str,
    ip_address: str | None = None,
) -> Visitor | None:
    """The visitor, or None when they must sign in (login) or be refused (header, local)."""
    if settings.access == "login":
        account = _account(user, several_providers=len(settings.login_providers) > 1)
        if account is None:
            return None
        who, verified_email = account
        owner = "user:" + who[:OWNER_MAX_CHARS]
        name = str(user.get("name") or user.get("email") or who)  # type: ignore[union-attr]
        admin = who.lower() in settings.admins or verified_email in settings.admins
        return Visitor(owner, name=name, signed_in=True, quota_key=owner, admin=admin)
    if settings.access == "header":
        value = _header(headers, settings.user_header or "")
        if not value:
            return None
        owner = "header:" + value.lower()[:OWNER_MAX_CHARS]
        admin = value.lower() in settings.admins
        return Visitor(owner, name=value, quota_key=owner, admin=admin)
    if settings.public_demo:
        # Anonymous visitors: private to their session; limits follow their address if known.
        address = _address(ip_address, headers, via_proxy=trusted_peer(settings, ip_address))
        return Visitor(DEMO_PREFIX + session_key, quota_key=quota_network(address) or session_key)
    if settings.access == "open":
        return Visitor(LOCAL_OWNER, session=session_key)
    if not is_local(ip_address, headers):
        return None
    return Visitor(LOCAL_OWNER, admin=True)


def is_local(ip_address: str | None, headers: Mapping[str, str]) -> bool:
    """Whether the visitor is on this machine: a loopback peer, and no proxy in between.

    Streamlit gives no address for a loopback peer. A proxy on this machine connects from
    loopback too, but adds X-Forwarded-For, Forwarded or X-Real-IP (nginx, Caddy, Apache
    and the cloud load balancers do), so its visitors are not taken for local ones.
    """
    if isinstance(ip_address, str) and ip_address and not is_loopback(ip_address):
        return False  # (AppTest gives a stand-in object, not a string)
    return not any(_header(headers, name) for name in PROXY_HEADERS)


def is_loopback(host: str) -> bool:
    """A loopback address, also as IPv6 writes an IPv4 one (`::ffff:127.0.0.1`).

    `streamlit run app.py` listens on both families, so a browser opening 127.0.0.1 arrives
    as `::ffff:127.0.0.1`, which Streamlit does not take for loopback (nor Python 3.11).
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def quota_network(address: str | None) -> str | None:
    """Whose demo limits a visitor's address counts against: an IPv4 address itself; for IPv6
    its /64, the smallest network one household or server is given, so that the addresses
    of one network do not each get a quota of their own."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.removeprefix("ip:").strip("[]"))
    except ValueError:
        return address  # not an address (no other kind is made): counted as it is
    mapped = getattr(parsed, "ipv4_mapped", None)
    if mapped is not None:
        return f"ip:{mapped}"
    if parsed.version == 6:
        return f"ip:{ipaddress.ip_network(f'{parsed}/64', strict=False)}"
    return f"ip:{parsed}"


def _account(
    user: Mapping[str, Any] | None, *, several_providers: bool = False
) -> tuple[str, str | None] | None:
    """The signed-in account's stable key, and its e-mail address if the provider proved it.

    An e-mail names a person only when the provider says `email_verified` is true: a provider
    that lets a person type any address (a tenant of Microsoft Entra, which sends no such
    claim, sets the one it likes) would otherwise let them open another's conversations or
    be an admin. Anyone else is keyed by issuer and subject, which only their provider issues.
    Where `[auth]` configures several providers, a verified address from a named one is
    prefixed with its issuer too, so two providers never share an owner; `[auth]`'s own client
    keeps the bare address, which is what every earlier sign-in used (the page signed in
    through that client alone), so existing conversations keep their owners.
    """
    if not user or not user.get("is_logged_in"):
        return None
    issuer = str(user.get("iss") or user.get("provider") or "oidc").strip()
    email = str(user.get("email") or "").strip().lower()
    if email and _verified(user.get("email_verified")):
        if several_providers and user.get("provider", "default") != "default":
            return f"{issuer}|{email}", email
        return email, email
    subject = str(user.get("sub") or "").strip()
    if not subject:
        return None
    return f"{issuer}|{subject}", None


def _verified(claim: object) -> bool:
    """`email_verified` as providers send it: JSON true, or the string "true" (Cognito)."""
    return claim is True or (isinstance(claim, str) and claim.strip().lower() == "true")


def network_address(ip_address: str | None, headers: Mapping[str, str]) -> str | None:
    """The visitor's network address as `ip:<address>`, or None where it is not known."""
    return _address(ip_address, headers)


def _address(
    ip_address: str | None, headers: Mapping[str, str], *, via_proxy: bool | None = None
) -> str | None:
    """The visitor's network address, for counting demo use across reloads.

    Behind a reverse proxy the page trusts (CHAT_TRUSTED_PROXIES; by default one on this
    machine, whose peer address Streamlit gives as None), the address that proxy saw: the
    last hop it added to X-Forwarded-For. From anyone else the header is a claim, and the
    socket's peer counts. None on a plain localhost visit: limits then follow the session.
    """
    if via_proxy is None:
        via_proxy = not ip_address
    hops = [hop.strip() for hop in _header(headers, "X-Forwarded-For").split(",") if hop.strip()]
    if via_proxy and hops:
        return "ip:" + hops[-1]
    if isinstance(ip_address, str) and ip_address:
        return "ip:" + ip_address
    return None


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.strip().lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value).strip()
    return ""
