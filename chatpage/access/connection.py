"""Whether a browser session's connection may be served at all, before asking who it is.

Checked on each page run against the headers and peer of the request that opened the
session's websocket (Streamlit keeps the upgrade request's headers as `st.context.headers`),
so a websocket opened under a foreign host name is refused as the page would be:

- **Host** (DNS rebinding): a web page a person visits can point its own name at 127.0.0.1
  and read a local page from their browser, with the name it was opened by in `Host`. So the
  default local mode serves only the loopback names (`localhost`, `*.localhost`, `127.0.0.1`,
  `[::1]`, any port), plus CHAT_ALLOWED_HOSTS; other modes serve the names CHAT_ALLOWED_HOSTS
  lists, or any when it is unset. A request without Host is no browser's (every browser sends
  it), so it cannot be a rebinding page: it is let through to the other checks.
- **The proxy's secret**: with CHAT_PROXY_SECRET set, every request must carry it in
  `X-Chat-Proxy-Secret`, so another user of the same machine cannot go around the proxy.
- **The user header** (header mode): only a peer in CHAT_TRUSTED_PROXIES (loopback by
  default) may name the user; anyone else sending it is refused, not just ignored.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from chatpage.settings import HOST_NAME_MAX, Settings

SECRET_HEADER = "X-Chat-Proxy-Secret"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
Refusal = Literal["foreign_host", "proxy_secret", "untrusted_proxy"]


def refusal(settings: Settings, headers: Mapping[str, str], ip_address: object) -> Refusal | None:
    """Why this connection is not served, or None when it may go on to the access gate."""
    if not host_allowed(settings, _header(headers, "Host")):
        return "foreign_host"
    if settings.proxy_secret is not None and not _same(
        _header(headers, SECRET_HEADER), settings.proxy_secret
    ):
        return "proxy_secret"
    if (
        settings.access == "header"
        and _header(headers, settings.user_header or "")
        and not trusted_peer(settings, ip_address)
    ):
        return "untrusted_proxy"
    return None


def host_allowed(settings: Settings, host: str | None) -> bool:
    """Whether a request's Host (None: none sent) names this page."""
    if not host:
        return True
    name = host_name(host)
    if name is None:
        return False
    if settings.access == "local" and _loopback_name(name):
        return True
    if not settings.allowed_hosts:
        return settings.access != "local"
    return any(_matches(name, pattern) for pattern in settings.allowed_hosts)


def loopback_host(host: str | None) -> bool:
    """Whether a Host header (None: none sent) names this machine's loopback, any port."""
    if not host:
        return True
    name = host_name(host)
    return name is not None and _loopback_name(name)


def _loopback_name(name: str) -> bool:
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def host_name(host: str) -> str | None:
    """The host name of a Host header (`Example.COM.:8501` -> `example.com`, `[::1]:80` ->
    `::1`), or None for anything that is not a plain host and optional port."""
    host = host.strip()
    if not host or len(host) > HOST_NAME_MAX + 8 or any(c <= " " or c > "~" for c in host):
        return None
    try:
        parts = urlsplit("//" + host)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        return None
    name = parts.hostname
    if not name or parts.username is not None or parts.password is not None:
        return None
    if parts.path or parts.query or parts.fragment or "%" in name:
        return None
    return name.rstrip(".") or None


def trusted_peer(settings: Settings, ip_address: object) -> bool:
    """Whether the connection's peer is one of CHAT_TRUSTED_PROXIES.

    `st.context.ip_address` is None for a 127.0.0.1 or ::1 peer (Streamlit hides loopback;
    also a Unix socket's peer, which is on this machine), else the peer's address as text.
    """
    if not isinstance(ip_address, str) or not ip_address:
        peer: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address("127.0.0.1")
    else:
        try:
            peer = ipaddress.ip_address(ip_address.strip("[]"))
        except ValueError:
            return False
    mapped = getattr(peer, "ipv4_mapped", None)
    peer = mapped or peer
    return any(peer in network for network in settings.trusted_proxies)


def _matches(name: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


def _same(given: str, secret: str) -> bool:
    """Compared in constant time, so the time taken tells nothing about the secret."""
    return hmac.compare_digest(given.encode(), secret.encode())


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.strip().lower()
    if not wanted:
        return ""
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value).strip()
    return ""
