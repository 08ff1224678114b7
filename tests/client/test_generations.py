"""Every generation of the service, told apart by its answers, in the client and the seed function.

The emulator speaks both generations at once; its `Guests` and `Behavior` options make it answer
as one of them would at each step where they differ: the login body, `/api/user` asked without a
cookie, the chat body, `role` on events, `[DONE]`, errors inside the stream, unstated sizes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from liaobots_core import (
    AuthError,
    InsufficientBalanceError,
    LiaobotsClient,
    RateLimitError,
    UpstreamError,
    _create_completion,
)
from liaobots_core.emulator import Behavior, Emulator, Guests
from liaobots_core.emulator.__main__ import emulator_from_args, parse_args
from liaobots_core.models import UNSTATED_MAX_LENGTH
from testkit import AUTH_CODE
from testkit.models import LATER_MODELS

from .conftest import LOGIN, endpoints

QUESTION = [{"role": "user", "content": "Привет 👋 — which generation?"}]
REPLY = "Здравствуйте! 你好 👋🏽 — one reply for every generation."
# Entries as the later service listed them: no sizes stated, a provider, a pace.


@pytest.fixture
def guest_reply() -> str:
    return REPLY


def streamed(stream: Iterator[str]) -> tuple[str, Exception | None]:
    """The text a stream yielded, and the error it ended with (None when it finished)."""
    pieces: list[str] = []
    try:
        for piece in stream:
            pieces.append(piece)
    except Exception as exc:  # the error is what the test checks
        return "".join(pieces), exc
    return "".join(pieces), None


# --- the guest code: asked for first, a login only when the service wants one ---------------


def test_a_service_handing_out_the_code_at_once_needs_no_login(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.guests = Guests(first_ask="code")
    assert guest.complete(QUESTION) == REPLY
    assert endpoints(emulator) == ["/api/user", "/api/chat"]
    ask, chat = emulator.requests
    assert "cookie" not in ask.headers
    assert "gkp2=" in chat.headers["cookie"]  # the session the code was handed out in
    assert chat.headers["x-auth-code"] not in ("", AUTH_CODE)


def test_the_check_page_before_a_code_leads_to_the_json_login_then_the_code(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.guests = Guests(first_ask="check")
    assert guest.complete(QUESTION) == REPLY
    assert endpoints(emulator) == ["/api/user", LOGIN, "/api/user", "/api/chat"]
    login = emulator.requests[1]
    assert login.body == {"token": "abcdefghijklmnopqrst"}


def test_a_refusal_before_the_login_is_the_earlier_service_asking_for_the_login(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.guests = Guests(first_ask="refuse")
    assert guest.complete(QUESTION) == REPLY
    assert endpoints(emulator) == ["/api/user", LOGIN, "/api/user", "/api/chat"]


def test_a_service_taking_only_the_login_form_gets_the_form_after_the_json(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.guests = Guests(first_ask="refuse", login_body="form")
    assert guest.complete(QUESTION) == REPLY
    assert endpoints(emulator) == ["/api/user", LOGIN, LOGIN, "/api/user", "/api/chat"]
    json_login, form_login = emulator.requests[1:3]
    assert json_login.headers["content-type"] == "application/json"
    assert form_login.raw_body == b"token=abcdefghijklmnopqrst"
    assert form_login.headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_service_taking_only_the_json_login_never_sees_the_form(
    guest: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.guests = Guests(login_body="json")
    assert guest.complete(QUESTION) == REPLY
    assert [r.headers["content-type"] for r in emulator.requests if r.endpoint == LOGIN] == [
        "application/json"
    ]


# --- the chat body: what both generations read ----------------------------------------------


def test_the_chat_body_names_the_model_both_ways(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply=REPLY)
    client.list_models()
    client.complete(QUESTION, "claude-3-5-sonnet")
    body = emulator.chat_requests[-1].body
    assert body["model"]["id"] == "claude-3-5-sonnet"
    assert body["model"]["maxLength"] == 200000
    assert body["models"] == [{"modelId": "claude-3-5-sonnet", "provider": "Anthropic"}]
    assert body["search"] == "false"


# --- the reply: role, [DONE], errors inside the stream ----------------------------------------


@pytest.mark.parametrize("role", [True, False], ids=["with-role", "without-role"])
@pytest.mark.parametrize("done", [True, False], ids=["done", "no-done"])
def test_sse_with_or_without_role_and_done_gives_the_whole_reply(
    client: LiaobotsClient, emulator: Emulator, role: bool, done: bool
) -> None:
    emulator.default = Behavior(
        framing="sse",
        reply=REPLY,
        chunk_bytes=5,
        split_multibyte=True,
        sse_role=role,
        sse_done=done,
    )
    with client.stream_chat(QUESTION) as stream:
        assert "".join(stream) == REPLY
        assert stream.finished


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (402, InsufficientBalanceError),
        (401, AuthError),
        (429, RateLimitError),
        (500, UpstreamError),
    ],
)
def test_an_error_event_mid_reply_is_the_typed_error_after_the_text_that_arrived(
    client: LiaobotsClient, emulator: Emulator, status: int, error: type[Exception]
) -> None:
    emulator.default = Behavior(framing="sse", reply=REPLY, chunk_bytes=11, stream_error=status)
    with client.stream_chat(QUESTION) as stream:
        text, caught = streamed(stream)
        assert not stream.finished
    assert text == REPLY
    assert isinstance(caught, error)
    assert getattr(caught, "status_code", None) == status
    assert "credits" not in str(caught)  # the service's own words are never passed on


def test_an_error_event_before_any_text_is_the_typed_error(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(framing="sse", reply="", stream_error=402)
    with pytest.raises(InsufficientBalanceError):
        client.complete(QUESTION)


# --- the model list: sizes not stated ---------------------------------------------------------


def test_a_model_list_with_sizes_of_zero_is_kept_whole(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.models = LATER_MODELS
    models = client.list_models(fallback=False)
    assert [m.id for m in models] == ["claude-3-7-sonnet-20250219", "grok-3"]
    assert [m.label for m in models] == ["Claude-3.7-Sonnet · Anthropic", "Grok-3 · xAI"]
    assert all(m.max_length == UNSTATED_MAX_LENGTH for m in models)


def test_a_model_with_unstated_sizes_keeps_the_history_that_fits_and_sends_the_zero_back(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.models = LATER_MODELS
    emulator.default = Behavior(reply=REPLY)
    turns = [
        {"role": "user", "content": "старый вопрос " * 2000},  # far beyond any budget
        {"role": "assistant", "content": "старый ответ"},
        {"role": "user", "content": "недавний вопрос"},
        {"role": "assistant", "content": "недавний ответ"},
        *QUESTION,
    ]
    with client.stream_chat(turns, "grok-3") as stream:
        assert "".join(stream) == REPLY
        assert stream.history.dropped == 2
    body = emulator.chat_requests[-1].body
    assert body["messages"] == turns[2:]
    assert (body["model"]["maxLength"], body["model"]["tokenLimit"]) == (0, 0)
    assert body["models"] == [{"modelId": "grok-3", "provider": "xAI"}]


def test_a_model_entry_with_no_sizes_at_all_is_kept_with_the_budget(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.models = [{"id": "bare", "name": "Bare"}]
    (model,) = client.list_models(fallback=False)
    assert (model.max_length, model.token_limit) == (UNSTATED_MAX_LENGTH, UNSTATED_MAX_LENGTH // 3)
    assert model.label == "Bare"


# --- the later generation end to end, through the seed function -------------------------------


def later_generation(emulator: Emulator) -> None:
    """The emulator as the 2025 service answered: the check page first, events with role, no
    [DONE], models with no sizes."""
    emulator.guests = Guests(first_ask="check", login_body="json")
    emulator.models = LATER_MODELS
    emulator.default = Behavior(framing="sse", reply=REPLY, chunk_bytes=6, split_multibyte=True)


def test_create_completion_as_a_guest_of_the_later_service_streams_the_reply(
    emulator: Emulator, no_code_in_env: None
) -> None:
    later_generation(emulator)
    pieces = list(_create_completion("grok-3", QUESTION, True, base_url=emulator.base_url))
    assert "".join(pieces) == REPLY
    assert endpoints(emulator) == ["/api/models", "/api/user", LOGIN, "/api/user", "/api/chat"]
    assert emulator.chat_requests[0].body["models"] == [{"modelId": "grok-3", "provider": "xAI"}]


def test_create_completion_keeps_the_text_before_an_error_event_and_raises_its_type(
    emulator: Emulator, no_code_in_env: None
) -> None:
    later_generation(emulator)
    emulator.default = Behavior(framing="sse", reply=REPLY, chunk_bytes=9, stream_error=402)
    text, caught = streamed(
        _create_completion("grok-3", QUESTION, True, base_url=emulator.base_url)
    )
    assert text == REPLY
    assert isinstance(caught, InsufficientBalanceError)


def test_create_completion_with_a_code_on_the_earlier_service_reads_raw_text(
    emulator: Emulator,
) -> None:
    emulator.default = Behavior(reply=REPLY, chunk_bytes=3, transfer="close")
    text = "".join(
        _create_completion("gpt-4", QUESTION, False, auth=AUTH_CODE, base_url=emulator.base_url)
    )
    assert text == REPLY
    assert endpoints(emulator) == ["/api/chat"]


# --- the emulator tells the generations apart per request ------------------------------------


def post(emulator: Emulator, path: str, session: requests.Session, **kwargs: Any) -> Any:
    return session.post(emulator.base_url + path, timeout=10, **kwargs)


def test_the_emulator_takes_either_chat_body_and_refuses_a_broken_models_list(
    emulator: Emulator,
) -> None:
    headers = {"x-auth-code": AUTH_CODE}
    later = {"models": [{"modelId": "grok-3", "provider": "xAI"}], "search": "false"}
    session = requests.Session()
    answer = post(
        emulator, "/api/chat", session, headers=headers, json={**later, "messages": QUESTION}
    )
    assert answer.status_code == 200
    assert "`grok-3`" in answer.text  # the reply names the model the body named
    broken = {"models": [{"provider": "xAI"}], "messages": QUESTION}
    assert post(emulator, "/api/chat", session, headers=headers, json=broken).status_code == 400


def test_the_emulator_login_answers_code_200_to_the_json_token_and_sets_the_cookie(
    emulator: Emulator,
) -> None:
    session = requests.Session()
    answer = post(emulator, LOGIN, session, json={"token": "abcdefghijklmnopqrst"})
    assert answer.json()["code"] == 200
    assert "gkp2" in session.cookies
    user = post(emulator, "/api/user", session, json={"authcode": "", "recommendUrl": "x"})
    assert user.json()["authCode"]
    emulator.guests = Guests(login_body="form")
    assert post(emulator, LOGIN, requests.Session(), json={"token": "t"}).status_code == 400


def test_the_emulator_error_event_and_role_are_on_the_wire(emulator: Emulator) -> None:
    emulator.default = Behavior(framing="sse", reply="ok", stream_error=402)
    answer = post(
        emulator,
        "/api/chat",
        requests.Session(),
        headers={"x-auth-code": AUTH_CODE},
        json={"messages": QUESTION},
    )
    events = [e for e in answer.text.split("\n\n") if e]
    assert events[0] == 'data: {"role": "assistant", "content": "ok"}'
    assert events[-1].startswith('data: {"error": true, "res_status": 402, "message": ')
    assert "[DONE]" not in answer.text


def test_an_error_event_needs_the_sse_framing() -> None:
    with pytest.raises(ValueError, match="stream_error needs framing 'sse'"):
        Behavior(stream_error=402)


# --- the emulator's command line ----------------------------------------------------------------


def cli_emulator(*argv: str) -> Emulator:
    return emulator_from_args(parse_args(["--port", "0", "--delay", "0", *argv]))


def sse_reply(base_url: str, **kwargs: Any) -> str:
    answer = requests.post(
        base_url + "/api/chat", json={"messages": QUESTION}, timeout=10, **kwargs
    )
    assert answer.headers["content-type"] == "text/event-stream"
    return answer.text


def test_the_emulator_command_line_leaves_done_out_unless_asked() -> None:
    with (
        cli_emulator("--framing", "sse") as plain,
        cli_emulator("--framing", "sse", "--sse-done") as done,
    ):
        assert "[DONE]" not in sse_reply(plain.base_url, headers={"x-auth-code": "any"})
        assert sse_reply(done.base_url, headers={"x-auth-code": "any"}).endswith("data: [DONE]\n\n")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_the_emulator_command_line_serves_https_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with cli_emulator("--framing", "sse", "--tls-cert", str(cert), "--tls-key", str(key)) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:")
        text = sse_reply(emu.base_url, headers={"x-auth-code": "any"}, verify=str(cert))
        assert '"role": "assistant"' in text
        with pytest.raises(requests.exceptions.SSLError):
            requests.post(emu.base_url + "/api/models", json={}, timeout=10)  # not trusted
