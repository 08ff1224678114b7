"""Guest sign-in in the client and the seed function, over real sockets.

Against an independent server (`guest_server.py`) and against the emulator, whose faults
show the renewal, the refusals and where the guest code must never appear.
"""

from __future__ import annotations

import logging
import threading

import pytest

from liaobots_core import (
    AuthError,
    ConnectionFailedError,
    GuestRefusedError,
    LiaobotsClient,
    MissingAuthCodeError,
    _create_completion,
)
from liaobots_core.emulator import Behavior, Emulator, Guests
from testkit import AUTH_CODE
from testkit.guest_server import GuestOnlyServer

from .conftest import LOGIN, endpoints

QUESTION = [{"role": "user", "content": "Привет, гость 👋"}]
REPLY = "Здравствуйте! 你好 👋🏽 — ответ гостю."


@pytest.fixture
def guest_reply() -> str:
    return REPLY


def guest_codes(emulator: Emulator) -> list[str]:
    return [r.headers.get("x-auth-code", "") for r in emulator.chat_requests]


# --- against a server written apart from the emulator ----------------------------------------


def test_guest_client_gets_the_reply_from_an_independent_server(no_code_in_env: None) -> None:
    with GuestOnlyServer(reply=REPLY) as server:
        client = LiaobotsClient(base_url=server.base_url, guest=True)
        assert client.complete(QUESTION) == REPLY
        (code,) = server.codes.values()
        assert code
        assert code not in repr(client)
        assert server.chats == 1


def test_create_completion_without_a_code_signs_in_as_a_guest_on_an_independent_server(
    no_code_in_env: None,
) -> None:
    with GuestOnlyServer(reply=REPLY) as server:
        assert "".join(_create_completion("gpt-4", QUESTION, True, base_url=server.base_url)) == (
            REPLY
        )
        assert list(_create_completion("gpt-4", QUESTION, False, base_url=server.base_url)) == [
            REPLY
        ]
        assert server.chats == 2


# --- the flow, against the emulator -------------------------------------------------------


def test_first_request_signs_in_and_chat_carries_the_guest_code_and_cookie(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    assert guest.complete(QUESTION) == REPLY
    # The check page first (the emulator's default), then the login, then the code.
    assert endpoints(emulator) == ["/api/user", LOGIN, "/api/user", "/api/chat"]
    ask, login, user, chat = emulator.requests
    assert ask.body == {"authcode": "", "recommendUrl": emulator.base_url + "/"}
    assert "cookie" not in ask.headers
    assert login.body == {"token": "abcdefghijklmnopqrst"}
    assert login.headers["content-type"] == "application/json"
    assert "x-auth-code" not in login.headers
    assert user.body == ask.body
    assert "gkp2=" in user.headers["cookie"]
    assert chat.headers["x-auth-code"] not in ("", AUTH_CODE)
    assert chat.headers["cookie"] == user.headers["cookie"]
    assert guest.signed_in_as_guest


def test_one_sign_in_serves_many_replies(guest: LiaobotsClient, emulator: Emulator) -> None:
    for _ in range(3):
        assert guest.complete(QUESTION) == REPLY
    assert emulator.guest_sign_ins == 1
    assert len(set(guest_codes(emulator))) == 1


def test_requests_at_once_from_threads_share_one_sign_in(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    replies: list[str] = []
    threads = [
        threading.Thread(target=lambda: replies.append(guest.complete(QUESTION))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replies == [REPLY] * 4
    assert emulator.guest_sign_ins == 1


def test_each_client_has_its_own_guest_session(emulator: Emulator) -> None:
    first = LiaobotsClient(auth_code="", base_url=emulator.base_url, guest=True)
    second = LiaobotsClient(auth_code="", base_url=emulator.base_url, guest=True)
    first.complete(QUESTION)
    second.complete(QUESTION)
    one, two = emulator.chat_requests
    assert one.headers["x-auth-code"] != two.headers["x-auth-code"]
    assert one.headers["cookie"] != two.headers["cookie"]


def test_expired_guest_code_is_renewed_once_before_the_reply(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.guests = Guests(replies=1)
    assert guest.complete(QUESTION) == REPLY
    assert guest.complete(QUESTION) == REPLY  # the code ran out: a new sign-in, then the reply
    first, refused, renewed = guest_codes(emulator)
    assert first == refused != renewed
    assert emulator.guest_sign_ins == 2


def test_a_guest_code_refused_again_after_renewal_is_an_auth_error(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.guests = Guests(replies=0)  # every guest code is refused at once
    with pytest.raises(AuthError) as caught:
        guest.complete(QUESTION)
    assert caught.value.status_code == 401
    assert not isinstance(caught.value, GuestRefusedError)
    assert emulator.guest_sign_ins == 2  # renewed once, not again and again
    assert len(emulator.chat_requests) == 2


def test_a_reply_cut_midway_is_not_renewed_or_sent_again(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply=REPLY * 20, chunk_bytes=50, disconnect_after_bytes=120)
    pieces: list[str] = []
    with pytest.raises(ConnectionFailedError) as caught:
        pieces.extend(guest.stream_chat(QUESTION))
    assert caught.value.during_reply
    assert (REPLY * 20).startswith("".join(pieces))
    assert emulator.guest_sign_ins == 1
    assert len(emulator.chat_requests) == 1


@pytest.mark.parametrize(
    ("guests", "words"),
    [
        (Guests(login_status=403), "guest login was refused (403)"),
        (Guests(login_status=500), "guest login was refused (500)"),
        (Guests(user_status=403), "guest account was refused (403)"),
        (Guests(empty_code=True), "no guest code"),
    ],
    ids=["login-403", "login-500", "user-403", "empty-code"],
)
def test_a_service_that_refuses_guests_is_an_error_naming_the_step_that_failed(
    guest: LiaobotsClient, emulator: Emulator, guests: Guests, words: str
) -> None:
    emulator.guests = guests
    with pytest.raises(GuestRefusedError) as caught:
        guest.complete(QUESTION)
    assert caught.value.kind == "guest_refused"
    assert words in caught.value.step
    assert str(caught.value) == f"guest sign-in refused: {caught.value.step}"
    assert isinstance(caught.value, AuthError)
    assert emulator.chat_requests == []


def test_a_stale_code_falls_back_to_a_guest_sign_in(emulator: Emulator) -> None:
    emulator.default = Behavior(reply=REPLY)
    client = LiaobotsClient(auth_code="stale-code-0d9e", base_url=emulator.base_url, guest=True)
    assert client.complete(QUESTION) == REPLY
    stale, fresh = guest_codes(emulator)
    assert stale == "stale-code-0d9e"
    assert fresh != stale
    assert client.complete(QUESTION) == REPLY  # the guest code is kept from now on
    assert emulator.guest_sign_ins == 1


def test_a_working_code_is_used_as_it_is_by_a_guest_client(emulator: Emulator) -> None:
    client = LiaobotsClient(auth_code=AUTH_CODE, base_url=emulator.base_url, guest=True)
    client.complete(QUESTION)
    assert endpoints(emulator) == ["/api/chat"]


def test_without_guest_a_missing_code_still_sends_nothing(emulator: Emulator) -> None:
    client = LiaobotsClient(auth_code="", base_url=emulator.base_url)
    with pytest.raises(MissingAuthCodeError):
        client.complete(QUESTION)
    assert emulator.requests == []


def test_get_user_of_a_guest_reads_the_guest_balance(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.guests = Guests(balance=7.25)
    user = guest.get_user()
    assert user.balance == 7.25
    assert "authCode" not in user.details
    assert endpoints(emulator) == ["/api/user", LOGIN, "/api/user", "/api/user"]


def test_the_guest_code_is_in_no_repr_log_line_or_error(
    guest: LiaobotsClient, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.guests = Guests(replies=1)
    guest.complete(QUESTION)
    emulator.guests = Guests(replies=1, user_status=403)
    with pytest.raises(GuestRefusedError) as caught:
        guest.complete(QUESTION)  # the code runs out and no new one is given
    codes = set(guest_codes(emulator))
    cookies = {r.headers["cookie"].split("=", 1)[1] for r in emulator.chat_requests}
    assert codes
    assert cookies
    shown = [repr(guest), str(caught.value), repr(caught.value), caplog.text]
    for secret in codes | cookies:
        assert all(secret not in text for text in shown)
    assert "signing in" in caplog.text
    assert "as a guest" in caplog.text
    assert "guest=on" in repr(guest)
