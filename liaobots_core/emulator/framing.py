"""The two framings the service has used for a reply: raw UTF-8 text, or Server-Sent Events."""

from __future__ import annotations

import json
import re

from .replies import ReplyText

SSE_DONE = b"data: [DONE]\n\n"

# Token-like pieces (leading whitespace + up to 16 visible characters), as a model would emit.
_TOKEN = re.compile(r"\s*\S{1,16}|\s+")


def sse_events(text: str) -> bytes:
    """`data: {"content": ...}` events whose contents join back to `text`."""
    return b"".join(
        b"data: " + json.dumps({"content": piece}, ensure_ascii=False).encode() + b"\n\n"
        for piece in _TOKEN.findall(text)
    )


def encode_body(reply: ReplyText, framing: str, sse_done: bool = True) -> bytes:
    """The whole response body for `reply`, before it is cut into writes."""
    if framing == "raw":
        return reply.encode()
    if framing == "sse":
        done = SSE_DONE if sse_done else b""
        return sse_events(reply.unit) * reply.repeats + sse_events(reply.tail) + done
    raise ValueError(f"unknown framing {framing!r}")
