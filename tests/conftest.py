"""Shared fixtures: a real emulator on a loopback port for every test that talks HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from chatpage.access import balance
from chatpage.backend import forget_shared_info
from chatpage.journal import close_stores
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Emulator
from testkit import AUTH_CODE
from testkit.browser import StreamlitServer, page_for
from testkit.postgres import temporary_server


@pytest.fixture(autouse=True)
def fresh_process_memory() -> Iterator[None]:
    """Each test starts as a new app process would: no service's balance noted as spent and
    no service's answer shared (emulators of different tests may get the same port, so the
    same backend key)."""
    balance.forget_spent()
    forget_shared_info()
    yield
    balance.forget_spent()
    forget_shared_info()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(auth_code=AUTH_CODE, path_prefix="/liaobots") as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[LiaobotsClient]:
    with LiaobotsClient(
        auth_code=AUTH_CODE, base_url=emulator.base_url, timeout=5.0, retry_backoff=0.01
    ) as c:
        yield c


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a real PostgreSQL server: TEST_DATABASE_URL, else one started for this run."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with temporary_server() as started:
        yield started


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    name = f"chat_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    yield url
    close_stores(url)  # a page of the test opened it: its listener would outlive the database
    with admin.connect() as db:
        db.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'chat.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test's page keeps its conversations in a database of its own."""
    url = f"sqlite:///{tmp_path / 'chat.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def configured(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The page pointed at the emulator through the environment, as an operator would."""
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", AUTH_CODE)
    monkeypatch.setenv("LIAOBOTS_BASE_URL", emulator.base_url)
    monkeypatch.delenv("LIAOBOTS_OFFLINE_DEMO", raising=False)
    return emulator


@pytest.fixture(scope="module")
def page_service() -> Iterator[Emulator]:
    """The service of one module's real page (`served_page`), in the test process."""
    with Emulator(auth_code=AUTH_CODE) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def served_page(
    page_service: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitServer]:
    """A real `streamlit run app.py` for one module (its start-up is the slow part), talking
    to `page_service`, for tests that speak Streamlit's protocol without a browser."""
    with page_for(page_service.base_url, AUTH_CODE, tmp_path_factory.mktemp("page")) as running:
        yield running
