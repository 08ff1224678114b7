"""Turning the bytes of a reply into text, whichever framing the service chose.

Both decoders are incremental: `feed(chunk)` returns every character that is complete so far
and keeps only what cannot be decided yet (the start of a split UTF-8 character, or an SSE line
still missing its end). Nothing is held back that could already be shown.
"""

from __future__ import annotations

import codecs
import itertools
import json
import re
from typing import Any, Protocol

from .errors import (
    AuthError,
    HumanCheckError,
    InsufficientBalanceError,
    LiaobotsError,
    ProtocolError,
    RateLimitError,
    UpstreamError,
    error_for_status,
)

_HTML_MARKERS = (b"<!doctype html", b"<html")
_LINE_END = re.compile(r"\r\n|\r|\n")
_WHITESPACE = b" \t\r\n\f\v"
_BOM = codecs.BOM_UTF8
JSON_MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in JSON from the service (its answers need 4)."""
_JSON_ESCAPE = re.compile(r"\\.", re.DOTALL)
_JSON_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_INT_MAX_DIGITS = 4000  # below Python's int-parsing limit (4300 digits)


class ReplyDecoder(Protocol):
    done: bool
    error: LiaobotsError | None

    def feed(self, chunk: bytes) -> str: ...

    def finish(self) -> str: ...


class RawTextDecoder:
    """The reply's UTF-8 bytes as they were generated, cut anywhere."""

    done = False  # only the end of the response ends a raw reply
    error = None  # raw text has no way to report an error

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk: bytes) -> str:
        return self._utf8.decode(chunk)

    def finish(self) -> str:
        return self._utf8.decode(b"", final=True)


class SSEDecoder:
    """Server-Sent Events carrying `data: {"content": "..."}`, lines split anywhere.

    Follows the WHATWG event-stream rules that matter here: lines end in CR, LF or CRLF; an
    event is dispatched at a blank line; several `data:` lines join with a newline; comments
    (`:`) and other fields are ignored; `data: [DONE]` ends the reply, and so does its absence.

    An event with a `role` is reply text only when the role is `assistant`. An error event
    (`{"error": true, "res_status": 402, "message": ...}`) ends the reply: the text before it
    is returned as usual and `error` holds the typed error, for the caller to raise after it.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []
        self._data: list[str] = []
        self._skip_lf = False
        self.done = False
        self.error: LiaobotsError | None = None

    def feed(self, chunk: bytes) -> str:
        return self._consume(self._utf8.decode(chunk))

    def finish(self) -> str:
        text = self._consume(self._utf8.decode(b"", final=True))
        if self._pending:  # a last line with no line ending still counts
            line = "".join(self._pending)
            self._pending = []
            text += self._line(line)
        if self._data and not self.done:  # an event cut off before its blank line
            text += self._dispatch()
        return text

    def _consume(self, text: str) -> str:
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if not text:
            return ""
        # Most streams end lines with LF alone: str.split is far cheaper than the regex.
        lines = _LINE_END.split(text) if "\r" in text else text.split("\n")
        tail = lines.pop()  # the unfinished last line ("" when the text ends a line)
        # A CR at the very end may be the first half of a CRLF split across chunks.
        self._skip_lf = text.endswith("\r")
        if not lines:
            self._pending.append(tail)
            return ""
        if self._pending:
            self._pending.append(lines[0])
            lines[0] = "".join(self._pending)
        self._pending = [tail] if tail else []
        out: list[str] = []
        for line in lines:
            if self.done:
                break
            if line.startswith("data:"):  # the common case, inlined; `_line` does the rest
                self._data.append(line[5:].removeprefix(" "))
            elif line:
                self._line(line)
            elif self._data:
                out.append(self._dispatch())
        return "".join(out)

    def _line(self, line: str) -> str:
        if self.done:
            return ""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return ""
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        return ""

    def _dispatch(self) -> str:
        if not self._data:
            return ""
        data = "\n".join(self._data)
        self._data = []
        if data.strip() == "[DONE]":
            self.done = True
            return ""
        try:
            payload: Any = json.loads(data)
        except (ValueError, RecursionError):  # nested brackets too deep for the parser count too
            raise ProtocolError("an event's data is not JSON") from None
        if isinstance(payload, dict) and payload.get("error"):
            self.error = error_of_event(payload)
            self.done = True
            return ""
        return _content_of(payload)


def error_of_event(payload: dict[str, Any]) -> LiaobotsError:
    """The typed error an in-stream error event stands for, as its HTTP status would be.

    `res_status` (or `status`) decides; without a usable one, the event's message is read for
    the few failures it can name. The message itself is the service's text: never shown.
    """
    for key in ("res_status", "status", "code"):
        status = payload.get(key)
        if isinstance(status, str) and status.strip().isdecimal() and len(status.strip()) == 3:
            status = int(status.strip())
        if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599:
            return error_for_status(status)
    message = payload.get("message")
    words = message.lower()[:2000] if isinstance(message, str) else ""
    if any(word in words for word in _BALANCE_WORDS):
        return InsufficientBalanceError()
    if any(word in words for word in _RATE_WORDS):
        return RateLimitError(None)
    if any(word in words for word in _AUTH_WORDS):
        return AuthError(status_code=None)
    return UpstreamError(500)


_BALANCE_WORDS = ("credit", "balance", "payment", "quota", "余额", "积分", "额度")
_RATE_WORDS = ("rate limit", "too many", "频繁")
_AUTH_WORDS = ("auth", "login", "log in", "unauthorized", "登录")


def _content_of(payload: Any) -> str:
    """Text carried by one event: `{"content": ...}`, or an OpenAI-style delta."""
    if isinstance(payload, dict):
        role = payload.get("role")
        if role is not None and role != "assistant":
            return ""  # another speaker's event (the question echoed, a tool): not the reply
        content = payload.get("content")
        if isinstance(content, str):
            return content
        choices = payload.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            delta = choices[0].get("delta") or choices[0].get("message") or {}
            if isinstance(delta, dict):
                text = delta.get("content")
                return text if isinstance(text, str) else ""
        if "content" not in payload:
            return ""  # a keep-alive or metadata event
    raise ProtocolError("an event has no text content")


class HtmlSniffer:
    """Stops a human-check web page from being shown as the model's answer.

    Holds back the first bytes only while they could still be the start of `<!DOCTYPE html`
    or `<html` (after whitespace); anything else passes straight through.
    """

    def __init__(self) -> None:
        self._head = b""
        self.decided = False

    def feed(self, chunk: bytes) -> bytes:
        if self.decided:
            return chunk
        self._head += chunk
        probe = self._head
        if _BOM.startswith(probe):
            return b""  # perhaps the start of a byte-order mark
        probe = probe.removeprefix(_BOM)
        probe = probe.lstrip(_WHITESPACE).lower()
        if not probe:
            return b""
        for marker in _HTML_MARKERS:
            if probe.startswith(marker):
                raise HumanCheckError()
            if marker.startswith(probe):
                return b""  # could still become a page: wait for a few more bytes
        self.decided = True
        head, self._head = self._head, b""
        return head

    def finish(self) -> bytes:
        self.decided = True
        head, self._head = self._head, b""
        return head


class JsonTooDeep(ValueError):
    """JSON text that nests arrays and objects deeper than the reader accepts."""

    def __init__(self, depth: int, limit: int) -> None:
        super().__init__(f"JSON nested {depth} levels deep (the limit is {limit})")
        self.depth = depth
        self.limit = limit


def parse_json(data: bytes | str, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """JSON from a source this program does not control; ValueError for anything unreadable.

    Bytes may be UTF-8 (with or without a byte-order mark), UTF-16 or UTF-32, as JSON allows.
    Nesting deeper than `max_depth` is refused with `JsonTooDeep` (a ValueError) before the
    recursive parser sees it, so a file of brackets cannot exhaust the stack. An integer too
    long for Python's int parser becomes a float (infinity when huge): callers check
    magnitudes with `math.isfinite`, they never meet OverflowError or RecursionError here.
    """
    text = data if isinstance(data, str) else data.decode(json.detect_encoding(data))
    text = text.removeprefix("\ufeff")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JsonTooDeep(depth, max_depth)
    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JsonTooDeep(depth, max_depth) from None


def nesting_depth(text: str) -> int:
    """How deeply JSON text nests arrays and objects, strings skipped, without parsing it.

    Linear in the text's length, and exact for valid JSON; for invalid JSON it is a bound the
    parser will refuse anyway.
    """
    bare = _NOT_BRACKET.sub("", _JSON_STRING.sub("", _JSON_ESCAPE.sub("", text)))
    return max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, bare)), default=0)


def _parse_int(digits: str) -> int | float:
    return int(digits) if len(digits) <= _INT_MAX_DIGITS else float(digits)


def is_event_stream(content_type: str | None) -> bool:
    return bool(content_type) and content_type.split(";")[0].strip().lower() == (
        "text/event-stream"
    )


def is_html(content_type: str | None) -> bool:
    return bool(content_type) and content_type.split(";")[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    )


def decoder_for(content_type: str | None) -> ReplyDecoder:
    """Pick the decoder for one response from its content type."""
    return SSEDecoder() if is_event_stream(content_type) else RawTextDecoder()


__all__ = [
    "JSON_MAX_DEPTH",
    "HtmlSniffer",
    "JsonTooDeep",
    "RawTextDecoder",
    "ReplyDecoder",
    "SSEDecoder",
    "decoder_for",
    "is_event_stream",
    "is_html",
    "nesting_depth",
    "parse_json",
]
