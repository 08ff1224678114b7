"""Cutting a streaming markdown reply into pieces, so that only the last piece is re-sent.

Streamlit re-sends an element whole on every update. A reply streamed into one element costs
the square of its length on the wire; cut into pieces of bounded size, with finished pieces
frozen, it costs about its own length. The pieces are for display while streaming only: when
the reply is complete the page renders it once more as a single element, so the final view is
exactly the plain markdown of the whole text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

FREEZE: Final = object()  # marker: the current piece is finished, start a new one
DEFAULT_MAX_PIECE = 1000

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


class Reopen(str):
    """Display-only text: a fence or table header repeated at the start of a new piece."""


Op = str | object  # reply text to append, Reopen text to append, or FREEZE


@dataclass
class BlockSplitter:
    """Feed reply text as it arrives; get display operations back.

    A piece is frozen after a blank line outside code, after a closing code fence, or at a
    line end once it is longer than `max_piece` characters. A piece cut inside a code fence or a
    table starts the next piece with the fence line or the table header again, for display.
    """

    max_piece: int = DEFAULT_MAX_PIECE
    _line: list[str] = field(default_factory=list)
    _piece_chars: int = 0
    _piece_has_text: bool = False
    _fence: str | None = None  # the opening fence line while inside a code block
    _table_head: list[str] = field(default_factory=list)
    _block_lines: list[str] = field(default_factory=list)

    def feed(self, text: str) -> list[Op]:
        ops: list[Op] = []
        start = 0
        while start < len(text):
            end = text.find("\n", start)
            if end == -1:
                self._append(ops, text[start:])
                self._line.append(text[start:])
                break
            segment = text[start : end + 1]
            self._append(ops, segment)
            self._line.append(segment)
            line = "".join(self._line)
            self._line = []
            self._end_of_line(ops, line)
            start = end + 1
        return _merge(ops)

    def _append(self, ops: list[Op], segment: str) -> None:
        ops.append(segment)
        self._piece_chars += len(segment)

    def _end_of_line(self, ops: list[Op], line: str) -> None:
        stripped = line.strip()
        fence = _FENCE.match(line)
        if self._fence is not None:
            if _closes(self._fence, line):
                self._fence = None
                self._freeze(ops)
                return
        elif fence:
            self._fence = line
            self._block_lines = []
            self._table_head = []
        elif not stripped:
            if self._piece_has_text:
                self._freeze(ops)
            self._block_lines = []
            self._table_head = []
            return
        else:
            self._track_table(line)
        self._piece_has_text = True
        if self._piece_chars >= self.max_piece:
            self._freeze(ops)
            reopen = [self._fence] if self._fence else list(self._table_head)
            for line_again in reopen:
                self._append(ops, Reopen(line_again))
            self._piece_has_text = bool(reopen)

    def _track_table(self, line: str) -> None:
        self._block_lines.append(line)
        if (
            len(self._block_lines) == 2
            and "|" in self._block_lines[0]
            and _TABLE_DELIMITER.match(line)
        ):
            self._table_head = list(self._block_lines)

    def _freeze(self, ops: list[Op]) -> None:
        ops.append(FREEZE)
        self._piece_chars = 0
        self._piece_has_text = False


def _closes(opening: str, line: str) -> bool:
    """A closing fence: the opening's character, at least as many, nothing after."""
    opened, closing = _FENCE.match(opening), _FENCE.match(line)
    if opened is None or closing is None:
        return False
    a, b = opened.group(1), closing.group(1)
    return b[0] == a[0] and len(b) >= len(a) and not line[closing.end() :].strip()


def _merge(ops: list[Op]) -> list[Op]:
    """Join adjacent pieces of reply text (Reopen text stays apart: it is not reply text)."""
    merged: list[Op] = []
    for op in ops:
        if op == "":
            continue
        if type(op) is str and merged and type(merged[-1]) is str:
            merged[-1] += op
        else:
            merged.append(op)
    return merged


def display_updates(ops: list[Op]) -> list[str | object]:
    """What the page sends: each run of text (reopened or not) as one update, and FREEZEs."""
    updates: list[str | object] = []
    for op in ops:
        if isinstance(op, str) and updates and isinstance(updates[-1], str):
            updates[-1] = updates[-1] + op
        elif isinstance(op, str):
            updates.append(str(op))
        else:
            updates.append(op)
    return updates
