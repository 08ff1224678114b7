"""The emulator's guest sign-in, over real sockets with plain `requests` (no client library).

Login sets a session cookie; `/api/user` with an empty code and that cookie hands out a guest
code; chat needs the code and the same cookie. Faults: login refused, `/api/user` refused,
an empty `authCode`, a guest code that stops working after N replies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from liaobots_core.emulator import Behavior, Emulator, Guests

CODE = "emu-paid-code-31c7"
QUESTION = {
    "conversationId": "3f1e0c52-8a3b-4f0e-9d1c-1b2a3c4d5e6f",
    "model": {"id": "gpt-4", "name": "GPT-4", "maxLength": 24000, "tokenLimit": 8000},
    "messages": [{"role": "user", "content": "Привет"}],
    "key": "",
    "prompt": "",
}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(auth_code=CODE, path_prefix="/liaobots") as e:
        e.default = Behavior(reply="Ответ гостю")
        yield e


def login(emu: Emulator, session: requests.Session, **form: str) -> requests.Response:
    return session.post(
        f"{emu.base_url}/recaptcha/api/login", data=form or {"token": "abcdefghijklmnopqrst"}
    )


def user(emu: Emulator, session: requests.Session, code: str = "") -> requests.Response:
    return session.post(f"{emu.base_url}/api/user", json={"authcode": code})


def chat(emu: Emulator, session: requests.Session, code: str | None) -> requests.Response:
    headers = {"x-auth-code": code} if code is not None else {}
    return session.post(f"{emu.base_url}/api/chat", json=QUESTION, headers=headers)


def signed_in(emu: Emulator) -> tuple[requests.Session, str]:
    session = requests.Session()
    assert login(emu, session).status_code == 200
    answer = user(emu, session)
    assert answer.status_code == 200
    return session, answer.json()["authCode"]


def test_login_sets_a_session_cookie_and_user_hands_out_a_guest_code(emu: Emulator) -> None:
    session = requests.Session()
    answer = login(emu, session)
    assert answer.status_code == 200
    assert "gkp2" in session.cookies
    assert "Path=/" in answer.headers["set-cookie"]
    account = user(emu, session).json()
    assert account["authCode"]
    assert account["authCode"] != CODE
    assert account["balance"] == emu.guests.balance
    assert emu.guest_sign_ins == 1


def test_chat_with_a_guest_code_needs_the_same_cookie(emu: Emulator) -> None:
    session, code = signed_in(emu)
    answer = chat(emu, session, code)
    assert (answer.status_code, answer.text) == (200, "Ответ гостю")
    assert chat(emu, requests.Session(), code).status_code == 401  # the code without the cookie
    other, _ = signed_in(emu)
    assert chat(emu, other, code).status_code == 401  # another guest's cookie
    assert chat(emu, session, None).status_code == 401  # the cookie without the code


def test_user_without_the_login_cookie_hands_out_nothing(emu: Emulator) -> None:
    first = user(emu, requests.Session())  # the later service's first ask: the check page
    assert first.status_code == 200
    assert first.text.startswith("<!DOCTYPE html>")
    forged = requests.Session()
    forged.cookies.set("gkp2", "never-issued")
    assert user(emu, forged).status_code == 401
    assert emu.guest_sign_ins == 0


def test_login_without_a_token_field_is_a_bad_request(emu: Emulator) -> None:
    answer = login(emu, requests.Session(), other="x")
    assert answer.status_code == 400
    assert "token" in answer.json()["error"]


def test_the_paid_code_still_works_without_any_cookie(emu: Emulator) -> None:
    assert chat(emu, requests.Session(), CODE).status_code == 200


def test_refused_login_sets_no_cookie(emu: Emulator) -> None:
    emu.guests = Guests(login_status=403)
    session = requests.Session()
    assert login(emu, session).status_code == 403
    assert "gkp2" not in session.cookies
    assert "authCode" not in user(emu, session).text


def test_refused_user_step_answers_its_status(emu: Emulator) -> None:
    emu.guests = Guests(user_status=503)
    session = requests.Session()
    assert login(emu, session).status_code == 200
    assert user(emu, session).status_code == 503


def test_empty_code_fault_answers_an_empty_auth_code(emu: Emulator) -> None:
    emu.guests = Guests(empty_code=True)
    session = requests.Session()
    login(emu, session)
    assert user(emu, session).json()["authCode"] == ""
    assert chat(emu, session, "").status_code == 401


def test_guest_code_stops_working_after_n_replies_and_a_new_sign_in_works(
    emu: Emulator,
) -> None:
    emu.guests = Guests(replies=2)
    session, code = signed_in(emu)
    assert [chat(emu, session, code).status_code for _ in range(3)] == [200, 200, 401]
    assert user(emu, session, code).status_code == 401  # expired for the account check too
    login(emu, session)
    fresh = user(emu, session).json()["authCode"]
    assert fresh != code
    assert chat(emu, session, fresh).status_code == 200


def test_guest_account_check_reports_the_guest_balance(emu: Emulator) -> None:
    emu.guests = Guests(balance=3.5)
    session, code = signed_in(emu)
    assert user(emu, session, code).json() == {"authCode": code, "balance": 3.5}


@pytest.mark.parametrize(
    "options",
    [{"login_status": 99}, {"user_status": 600}, {"replies": -1}, {"login_status": True}],
)
def test_guests_rejects_impossible_settings(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        Guests(**options)


def test_guests_must_be_set_as_guests(emu: Emulator) -> None:
    with pytest.raises(TypeError):
        emu.guests = {"login_status": 403}  # type: ignore[assignment]
