"""The page's per-browser state: the open conversation and what the next run must do.

Buttons do not act in the middle of a run; their callbacks record an intent here, and the
run that follows carries it out. That keeps every change to the conversation in one place.
"""

from __future__ import annotations

import secrets
from typing import Literal

import streamlit as st

from liaobots_core import DEFAULT_MODEL_ID

from .conversation import Conversation, ErrorInfo, Status
from .limits import message_problem, without_controls
from .persistence import Journal

PendingKind = Literal["reply", "continue"]

URL_KEY = "c"
_CONVERSATION = "conversation"
_NOT_FOUND = "conversation_not_found"
_VISITOR = "visitor_key"
_REFUSED = "refused_input"
INPUT_KEY = "chat_input"
_PENDING = "pending_reply"
_EDITING = "editing_last_message"


def conversation(journal: Journal | None = None) -> Conversation:
    """The open conversation: the one named in the URL (`?c=`), else the one in this session.

    A URL naming a conversation that does not exist, or is not this person's, opens a new
    one and says "not found" the same way in both cases. Replies left streaming by an ended
    run are settled as stopped.
    """
    current: Conversation | None = st.session_state.get(_CONVERSATION)
    wanted = st.query_params.get(URL_KEY)
    if journal is not None and wanted and (current is None or current.id != wanted):
        loaded = journal.load(wanted) if _plausible_id(wanted) else None
        if loaded is None and not journal.failed:
            st.session_state[_NOT_FOUND] = True
            del st.query_params[URL_KEY]
        current = loaded
        _forget_intents()
    if current is None:
        previous = st.session_state.get(_CONVERSATION)
        current = Conversation(model_id=previous.model_id if previous else DEFAULT_MODEL_ID)
    st.session_state[_CONVERSATION] = current
    current.settle_interrupted()
    return current


def check_submitted(limit: int) -> None:
    """Refuse a message that cannot be sent before the run sees it, and give it back.

    The text goes back into the input (without control characters), so a refused message
    is never lost: the person fixes it and sends it again.
    """
    text = st.session_state.get(INPUT_KEY)
    if not isinstance(text, str):
        return
    problem = message_problem(text, limit)
    if problem is None:
        return
    st.session_state[_REFUSED] = problem
    st.session_state[INPUT_KEY] = without_controls(text) if text.strip() else None


def take_refused_input() -> ErrorInfo | None:
    return st.session_state.pop(_REFUSED, None)


def visitor_key() -> str:
    """A random name for this browser session (an anonymous demo visitor's owner key)."""
    if _VISITOR not in st.session_state:
        st.session_state[_VISITOR] = secrets.token_urlsafe(18)
    return str(st.session_state[_VISITOR])


def open_id() -> str | None:
    current: Conversation | None = st.session_state.get(_CONVERSATION)
    return current.id if current else None


def open_conversation(conversation_id: str) -> None:
    """Switch to a stored conversation; the URL follows so reloads and bookmarks work."""
    st.query_params[URL_KEY] = conversation_id


def remember_in_url(current: Conversation) -> None:
    if current.messages and st.query_params.get(URL_KEY) != current.id:
        st.query_params[URL_KEY] = current.id


def retitle(conversation_id: str, title: str) -> None:
    """Keep the open conversation's title in step with a rename in the list."""
    current: Conversation | None = st.session_state.get(_CONVERSATION)
    if current is not None and current.id == conversation_id:
        current.title = title.strip() or None


def take_not_found() -> bool:
    return bool(st.session_state.pop(_NOT_FOUND, False))


def start_new_conversation() -> None:
    old = conversation()
    st.session_state[_CONVERSATION] = Conversation(
        model_id=old.model_id, system_prompt=old.system_prompt
    )
    if URL_KEY in st.query_params:
        del st.query_params[URL_KEY]
    _forget_intents()


def _forget_intents() -> None:
    """A different conversation is open: a pending reply or an open edit no longer apply."""
    st.session_state.pop(_PENDING, None)
    st.session_state.pop(_EDITING, None)


def _plausible_id(value: str) -> bool:
    return 8 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


def take_pending() -> PendingKind | None:
    """What the last button asked for, once."""
    return st.session_state.pop(_PENDING, None)


def ask_for_reply(kind: PendingKind = "reply") -> None:
    st.session_state[_PENDING] = kind


def regenerate() -> None:
    """Drop the last answer (complete, stopped or failed) and ask again."""
    conversation().drop_last_reply()
    ask_for_reply("reply")


def continue_reply() -> None:
    last = conversation().last
    if last is not None and last.role == "assistant" and last.status is not Status.COMPLETE:
        ask_for_reply("continue")


def is_editing() -> bool:
    return bool(st.session_state.get(_EDITING))


def set_editing(editing: bool) -> None:
    st.session_state[_EDITING] = editing


def save_edit(text_key: str, limit: int) -> None:
    """Replace the last question with the edited text and ask for a new answer.

    The edit passes the same check as a new message; a refused edit stays open to fix.
    """
    text = str(st.session_state.get(text_key, ""))
    problem = message_problem(text, limit)
    if problem is not None:
        st.session_state[_REFUSED] = problem
        return
    set_editing(False)
    conversation().edit_last_user(text.strip())
    ask_for_reply("reply")
