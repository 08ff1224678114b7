"""The two framings the service has used for a reply: raw UTF-8 text, or Server-Sent Events."""

from __future__ import annotations

import json
import re

from .replies import ReplyText

SSE_DONE = b"data: [DONE]\n\n"

# Token-like pieces (leading whitespace + up to 16 visible characters), as a model would emit.
_TOKEN = re.compile(r"\s*\S{1,16}|\s+")


ERROR_MESSAGES = {
    402: "This model requires credits; top up or pick a free model.",
    429: "Too many requests; slow down.",
}


def sse_events(text: str, role: bool = True) -> bytes:
    """`data: {"role": "assistant", "content": ...}` events whose contents join to `text`
    (without `role` as the earlier service sent them)."""
    head = {"role": "assistant"} if role else {}
    return b"".join(
        b"data: " + json.dumps({**head, "content": piece}, ensure_ascii=False).encode() + b"\n\n"
        for piece in _TOKEN.findall(text)
    )


def error_event(status: int) -> bytes:
    """The later service's in-stream failure: `{"error": true, "res_status": ..., ...}`."""
    message = ERROR_MESSAGES.get(status, "The request failed.")
    payload = {"error": True, "res_status": status, "message": message}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def encode_body(
    reply: ReplyText,
    framing: str,
    sse_done: bool = True,
    *,
    role: bool = True,
    error_status: int | None = None,
) -> bytes:
    """The whole response body for `reply`, before it is cut into writes.

    With `error_status` (SSE only) the reply's events are followed by an error event, and no
    `[DONE]`: the reply failed there.
    """
    if framing == "raw":
        if error_status is not None:
            raise ValueError("an error event needs the sse framing")
        return reply.encode()
    if framing == "sse":
        events = sse_events(reply.unit, role) * reply.repeats + sse_events(reply.tail, role)
        if error_status is not None:
            return events + error_event(error_status)
        return events + (SSE_DONE if sse_done else b"")
    raise ValueError(f"unknown framing {framing!r}")
