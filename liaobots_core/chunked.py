"""HTTP/1.1 chunked transfer coding, decoded from whatever bytes have arrived.

A model's reply comes as one HTTP chunk per token: ~4 bytes every 20 ms. urllib3's chunk
reader takes them one at a time (a line read, a data read and a two-byte read each, through
several layers), so a reply task that rests between reads still paid that per token when it
woke. `ChunkedBody` takes every byte the socket had in one call and returns all the data in
it at once, a chunk not yet whole included: nothing that arrived is held back, and a chunk
the server declares large but writes slowly shows as it comes.

The framing is the service's, so it is checked as hostile: a size line is hex digits (an
extension after `;` allowed) of bounded length, each chunk ends with CRLF, trailers are
bounded, and anything else is a `ProtocolError`. The end of the body is the zero chunk and
its blank line; bytes after it are not read.
"""

from __future__ import annotations

from .errors import ProtocolError

MAX_LINE = 4096
"""Longest size line or trailer line accepted, in bytes (a size line needs under 20)."""
MAX_TRAILERS = 64 * 1024
"""Most bytes of trailer lines after the last chunk."""
_MAX_SIZE_DIGITS = 16  # 2**64 bytes: beyond any body, and int() stays cheap
_HEX = frozenset(b"0123456789abcdefABCDEF")

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class IncompleteBody(ValueError):
    """The connection ended before the zero chunk: the reply was cut off."""


class ChunkedBody:
    """Decodes a chunked body fed in pieces cut anywhere; `done` once the last chunk ended."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = _SIZE
        self._left = 0  # data bytes of the current chunk not yet arrived
        self._trailers = 0

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> bytes:
        """The data of every chunk in `data` (and what was kept from before), joined."""
        if self._state == _DONE:
            return b""
        buffer = self._buffer
        buffer += data
        out: list[bytes] = []
        pos = 0
        end = len(buffer)
        while pos < end:
            if self._state == _DATA:
                take = min(self._left, end - pos)
                out.append(bytes(buffer[pos : pos + take]))
                pos += take
                self._left -= take
                if self._left:
                    break
                self._state = _DATA_END
            elif self._state == _DATA_END:
                if buffer[pos] == 0x0A:  # a bare LF, as line-based readers accept
                    pos += 1
                elif end - pos < 2:
                    break
                elif buffer[pos : pos + 2] == b"\r\n":
                    pos += 2
                else:
                    raise ProtocolError("a chunk of the reply did not end where its size said")
                self._state = _SIZE
            else:
                line_end = buffer.find(b"\n", pos)
                if line_end < 0:
                    if end - pos > MAX_LINE:
                        raise ProtocolError("a line of the reply's chunked framing is too long")
                    break
                line = bytes(buffer[pos:line_end])
                pos = line_end + 1
                if len(line) > MAX_LINE:
                    raise ProtocolError("a line of the reply's chunked framing is too long")
                if self._state == _SIZE:
                    self._start_chunk(line)
                else:
                    self._trailer(line)
                    if self._state == _DONE:
                        break
        del buffer[:pos]
        return b"".join(out)

    def _start_chunk(self, line: bytes) -> None:
        digits = line.split(b";", 1)[0].strip(b" \t\r")
        if not digits or len(digits) > _MAX_SIZE_DIGITS or not _HEX.issuperset(digits):
            raise ProtocolError("a chunk size of the reply is not a hex number")
        size = int(digits, 16)
        if size:
            self._left, self._state = size, _DATA
        else:
            self._state = _TRAILER

    def _trailer(self, line: bytes) -> None:
        self._trailers += len(line) + 1
        if self._trailers > MAX_TRAILERS:
            raise ProtocolError("the reply's trailers are too long")
        if not line.rstrip(b"\r"):
            self._state = _DONE
