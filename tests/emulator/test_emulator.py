"""The emulator itself, checked over real sockets: it must misbehave exactly as asked.

A raw-socket reader is used where the wire matters (chunk sizes, resets, close-delimited ends),
so these tests depend on no HTTP client's buffering and not on liaobots_core.client.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from liaobots_core.emulator import Behavior, Emulator, RecordedRequest, piece_boundaries
from liaobots_core.emulator.framing import SSE_DONE, encode_body
from liaobots_core.emulator.pieces import NEARBY
from liaobots_core.emulator.replies import (
    MIXED_SCRIPTS,
    OFFLINE_NOTICE,
    ReplyText,
    generated_reply,
    reply_text,
)

CODE = "emu-secret-7d2e91"
PREFIX = "/liaobots"
MESSAGE = "Привет, 世界 👋 — how are you?"
REPLY = "Ёжик в тумане 東京タワー 👋🏽 café — done."


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(auth_code=CODE, path_prefix=PREFIX) as e:
        yield e


def chat_body(content: str = MESSAGE, **emulator_options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "conversationId": "3f1e0c52-8a3b-4f0e-9d1c-1b2a3c4d5e6f",
        "model": {"id": "gpt-4", "name": "GPT-4", "maxLength": 24000, "tokenLimit": 8000},
        "messages": [{"role": "user", "content": content}],
        "key": "",
        "prompt": "",
    }
    if emulator_options:
        body["emulator"] = emulator_options
    return body


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    pieces: list[bytes]  # chunk payloads when chunked, else what each read returned
    ending: str  # "complete" (terminating chunk / content-length), "eof" or "reset"

    @property
    def body(self) -> bytes:
        return b"".join(self.pieces)


def open_post(
    emu: Emulator,
    path: str,
    payload: Any,
    *,
    code: str | None = CODE,
    method: str = "POST",
    raw_body: bytes | None = None,
) -> tuple[socket.socket, BinaryIO, int, dict[str, str]]:
    """Send one request on a fresh socket and read the status line and headers."""
    sock = socket.create_connection((emu.host, emu.port), timeout=5)
    data = raw_body if raw_body is not None else json.dumps(payload).encode()
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: {emu.host}:{emu.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
    ]
    if code is not None:
        head.append(f"x-auth-code: {code}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    f = sock.makefile("rb")
    status = int(f.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return sock, f, status, headers


def raw_post(emu: Emulator, path: str, payload: Any = None, **kwargs: Any) -> RawResponse:
    """One request, read to its end exactly as the bytes arrive."""
    sock, f, status, headers = open_post(emu, path, payload, **kwargs)
    pieces: list[bytes] = []
    try:
        with sock, f:
            ending = _read_body(f, headers, pieces)
    except ConnectionResetError:
        ending = "reset"
    return RawResponse(status, headers, pieces, ending)


def _read_body(f: BinaryIO, headers: dict[str, str], pieces: list[bytes]) -> str:
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size_line = f.readline()
            if not size_line:
                return "eof"
            size = int(size_line, 16)
            if size == 0:
                f.readline()
                return "complete"
            pieces.append(f.read(size))
            f.readline()
    if "content-length" in headers:
        pieces.append(f.read(int(headers["content-length"])))
        return "complete"
    while piece := f.read1(65536):
        pieces.append(piece)
    return "eof"


def sse_contents(body: bytes) -> tuple[str, bool]:
    """(joined contents, whether [DONE] ended the stream) of an SSE body."""
    text, done = [], False
    for event in body.decode().split("\n\n"):
        if not event:
            continue
        assert event.startswith("data: ")
        data = event[len("data: ") :]
        if data == "[DONE]":
            done = True
        else:
            text.append(json.loads(data)["content"])
    return "".join(text), done


def chat(emu: Emulator, **options: Any) -> RawResponse:
    return raw_post(emu, f"{PREFIX}/api/chat", chat_body(**options))


# --- framing and transfer -----------------------------------------------------------------


@pytest.mark.parametrize("transfer", ["chunked", "close"])
def test_raw_framing_delivers_the_exact_reply_bytes(emu: Emulator, transfer: str) -> None:
    r = chat(emu, reply=REPLY, transfer=transfer, chunk_bytes=5)
    assert r.status == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.body == REPLY.encode()
    assert r.ending == ("complete" if transfer == "chunked" else "eof")


@pytest.mark.parametrize("transfer", ["chunked", "close"])
def test_sse_framing_delivers_events_that_join_to_the_reply(emu: Emulator, transfer: str) -> None:
    r = chat(emu, reply=REPLY, framing="sse", transfer=transfer, chunk_bytes=7, sse_done=True)
    assert r.headers["content-type"] == "text/event-stream"
    assert r.body.endswith(SSE_DONE)
    assert sse_contents(r.body) == (REPLY, True)


def test_sse_without_done_ends_without_the_done_event(emu: Emulator) -> None:
    r = chat(emu, reply=REPLY, framing="sse", sse_done=False)
    assert b"[DONE]" not in r.body
    assert sse_contents(r.body) == (REPLY, False)


def test_close_delimited_reply_ends_when_socket_closes(emu: Emulator) -> None:
    r = chat(emu, reply=REPLY, transfer="close")
    assert r.headers["connection"] == "close"
    assert "content-length" not in r.headers
    assert "transfer-encoding" not in r.headers
    assert (r.body, r.ending) == (REPLY.encode(), "eof")


def test_each_chunk_carries_chunk_bytes_of_the_body(emu: Emulator) -> None:
    r = chat(emu, reply=REPLY, chunk_bytes=4)
    assert [len(p) for p in r.pieces[:-1]] == [4] * (len(r.pieces) - 1)
    assert 1 <= len(r.pieces[-1]) <= 4
    assert r.body == REPLY.encode()


def test_byte_sized_pieces_split_multibyte_characters_on_the_wire(emu: Emulator) -> None:
    r = chat(emu, reply=REPLY, chunk_bytes=3)
    undecodable = [p for p in r.pieces if not _decodes(p)]
    assert undecodable, "some 3-byte piece should cut a character"
    assert r.body.decode() == REPLY


def test_split_multibyte_cuts_inside_characters_even_with_ascii_sized_pieces(
    emu: Emulator,
) -> None:
    reply = "hello мир and 世界 or 👋 and ёж"
    plain = chat(emu, reply=reply, chunk_bytes=6)
    split = chat(emu, reply=reply, chunk_bytes=6, split_multibyte=True)
    assert split.body == plain.body == reply.encode()
    boundaries = _cut_offsets(split.pieces)
    assert boundaries == piece_boundaries(reply.encode(), 6, True)[:-1]
    assert all(_inside_character(reply.encode(), b) for b in boundaries)


def _decodes(piece: bytes) -> bool:
    try:
        piece.decode()
    except UnicodeDecodeError:
        return False
    return True


def _cut_offsets(pieces: list[bytes]) -> list[int]:
    offsets, total = [], 0
    for p in pieces[:-1]:
        total += len(p)
        offsets.append(total)
    return offsets


def _inside_character(data: bytes, offset: int) -> bool:
    return data[offset] & 0xC0 == 0x80


# --- where pieces are cut (pure function) ---------------------------------------------------


@given(data=st.binary(max_size=300), chunk=st.integers(1, 40), split=st.booleans())
def test_piece_boundaries_cover_the_data_in_increasing_cuts(
    data: bytes, chunk: int, split: bool
) -> None:
    ends = piece_boundaries(data, chunk, split)
    if not data:
        assert ends == []
        return
    assert ends[-1] == len(data)
    starts = [0, *ends[:-1]]
    assert all(0 < end - start <= chunk + NEARBY for start, end in zip(starts, ends, strict=True))


@given(data=st.binary(min_size=1, max_size=300), chunk=st.integers(1, 40))
def test_piece_boundaries_without_split_are_every_chunk_bytes(data: bytes, chunk: int) -> None:
    ends = piece_boundaries(data, chunk)
    assert ends == [*range(chunk, len(data), chunk), len(data)]


@given(text=st.text(max_size=120), chunk=st.integers(1, 24))
def test_split_multibyte_never_cuts_just_before_a_multibyte_character(
    text: str, chunk: int
) -> None:
    data = text.encode()
    for cut in piece_boundaries(data, chunk, split_multibyte=True)[:-1]:
        assert data[cut] < 0xC0, "a cut right before a multi-byte character was not moved"
        nominal_miss = not _inside_character(data, cut)
        if nominal_miss:  # left on a boundary only when no multi-byte character was near
            assert all(b < 0xC0 for b in data[cut : min(cut + NEARBY, len(data) - 1)])


def test_piece_boundaries_rejects_a_zero_chunk_size() -> None:
    with pytest.raises(ValueError, match="chunk_bytes"):
        piece_boundaries(b"abc", 0)


# --- cut replies: reset and stall -----------------------------------------------------------


@pytest.mark.parametrize(
    ("framing", "transfer"), [("raw", "chunked"), ("raw", "close"), ("sse", "chunked")]
)
def test_disconnect_resets_the_connection_after_exactly_n_body_bytes(
    emu: Emulator, framing: str, transfer: str
) -> None:
    r = chat(
        emu,
        reply=REPLY * 10,
        framing=framing,
        transfer=transfer,
        chunk_bytes=7,
        disconnect_after_bytes=30,
    )
    assert r.ending == "reset"
    assert len(r.body) == 30
    full = encode_body(ReplyText(REPLY * 10), framing)
    assert r.body == full[:30]


def test_disconnect_after_zero_bytes_resets_right_after_the_headers(emu: Emulator) -> None:
    r = chat(emu, reply=REPLY, disconnect_after_bytes=0)
    assert (r.status, r.body, r.ending) == (200, b"", "reset")


def test_disconnect_beyond_the_body_still_resets_instead_of_finishing(emu: Emulator) -> None:
    r = chat(emu, reply="short", disconnect_after_bytes=1000)
    assert (r.body, r.ending) == (b"short", "reset")


def test_stall_goes_silent_after_n_bytes_until_stop_releases_it_at_once() -> None:
    emu = Emulator(auth_code=CODE).start()
    sock, f, status, _ = open_post(
        emu, "/api/chat", chat_body(reply=REPLY, transfer="close", stall_after_bytes=9)
    )
    with sock, f:
        assert status == 200
        assert f.read(9) == REPLY.encode()[:9]
        started = time.monotonic()
        emu.stop()
        assert time.monotonic() - started < PROCESS_SECONDS  # the stall itself never ends
        try:
            rest = f.read()
        except ConnectionResetError:
            rest = b""
        assert rest == b""


def test_stall_closes_the_connection_after_stall_seconds(emu: Emulator) -> None:
    r = chat(emu, reply=REPLY, stall_after_bytes=4, stall_seconds=0.05)
    assert (r.body, r.ending) == (REPLY.encode()[:4], "eof")


def test_hold_pauses_the_reply_until_released_then_sends_the_rest(emu: Emulator) -> None:
    held_then_released(emu)


def held_then_released(emu: Emulator) -> None:
    sock, f, status, _ = open_post(
        emu, f"{PREFIX}/api/chat", chat_body(reply=REPLY, transfer="close", hold_after_bytes=9)
    )
    with sock, f:
        assert status == 200
        assert f.read(9) == REPLY.encode()[:9]
        released: list[float] = []
        timer = threading.Timer(0.3, lambda: (released.append(1), emu.release_held()))
        timer.start()
        rest = f.read()  # to the end: held, it comes only after the release
        assert released, "the rest came while the reply should have been held"
        assert rest == REPLY.encode()[9:]


def test_a_cleared_emulator_holds_replies_again(emu: Emulator) -> None:
    emu.release_held()
    assert chat(emu, reply=REPLY, hold_after_bytes=2).body == REPLY.encode()  # not held
    emu.clear()
    held_then_released(emu)


def test_first_byte_delay_and_delay_pace_the_body(emu: Emulator) -> None:
    started = time.monotonic()
    r = chat(emu, reply="abcdef", chunk_bytes=2, first_byte_delay=0.05, delay=0.03)
    assert time.monotonic() - started >= 0.05 + 2 * 0.03
    assert r.pieces == [b"ab", b"cd", b"ef"]


# --- failure signals ------------------------------------------------------------------------


def test_error_status_sends_a_short_json_error_with_retry_after(emu: Emulator) -> None:
    r = chat(emu, status=429, retry_after="7")
    assert r.status == 429
    assert r.headers["retry-after"] == "7"
    assert r.headers["content-type"].startswith("application/json")
    assert json.loads(r.body) == {"error": "too many requests"}
    assert CODE.encode() not in r.body


@pytest.mark.parametrize("status", [402, 500, 502, 503])
def test_error_status_is_sent_as_asked(emu: Emulator, status: int) -> None:
    r = chat(emu, status=status)
    assert r.status == status
    assert "error" in json.loads(r.body)


def test_html_behavior_answers_200_with_a_human_check_page(emu: Emulator) -> None:
    r = chat(emu, html=True)
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.body.startswith(b"<!DOCTYPE html>")
    assert b"<html" in r.body


def test_html_page_can_be_labelled_text_plain_to_force_body_sniffing(emu: Emulator) -> None:
    r = chat(emu, html=True, content_type_html=False)
    assert r.headers["content-type"].startswith("text/plain")
    assert r.body.startswith(b"<!DOCTYPE html>")


@pytest.mark.parametrize("code", [None, "", "wrong-code"])
def test_chat_without_the_right_auth_code_gets_401_before_any_behavior(
    emu: Emulator, code: str | None
) -> None:
    emu.enqueue(Behavior(status=503))
    r = raw_post(emu, f"{PREFIX}/api/chat", chat_body(), code=code)
    assert r.status == 401
    assert json.loads(r.body) == {"error": "invalid auth code"}
    assert chat(emu).status == 503, "a refused request must not use up a queued behaviour"


def test_without_a_configured_code_any_non_empty_code_is_accepted() -> None:
    with Emulator() as emu:
        assert raw_post(emu, "/api/chat", chat_body(), code="anything").status == 200
        assert raw_post(emu, "/api/chat", chat_body(), code=None).status == 401


@pytest.mark.parametrize(
    ("raw_body", "reason"),
    [
        (b"{not json", "JSON object"),
        (b"[]", "JSON object"),
        (json.dumps({"model": {"id": "gpt-4"}}).encode(), "messages"),
        (json.dumps({"messages": []}).encode(), "messages"),
        (json.dumps({"messages": [{"role": "user"}]}).encode(), "content"),
        (
            json.dumps(
                {"messages": [{"role": "user", "content": "x"}], "temperature": 2.5}
            ).encode(),
            "temperature",
        ),
        (
            json.dumps(
                {"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}
            ).encode(),
            "temperature",
        ),
    ],
)
def test_malformed_chat_body_gets_400(emu: Emulator, raw_body: bytes, reason: str) -> None:
    r = raw_post(emu, f"{PREFIX}/api/chat", raw_body=raw_body)
    assert r.status == 400
    assert reason in json.loads(r.body)["error"]


# --- behaviour selection --------------------------------------------------------------------


def test_queued_behaviors_are_used_once_each_in_order_then_the_default(emu: Emulator) -> None:
    emu.default = Behavior(reply="default")
    emu.enqueue(Behavior(status=503), Behavior(status=502))
    assert [chat(emu).status for _ in range(3)] == [503, 502, 200]
    assert chat(emu).body == b"default"


def test_a_models_own_behavior_answers_its_requests_before_the_queue_and_the_default(
    emu: Emulator,
) -> None:
    emu.default = Behavior(reply="default")
    emu.enqueue(Behavior(reply="queued"))
    emu.by_model["gpt-4"] = Behavior(status=503)
    assert chat(emu).status == 503  # chat_body asks for gpt-4, named as an object
    later = chat_body() | {"model": None, "models": [{"modelId": "grok-3"}]}
    r = raw_post(emu, f"{PREFIX}/api/chat", later)  # the later body: another model
    assert r.body == b"queued"
    emu.clear()
    assert chat(emu).body == b"default"  # clear forgets the models' own too


def test_body_emulator_options_override_the_chosen_behavior(emu: Emulator) -> None:
    emu.enqueue(Behavior(reply="queued", framing="sse", sse_done=True))
    r = chat(emu, transfer="close")
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["connection"] == "close"
    assert sse_contents(r.body) == ("queued", True)


def test_unknown_body_emulator_option_gets_400_naming_it(emu: Emulator) -> None:
    emu.enqueue(Behavior(status=503))
    r = chat(emu, framing="sse", chunky_bacon=1)
    assert r.status == 400
    assert "chunky_bacon" in json.loads(r.body)["error"]
    assert chat(emu).status == 503, "an invalid request must not use up a queued behaviour"


def test_body_emulator_option_of_the_wrong_type_gets_400(emu: Emulator) -> None:
    r = chat(emu, chunk_bytes="64")
    assert r.status == 400
    assert "chunk_bytes" in json.loads(r.body)["error"]


def test_from_mapping_lays_options_over_a_base() -> None:
    base = Behavior(framing="sse", delay=0.5)
    got = Behavior.from_mapping({"status": 503, "retry_after": "2", "delay": 1}, base=base)
    assert got == Behavior(framing="sse", delay=1, status=503, retry_after="2")
    assert Behavior.from_mapping({}) == Behavior()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"nope": 1, "also_nope": 2}, "also_nope, nope"),
        ({"framing": "json"}, "framing"),
        ({"status": True}, "status"),
        ({"status": 99}, "status"),
        ({"chunk_bytes": 0}, "chunk_bytes"),
        ({"delay": -1}, "delay"),
        ({"delay": float("inf")}, "delay"),
        ({"html": 1}, "html"),
        ({"reply": 5}, "reply"),
        ({"disconnect_after_bytes": 1.5}, "disconnect_after_bytes"),
    ],
)
def test_from_mapping_rejects_bad_options_naming_them(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Behavior.from_mapping(options)


def test_behavior_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Behavior().status = 500  # type: ignore[misc]


# --- other endpoints and routing ------------------------------------------------------------


def test_models_endpoint_lists_models_with_extra_keys(emu: Emulator) -> None:
    r = raw_post(emu, f"{PREFIX}/api/models", {})
    models = json.loads(r.body)
    assert [m["id"] for m in models] == ["gpt-3.5-turbo", "gpt-4", "gpt-4o", "claude-3-5-sonnet"]
    gpt4 = {"id": "gpt-4", "name": "GPT-4", "maxLength": 24000, "tokenLimit": 8000}
    assert gpt4.items() <= models[1].items()
    assert all({"provider", "context"} <= m.keys() for m in models)


def test_models_endpoint_serves_the_configured_list(emu: Emulator) -> None:
    emu.models = [{"id": "x", "name": "X", "maxLength": 10, "tokenLimit": 3}]
    assert json.loads(raw_post(emu, f"{PREFIX}/api/models", {}).body) == emu.models


def test_user_endpoint_reports_the_balance_for_the_right_code(emu: Emulator) -> None:
    emu.balance = 42.5
    r = raw_post(emu, f"{PREFIX}/api/user", {"authcode": CODE})
    assert (r.status, json.loads(r.body)) == (200, {"authCode": CODE, "balance": 42.5})


@pytest.mark.parametrize("payload", [{"authcode": "wrong"}, {}])
def test_user_endpoint_refuses_a_wrong_or_missing_code(emu: Emulator, payload: dict) -> None:
    r = raw_post(emu, f"{PREFIX}/api/user", payload, code=None)
    assert r.status == 401
    assert CODE.encode() not in r.body


def test_path_prefix_is_honoured_and_requests_without_it_get_404(emu: Emulator) -> None:
    assert emu.base_url == f"http://127.0.0.1:{emu.port}{PREFIX}"
    assert chat(emu).status == 200
    assert raw_post(emu, "/api/chat", chat_body()).status == 404
    assert raw_post(emu, "/liaobotsX/api/chat", chat_body()).status == 404
    assert [r.endpoint for r in emu.requests] == ["/api/chat", None, None]
    assert len(emu.chat_requests) == 1


def test_base_url_without_prefix_is_host_and_port_only() -> None:
    with Emulator(path_prefix="/") as emu:
        assert emu.base_url == f"http://127.0.0.1:{emu.port}"
        assert raw_post(emu, "/api/models", {}).status == 200


def test_unknown_path_gets_404_and_get_on_an_endpoint_gets_405(emu: Emulator) -> None:
    assert raw_post(emu, f"{PREFIX}/api/nothing", {}).status == 404
    r = raw_post(emu, f"{PREFIX}/api/chat", method="GET", raw_body=b"")
    assert (r.status, r.headers["allow"]) == (405, "POST")


# --- the record -----------------------------------------------------------------------------


def test_requests_are_recorded_with_headers_and_body_even_when_refused(emu: Emulator) -> None:
    body = chat_body()
    requests.post(f"{emu.base_url}/api/chat", json=body, headers={"x-auth-code": CODE})
    requests.post(f"{emu.base_url}/api/chat?x=1", json=body, headers={"x-auth-code": "bad"})
    first, second = emu.chat_requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path, first.body) == ("POST", "/api/chat", body)
    assert first.headers["x-auth-code"] == CODE
    assert first.headers["content-type"] == "application/json"
    assert json.loads(first.raw_body) == body
    assert (second.path, second.full_path) == ("/api/chat", f"{PREFIX}/api/chat?x=1")
    assert second.headers["x-auth-code"] == "bad"


def test_clear_forgets_requests_and_queued_behaviors(emu: Emulator) -> None:
    emu.enqueue(Behavior(status=503))
    raw_post(emu, f"{PREFIX}/api/models", {})
    emu.clear()
    assert emu.requests == []
    assert chat(emu).status == 200


def test_requests_is_a_snapshot_copy(emu: Emulator) -> None:
    snapshot = emu.requests
    chat(emu)
    assert snapshot == []
    assert len(emu.requests) == 1


# --- the generated reply --------------------------------------------------------------------


def test_generated_reply_is_deterministic_and_quotes_the_last_user_message(
    emu: Emulator,
) -> None:
    first, second = chat(emu), chat(emu)
    assert first.body == second.body
    text = first.body.decode()
    assert text.startswith(OFFLINE_NOTICE)
    assert f"> {MESSAGE}" in text
    assert "**GPT-4** (`gpt-4`)" in text
    assert "1 message and no system prompt" in text
    assert MIXED_SCRIPTS in text.splitlines()
    assert "```python" in text
    assert "|---|---|" in text
    assert "\n- " in text


def test_generated_reply_describes_the_conversation() -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "второй\nвопрос"},
    ]
    text = generated_reply(messages, {"id": "gpt-4o", "name": "GPT-4o"}, "be brief")
    assert "> второй\n> вопрос" in text
    assert "> first" not in text
    assert "3 messages and a system prompt" in text


def test_generated_reply_quotes_only_the_start_of_a_long_message() -> None:
    long = "я" * 250
    text = generated_reply([{"role": "user", "content": long}], "gpt-4", "")
    assert f"> {'я' * 200}…" in text
    assert "я" * 201 not in text


def test_reply_chars_gives_exactly_that_many_characters(emu: Emulator) -> None:
    r = chat(emu, reply_chars=5003, chunk_bytes=1024)
    text = r.body.decode()
    assert len(text) == 5003
    assert text.startswith(OFFLINE_NOTICE)
    assert text.count(OFFLINE_NOTICE) > 1


def test_reply_chars_builds_fifty_million_characters_fast() -> None:
    started = time.monotonic()
    reply = reply_text(None, 50_000_000, [{"role": "user", "content": MESSAGE}], "gpt-4", "")
    data = reply.encode()
    assert time.monotonic() - started < 5.0  # 0.1 s on a quiet machine
    assert len(reply) == 50_000_000
    unit = reply.unit.encode()
    assert data[: len(unit)] == unit
    assert data.endswith(reply.tail.encode())


# --- connections and lifecycle --------------------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection(emu: Emulator) -> None:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    headers = {"x-auth-code": CODE, "content-type": "application/json"}
    try:
        for _ in range(3):
            conn.request("POST", f"{PREFIX}/api/chat", json.dumps(chat_body()), headers)
            sock_before = conn.sock
            response = conn.getresponse()
            assert response.status == 200
            assert response.read().decode().startswith(OFFLINE_NOTICE)
            assert conn.sock is sock_before
    finally:
        conn.close()


def test_stop_closes_idle_keep_alive_connections_and_is_idempotent() -> None:
    emu = Emulator().start()
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    conn.request("POST", "/api/models", "{}")
    conn.getresponse().read()
    assert conn.sock is not None
    started = time.monotonic()
    emu.stop()
    emu.stop()
    assert time.monotonic() - started < 5
    assert conn.sock.recv(1) == b""
    conn.close()


def test_repr_never_shows_the_auth_code(emu: Emulator) -> None:
    assert CODE not in repr(emu)
    assert emu.base_url in repr(emu)


PROCESS_SECONDS = 60.0  # for the emulator's CLI to start or stop on a machine ten times slower


def first_line(proc: subprocess.Popen[str], seconds: float) -> str:
    """The first line the process prints, waited for up to `seconds` (a hung start fails)."""
    stdout = proc.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        raise AssertionError(f"the emulator's CLI printed no line within {seconds:.0f} s") from None


def test_cli_serves_with_the_code_from_the_environment_and_never_prints_it() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "LIAOBOTS_AUTH_CODE": CODE, "PYTHONPATH": str(root)}
    args = ["--port", "0", "--prefix", PREFIX, "--delay", "0", "--chunk-bytes", "64"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "liaobots_core.emulator", *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = first_line(proc, PROCESS_SECONDS)
        assert CODE not in line
        base_url = line.split()[3]
        assert base_url.endswith(PREFIX)
        ok = requests.post(f"{base_url}/api/chat", json=chat_body(), headers={"x-auth-code": CODE})
        bad = requests.post(f"{base_url}/api/chat", json=chat_body(), headers={"x-auth-code": "x"})
        assert (ok.status_code, bad.status_code) == (200, 401)
        assert f"> {MESSAGE}" in ok.text
    finally:
        # SIGTERM, not SIGINT: a test run started in the background (CI, nohup) passes its
        # children SIGINT ignored, and the CLI then never heard the stop.
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=PROCESS_SECONDS)
    assert proc.returncode == 0
    assert CODE not in out + err
