"""Getting one reply into the conversation, whatever happens on the way.

Every exit is accounted for: a finished reply is complete; a client error leaves the text that
arrived, marked failed with its kind; a Stop, a new message or a page interruption leaves it
marked stopped. The HTTP response is closed at once on every path.
"""

from __future__ import annotations

import logging

import streamlit as st

from liaobots_core import LiaobotsClient, LiaobotsError

from .conversation import Conversation, ErrorInfo, Message, Status
from .failures import describe, explain
from .i18n import t
from .render import stream_reply
from .streaming import ReplyPump

log = logging.getLogger(__name__)


def produce_reply(
    conversation: Conversation,
    client: LiaobotsClient,
    lang: str,
    *,
    continuing: Message | None = None,
) -> Message:
    """Stream a reply (or the rest of a cut one) into the page and the conversation."""
    wire = conversation.wire_messages(then_continue=continuing is not None)
    if continuing is None:
        reply = conversation.start_reply(conversation.model_id)
    else:
        reply = continuing
        reply.status, reply.error = Status.STREAMING, None
    try:
        stream = client.stream_chat(
            wire, model=conversation.model_id, system_prompt=conversation.system_prompt or None
        )
        with ReplyPump(stream) as pump:
            stream_reply(pump.events(), reply, lang)
        reply.status = Status.COMPLETE
        noted: set[str] = st.session_state.setdefault("_trim_noted", set())
        if stream.history.trimmed and conversation.id not in noted:
            noted.add(conversation.id)  # said once per conversation, quietly
            st.caption(t(lang, "trimmed_note", count=stream.history.dropped))
        if stream.history.over_budget:
            st.caption(t(lang, "over_budget_note"))
    except LiaobotsError as exc:
        reply.status, reply.error = Status.FAILED, describe(exc)
        log.info("reply failed: %s", type(exc).__name__)
    except Exception:  # a bug of ours: keep the text, say so plainly, log the details
        log.exception("reply failed unexpectedly")
        reply.status, reply.error = Status.FAILED, ErrorInfo("unknown")
    finally:
        if reply.status is Status.STREAMING:  # Stop, a new message, or the page went away
            reply.status = Status.STOPPED
    if reply.error is not None:
        show_failure(reply.error, lang)
    return reply


def show_failure(error: ErrorInfo, lang: str) -> None:
    level, text = explain(error, lang)
    (st.warning if level == "warning" else st.error)(text, icon="⚠️")
