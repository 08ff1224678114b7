"""Paced replies (`Behavior.delay`): every one on time, whole, and written by one thread.

A benchmark streams 150 replies of a 4-byte piece every 20 ms from one emulator on the machine
the page shares; those pieces are written by one pacing thread (liaobots_core/emulator/pacer.py)
rather than by each reply's own thread waking 50 times a second.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from liaobots_core.emulator import Emulator
from liaobots_core.emulator.pacer import can_pace

from .test_emulator import CODE, PREFIX, RawResponse, _read_body, chat, chat_body, open_post

READERS = 30


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(auth_code=CODE, path_prefix=PREFIX) as e:
        yield e


def timed_chat(emu: Emulator, **options: object) -> tuple[RawResponse, float]:
    """A reply read to its end, and the seconds from before its request to its end."""
    started = time.monotonic()
    response = chat(emu, **options)
    return response, time.monotonic() - started


def pacing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "liaobots-emulator-pacer"]


def test_many_paced_replies_at_once_each_arrive_whole_in_pieces_no_closer_than_the_delay(
    emu: Emulator,
) -> None:
    reply = "Ёжик 東京 👋🏽 café, paced. " * 3
    delay = 0.02
    with ThreadPoolExecutor(READERS) as pool:
        runs = list(
            pool.map(
                lambda _: timed_chat(emu, reply=reply, chunk_bytes=8, delay=delay),
                range(READERS),
            )
        )
    encoded = reply.encode()
    for response, took in runs:
        assert response.ending == "complete"
        assert response.body == encoded
        assert [len(p) for p in response.pieces[:-1]] == [8] * (len(response.pieces) - 1)
        assert took >= (len(response.pieces) - 1) * delay  # never a piece before its time


def test_paced_replies_are_written_by_one_thread_however_many_stream() -> None:
    before = set(pacing_threads())  # other emulators' (a test session may keep some)
    emu = Emulator(auth_code=CODE, path_prefix=PREFIX).start()
    started = threading.Barrier(READERS + 1)
    sockets = []
    for _ in range(READERS):
        sock, f, status, _ = open_post(
            emu, f"{PREFIX}/api/chat", chat_body(reply="x" * 4000, chunk_bytes=4, delay=0.02)
        )
        assert status == 200
        sockets.append((sock, f))

    def read_first(pair: tuple[socket.socket, object]) -> None:
        pair[1].read1(1)  # type: ignore[attr-defined]
        started.wait()

    with ThreadPoolExecutor(READERS) as pool:
        futures = [pool.submit(read_first, pair) for pair in sockets]
        started.wait()
        writers = set(pacing_threads()) - before
        assert len(writers) == 1  # thirty replies mid-stream, one writer
        for future in futures:
            future.result()
    for sock, f in sockets:
        f.close()
        sock.close()
    emu.stop()
    (writer,) = writers
    writer.join(5.0)
    assert not writer.is_alive()  # and it ends with its emulator


def test_a_client_gone_mid_paced_reply_leaves_the_others_whole(emu: Emulator) -> None:
    sock, f, status, _ = open_post(
        emu, f"{PREFIX}/api/chat", chat_body(reply="y" * 400, chunk_bytes=4, delay=0.01)
    )
    assert status == 200
    f.read1(1)
    f.close()
    sock.close()  # gone with most of its reply unwritten
    response, _ = timed_chat(emu, reply="the others go on", chunk_bytes=4, delay=0.01)
    assert (response.ending, response.body) == ("complete", b"the others go on")


def test_a_reader_slower_than_the_pieces_still_gets_every_byte_in_order(emu: Emulator) -> None:
    # Pieces of 8 MB: far past what a socket's buffers take at once, so each is written in
    # many turns of the pacer, the rest kept until the reader makes room.
    piece = 8 * 1024 * 1024
    response, _ = timed_chat(emu, reply_chars=2 * piece, chunk_bytes=piece, delay=0.001)
    assert response.ending == "complete"
    assert len(response.pieces) >= 2  # (characters, some of several bytes: a third piece)
    assert response.body == chat(emu, reply_chars=2 * piece, chunk_bytes=piece).body


def test_stop_ends_paced_replies_at_once() -> None:
    emu = Emulator(auth_code=CODE).start()
    sock, f, status, _ = open_post(
        emu, "/api/chat", chat_body(reply="z" * 100, chunk_bytes=1, delay=30.0)
    )
    with sock, f:
        assert status == 200
        f.readline()  # the first chunk's size: the reply has begun
        started = time.monotonic()
        emu.stop()
        assert time.monotonic() - started < 5.0  # its next piece was due in 30 s
        try:
            rest = f.read()
        except ConnectionResetError:
            rest = b""
        assert b"z" * 2 not in rest


def test_a_held_paced_reply_goes_on_after_the_release_at_its_pace(emu: Emulator) -> None:
    sock, f, status, headers = open_post(
        emu,
        f"{PREFIX}/api/chat",
        chat_body(reply="abcdefgh", chunk_bytes=2, delay=0.01, hold_after_bytes=4),
    )
    with sock, f:
        assert status == 200
        pieces: list[bytes] = []
        for _ in range(2):
            size = int(f.readline(), 16)
            pieces.append(f.read(size))
            f.readline()
        assert pieces == [b"ab", b"cd"]  # held there
        emu.release_held()
        assert _read_body(f, headers, pieces) == "complete"
    assert pieces == [b"ab", b"cd", b"ef", b"gh"]


def test_only_plain_sockets_without_a_timeout_are_paced_from_the_one_thread() -> None:
    # Python waits for room before a send on a socket with a timeout: one such socket, its
    # reader stalled, would hold every other reply up, so it writes from its own thread.
    with socket.socket() as plain, socket.socket() as timed:
        timed.settimeout(5.0)
        assert can_pace(plain)
        assert not can_pace(timed)
    assert not can_pace(object())
