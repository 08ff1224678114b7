"""The page's per-browser state: the open conversation and what the next run must do.

Buttons do not act in the middle of a run; their callbacks record an intent here, and the
run that follows carries it out. That keeps every change to the conversation in one place.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from liaobots_core import DEFAULT_MODEL_ID

from .conversation import Conversation, Status

PendingKind = Literal["reply", "continue"]

_CONVERSATION = "conversation"
_PENDING = "pending_reply"
_EDITING = "editing_last_message"


def conversation() -> Conversation:
    """The open conversation, created on first use; replies left streaming are settled."""
    if _CONVERSATION not in st.session_state:
        st.session_state[_CONVERSATION] = Conversation(model_id=DEFAULT_MODEL_ID)
    current: Conversation = st.session_state[_CONVERSATION]
    current.settle_interrupted()
    return current


def start_new_conversation() -> None:
    old = conversation()
    st.session_state[_CONVERSATION] = Conversation(
        model_id=old.model_id, system_prompt=old.system_prompt
    )
    st.session_state.pop(_PENDING, None)
    st.session_state.pop(_EDITING, None)


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


def save_edit(text_key: str) -> None:
    """Replace the last question with the edited text and ask for a new answer."""
    text = str(st.session_state.get(text_key, "")).strip()
    set_editing(False)
    if text:
        conversation().edit_last_user(text)
        ask_for_reply("reply")
