"""LiaobotsClient against the emulator over real sockets: text, framing, faults, retries."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from liaobots_core import (
    AuthError,
    ConfigurationError,
    ConnectionFailedError,
    HumanCheckError,
    InsufficientBalanceError,
    LiaobotsClient,
    LiaobotsError,
    MissingAuthCodeError,
    RateLimitError,
    StreamTimeoutError,
    UnknownModelError,
    UpstreamError,
)
from liaobots_core.client import parse_retry_after
from liaobots_core.emulator import Behavior, Emulator
from testkit import AUTH_CODE

MIXED = "Привет, мир! 你好，世界！ 👋🏽 Ünïcödé — 𝄞 «ёлки» 🇷🇺 " * 20
QUESTION = [{"role": "user", "content": "Расскажи про 🐍 и 中文"}]
WAIT = 60.0  # seconds for a woken reader to end on a machine ten times slower


@pytest.mark.parametrize("framing", ["raw", "sse"])
@pytest.mark.parametrize("transfer", ["chunked", "close"])
def test_reply_split_inside_multibyte_characters_arrives_exact(
    client: LiaobotsClient, emulator: Emulator, framing: str, transfer: str
) -> None:
    emulator.default = Behavior(
        framing=framing, transfer=transfer, reply=MIXED, chunk_bytes=7, split_multibyte=True
    )
    # How many reads it takes depends on the machine; that text is not held back is checked
    # by the first-text tests below, without timing.
    pieces = list(client.stream_chat(QUESTION))
    assert "".join(pieces) == MIXED


def test_generated_reply_quotes_the_question_and_streams_whole(client: LiaobotsClient) -> None:
    with client.stream_chat(QUESTION) as stream:
        text = "".join(stream)
    assert "Расскажи про 🐍 и 中文" in text
    assert stream.finished
    assert stream.chars == len(text)


def test_request_carries_code_model_object_messages_and_prompt(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    history = [
        {"role": "user", "content": "Первый"},
        {"role": "assistant", "content": "Ответ"},
        {"role": "user", "content": "Второй"},
    ]
    client.complete(history, model="gpt-4", system_prompt="Be brief.", temperature=0.2)
    (request,) = emulator.chat_requests
    assert request.path == "/api/chat"
    assert request.headers["x-auth-code"] == AUTH_CODE
    assert request.headers["content-type"].startswith("application/json")
    assert request.body["model"] == {
        "id": "gpt-4",
        "name": "GPT-4",
        "maxLength": 24000,
        "tokenLimit": 8000,
    }
    assert request.body["messages"] == history
    assert request.body["prompt"] == "Be brief."
    assert request.body["temperature"] == 0.2
    assert len(request.body["conversationId"]) == 36


def test_system_messages_in_the_list_become_the_prompt(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    client.complete([{"role": "system", "content": "Talk like a pirate."}, *QUESTION])
    (request,) = emulator.chat_requests
    assert request.body["prompt"] == "Talk like a pirate."
    assert request.body["messages"] == QUESTION


def test_first_text_of_close_delimited_reply_is_not_held_back(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(
        transfer="close", reply="Hello there, friend", chunk_bytes=6, delay=30.0
    )
    started = time.monotonic()
    with client.stream_chat(QUESTION) as stream:
        first = next(stream)
        elapsed = time.monotonic() - started
    assert first == "Hello "
    assert elapsed < 10  # the next piece comes 30 s later: not held back until then


def test_first_sse_event_is_yielded_before_the_next_one_is_sent(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(
        framing="sse", transfer="close", reply="Hi", chunk_bytes=4096, delay=30.0
    )
    started = time.monotonic()
    with client.stream_chat(QUESTION) as stream:
        assert next(stream)
        assert time.monotonic() - started < 10  # the next event is sent 30 s later


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (402, InsufficientBalanceError)],
)
def test_account_statuses_raise_their_class_without_retrying(
    client: LiaobotsClient, emulator: Emulator, status: int, error: type[LiaobotsError]
) -> None:
    emulator.default = Behavior(status=status)
    with pytest.raises(error) as caught:
        client.complete(QUESTION)
    assert str(status) in str(caught.value)
    assert len(emulator.chat_requests) == 1


def test_wrong_auth_code_is_an_auth_error_carrying_facts_not_the_pages_advice(
    emulator: Emulator,
) -> None:
    with LiaobotsClient(auth_code="wrong", base_url=emulator.base_url) as client:
        with pytest.raises(AuthError) as caught:
            client.complete(QUESTION)
    assert (caught.value.kind, caught.value.status_code) == ("auth", 401)
    assert str(caught.value) == "auth code rejected (HTTP 401)"
    assert "sidebar" not in str(caught.value)  # the page's words are the page's


@pytest.mark.parametrize(
    ("error", "kind", "line"),
    [
        (MissingAuthCodeError(), "missing_code", "no auth code given"),
        (AuthError(status_code=403), "auth", "auth code rejected (HTTP 403)"),
        (AuthError(reason="unsendable"), "auth", "auth code not sent"),
        (HumanCheckError(), "human_check", "HTML page"),
        (InsufficientBalanceError(), "balance", "balance used up (HTTP 402)"),
        (RateLimitError(None), "rate_limit", "rate limited (HTTP 429)"),
        (UpstreamError(503), "upstream", "service failure (HTTP 503)"),
        (UpstreamError(418), "refused", "unexpected status (HTTP 418)"),
        (StreamTimeoutError(2.5, during_reply=True), "timeout", "no data for 2.5 seconds"),
        (ConnectionFailedError("http://h:1", during_reply=True), "connection_cut", "broke"),
        (UnknownModelError("x", ["gpt-4"]), "unknown_model", "unknown model 'x'"),
    ],
)
def test_client_errors_carry_a_kind_and_a_technical_line_never_advice(
    error: LiaobotsError, kind: str, line: str
) -> None:
    assert error.kind == kind
    assert line in str(error)
    for advice in ("sidebar", "Paste", "offline demo", "try again", "Check"):
        assert advice not in str(error)


def test_rate_limit_reports_retry_after_seconds(client: LiaobotsClient, emulator: Emulator) -> None:
    emulator.default = Behavior(status=429, retry_after="7")
    with pytest.raises(RateLimitError) as caught:
        client.complete(QUESTION)
    assert (caught.value.kind, caught.value.status_code, caught.value.retry_after) == (
        "rate_limit",
        429,
        7,
    )
    assert str(caught.value) == "rate limited (HTTP 429); retry after 7 seconds"
    assert len(emulator.chat_requests) == 1  # 7 s is over the client's cap: said, not waited


def test_short_retry_after_is_waited_out_and_retried(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.enqueue(Behavior(status=429, retry_after="0"))
    assert client.complete(QUESTION)
    assert len(emulator.chat_requests) == 2


def test_rate_limit_without_retry_after_is_not_retried(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(status=429)
    with pytest.raises(RateLimitError) as caught:
        client.complete(QUESTION)
    assert caught.value.retry_after is None
    assert len(emulator.chat_requests) == 1


def test_503_is_retried_max_retries_times_then_raised(emulator: Emulator) -> None:
    emulator.default = Behavior(status=503)
    with LiaobotsClient(AUTH_CODE, emulator.base_url, max_retries=2, retry_backoff=0.01) as client:
        with pytest.raises(UpstreamError) as caught:
            client.complete(QUESTION)
    assert caught.value.status_code == 503
    assert len(emulator.chat_requests) == 3


def test_max_retries_zero_sends_one_request(emulator: Emulator) -> None:
    emulator.default = Behavior(status=502)
    with LiaobotsClient(AUTH_CODE, emulator.base_url, max_retries=0) as client:
        with pytest.raises(UpstreamError):
            client.complete(QUESTION)
    assert len(emulator.chat_requests) == 1


def test_a_passing_503_is_retried_into_a_reply(client: LiaobotsClient, emulator: Emulator) -> None:
    emulator.enqueue(Behavior(status=503), Behavior(status=504))
    assert "Расскажи" in client.complete(QUESTION)
    assert len(emulator.chat_requests) == 3


def test_other_4xx_is_an_upstream_error_with_status(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(status=418)
    with pytest.raises(UpstreamError) as caught:
        client.complete(QUESTION)
    assert caught.value.status_code == 418
    assert len(emulator.chat_requests) == 1


@pytest.mark.parametrize("content_type_html", [True, False])
def test_html_human_check_page_is_an_auth_error_not_a_reply(
    client: LiaobotsClient, emulator: Emulator, content_type_html: bool
) -> None:
    emulator.default = Behavior(html=True, content_type_html=content_type_html, chunk_bytes=3)
    received: list[str] = []
    with pytest.raises(HumanCheckError) as caught:
        received.extend(client.stream_chat(QUESTION))
    assert isinstance(caught.value, AuthError)
    assert received == []


@pytest.mark.parametrize("framing", ["raw", "sse"])
def test_mid_stream_reset_raises_after_a_prefix_without_a_second_request(
    client: LiaobotsClient, emulator: Emulator, framing: str
) -> None:
    emulator.default = Behavior(
        framing=framing, reply=MIXED, chunk_bytes=50, disconnect_after_bytes=400
    )
    received: list[str] = []
    with pytest.raises(ConnectionFailedError) as caught:
        received.extend(client.stream_chat(QUESTION))
    text = "".join(received)
    assert text
    assert MIXED.startswith(text)
    assert len(text) < len(MIXED)
    assert caught.value.during_reply
    assert len(emulator.chat_requests) == 1


@pytest.mark.parametrize("transfer", ["chunked", "close"])
def test_mid_stream_stall_times_out_after_a_prefix_without_a_second_request(
    emulator: Emulator, transfer: str
) -> None:
    emulator.default = Behavior(
        transfer=transfer, reply=MIXED, chunk_bytes=50, stall_after_bytes=300
    )
    received: list[str] = []
    # The silence allowed is short to keep the test quick, yet well above what the answer's
    # first bytes take on a busy machine (a few milliseconds on a quiet one).
    with LiaobotsClient(AUTH_CODE, emulator.base_url, timeout=2.0) as client:
        with pytest.raises(StreamTimeoutError) as caught:
            received.extend(client.stream_chat(QUESTION))
    text = "".join(received)
    assert text
    assert MIXED.startswith(text)
    assert caught.value.during_reply
    assert len(emulator.chat_requests) == 1


def test_closing_a_stalled_stream_from_another_thread_wakes_the_reader(
    emulator: Emulator,
) -> None:
    # The service goes silent for an hour and the client would wait ten minutes for a byte:
    # only the close can end the reader's wait within the test's.
    emulator.default = Behavior(reply=MIXED, chunk_bytes=50, stall_after_bytes=100)
    with LiaobotsClient(AUTH_CODE, emulator.base_url, timeout=600.0) as client:
        stream = client.stream_chat(QUESTION)
        first = next(stream)
        reader_done = threading.Event()
        rest: list[str] = []
        failed: list[BaseException] = []

        def read_rest() -> None:
            try:
                rest.extend(stream)
            except Exception as error:  # told to the test below
                failed.append(error)
            reader_done.set()

        reader = threading.Thread(target=read_rest, daemon=True)
        reader.start()
        stream.close()
        assert reader_done.wait(WAIT), f"closing the stream did not wake its reader in {WAIT} s"
        reader.join(WAIT)
    assert failed == []
    assert MIXED.startswith(first + "".join(rest))
    assert stream.closed
    assert not stream.finished


def test_closing_a_stream_between_chunks_returns_at_once(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply=MIXED, chunk_bytes=20, delay=30.0)
    stream = client.stream_chat(QUESTION)
    next(stream)
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 10  # the next chunk comes 30 s later
    assert list(stream) == []


def test_a_closed_connection_does_not_poison_the_pool(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.enqueue(Behavior(reply=MIXED, chunk_bytes=20, delay=0.2))
    stream = client.stream_chat(QUESTION)
    next(stream)
    stream.close()
    assert "Расскажи" in client.complete(QUESTION)


def test_replies_one_after_another_come_over_one_connection(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    """A reply read to its end gives its connection back: the next skips a new connection
    (to the service, a TLS handshake before its first words)."""
    emulator.default = Behavior(reply=MIXED, chunk_bytes=4)
    for _ in range(3):
        assert client.complete(QUESTION) == MIXED
    peers = [r.peer for r in emulator.requests if r.endpoint == "/api/chat"]
    assert len(peers) == 3
    assert len(set(peers)) == 1, peers


def test_unreachable_service_is_a_connection_error_naming_the_address() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with LiaobotsClient(AUTH_CODE, base, max_retries=1, retry_backoff=0.01) as client:
        with pytest.raises(ConnectionFailedError, match=f"127.0.0.1:{port}") as caught:
            client.complete(QUESTION)
    assert not caught.value.during_reply


def test_missing_auth_code_sends_nothing(emulator: Emulator, monkeypatch) -> None:
    monkeypatch.delenv("LIAOBOTS_AUTH_CODE", raising=False)
    with LiaobotsClient(base_url=emulator.base_url) as client:
        with pytest.raises(MissingAuthCodeError, match="LIAOBOTS_AUTH_CODE"):
            client.complete(QUESTION)
    assert emulator.requests == []


def test_settings_come_from_the_environment(emulator: Emulator, monkeypatch) -> None:
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", AUTH_CODE)
    monkeypatch.setenv("LIAOBOTS_BASE_URL", emulator.base_url + "/")
    with LiaobotsClient() as client:
        assert client.base_url == emulator.base_url
        assert client.complete(QUESTION)


def test_default_base_url_is_the_real_service(monkeypatch) -> None:
    monkeypatch.delenv("LIAOBOTS_BASE_URL", raising=False)
    assert LiaobotsClient(auth_code="x").base_url == "https://liaobots.com"


@pytest.mark.parametrize("url", ["liaobots.com", "ftp://liaobots.com", "https://", "http://a/?q=1"])
def test_malformed_base_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base URL"):
        LiaobotsClient(auth_code="x", base_url=url)


def test_list_models_returns_the_servers_list(client: LiaobotsClient, emulator: Emulator) -> None:
    models = client.list_models()
    assert [m.id for m in models] == [m["id"] for m in emulator.models]
    gpt4o = next(m for m in models if m.id == "gpt-4o")
    assert gpt4o.to_wire()["maxLength"] == 48000
    assert set(emulator.models[2]) <= set(gpt4o.to_wire())  # extra keys travel back unchanged


def test_list_models_falls_back_to_the_catalog_when_the_server_fails(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    emulator.models = "not a list"  # type: ignore[assignment]
    assert [m.id for m in client.list_models()] == ["gpt-3.5-turbo", "gpt-4"]


def test_model_known_only_to_the_server_is_sent_as_the_server_described_it(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    client.complete(QUESTION, model="claude-3-5-sonnet")
    assert emulator.chat_requests[-1].body["model"]["maxLength"] == 200000


def test_unknown_model_names_the_valid_ones(client: LiaobotsClient) -> None:
    with pytest.raises(UnknownModelError, match="gpt-4o") as caught:
        client.stream_chat(QUESTION, model="gpt-5-turbo-ultra")
    assert "gpt-3.5-turbo" in caught.value.valid_ids


def test_get_user_reports_the_balance(client: LiaobotsClient, emulator: Emulator) -> None:
    emulator.balance = 12.5
    user = client.get_user()
    assert user.balance == 12.5
    assert AUTH_CODE not in repr(user)
    assert AUTH_CODE not in str(user.details)


def test_get_user_with_a_wrong_code_is_an_auth_error(emulator: Emulator) -> None:
    with LiaobotsClient("nope", emulator.base_url) as client, pytest.raises(AuthError):
        client.get_user()


def test_long_history_drops_oldest_turns_and_says_so(
    client: LiaobotsClient, emulator: Emulator
) -> None:
    turns = []
    for i in range(20):
        turns += [
            {"role": "user", "content": f"q{i} " + "x" * 1000},
            {"role": "assistant", "content": f"a{i} " + "y" * 1000},
        ]
    turns.append({"role": "user", "content": "last question"})
    with client.stream_chat(turns, model="gpt-3.5-turbo") as stream:
        "".join(stream)
    sent = emulator.chat_requests[-1].body["messages"]
    assert stream.history.dropped > 0
    assert sent[-1]["content"] == "last question"
    assert sent[0]["role"] == "user"
    assert sum(len(m["content"]) for m in sent) <= 12000
    assert sent == turns[stream.history.dropped :]


def test_the_auth_code_never_shows_in_reprs_errors_or_logs(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = LiaobotsClient(AUTH_CODE, emulator.base_url, max_retries=1, retry_backoff=0.01)
    texts = [repr(client), str(client)]
    stream = client.stream_chat(QUESTION)
    texts += [repr(stream), "".join(stream), repr(stream)]
    for behavior in (
        Behavior(status=401),
        Behavior(status=402),
        Behavior(status=429, retry_after="9"),
        Behavior(status=503),
        Behavior(html=True),
        Behavior(reply=MIXED, disconnect_after_bytes=10),
    ):
        emulator.default = behavior
        with pytest.raises(LiaobotsError) as caught:
            client.complete(QUESTION)
        texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
    client.close()
    texts.append(caplog.text)
    assert caplog.text  # the exchange was logged, just not the code
    for text in texts:
        assert AUTH_CODE not in text


def test_parse_retry_after_understands_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 < parse_retry_after(future) <= 60
