"""A chunked body decoded from pieces cut anywhere: all its data, nothing held back, hostile
framing refused; and a reply's tokens that came together are read as one piece, not one per
token."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liaobots_core import LiaobotsClient, ProtocolError
from liaobots_core.chunked import MAX_LINE, MAX_TRAILERS, ChunkedBody
from testkit.fuzzing import ScriptedServer

from .test_framing import split_at

chunk_data = st.binary(min_size=1, max_size=40)
extensions = st.sampled_from(["", ";name=value", "; q=1", ";x"])
size_forms = st.sampled_from(["%x", "%X", "%04x", " %x "])
trailers = st.lists(st.sampled_from(["X-Usage: 12", "Checksum: abc"]), max_size=3)
line_ends = st.sampled_from(["\r\n", "\n"])


def encode(
    chunks: list[bytes], forms: list[str], exts: list[str], tail: list[str], eol: str
) -> bytes:
    parts = []
    for index, data in enumerate(chunks):
        form, ext = forms[index % len(forms)], exts[index % len(exts)]
        parts.append((form % len(data) + ext + eol).encode() + data + eol.encode())
    parts.append(("0" + eol + "".join(line + eol for line in tail) + eol).encode())
    return b"".join(parts)


def decode_all(pieces: list[bytes]) -> tuple[bytes, ChunkedBody]:
    body = ChunkedBody()
    return b"".join(body.feed(piece) for piece in pieces), body


@given(
    st.lists(chunk_data, max_size=12),
    st.lists(size_forms, min_size=1, max_size=3),
    st.lists(extensions, min_size=1, max_size=3),
    trailers,
    line_ends,
    st.lists(st.integers(min_value=0), max_size=30),
)
def test_a_chunked_body_cut_anywhere_decodes_to_exactly_its_data(
    chunks: list[bytes],
    forms: list[str],
    exts: list[str],
    tail: list[str],
    eol: str,
    cuts: list[int],
) -> None:
    framed = encode(chunks, forms, exts, tail, eol)
    data, body = decode_all(split_at(framed, cuts))
    assert data == b"".join(chunks)
    assert body.done


def test_a_chunk_not_yet_whole_gives_what_arrived_of_it_at_once() -> None:
    body = ChunkedBody()
    assert body.feed(b"1000\r\nfirst words") == b"first words"
    assert body.feed(b" and more") == b" and more"
    assert not body.done


def test_many_chunks_that_arrived_together_come_back_as_one_piece() -> None:
    framed = b"".join(b"4\r\n%04d\r\n" % i for i in range(200)) + b"0\r\n\r\n"
    body = ChunkedBody()
    assert body.feed(framed) == b"".join(b"%04d" % i for i in range(200))
    assert body.done


def test_bytes_after_the_last_chunk_are_not_data() -> None:
    body = ChunkedBody()
    assert body.feed(b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n") == b"abc"
    assert body.done
    assert body.feed(b"5\r\nlater\r\n") == b""


@pytest.mark.parametrize(
    "framed",
    [
        b"zz\r\nabc\r\n",
        b"0x3\r\nabc\r\n",
        b"+3\r\nabc\r\n",
        b"1_0\r\nabc\r\n",
        b"\r\nabc\r\n",
        b"-1\r\nabc\r\n",
        b"1" * 17 + b"\r\n",
        b"3\r\nabcXY4\r\nmore\r\n",
    ],
    ids=[
        "not hex",
        "0x prefix",
        "plus sign",
        "underscore",
        "empty",
        "negative",
        "17 digits",
        "no line end after the data",
    ],
)
def test_framing_that_is_not_chunked_is_a_protocol_error(framed: bytes) -> None:
    with pytest.raises(ProtocolError):
        ChunkedBody().feed(framed)


def test_a_size_line_that_never_ends_is_refused_before_it_grows_past_the_bound() -> None:
    body = ChunkedBody()
    body.feed(b"1" * 10)
    with pytest.raises(ProtocolError):
        body.feed(b" " * MAX_LINE)


def test_trailers_past_their_bound_are_a_protocol_error() -> None:
    line = b"X-Pad: " + b"p" * 90 + b"\r\n"
    body = ChunkedBody()
    body.feed(b"0\r\n" + line * (MAX_TRAILERS // len(line) - 1))  # within the bound
    assert not body.done
    with pytest.raises(ProtocolError):
        body.feed(line * 2)


def test_a_reply_whose_tokens_all_came_at_once_is_read_in_one_piece_not_one_per_token() -> None:
    """What lets a busy process's reply tasks rest between reads: the tokens that came
    meanwhile cost one read. Fails if urllib3 no longer lets the socket's reader be reached
    (the client would then read the reply a chunk, a token, at a time)."""
    tokens = [f"tok{i:03d} " for i in range(200)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(t), t.encode()) for t in tokens) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    with ScriptedServer() as server:
        server.response = head + framed  # one write: it is all there by the first read
        with LiaobotsClient("code", server.base_url, timeout=5.0, max_retries=0) as client:
            pieces = list(client.stream_chat([{"role": "user", "content": "hi"}]))
    assert "".join(pieces) == "".join(tokens)
    assert len(pieces) <= 2, f"{len(pieces)} reads for 200 tokens that came at once"
