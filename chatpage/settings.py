"""Where the page's configuration comes from: `st.secrets` first, then the environment.

The same names work in both places, so a hosted demo sets them as secrets and a team's
server as environment variables. The auth code is kept out of every repr. A value that
cannot be used is reported by name in `problems`, and the page shows them instead of
starting half-configured.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import make_url

from chatpage.access.limits import CONTROL_CHARS, FILE_MAX_BYTES, MESSAGE_MAX_CHARS
from chatpage.database.usage import Allowance
from liaobots_core import ConfigurationError
from liaobots_core.client import clean_base_url

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# `local` is what no CHAT_ACCESS means: `open`, but only for a visitor on this machine.
AccessMode = Literal["local", "open", "login", "header"]
ACCESS_MODES: tuple[AccessMode, ...] = ("open", "login", "header")  # what CHAT_ACCESS may say
# Upper bounds on numbers: far beyond any real use, and safe in every database and timer.
NUMBER_MAX = 1_000_000_000
CHARS_MAX = 10_000_000  # a message; a websocket frame holds it with room to spare
HOURS_MAX = 24 * 365 * 100
FILE_BYTES_MAX = 100 * 1024 * 1024  # an attached file is read whole in the app process
USER_LIMITS = (  # setting, what it counts, over which period
    ("CHAT_USER_PER_DAY", "requests", "day"),
    ("CHAT_USER_PER_MONTH", "requests", "month"),
    ("CHAT_USER_CHARS_PER_DAY", "chars", "day"),
    ("CHAT_USER_CHARS_PER_MONTH", "chars", "month"),
)
DATABASE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Who may name the user in a header by default: a proxy on this machine (IPv4-mapped loopback,
# ::ffff:127.0.0.1, is matched as the IPv4 address it holds).
LOOPBACK_NETWORKS: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
HOST_NAME_MAX = 253


@dataclass(frozen=True)
class DemoLimits:
    """What one visitor of a public demo may spend of the operator's code."""

    per_minute: int = 5
    per_day: int = 50
    max_chars: int = 4000
    max_turns: int = 30
    retention_hours: float = 24.0
    imports_per_day: int = 10  # conversations one visitor may import in a day
    import_bytes_per_day: int = 4 * 1024 * 1024  # and the bytes of those files, together


@dataclass(frozen=True)
class Settings:
    auth_code: str | None = field(default=None, repr=False)
    base_url: str | None = None
    offline_demo: bool = False
    guest: bool = False  # each browser session signs in as a guest when no code is in use
    database_url: str | None = field(default=None, repr=False)
    # Where the notice listener connects when the pool goes through a transaction-mode pooler.
    database_listen_url: str | None = field(default=None, repr=False)
    data_dir: Path | None = None  # the default SQLite file's folder (CHAT_DATA_DIR)
    max_message_chars: int = MESSAGE_MAX_CHARS
    max_file_bytes: int = FILE_MAX_BYTES  # one attached file
    access: AccessMode = "local"
    user_header: str | None = None
    # Peers that may name the user in `user_header` (header mode): the proxy's addresses.
    trusted_proxies: tuple[Network, ...] = LOOPBACK_NETWORKS
    # When set, every request must carry it (X-Chat-Proxy-Secret): only the proxy knows it.
    proxy_secret: str | None = field(default=None, repr=False)
    # Host names served besides the loopback ones in local mode; in other modes, when given,
    # the only ones. Lower case, without port; `*.example.com` covers the subdomains.
    allowed_hosts: tuple[str, ...] = ()
    # The sign-in providers of `[auth]` (login mode): "default" is `[auth]`'s own client.
    login_providers: tuple[str, ...] = ("default",)
    public_demo: bool = False
    demo: DemoLimits = field(default_factory=DemoLimits)
    # Replies written at once: by one person (across processes), and by this app process.
    max_background_replies: int = 3
    max_process_replies: int = 100
    shutdown_grace_seconds: float = 20.0  # for replies to finish when the process must exit
    # What each signed-in person may spend (login and header modes); admins are exempt.
    user_limits: tuple[Allowance, ...] = ()
    admins: frozenset[str] = frozenset()  # e-mail addresses or header values, lower case
    low_balance: float | None = None  # admins are warned when the balance falls below it
    problems: tuple[str, ...] = ()

    @property
    def has_server_code(self) -> bool:
        return bool(self.auth_code)

    @property
    def message_limit(self) -> int:
        """The longest message this page accepts from a person."""
        if self.public_demo:
            return min(self.max_message_chars, self.demo.max_chars)
        return self.max_message_chars


def load_settings(sources: Sequence[Mapping[str, Any]]) -> Settings:
    """Read settings from the first source that has each name (secrets, then environment)."""
    problems: list[str] = []
    unreadable: set[int] = set()

    def get(name: str) -> str | None:
        for index, source in enumerate(sources):
            if index in unreadable:
                continue
            try:
                value = source.get(name)
            except Exception:  # st.secrets raises when no secrets file exists
                # and looks for the files again on each read: once a page run is enough.
                unreadable.add(index)
                continue
            if value is not None and str(value).strip():
                return str(value).strip()
        return None

    def flag(name: str) -> bool:
        value = (get(name) or "").lower()
        if value and value not in TRUE_WORDS | FALSE_WORDS:
            problems.append(f"{name} must be 1 or 0 (it is {_shown(value)}).")
        return value in TRUE_WORDS

    def number(
        name: str, default: float | None, *, whole: bool = True, most: int = NUMBER_MAX
    ) -> Any:
        value = get(name)
        if value is None:
            return default
        try:
            parsed = int(value) if whole else float(value)
        except ValueError:  # also an int of more than 4300 digits
            parsed = -1
        if not 0 < parsed <= most:  # NaN and infinity fail this too
            problems.append(
                f"{name} must be a positive number, at most {most:,} (it is {_shown(value)})."
            )
            return default
        return parsed

    access = (get("CHAT_ACCESS") or "local").lower()
    if access not in (*ACCESS_MODES, "local"):
        modes = ", ".join(ACCESS_MODES)
        problems.append(f"CHAT_ACCESS must be one of {modes} (it is {_shown(access)}).")
        access = "local"
    user_header = get("CHAT_USER_HEADER")
    if access == "header" and not user_header:
        problems.append("CHAT_ACCESS=header needs CHAT_USER_HEADER, e.g. X-Forwarded-Email.")
    if access == "login" and not _has_auth_section(sources):
        problems.append(
            "CHAT_ACCESS=login needs an [auth] section in .streamlit/secrets.toml "
            "(redirect_uri, cookie_secret, client_id, client_secret, server_metadata_url)."
        )
    trusted_proxies = _networks(get("CHAT_TRUSTED_PROXIES"), problems)
    proxy_secret = get("CHAT_PROXY_SECRET")
    if proxy_secret is not None:
        if access == "local":
            problems.append(
                "CHAT_PROXY_SECRET is for a page behind a proxy: set CHAT_ACCESS too "
                "(header, login or open); the default serves only this machine's browser."
            )
        if len(proxy_secret) < 16 or not all(" " < c <= "~" for c in proxy_secret):
            problems.append(  # never shown: it is a secret
                "CHAT_PROXY_SECRET must be at least 16 printable ASCII characters without "
                "spaces (e.g. the output of `openssl rand -hex 32`)."
            )
            proxy_secret = None
    allowed_hosts = _host_patterns(get("CHAT_ALLOWED_HOSTS"), problems)
    base_url = get("LIAOBOTS_BASE_URL")
    if base_url is not None:
        try:
            base_url = clean_base_url(base_url)
        except ConfigurationError as problem:
            problems.append(f"LIAOBOTS_BASE_URL: {problem}")
            base_url = None
    auth_code = get("LIAOBOTS_AUTH_CODE")
    if auth_code is not None and not all(" " <= c <= "~" for c in auth_code):
        problems.append(  # never shown: it is the secret
            "LIAOBOTS_AUTH_CODE holds characters no auth code has (control characters or "
            "letters outside ASCII)."
        )
    database_url = get("DATABASE_URL")
    if database_url is not None:
        problem = _database_url_problem(database_url)
        if problem:
            problems.append(problem)
    database_listen_url = get("DATABASE_LISTEN_URL")
    if database_listen_url is not None:
        problem = _listen_url_problem(database_listen_url, database_url)
        if problem:
            problems.append(problem)
    public_demo = flag("CHAT_DEMO")
    guest = flag("LIAOBOTS_GUEST")
    if public_demo and guest and auth_code is not None:
        problems.append(
            "CHAT_DEMO=1 runs on LIAOBOTS_GUEST=1 (a guest sign-in per visitor) or on "
            "LIAOBOTS_AUTH_CODE (the operator's code), not both: remove one."
        )
    defaults = DemoLimits()
    user_limits = tuple(
        Allowance(measure, period, allowed)  # type: ignore[arg-type]
        for name, measure, period in USER_LIMITS
        if (allowed := number(name, None)) is not None
    )
    if user_limits and access not in ("login", "header"):
        names = ", ".join(name for name, _, _ in USER_LIMITS if get(name))
        problems.append(
            f"{names} limit each signed-in person, so they need CHAT_ACCESS=login or header "
            "(in other modes the page cannot tell people apart)."
        )
    admins = frozenset(
        part.strip().lower() for part in (get("CHAT_ADMINS") or "").split(",") if part.strip()
    )
    return Settings(
        auth_code=auth_code,
        base_url=base_url,
        offline_demo=flag("LIAOBOTS_OFFLINE_DEMO"),
        guest=guest,
        database_url=database_url,
        database_listen_url=database_listen_url,
        data_dir=Path(data_dir) if (data_dir := get("CHAT_DATA_DIR")) else None,
        max_message_chars=number("CHAT_MAX_MESSAGE_CHARS", MESSAGE_MAX_CHARS, most=CHARS_MAX),
        max_file_bytes=number("CHAT_MAX_FILE_BYTES", FILE_MAX_BYTES, most=FILE_BYTES_MAX),
        access=access,  # type: ignore[arg-type]
        user_header=user_header,
        trusted_proxies=trusted_proxies,
        proxy_secret=proxy_secret,
        allowed_hosts=allowed_hosts,
        login_providers=_login_providers(sources) if access == "login" else ("default",),
        public_demo=public_demo,
        demo=DemoLimits(
            per_minute=number("CHAT_DEMO_PER_MINUTE", defaults.per_minute),
            per_day=number("CHAT_DEMO_PER_DAY", defaults.per_day),
            max_chars=number("CHAT_DEMO_MAX_CHARS", defaults.max_chars, most=CHARS_MAX),
            max_turns=number("CHAT_DEMO_MAX_TURNS", defaults.max_turns),
            retention_hours=number(
                "CHAT_DEMO_RETENTION_HOURS", defaults.retention_hours, whole=False, most=HOURS_MAX
            ),
            imports_per_day=number("CHAT_DEMO_IMPORTS_PER_DAY", defaults.imports_per_day),
            import_bytes_per_day=number(
                "CHAT_DEMO_IMPORT_BYTES_PER_DAY", defaults.import_bytes_per_day
            ),
        ),
        max_background_replies=number("CHAT_MAX_BACKGROUND_REPLIES", 3),
        max_process_replies=number("CHAT_MAX_PROCESS_REPLIES", 100),
        shutdown_grace_seconds=number("CHAT_SHUTDOWN_GRACE_SECONDS", 20.0, whole=False),
        user_limits=user_limits,
        admins=admins,
        low_balance=number("LIAOBOTS_LOW_BALANCE", None, whole=False),
        problems=tuple(problems),
    )


def _shown(value: str) -> str:
    """A value as a problem quotes it: short enough to read."""
    return repr(value if len(value) <= 60 else value[:59] + "…")


def _database_url_problem(url: str) -> str | None:
    """Why DATABASE_URL cannot be used, without repeating it (it may hold a password)."""
    if CONTROL_CHARS.search(url):
        return "DATABASE_URL holds control characters."
    try:
        driver = make_url(url).drivername
    except Exception:  # ArgumentError, or ValueError for a port that is not a number
        driver = None
    if driver not in DATABASE_DRIVERS:
        return (
            "DATABASE_URL must be a SQLite or PostgreSQL address, like "
            "sqlite:///data/chat.sqlite3 or postgresql://user:password@host:5432/dbname."
        )
    return None


def _listen_url_problem(url: str, database_url: str | None) -> str | None:
    """Why DATABASE_LISTEN_URL cannot be used, without repeating either address."""
    if CONTROL_CHARS.search(url):
        return "DATABASE_LISTEN_URL holds control characters."
    if not _is_postgresql(url):
        return (
            "DATABASE_LISTEN_URL must be a PostgreSQL address, like "
            "postgresql://user:password@db-host:5432/dbname (the database itself, not a "
            "transaction-mode pooler: LISTEN needs a session of its own)."
        )
    if database_url is None or not _is_postgresql(database_url):
        return "DATABASE_LISTEN_URL is for a PostgreSQL DATABASE_URL: set that too, or remove it."
    return None


def _is_postgresql(url: str) -> bool:
    try:
        return make_url(url).get_backend_name() == "postgresql"
    except Exception:  # ArgumentError, or ValueError for a port that is not a number
        return False


def _networks(value: str | None, problems: list[str]) -> tuple[Network, ...]:
    """CHAT_TRUSTED_PROXIES: addresses or networks, comma-separated; loopback when unset."""
    if value is None:
        return LOOPBACK_NETWORKS
    networks: list[Network] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip("[]"), strict=False))
        except ValueError:
            problems.append(
                "CHAT_TRUSTED_PROXIES must list addresses or networks, like "
                f"127.0.0.1, 10.0.0.0/8 or ::1 ({_shown(part)} is neither)."
            )
    return tuple(networks) or LOOPBACK_NETWORKS


def _host_patterns(value: str | None, problems: list[str]) -> tuple[str, ...]:
    """CHAT_ALLOWED_HOSTS: host names (a port is ignored), `*.example.com` for subdomains."""
    from chatpage.access.connection import host_name  # the same parsing as a request's Host header

    patterns: list[str] = []
    for part in (p.strip() for p in (value or "").split(",")):
        if not part:
            continue
        wildcard = part.startswith("*.")
        name = host_name(part[2:] if wildcard else part)
        if name is None:
            problems.append(
                "CHAT_ALLOWED_HOSTS must list host names, like chat.example.com or "
                f"*.example.com ({_shown(part)} is not one)."
            )
            continue
        patterns.append("*." + name if wildcard else name)
    return tuple(patterns)


def _login_providers(sources: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The sign-in providers `[auth]` configures: its own client ("default"), then each
    `[auth.<name>]` table that names a client, in the order written."""
    for source in sources:
        try:
            section = source.get("auth")
        except Exception:
            continue
        if isinstance(section, Mapping) and section:
            named = [
                str(name)
                for name, value in section.items()
                if isinstance(value, Mapping) and value.get("client_id")
            ]
            own = ["default"] if section.get("client_id") else []
            return tuple(own + named) or ("default",)
    return ("default",)


def _has_auth_section(sources: Sequence[Mapping[str, Any]]) -> bool:
    """Whether Streamlit's sign-in is configured (`[auth]` exists only in secrets)."""
    for source in sources:
        try:
            section = source.get("auth")
        except Exception:
            continue
        if isinstance(section, Mapping) and section:
            return True
    return False
