"""Where a response body is cut into socket writes.

The real service cuts its stream anywhere, including inside a multi-byte character; a client
that decodes each piece on its own breaks on Cyrillic, CJK and emoji. Cutting by BYTES does that
by accident; `split_multibyte` does it on purpose so every test run exercises it.
"""

from __future__ import annotations

from collections.abc import Iterator

NEARBY = 16
"""How many bytes past a nominal cut `split_multibyte` looks for a multi-byte character."""


def iter_piece_ends(data: bytes, chunk_bytes: int, split_multibyte: bool = False) -> Iterator[int]:
    """Yield the end offset of each piece; the last is `len(data)`, nothing for empty data.

    Pieces are `chunk_bytes` long. With `split_multibyte`, a cut that would fall on a character
    boundary moves to one byte inside the next multi-byte character if one starts within
    `NEARBY` bytes, so that piece is longer and the character is split between two writes.
    """
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be at least 1, not {chunk_bytes}")
    size = len(data)
    start = 0
    while start < size:
        end = start + chunk_bytes
        if end >= size:
            yield size
            return
        if split_multibyte and not _is_continuation(data[end]):
            end = _inside_next_multibyte(data, end)
        yield end
        start = end


def piece_boundaries(data: bytes, chunk_bytes: int, split_multibyte: bool = False) -> list[int]:
    """The end offsets of the pieces `data` is written in (see `iter_piece_ends`)."""
    return list(iter_piece_ends(data, chunk_bytes, split_multibyte))


def _is_continuation(byte: int) -> bool:
    return byte & 0xC0 == 0x80


def _inside_next_multibyte(data: bytes, end: int) -> int:
    # A lead byte (0b11xxxxxx) at p starts a multi-byte character; p + 1 is inside it. p stops
    # short of the last byte so the cut never reaches the end of the data.
    for p in range(end, min(end + NEARBY, len(data) - 1)):
        if data[p] >= 0xC0:
            return p + 1
    return end
