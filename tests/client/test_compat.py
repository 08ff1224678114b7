"""The old provider's entry point, `_create_completion`, against the emulator over real sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from liaobots_core import AuthError, HumanCheckError, StreamTimeoutError, _create_completion
from liaobots_core.emulator import Behavior, Emulator
from testkit import AUTH_CODE

MIXED = "Привет, мир! 你好，世界！ 👋🏽 Ёжик — 𝄞 🇷🇺 «ёлки» " * 10
MESSAGES = [{"role": "user", "content": "Расскажи про 🐍 и 中文"}]


def completion(emulator: Emulator, stream: bool = True, **kwargs: object) -> Iterator[str]:
    return _create_completion(
        "gpt-4", MESSAGES, stream, auth=AUTH_CODE, base_url=emulator.base_url, **kwargs
    )


@pytest.mark.parametrize("transfer", ["chunked", "close"])
def test_streaming_yields_pieces_that_join_to_the_exact_reply(
    emulator: Emulator, transfer: str
) -> None:
    emulator.default = Behavior(transfer=transfer, reply=MIXED, chunk_bytes=7, split_multibyte=True)
    pieces = list(completion(emulator))
    assert len(pieces) > 1
    assert all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces) == MIXED


def test_without_streaming_yields_the_whole_reply_once(emulator: Emulator) -> None:
    emulator.default = Behavior(reply=MIXED, chunk_bytes=7, split_multibyte=True)
    assert list(completion(emulator, stream=False)) == [MIXED]


def test_auth_and_base_url_come_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", AUTH_CODE)
    monkeypatch.setenv("LIAOBOTS_BASE_URL", emulator.base_url)
    emulator.default = Behavior(reply=MIXED, chunk_bytes=7, split_multibyte=True)
    assert "".join(_create_completion("gpt-4", MESSAGES, True)) == MIXED
    (request,) = emulator.chat_requests
    assert request.headers["x-auth-code"] == AUTH_CODE


def test_keyword_arguments_win_over_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", "stale-code-from-env")
    monkeypatch.setenv("LIAOBOTS_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    emulator.default = Behavior(reply="ok")
    assert list(completion(emulator)) == ["ok"]
    (request,) = emulator.chat_requests
    assert request.headers["x-auth-code"] == AUTH_CODE


@pytest.mark.parametrize(
    ("model_id", "wire"),
    [
        ("gpt-4", {"id": "gpt-4", "name": "GPT-4", "maxLength": 24000, "tokenLimit": 8000}),
        (
            "gpt-3.5-turbo",
            {"id": "gpt-3.5-turbo", "name": "GPT-3.5", "maxLength": 12000, "tokenLimit": 4000},
        ),
    ],
)
def test_request_carries_the_whole_model_object(
    emulator: Emulator, model_id: str, wire: dict[str, object]
) -> None:
    emulator.default = Behavior(reply="ok")
    list(_create_completion(model_id, MESSAGES, True, auth=AUTH_CODE, base_url=emulator.base_url))
    (request,) = emulator.chat_requests
    assert request.body["model"] == wire
    assert request.body["messages"] == MESSAGES


def test_system_prompt_keyword_becomes_the_prompt_field(emulator: Emulator) -> None:
    emulator.default = Behavior(reply="ok")
    list(completion(emulator, system_prompt="Отвечай как пират."))
    (request,) = emulator.chat_requests
    assert request.body["prompt"] == "Отвечай как пират."
    assert request.body["messages"] == MESSAGES


def test_client_options_stay_out_of_the_body_and_extras_go_in(emulator: Emulator) -> None:
    emulator.default = Behavior(reply="ok")
    list(completion(emulator, system_prompt="s", timeout=5.0, max_retries=0, temperature=0.3))
    (request,) = emulator.chat_requests
    assert request.body["temperature"] == 0.3
    for option in ("auth", "base_url", "system_prompt", "timeout", "max_retries"):
        assert option not in request.body
    assert AUTH_CODE.encode() not in request.raw_body


def test_timeout_keyword_bounds_a_silent_reply(emulator: Emulator) -> None:
    emulator.default = Behavior(reply=MIXED, chunk_bytes=20, stall_after_bytes=60)
    pieces: list[str] = []
    with pytest.raises(StreamTimeoutError):
        pieces.extend(completion(emulator, timeout=0.3))
    assert MIXED.startswith("".join(pieces))


@pytest.mark.parametrize("content_type_html", [True, False])
def test_html_page_raises_auth_error_instead_of_being_yielded(
    emulator: Emulator, content_type_html: bool
) -> None:
    emulator.default = Behavior(html=True, content_type_html=content_type_html, chunk_bytes=5)
    pieces: list[str] = []
    with pytest.raises(AuthError) as caught:
        pieces.extend(completion(emulator))
    assert isinstance(caught.value, HumanCheckError)
    assert pieces == []


@pytest.mark.parametrize("stream", [True, False])
def test_rejected_auth_code_raises_auth_error(emulator: Emulator, stream: bool) -> None:
    with pytest.raises(AuthError) as caught:
        list(
            _create_completion(
                "gpt-4", MESSAGES, stream, auth="wrong-code-1b2c", base_url=emulator.base_url
            )
        )
    assert caught.value.status_code == 401
    assert "wrong-code-1b2c" not in str(caught.value)
    assert len(emulator.chat_requests) == 1


def test_first_text_of_a_close_delimited_reply_arrives_at_once(emulator: Emulator) -> None:
    first = "Привет, 世界 👋 "
    emulator.default = Behavior(
        transfer="close",
        reply=first + "и остальное потом",
        chunk_bytes=len(first.encode()),
        delay=30.0,  # never waited for: closing the generator drops the rest
    )
    started = time.monotonic()
    reply = completion(emulator)
    try:
        text = next(reply)
        elapsed = time.monotonic() - started
    finally:
        reply.close()
    assert text == first
    assert elapsed < 10  # the rest comes 30 s later


def test_without_any_code_it_signs_in_as_a_guest_like_the_later_provider(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIAOBOTS_AUTH_CODE", raising=False)
    emulator.default = Behavior(reply=MIXED, chunk_bytes=7, split_multibyte=True)
    assert "".join(_create_completion("gpt-4", MESSAGES, True, base_url=emulator.base_url)) == (
        MIXED
    )
    ask, login, user, chat = emulator.requests
    assert login.path == "/recaptcha/api/login"
    assert ask.body == user.body == {"authcode": "", "recommendUrl": emulator.base_url + "/"}
    assert chat.headers["x-auth-code"] not in ("", AUTH_CODE)
    assert "gkp2=" in chat.headers["cookie"]


def test_a_given_code_that_is_refused_is_not_replaced_by_a_guest(emulator: Emulator) -> None:
    with pytest.raises(AuthError):
        list(_create_completion("gpt-4", MESSAGES, True, auth="bad", base_url=emulator.base_url))
    assert emulator.guest_sign_ins == 0
