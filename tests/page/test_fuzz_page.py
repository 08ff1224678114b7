"""The page's own inputs, fuzzed through AppTest: whatever a person types, edits or puts in the
URL, and whatever the service answers, no exception reaches Streamlit.

A message is sent intact, or refused with a reason and given back in the input; an edit is
sent as typed (trimmed), or refused and left open with the text. The message limit is set
small (`CHAT_MAX_MESSAGE_CHARS`) so texts at and around it stay quick to generate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from chatpage.access import balance
from chatpage.access.limits import message_problem, without_controls
from chatpage.backend import forget_shared_info
from chatpage.data.conversation import ErrorInfo, Status
from chatpage.data.failures import explain
from liaobots_core import LiaobotsClient
from liaobots_core.emulator import Behavior, Emulator
from testkit import AUTH_CODE
from testkit.apptest import (
    APP,
    TIMEOUT,
    conversation,
    edit_key,
    fresh_session,
    open_settings,
    open_settings_dialog,
    page_text,
    send,
)
from testkit.fuzzing import ODD_VALUES, STORED, TYPED, Raw, dump, fuzz_settings

LIMIT = 40
pytestmark = pytest.mark.usefixtures("own_database")

MESSAGES = st.one_of(
    st.text(STORED, min_size=1, max_size=LIMIT),  # what people type, within the limit
    st.integers(LIMIT - 2, LIMIT + 2).flatmap(  # at and around the limit
        lambda n: st.text(STORED, min_size=n, max_size=n)
    ),
    st.integers(LIMIT - 1, LIMIT + 1).map(lambda n: "\u200b" * n),
    st.text(TYPED, max_size=LIMIT + 5),  # control characters too
    st.sampled_from(["", " \n\t", "\u202eevil.exe", "a\x00b", "\u2028", "**bold** <b>html</b>"]),
)
GOOD_MODEL = {"id": "good-model", "name": "Good model", "maxLength": 5000, "tokenLimit": 1000}


@pytest.fixture
def short_limit(configured: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("CHAT_MAX_MESSAGE_CHARS", str(LIMIT))
    return configured


@pytest.fixture
def page(short_limit: Emulator) -> AppTest:
    """One browser session, used by every example: a person typing message after message."""
    return fresh_session()


def shown(at: AppTest) -> list[str]:
    return [w.value for w in at.warning] + [e.value for e in at.error]


def assert_refused_and_given_back(at: AppTest, text: str, problem: ErrorInfo | None) -> None:
    """The reason is on the page and the text is back in the input, without controls."""
    if problem is not None:
        words = explain(problem, "en")[1]
        assert any(words in message for message in shown(at)), shown(at)
    else:  # refused for the page's own reason (no room for another reply, say)
        assert shown(at)
    assert at.chat_input[0].value == (without_controls(text) if text.strip() else None)


# --- chat input and edits ------------------------------------------------------------------


@fuzz_settings(25, shrink=False)
@given(text=MESSAGES)
@example(text="x" * LIMIT)
@example(text="x" * (LIMIT + 1))
@example(text="\u202e\u2066\u200b\u200d\ufeff")
def test_any_typed_message_is_sent_intact_or_refused_and_given_back(
    page: AppTest, text: str
) -> None:
    before = len(conversation(page).tree)
    page.chat_input[0].set_value(text).run()
    assert not page.exception, page.exception
    problem = message_problem(text, LIMIT)
    chat = conversation(page)
    sent = len(chat.tree) > before
    event("sent" if sent else f"refused: {problem.kind if problem else 'by the page'}")
    if problem is None and sent:
        question, reply = chat.messages[-2:]
        assert question.text == text  # intact: bidi, zero-width and all
        assert reply.role == "assistant"
    else:
        assert not sent
        assert_refused_and_given_back(page, text, problem)


@fuzz_settings(12, shrink=False)
@given(text=MESSAGES)
@example(text="y" * (LIMIT + 1))
def test_any_edit_is_sent_as_typed_or_refused_and_kept_open(page: AppTest, text: str) -> None:
    if not conversation(page).messages:
        send(page, "the first question")
    question = conversation(page).messages[-2]
    page.button(key=edit_key(page)).click().run()
    page.text_area(key="edit_text").set_value(text).run()
    next(b for b in page.button if b.label == "Save and send").click().run()
    assert not page.exception, page.exception
    problem = message_problem(text, LIMIT)
    chat = conversation(page)
    if problem is None and chat.messages[-2] is not question:
        assert chat.messages[-2].text == text.strip()
        assert question.id in chat.tree  # the old version stays
    else:
        assert chat.messages[-2] is question
        words = explain(problem, "en")[1] if problem else ""  # else the page's own reason
        assert any(words in message for message in shown(page)), shown(page)
        assert page.text_area(key="edit_text").value == text  # open, nothing lost
        page.button[[b.label for b in page.button].index("Cancel")].click().run()


@fuzz_settings(10, shrink=False)
@given(
    code=st.text(TYPED, max_size=20) | st.sampled_from(["кодкод", "code with spaces", "a\nb"]),
    prompt=st.text(TYPED, max_size=60),
    search=st.text(TYPED, max_size=30) | st.sampled_from(["%", "_", "' OR 1=1 --", "\\"]),
)
def test_any_text_in_the_sidebar_leaves_the_page_working(
    page: AppTest, code: str, prompt: str, search: str
) -> None:
    """A pasted code, a system prompt and a search of any text: a message still gets an
    answer or a reason (a code the service refuses, say), and no exception."""
    open_settings(page)  # the chat's system prompt
    open_settings_dialog(page).text_input(key="auth_code_typed").set_value(code)
    page.text_area(key=f"system_prompt_{conversation(page).id}").set_value(prompt)
    page.text_input(key="conversation_search").set_value(search)
    page.run()
    assert not page.exception, page.exception
    before = len(conversation(page).tree)
    page.chat_input[0].set_value("a question").run()
    assert not page.exception, page.exception
    chat = conversation(page)
    assert len(chat.tree) > before or shown(page)
    if len(chat.tree) > before and chat.messages[-1].error is not None:
        assert shown(page)  # the failure is explained where it happened
    assert AUTH_CODE not in page_text(page)


# --- the URL --------------------------------------------------------------------------------


@pytest.fixture
def stored_id(page: AppTest) -> str:
    return conversation(send(fresh_session(), "a stored conversation")).id


@fuzz_settings(25, shrink=False)
@given(
    value=st.text(TYPED, max_size=80)
    | st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True)
    | st.sampled_from(["../../etc/passwd", "' OR 1=1 --", "%00", "a" * 10_000, "stored"]),
    others=st.dictionaries(st.text(TYPED, min_size=1, max_size=5), st.text(TYPED, max_size=10)),
)
def test_any_conversation_in_the_url_opens_it_or_says_not_found(
    stored_id: str, value: str, others: dict[str, str]
) -> None:
    value = stored_id if value == "stored" else value
    page = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a link opened: a new page load
    page.query_params.update(others)
    page.query_params["c"] = value
    page.run()
    assert not page.exception, page.exception
    assert len(page.chat_input) == 1
    if value == stored_id:
        assert conversation(page).id == stored_id
        assert conversation(page).messages
    elif value:
        assert any("was not found" in w.value for w in page.warning)
        assert not conversation(page).messages


# --- the service's answers, through the page ------------------------------------------------

CHAT_ANSWERS = st.builds(
    Behavior,
    framing=st.sampled_from(["raw", "sse"]),
    transfer=st.sampled_from(["chunked", "close"]),
    status=st.sampled_from([200, 200, 200, 401, 402, 403, 404, 429, 500, 502, 503]),
    retry_after=st.none() | st.sampled_from(["1e999", "nan", "-3", "soon", "2"]),
    html=st.booleans(),
    reply=st.text(TYPED, min_size=1, max_size=60),
    chunk_bytes=st.integers(1, 16),
    split_multibyte=st.booleans(),
    disconnect_after_bytes=st.none() | st.integers(0, 60),
)
MODEL_LISTS = st.lists(
    st.dictionaries(st.sampled_from(["id", "name", "maxLength", "tokenLimit"]), ODD_VALUES)
    | st.sampled_from([None, "text", {"id": "odd", "maxLength": Raw("1e999")}, {"name": "no id"}]),
    max_size=4,
).flatmap(lambda odd: st.permutations([*odd, GOOD_MODEL]))
ACCOUNTS = st.dictionaries(st.sampled_from(["balance", "authCode"]), ODD_VALUES)


@fuzz_settings(10, shrink=False)
@given(models=MODEL_LISTS, account=ACCOUNTS, answer=CHAT_ANSWERS)
# A service with money, then one without: the second is asked afresh, not shown the first's.
@example(models=[GOOD_MODEL], account={"balance": 100}, answer=Behavior(reply="Да"))
@example(models=[GOOD_MODEL], account={"balance": -5}, answer=Behavior(reply="Да"))
def test_any_service_answers_leave_the_page_working(
    configured: Emulator, models: list[Any], account: dict[str, Any], answer: Behavior
) -> None:
    configured.models_body = dump(models).encode("utf-8", errors="surrogatepass")
    configured.user_body = dump(account).encode("utf-8", errors="surrogatepass")
    configured.default = answer
    # Each example is a service of its own, met by a new process: nothing noted as spent and
    # no earlier example's answer shared (the emulator's address, so the service's key, stays).
    balance.forget_spent()
    forget_shared_info()
    with LiaobotsClient(auth_code=AUTH_CODE, base_url=configured.base_url) as client:
        said = client.get_user().balance  # the client's reading of the odd account
    at = fresh_session()
    picker = at.main.selectbox(key=f"model_{conversation(at).id}")
    assert "Good model" in picker.options  # the odd entries skipped, the good one kept
    send(at, "hello")
    assert not at.exception, at.exception
    if said is not None and said <= 0:  # a used-up balance: refused, given back, not sent
        assert conversation(at).messages == []
        assert at.chat_input[0].value == "hello"
        assert any("balance is used up" in text for text in shown(at))
        return
    question, reply = conversation(at).messages
    assert question.text == "hello"
    healthy = answer.status == 200 and not answer.html
    # A cut past the answer's last byte (a short answer) cuts nothing: it must come whole.
    uncut = answer.disconnect_after_bytes is None or reply.status is Status.COMPLETE
    if healthy and uncut:
        assert reply.text == without_controls(answer.reply)  # the text rule, as ever
    else:
        assert shown(at)  # the failure is explained in the conversation
    page = page_text(at)
    assert "Traceback" not in page
    assert AUTH_CODE not in page


@pytest.fixture(autouse=True)
def _plain_service(configured: Emulator) -> Iterator[None]:
    """Each test starts from the emulator's ordinary answers, whatever the last one set."""
    yield
    configured.models_body = configured.user_body = None
