"""Who a signed-in person is (CHAT_ACCESS=login), on a database made before e-mails had to be
verified: people whose provider proves their address keep their conversations, and a claimed
address without proof reaches nobody's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from chatpage.database.migrations import applied, migrate
from chatpage.operations import owners
from testkit.apptest import APP, TIMEOUT, listed, page_text

pytestmark = pytest.mark.usefixtures("configured")

MAIN_MIGRATIONS = [  # the schema of main at f3624f5, before this change
    "m001_conversations_and_messages", "m002_conversation_owner", "m003_demo_usage",
    "m004_message_tree", "m005_replies_on_their_own", "m006_reply_usage", "m007_tidy_history",
    "m008_shared_links", "m009_message_attachments", "m010_conversation_temperature",
    "m011_saved_prompts",
]  # fmt: skip
AUTH_SECTION = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "chat",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
USAGE = "app_pages/usage.py"
GOOGLE = "https://accounts.google.com"
ENTRA = "https://login.microsoftonline.com/9f1e-tenant/v2.0"


@pytest.fixture
def database_from_main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite database as main left it: its migrations, and conversations under the owner
    keys main gave people: a verified address, and an address its provider never proved."""
    url = f"sqlite:///{tmp_path / 'from-main.sqlite3'}"
    engine = create_engine(url)
    migrate(engine, upto=MAIN_MIGRATIONS[-1])
    assert applied(engine) == MAIN_MIGRATIONS
    now = time.time()
    with engine.begin() as db:
        for number, (owner, title) in enumerate(
            [("user:alice@example.com", "Alice's plan"), ("user:ceo@corp.example", "Board notes")]
        ):
            conversation, message = f"c{number}", f"m{number}"
            db.execute(
                text(
                    "INSERT INTO conversations (id, title, model_id, created_at, updated_at, "
                    "owner, current_leaf_id, revision) VALUES (:c, :t, 'gpt-4', :n, :n, :o, :m, 1)"
                ),
                {"c": conversation, "t": title, "n": now, "o": owner, "m": message},
            )
            db.execute(
                text(
                    "INSERT INTO messages (id, conversation_id, position, role, text, status, "
                    "created_at) VALUES (:m, :c, 0, 'user', :t, 'complete', :n)"
                ),
                {"m": message, "c": conversation, "t": title, "n": now},
            )
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CHAT_ACCESS", "login")
    monkeypatch.setenv("CHAT_ADMINS", "ceo@corp.example")
    return url


def signed_in(user: dict[str, object], auth: dict[str, object] = AUTH_SECTION) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": True, "provider": "default"} | user
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.usefixtures("database_from_main")
def test_a_verified_person_keeps_the_conversations_main_stored_for_them() -> None:
    at = signed_in(
        {"iss": GOOGLE, "sub": "1", "email": "Alice@Example.com", "email_verified": True}
    )
    assert listed(at) == ["Alice's plan"]


@pytest.mark.usefixtures("database_from_main")
def test_an_unproven_address_opens_no_ones_conversations_and_no_admin_page() -> None:
    # An Entra tenant sends the address it likes, and no email_verified.
    at = signed_in({"iss": ENTRA, "sub": "mallory", "email": "CEO@corp.example"})
    assert listed(at) == []
    assert len(at.chat_input) == 1  # they still have a chat of their own
    with pytest.raises(ValueError, match=r"Known pages: \['Chat'\]"):
        at.switch_page(USAGE)  # no usage page registered for them: not an admin
    assert "Board notes" not in page_text(at)


@pytest.mark.usefixtures("database_from_main")
def test_the_verified_admin_keeps_both_conversations_and_admin_rights() -> None:
    at = signed_in({"iss": GOOGLE, "sub": "2", "email": "ceo@corp.example", "email_verified": True})
    assert listed(at) == ["Board notes"]
    at.switch_page(USAGE).run()
    assert [title.value for title in at.title] == ["Usage"]


def test_with_several_providers_each_has_a_sign_in_button(
    own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_ACCESS", "login")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    partner = {"client_id": "p", "client_secret": "x", "server_metadata_url": "http://127.0.0.1:9/"}
    at.secrets["auth"] = AUTH_SECTION | {"partner": partner}
    at.run()
    assert [b.label for b in at.button] == ["Sign in", "Sign in with partner"]


def test_the_operator_hands_an_unproven_addresses_conversations_to_their_person(
    database_from_main: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    entra_person = {"iss": ENTRA, "sub": "ceo-subject", "email": "ceo@corp.example"}
    assert listed(signed_in(entra_person)) == []  # their old key is not reached by a claim
    monkeypatch.setenv("DATABASE_URL", database_from_main)
    new_key = f"user:{ENTRA}|ceo-subject"
    assert owners.main(["user:ceo@corp.example", new_key]) == 0
    assert "conversations: 1" in capsys.readouterr().out
    assert listed(signed_in(entra_person)) == ["Board notes"]
    with pytest.raises(SystemExit):
        owners.main([new_key, new_key])
