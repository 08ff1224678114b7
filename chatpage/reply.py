"""Getting one reply into the conversation, whatever happens on the way.

Every exit is accounted for: a finished reply is complete; a client error leaves the text that
arrived, marked failed with its kind; a Stop, a new message or a page interruption leaves it
marked stopped. The HTTP response is closed at once on every path.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext

import streamlit as st

from liaobots_core import LiaobotsClient, LiaobotsError

from .conversation import Conversation, ErrorInfo, Message, Status
from .failures import describe, explain
from .i18n import t
from .persistence import Journal
from .quota import Preflight
from .render import stream_reply
from .store import ConversationGone
from .streaming import ReplyPump

log = logging.getLogger(__name__)


def produce_reply(
    conversation: Conversation,
    client: LiaobotsClient,
    lang: str,
    *,
    continuing: Message | None = None,
    journal: Journal | None = None,
    preflight: Preflight | None = None,
) -> Message:
    """Stream a reply (or the rest of a cut one) into the page and the conversation.

    With a journal, the reply is stored before the first byte is asked for, saved about once
    a second while it streams, and saved once more however it ends. A preflight refusal
    (a limit reached) settles the reply as failed without any request.
    """
    wire = conversation.wire_messages(then_continue=continuing is not None)
    if continuing is None:
        reply = conversation.start_reply(conversation.model_id)
    else:
        reply = continuing
        reply.status, reply.error = Status.STREAMING, None
    checkpoints: AbstractContextManager[object] = nullcontext()
    if journal is not None:
        try:
            if continuing is None:
                journal.add(conversation, reply)
            elif not journal.resume(conversation, reply):
                journal.refresh(conversation)  # another window took it up: show it live
                st.rerun()
        except ConversationGone:
            reply.status, reply.error = Status.FAILED, ErrorInfo("conversation_deleted")
            return reply
        checkpoints = journal.checkpoints(conversation, reply)
    with checkpoints:
        try:
            refusal = preflight(wire) if preflight is not None else None
            if refusal is not None:  # a limit of the page's own: nothing goes upstream
                reply.status, reply.error = Status.FAILED, refusal
            else:
                _stream(conversation, client, wire, reply, lang)
        except LiaobotsError as exc:
            reply.status, reply.error = Status.FAILED, describe(exc)
            log.info("reply failed: %s", type(exc).__name__)
        except Exception:  # a bug of ours: keep the text, say so plainly, log the details
            log.exception("reply failed unexpectedly")
            reply.status, reply.error = Status.FAILED, ErrorInfo("unknown")
        finally:
            if reply.status is Status.STREAMING:  # Stop, a new message, or the page went away
                reply.status = Status.STOPPED
    return reply  # the caller shows how it ended, with the buttons that fit (views.actions)


def _stream(
    conversation: Conversation,
    client: LiaobotsClient,
    wire: list[dict[str, str]],
    reply: Message,
    lang: str,
) -> None:
    stream = client.stream_chat(
        wire, model=conversation.model_id, system_prompt=conversation.system_prompt or None
    )
    with ReplyPump(stream) as pump:
        stream_reply(pump.events(), reply, lang)
    if reply.status is Status.STREAMING:  # not settled meanwhile by a newer run
        reply.status = Status.COMPLETE
    _notes(conversation, stream.history.dropped, stream.history.over_budget, lang)


def _notes(conversation: Conversation, dropped: int, over_budget: bool, lang: str) -> None:
    """Say quietly, once per conversation, that older turns were left out."""
    noted: set[str] = st.session_state.setdefault("_trim_noted", set())
    if dropped and conversation.id not in noted:
        noted.add(conversation.id)
        st.caption(t(lang, "trimmed_note", count=dropped))
    if over_budget:
        st.caption(t(lang, "over_budget_note"))


def show_failure(error: ErrorInfo, lang: str) -> None:
    level, text = explain(error, lang)
    (st.warning if level == "warning" else st.error)(text, icon="⚠️")
