"""Settings, fuzzed: secrets of any TOML type and environment values of any text give usable
settings or problems that name the setting, never an exception; the page shows the problems
and does nothing else, and never repeats a secret.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
from hypothesis import assume, event, example, given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from chatpage.access.connection import host_name
from chatpage.database.conversations import make_engine
from chatpage.settings import CHARS_MAX, HOURS_MAX, NUMBER_MAX, load_settings
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Emulator
from testkit.apptest import APP, TIMEOUT
from testkit.fuzzing import TYPED, fuzz_settings

SECRET = "s3cr3t"
NAMES = [
    "LIAOBOTS_AUTH_CODE",
    "LIAOBOTS_BASE_URL",
    "LIAOBOTS_OFFLINE_DEMO",
    "DATABASE_URL",
    "CHAT_MAX_MESSAGE_CHARS",
    "CHAT_ACCESS",
    "CHAT_USER_HEADER",
    "CHAT_TRUSTED_PROXIES",
    "CHAT_PROXY_SECRET",
    "CHAT_ALLOWED_HOSTS",
    "CHAT_DEMO",
    "CHAT_DEMO_PER_MINUTE",
    "CHAT_DEMO_PER_DAY",
    "CHAT_DEMO_MAX_CHARS",
    "CHAT_DEMO_MAX_TURNS",
    "CHAT_DEMO_RETENTION_HOURS",
    "CHAT_MAX_BACKGROUND_REPLIES",
    "CHAT_MAX_PROCESS_REPLIES",
    "CHAT_SHUTDOWN_GRACE_SECONDS",
]
ODD_TEXT = st.sampled_from(
    [
        "",
        "   ",
        "0",
        "-1",
        "1.5",
        "1e999",
        "nan",
        "inf",
        "-inf",
        "1_000",
        "٣",
        "99999999999999999999",
        "9" * 5000,
        "yes",
        "maybe",
        "header",
        "login",
        "http://[::1",
        "http://host:99999",
        "ftp://user:" + SECRET + "@host",
        "http://a b",
        "postgresql://user:" + SECRET + "@host:notaport/db",
        "mysql://user:" + SECRET + "@host/db",
        "postgres://user:" + SECRET + "@host/db",
        "garbage " + SECRET,
        "кодкод" + SECRET,
        SECRET + "\nwith a line break",
    ]
)
# What a secrets file can hold (TOML: strings, numbers, booleans, arrays, tables)...
SECRET_VALUES = st.one_of(
    ODD_TEXT,
    st.text(TYPED, max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.booleans(),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
# ...and what the environment can (text without NUL).
ENV_VALUES = (ODD_TEXT | st.text(TYPED, max_size=30)).filter(lambda v: "\x00" not in v)


def assert_usable(settings: Any) -> None:
    """Whatever was read, every value the page goes on to use is in range."""
    assert 1 <= settings.max_message_chars <= CHARS_MAX
    demo = settings.demo
    for count in (demo.per_minute, demo.per_day, demo.max_turns):
        assert isinstance(count, int)
        assert 1 <= count <= NUMBER_MAX
    assert 1 <= demo.max_chars <= CHARS_MAX
    assert math.isfinite(demo.retention_hours)
    assert 0 < demo.retention_hours <= HOURS_MAX
    assert settings.access in ("local", "open", "login", "header")
    assert settings.trusted_proxies  # someone may always set the user header: loopback at least
    assert settings.proxy_secret is None or len(settings.proxy_secret) >= 16
    for pattern in settings.allowed_hosts:  # each a host name the Host check can match
        assert host_name(pattern.removeprefix("*.")) == pattern.removeprefix("*.")
    if settings.base_url is not None:
        LiaobotsClient(auth_code="x", base_url=settings.base_url).close()
    problems = " ".join(settings.problems)
    for problem in settings.problems:  # neither a code nor a password is ever repeated
        if problem.startswith(("LIAOBOTS_AUTH_CODE", "DATABASE_URL", "CHAT_PROXY_SECRET")):
            assert SECRET not in problem
        if problem.startswith("LIAOBOTS_BASE_URL"):
            assert "@" not in problem  # an address with a user or password is not quoted
    if settings.database_url is not None and "DATABASE_URL" not in problems:
        make_engine(settings.database_url).dispose()  # the store can be made from it


@fuzz_settings(300)
@given(
    secrets=st.dictionaries(st.sampled_from(NAMES), SECRET_VALUES, max_size=6),
    env=st.dictionaries(st.sampled_from(NAMES), ENV_VALUES, max_size=6),
)
@example(secrets={"CHAT_DEMO_RETENTION_HOURS": "nan"}, env={})
@example(secrets={"DATABASE_URL": "postgresql://u@h:abc/db"}, env={})
@example(secrets={"LIAOBOTS_BASE_URL": "http://[::1"}, env={})
def test_any_secrets_and_environment_give_settings_or_named_problems(
    secrets: dict[str, Any], env: dict[str, str]
) -> None:
    settings = load_settings([secrets, env])
    for problem in settings.problems:
        assert any(name in problem for name in NAMES), problem
    assert_usable(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHAT_DEMO_RETENTION_HOURS", "nan"),
        ("CHAT_DEMO_RETENTION_HOURS", "1e999"),
        ("CHAT_MAX_MESSAGE_CHARS", "99999999999"),
        ("CHAT_DEMO_PER_DAY", True),
        ("LIAOBOTS_BASE_URL", "http://[::1"),
        ("DATABASE_URL", "postgresql://u@h:abc/db"),
        ("DATABASE_URL", "mysql://u@h/db"),
        ("LIAOBOTS_AUTH_CODE", "кодкод"),
    ],
)
def test_a_value_out_of_range_or_of_the_wrong_kind_is_a_named_problem(
    name: str, value: object
) -> None:
    (problem,) = load_settings([{name: value}]).problems
    assert problem.startswith(name)


@pytest.fixture
def plain_page(configured: Emulator, own_database: str) -> Emulator:
    return configured


PAGE_NAMES = [n for n in NAMES if n not in ("LIAOBOTS_BASE_URL", "DATABASE_URL")]


@fuzz_settings(15, shrink=False)
@given(
    name=st.sampled_from(PAGE_NAMES),
    value=SECRET_VALUES,
    in_secrets=st.booleans(),
    # a service address or database that exists would be contacted: only ones that do not
    address=st.sampled_from([None, "LIAOBOTS_BASE_URL", "DATABASE_URL"]),
)
def test_the_page_names_a_setting_it_cannot_use_and_does_nothing_else(
    plain_page: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: Any,
    in_secrets: bool,
    address: str | None,
) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    secrets: dict[str, Any] = {}
    with monkeypatch.context() as env:
        if address is not None:
            name, value = address, "http://[::1" if address == "LIAOBOTS_BASE_URL" else "x://"
        if in_secrets:
            at.secrets[name] = secrets[name] = value
        else:
            assume("\x00" not in str(value))
            env.setenv(name, str(value))
        at.run()
        expected = load_settings([secrets, os.environ]).problems
    assert not at.exception, at.exception
    event("named a problem" if expected else "worked")
    if expected:
        assert any("not configured correctly" in e.value for e in at.error)
        shown = "\n".join(m.value for m in at.markdown)
        for problem in expected:
            assert problem in shown
        assert len(at.chat_input) == 0  # nothing else
    else:
        assert not any("not configured correctly" in e.value for e in at.error)
