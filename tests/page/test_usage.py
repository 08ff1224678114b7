"""The usage page (admins only) and the service balance, through AppTest.

AppTest runs the default access mode, `local`, whose one user is the page's operator and so
an admin; `CHAT_ACCESS=open` makes a visitor who is not. The page is reached as a browser
would: `switch_page` asks for it by the page that st.navigation registered.
"""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.database.conversations import ConversationStore
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import bubbles, choose_language, fresh_session, page_text, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")

USAGE = "app_pages/usage.py"
DAY = 86_400


def figures(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def on_usage_page(at: AppTest) -> AppTest:
    at.switch_page(USAGE).run()
    assert not at.exception, at.exception
    return at


def test_an_admin_sees_who_used_what_after_some_replies(configured: Emulator) -> None:
    configured.default = Behavior(reply="Ответ из двенадцати")
    at = send(fresh_session(), "первый вопрос")
    configured.enqueue(Behavior(status=429))
    send(at, "второй вопрос")
    send(at, "третий")
    on_usage_page(at)
    assert [title.value for title in at.title] == ["Usage"]
    assert len(at.chat_input) == 0  # the chat is not on this page
    reply = len("Ответ из двенадцати")
    assert figures(at) == {
        "Requests": "3",
        "Reply characters": f"{2 * reply}",
        "Failures": "1",
        "People": "1",
        "Service balance": f"{configured.balance:,.2f}",
    }
    people, errors = (frame.value for frame in at.dataframe)
    assert list(people["Person"]) == ["local user"]
    assert list(people["Requests"]) == [3]
    assert list(people["Reply characters"]) == [2 * reply]
    assert list(errors["Kind"]) == ["rate_limit"]
    assert list(errors["Requests"]) == [1]
    assert [b.label for b in at.download_button] == ["Download the period's requests (CSV)"]
    assert "первый вопрос" not in page_text(at)  # sizes only, never the text


def test_the_period_picker_shows_only_the_days_chosen(own_database: str) -> None:
    store = ConversationStore(own_database)
    now = time.time()
    for owner, days_ago in (("header:alice@example.com", 1), ("demo:some-session-key", 20)):
        used = store.usage.begin(owner, "gpt-4", 5, (), now - days_ago * DAY)
        assert isinstance(used, str)
        store.usage.end(used, chars_out=7, outcome="complete", error_kind=None, now=now)
    at = on_usage_page(fresh_session())
    assert figures(at)["People"] == "1"
    assert list(at.dataframe[0].value["Person"]) == ["alice@example.com"]
    at.radio(key="usage_days").set_value(30).run()
    assert figures(at)["Requests"] == "2"
    people = list(at.dataframe[0].value["Person"])
    assert people[0] == "alice@example.com"
    assert people[1].startswith("demo visitor ")
    assert "some-session-key" not in page_text(at)
    store.close()


def test_an_empty_period_says_nobody_used_it() -> None:
    at = on_usage_page(fresh_session())
    assert figures(at)["Requests"] == "0"
    assert any("Nobody sent a request" in info.value for info in at.info)


def test_someone_who_is_not_an_admin_has_no_usage_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_ACCESS", "open")  # everyone is one shared user: no admin
    at = fresh_session()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(USAGE)


def test_asking_for_the_usage_page_without_being_an_admin_opens_the_chat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = on_usage_page(fresh_session())  # the page's URL, asked for while an admin
    assert [title.value for title in at.title] == ["Usage"]
    monkeypatch.setenv("CHAT_ACCESS", "open")  # the same session, no longer an admin
    at.run()  # asks for the usage page again, as a reload of /usage does
    assert not at.exception
    assert [title.value for title in at.title] == ["Liaobots Chat"]  # the chat's sidebar
    assert len(at.chat_input) == 1
    assert len(at.metric) == 0
    assert "Reply characters" not in page_text(at)


def test_admins_are_warned_of_a_low_balance_on_every_page(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_LOW_BALANCE", "50")
    configured.balance = 20.5
    at = fresh_session()
    warning = "The service's balance is 20.5, below LIAOBOTS_LOW_BALANCE (50)"
    assert [w.value for w in at.warning if warning in w.value] != []
    on_usage_page(at)
    assert [w.value for w in at.warning if warning in w.value] != []
    assert figures(at)["Service balance"] == "20.50"


def test_people_who_are_not_admins_are_not_told_of_a_low_balance(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_LOW_BALANCE", "50")
    monkeypatch.setenv("CHAT_ACCESS", "open")
    configured.balance = 20.5
    assert "LIAOBOTS_LOW_BALANCE" not in page_text(fresh_session())


def test_a_balance_above_the_threshold_warns_nobody(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_LOW_BALANCE", "50")
    configured.balance = 50
    assert "LIAOBOTS_LOW_BALANCE" not in page_text(fresh_session())


def test_a_used_up_balance_refuses_a_message_and_keeps_it_in_the_input(
    configured: Emulator,
) -> None:
    configured.balance = 0
    at = fresh_session()
    notice = "The service's balance is used up"
    assert sum(notice in w.value for w in at.warning) == 1
    send(at, "Сообщение, которое не должно потеряться")
    assert configured.chat_requests == []
    assert bubbles(at) == []
    assert at.chat_input[0].value == "Сообщение, которое не должно потеряться"
    assert sum(notice in w.value for w in at.warning) == 1  # said once, not once per try
    assert not at.error
    configured.balance = 30  # topped up: the next message goes
    send(at, "Теперь можно")
    assert len(configured.chat_requests) == 1
    assert bubbles(at)[0] == ("user", "Теперь можно")
    assert not any(notice in w.value for w in at.warning)


def test_after_a_reply_refused_for_want_of_balance_nothing_more_is_sent(
    configured: Emulator,
) -> None:
    configured.enqueue(Behavior(status=402))  # the service still reports its old balance
    at = send(fresh_session(), "first")
    assert len(at.error) == 1  # the reply's own failure, with Retry
    notice = "The service's balance is used up"
    assert sum(notice in w.value for w in at.warning) == 1
    send(at, "second")
    send(at, "third")
    assert len(configured.chat_requests) == 1
    assert at.chat_input[0].value == "third"
    assert len(at.error) == 1  # no stack of failures
    assert [role for role, _ in bubbles(at)] == ["user", "assistant"]

    other = fresh_session()  # someone else on this app process is told before trying
    assert sum(notice in w.value for w in other.warning) == 1
    send(other, "mine")
    assert len(configured.chat_requests) == 1

    configured.default = Behavior(reply="Back again")
    at.button(key="action_regenerate").click().run()  # Retry: trying again is asked for
    assert bubbles(at)[-1] == ("assistant", "Back again")
    assert not any(notice in w.value for w in at.warning)
    assert len(configured.chat_requests) == 2


def test_the_language_chosen_in_the_chat_is_kept_on_the_usage_page() -> None:
    at = fresh_session()
    choose_language(at, "ru")
    on_usage_page(at)
    assert [title.value for title in at.title] == ["Использование"]
    assert "Запросы" in figures(at)
