"""The decoders reassemble any text exactly, however the bytes are cut."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liaobots_core.errors import (
    AuthError,
    HumanCheckError,
    InsufficientBalanceError,
    ProtocolError,
    RateLimitError,
    UpstreamError,
)
from liaobots_core.framing import HtmlSniffer, RawTextDecoder, SSEDecoder

# Any Unicode scalar value: surrogates cannot be encoded as UTF-8, everything else can.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
pieces = st.lists(any_text, min_size=1, max_size=12)
line_endings = st.sampled_from(["\n", "\r\n", "\r"])


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def decode_all(decoder: RawTextDecoder | SSEDecoder, chunks: list[bytes]) -> str:
    return "".join(decoder.feed(chunk) for chunk in chunks) + decoder.finish()


def sse_bytes(texts: list[str], eol: str, done: bool = True) -> bytes:
    events = [f"data: {json.dumps({'content': t}, ensure_ascii=False)}{eol}{eol}" for t in texts]
    if done:
        events.append(f"data: [DONE]{eol}{eol}")
    return "".join(events).encode("utf-8")


@given(any_text, st.lists(st.integers(min_value=0), max_size=30))
def test_raw_text_split_at_any_bytes_reassembles_exactly(text: str, cuts: list[int]) -> None:
    chunks = split_at(text.encode("utf-8"), cuts)
    assert decode_all(RawTextDecoder(), chunks) == text


@given(pieces, line_endings, st.lists(st.integers(min_value=0), max_size=40))
def test_sse_split_anywhere_reassembles_exactly(
    texts: list[str], eol: str, cuts: list[int]
) -> None:
    chunks = split_at(sse_bytes(texts, eol), cuts)
    assert decode_all(SSEDecoder(), chunks) == "".join(texts)


@given(pieces, st.lists(st.integers(min_value=0), max_size=40))
def test_html_sniffer_passes_ordinary_replies_through_unchanged(
    texts: list[str], cuts: list[int]
) -> None:
    text = "".join(texts)
    if text.lstrip(" \t\r\n\f\v\ufeff").lower().startswith(("<!doctype html", "<html")):
        return
    sniffer = HtmlSniffer()
    chunks = split_at(text.encode("utf-8"), cuts)
    passed = b"".join(sniffer.feed(c) for c in chunks) + sniffer.finish()
    assert passed == text.encode("utf-8")


def test_raw_decoder_yields_each_whole_character_as_soon_as_its_last_byte_arrives() -> None:
    decoder = RawTextDecoder()
    data = "Привет".encode()
    assert decoder.feed(data[:3]) == "П"  # 'П' is two bytes, then half of 'р'
    assert decoder.feed(data[3:4]) == "р"
    assert decoder.feed(data[4:]) == "ивет"


def test_sse_event_is_yielded_when_its_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"content": "Hi"}\n') == ""
    assert decoder.feed(b"\n") == "Hi"


def test_sse_done_ends_the_reply_and_ignores_anything_after() -> None:
    decoder = SSEDecoder()
    text = decoder.feed(b'data: {"content": "a"}\n\ndata: [DONE]\n\ndata: {"content": "b"}\n\n')
    assert text == "a"
    assert decoder.done


def test_sse_comments_and_other_fields_are_ignored() -> None:
    data = b': keep-alive\n\nevent: message\nid: 7\ndata: {"content": "x"}\n\n'
    assert decode_all(SSEDecoder(), [data]) == "x"


def test_sse_multiline_data_joins_lines_with_newline() -> None:
    data = b'data: {"content":\ndata: "two"}\n\n'
    assert decode_all(SSEDecoder(), [data]) == "two"


def test_sse_openai_style_delta_is_understood() -> None:
    data = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n'
    assert decode_all(SSEDecoder(), [data]) == "hi"


def test_sse_line_separator_characters_inside_content_are_not_line_ends() -> None:
    text = "a\u2028b\x85c\x0bd"
    assert decode_all(SSEDecoder(), [sse_bytes([text], "\n")]) == text


def test_sse_event_without_final_blank_line_still_counts_at_end_of_stream() -> None:
    assert decode_all(SSEDecoder(), [b'data: {"content": "end"}']) == "end"


def test_sse_data_that_is_not_json_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not JSON"):
        decode_all(SSEDecoder(), [b"data: hello\n\n"])


def test_sse_events_of_other_roles_are_not_reply_text() -> None:
    decoder = SSEDecoder()
    text = decoder.feed(
        b'data: {"role": "user", "content": "the question echoed"}\n\n'
        b'data: {"role": "assistant", "content": "the "}\n\n'
        b'data: {"role": "tool", "content": "a search result"}\n\n'
        b'data: {"content": "reply"}\n\n'
    )
    assert text == "the reply"
    assert decoder.error is None


def test_sse_error_event_keeps_the_text_before_it_and_holds_the_typed_error() -> None:
    decoder = SSEDecoder()
    text = decoder.feed(
        b'data: {"role": "assistant", "content": "partial"}\n\n'
        b'data: {"error": true, "res_status": 402, "message": "needs credits"}\n\n'
        b'data: {"role": "assistant", "content": "never"}\n\n'
    )
    assert text == "partial"
    assert isinstance(decoder.error, InsufficientBalanceError)
    assert decoder.done
    assert "credits" not in str(decoder.error)


def test_sse_error_event_cut_off_at_the_end_still_counts() -> None:
    decoder = SSEDecoder()
    assert (
        decoder.feed(b'data: {"content": "a"}\n\ndata: {"error": true, "res_status": "429"}') == "a"
    )
    assert decoder.finish() == ""
    assert isinstance(decoder.error, RateLimitError)


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ({"error": True, "res_status": 403}, AuthError),
        ({"error": True, "res_status": 503}, UpstreamError),
        (
            {"error": True, "message": "Insufficient credits for this model"},
            InsufficientBalanceError,
        ),
        ({"error": True, "message": "请求过于频繁"}, RateLimitError),
        ({"error": True, "message": "Please log in again"}, AuthError),
        ({"error": {"message": "something broke"}}, UpstreamError),
    ],
    ids=["403", "503", "credits", "rate-zh", "login", "object"],
)
def test_sse_error_events_map_to_the_types_of_their_statuses_or_messages(
    event: dict[str, object], kind: type[Exception]
) -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: " + json.dumps(event).encode() + b"\n\n")
    assert type(decoder.error) is kind


def test_sse_event_with_error_false_is_ordinary_text() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"error": false, "content": "fine"}\n\n') == "fine"
    assert decoder.error is None


@pytest.mark.parametrize(
    "page",
    [b"<!DOCTYPE html", b"\n  <html", b"\xef\xbb\xbf<!doctype HTML"],
)
def test_html_page_is_recognised_even_when_split_byte_by_byte(page: bytes) -> None:
    sniffer = HtmlSniffer()
    for i in range(len(page) - 1):
        assert sniffer.feed(page[i : i + 1]) == b""
    with pytest.raises(HumanCheckError):
        sniffer.feed(page[-1:])


def test_reply_starting_with_markup_that_is_not_a_page_passes_at_once() -> None:
    sniffer = HtmlSniffer()
    assert sniffer.feed(b"<h") == b""  # could still be <html>
    assert sniffer.feed(b"1>Title") == b"<h1>Title"
